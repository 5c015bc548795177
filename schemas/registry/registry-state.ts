import type { Type } from 'avsc';
import { toRegisteredSchema, type RegisteredSchema, type SchemaCatalog } from '../schema-catalog.js';
import { DEFAULT_COMPATIBILITY, type CompatibilityLevel } from './compatibility-level.js';
import type { RegistryChange, RegistryRecord } from './registry-records.js';

/** One version of one subject (event type), as the registry API shows it. */
export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  /** Canonical schema JSON. */
  readonly schema: string;
  readonly deleted: boolean;
  readonly description: string | undefined;
  readonly example: unknown;
  readonly registeredAt: string;
  /** Ready to validate, encode and decode; undefined only if this code cannot build it any more. */
  readonly registered: RegisteredSchema | undefined;
}

interface SubjectState {
  versions: SubjectVersion[];
  deleted: boolean;
  deletedAt: string | undefined;
  compatibility: CompatibilityLevel | undefined;
}

interface IdEntry {
  schema: string;
  registered: RegisteredSchema | undefined;
  subjectVersions: Array<{ subject: string; version: number }>;
}

/** What applying one record did: `applied`, or `void` with why (the writer lost a race, or worse). */
export type ApplyResult = { applied: true } | { applied: false; reason: string };

/**
 * The registry as the topic defines it: every change applied in offset order under the basis rule
 * of registry-records.ts. Pure and deterministic, so every replica that applies the same records
 * holds the same ids and versions. It is also the live SchemaCatalog the gateway encodes with and
 * the workers decode with: a deleted (deprecated) subject has no `latest`, but its ids stay
 * resolvable forever.
 */
export class RegistryState implements SchemaCatalog {
  readonly dir = undefined;
  private lastEffective = -1n;
  private readonly effective = new Set<bigint>();
  private readonly subjectStates = new Map<string, SubjectState>();
  private readonly ids = new Map<number, IdEntry>();
  private readonly idByCanonical = new Map<string, number>();
  /** Record full name → the subject that owns it: one record name per event type. */
  private readonly owners = new Map<string, string>();
  /** A config for a subject with no versions yet is kept here until the subject exists. */
  private readonly pendingConfigs = new Map<string, CompatibilityLevel>();
  private globalCompatibility: CompatibilityLevel = DEFAULT_COMPATIBILITY;
  private highestId = 0;
  private cachedAll: readonly RegisteredSchema[] | undefined;

  /** Applies the record at `offset`; an unreadable record (a string) is void. */
  apply(offset: bigint, record: RegistryRecord | string): ApplyResult {
    if (typeof record === 'string') return { applied: false, reason: record };
    if (record.basis !== this.lastEffective) {
      return {
        applied: false,
        reason: `decided at ${record.basis}, but ${this.lastEffective} was in effect`,
      };
    }
    const problem = this.conflict(record.change);
    if (problem !== undefined) return { applied: false, reason: problem };
    this.change(record.change);
    this.lastEffective = offset;
    this.effective.add(offset);
    this.cachedAll = undefined;
    return { applied: true };
  }

  /**
   * Applies a change another registry already decided (SLUICE_SCHEMA_REGISTRY_URL): no basis, its
   * ids and versions taken as they are. A version already held, or a delete of an unknown subject,
   * changes nothing.
   */
  mirror(change: RegistryChange): void {
    if (
      change.kind === 'register' &&
      this.subjectStates.get(change.subject)?.versions.some((v) => v.version === change.version)
    )
      return;
    if (change.kind === 'delete' && this.conflict(change) !== undefined) return;
    this.change(change);
    this.cachedAll = undefined;
  }

  /** The offset a writer names as its basis: the last change in effect (-1 for none). */
  lastEffectiveOffset(): bigint {
    return this.lastEffective;
  }

  isEffective(offset: bigint): boolean {
    return this.effective.has(offset);
  }

  // ---- queries of the registry API ----

  subjects(options: { deleted?: boolean } = {}): string[] {
    return [...this.subjectStates.entries()]
      .filter(([, state]) => options.deleted === true || !state.deleted)
      .map(([subject]) => subject)
      .sort();
  }

  /** Undefined when the subject is unknown, or deleted and `deleted` is not asked for. */
  subjectVersions(subject: string, options: { deleted?: boolean } = {}): SubjectVersion[] | undefined {
    const state = this.subjectStates.get(subject);
    if (state === undefined || (state.deleted && options.deleted !== true)) return undefined;
    return state.versions.filter((v) => options.deleted === true || !v.deleted);
  }

  isSubjectDeleted(subject: string): boolean {
    return this.subjectStates.get(subject)?.deleted === true;
  }

  subjectDeletedAt(subject: string): string | undefined {
    return this.subjectStates.get(subject)?.deletedAt;
  }

  /** The highest version ever registered under `subject`, deleted ones included; 0 for none. */
  maxVersion(subject: string): number {
    return this.subjectStates.get(subject)?.versions.at(-1)?.version ?? 0;
  }

  schemaById(id: number): IdEntry | undefined {
    return this.ids.get(id);
  }

  /** The id a schema with this canonical text has (in any subject), if registered. */
  idOf(canonical: string): number | undefined {
    return this.idByCanonical.get(canonical);
  }

  nextId(): number {
    return this.highestId + 1;
  }

  /** The subject that owns a record full name, if any. */
  ownerOf(fullName: string): string | undefined {
    return this.owners.get(fullName);
  }

  /** The subject's own level; undefined when it follows the global one. */
  subjectCompatibility(subject: string): CompatibilityLevel | undefined {
    return this.subjectStates.get(subject)?.compatibility ?? this.pendingConfigs.get(subject);
  }

  globalLevel(): CompatibilityLevel {
    return this.globalCompatibility;
  }

  effectiveCompatibility(subject: string): CompatibilityLevel {
    return this.subjectCompatibility(subject) ?? this.globalCompatibility;
  }

  // ---- SchemaCatalog: what the gateway and the workers use ----

  types(): string[] {
    return this.subjects().filter((subject) => this.latest(subject) !== undefined);
  }

  latest(type: string): RegisteredSchema | undefined {
    const state = this.subjectStates.get(type);
    if (state === undefined || state.deleted) return undefined;
    for (let i = state.versions.length - 1; i >= 0; i -= 1) {
      const version = state.versions[i]!;
      if (!version.deleted && version.registered !== undefined) return version.registered;
    }
    return undefined;
  }

  deprecated(type: string): boolean {
    return this.isSubjectDeleted(type);
  }

  byId(id: number): RegisteredSchema | undefined {
    return this.ids.get(id)?.registered;
  }

  versions(type: string): readonly RegisteredSchema[] {
    return (this.subjectVersions(type) ?? []).flatMap((v) =>
      v.registered === undefined ? [] : [v.registered],
    );
  }

  all(): readonly RegisteredSchema[] {
    this.cachedAll ??= [...this.ids.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([, entry]) => (entry.registered === undefined ? [] : [entry.registered]));
    return this.cachedAll;
  }

  // ---- applying ----

  /** Why a change decided on this very state would still be inconsistent; undefined when fine. */
  private conflict(change: RegistryChange): string | undefined {
    if (change.kind === 'register') {
      if (change.version !== this.maxVersion(change.subject) + 1) return `version ${change.version} is taken`;
      const known = this.idByCanonical.get(change.schema);
      if (known !== undefined ? known !== change.id : change.id <= this.highestId) {
        return `id ${change.id} is taken or does not match the schema`;
      }
      return undefined;
    }
    if (change.kind === 'delete') {
      const state = this.subjectStates.get(change.subject);
      if (state === undefined) return `no subject ${change.subject}`;
      if (
        change.version !== undefined &&
        !state.versions.some((v) => v.version === change.version && !v.deleted)
      )
        return `no live version ${change.version} of ${change.subject}`;
    }
    return undefined;
  }

  private change(change: RegistryChange): void {
    switch (change.kind) {
      case 'register':
        return this.register(change);
      case 'config':
        return this.configure(change.subject, change.compatibility);
      case 'delete':
        return this.softDelete(change.subject, change.version, change.at);
    }
  }

  private register(change: Extract<RegistryChange, { kind: 'register' }>): void {
    let state = this.subjectStates.get(change.subject);
    if (state === undefined) {
      state = {
        versions: [],
        deleted: false,
        deletedAt: undefined,
        compatibility: this.pendingConfigs.get(change.subject),
      };
      this.pendingConfigs.delete(change.subject);
      this.subjectStates.set(change.subject, state);
    }
    // Registering into a deprecated type brings it back, as Confluent does for a deleted subject.
    state.deleted = false;
    state.deletedAt = undefined;
    const avroSchema: unknown = JSON.parse(change.schema);
    const registered = toRegisteredSchema(
      { id: change.id, type: change.subject, version: change.version, avroSchema },
      () => undefined,
    );
    const version: SubjectVersion = Object.freeze({
      subject: change.subject,
      version: change.version,
      id: change.id,
      schema: change.schema,
      deleted: false,
      description: change.description,
      example: change.example,
      registeredAt: change.at,
      registered,
    });
    state.versions.push(version);
    // In offset order versions only grow; a mirrored registry may report them in any order.
    if (state.versions.length > 1 && state.versions.at(-2)!.version > version.version)
      state.versions.sort((a, b) => a.version - b.version);
    const entry = this.ids.get(change.id);
    if (entry === undefined) {
      this.ids.set(change.id, {
        schema: change.schema,
        registered,
        subjectVersions: [{ subject: change.subject, version: change.version }],
      });
      this.idByCanonical.set(change.schema, change.id);
      this.highestId = Math.max(this.highestId, change.id);
    } else {
      entry.subjectVersions.push({ subject: change.subject, version: change.version });
    }
    const fullName = registered === undefined ? undefined : recordName(registered.avroType);
    if (fullName !== undefined && !this.owners.has(fullName)) this.owners.set(fullName, change.subject);
  }

  private configure(subject: string | undefined, level: CompatibilityLevel | undefined): void {
    if (subject === undefined) {
      this.globalCompatibility = level ?? DEFAULT_COMPATIBILITY;
      return;
    }
    const state = this.subjectStates.get(subject);
    if (state !== undefined) state.compatibility = level;
    else if (level === undefined) this.pendingConfigs.delete(subject);
    else this.pendingConfigs.set(subject, level);
  }

  private softDelete(subject: string, version: number | undefined, at: string): void {
    const state = this.subjectStates.get(subject)!;
    state.versions = state.versions.map((v) =>
      (version === undefined || v.version === version) && !v.deleted
        ? Object.freeze({ ...v, deleted: true })
        : v,
    );
    if (version === undefined || state.versions.every((v) => v.deleted)) {
      state.deleted = true;
      state.deletedAt = at;
    }
  }
}

function recordName(type: Type): string | undefined {
  return type.name;
}
