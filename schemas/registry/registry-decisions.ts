import { EVENT_TYPE_PATTERN } from '../manifest.js';
import { findSchemaViolation } from '../schema-violation.js';
import {
  compatibilityProblems,
  findCompatibilityProblems,
  type CompatibilityLevel,
} from './compatibility-level.js';
import { RegistryError } from './registry-error.js';
import type { RegistryChange } from './registry-records.js';
import type { RegistryState, SubjectVersion } from './registry-state.js';
import type { ParsedSchema } from './schema-text.js';

// What a write means, decided on the writer's current state. The change it yields is written with
// that state's basis; if another change took effect first, the writer decides again on the new state.

/** A subject is an event type (the subject naming strategy of README.md#event-types-a-schema-registry). */
export function checkSubject(subject: string): void {
  if (!EVENT_TYPE_PATTERN.test(subject) || subject.length > 200) {
    throw new RegistryError(
      'INVALID_SUBJECT',
      `Invalid subject ${JSON.stringify(subject.slice(0, 200))}: a subject is a Sluice event type, lowercase and dotted such as order.created`,
    );
  }
}

export interface RegistrationInput {
  subject: string;
  schema: ParsedSchema;
  description?: string | undefined;
  example?: unknown;
  nowIso: string;
  /** Decide as if the subject had this level (a check before the level itself is written). */
  level?: CompatibilityLevel | undefined;
}

/** The version already holding this schema, or the change that registers it. */
export function decideRegistration(
  state: RegistryState,
  input: RegistrationInput,
): { existing: SubjectVersion } | { change: Extract<RegistryChange, { kind: 'register' }> } {
  const { subject, schema } = input;
  checkSubject(subject);
  const existing = state.subjectVersions(subject)?.find((v) => v.schema === schema.canonical);
  if (existing !== undefined) return { existing };
  const owner = state.ownerOf(schema.fullName);
  if (owner !== undefined && owner !== subject) {
    const message = `Invalid schema: the record name ${schema.fullName} belongs to event type ${owner}; each event type needs a record name of its own`;
    throw new RegistryError('INVALID_SCHEMA', message, { problems: [{ field: 'schema.name', message }] });
  }
  if (input.example !== undefined) {
    const violation = findSchemaViolation(schema.avroType, input.example, 'example');
    if (violation !== undefined)
      throw new RegistryError('INVALID_SCHEMA', `Invalid example: ${violation.message}`, {
        problems: [{ field: violation.path, message: violation.message }],
      });
  }
  const level = input.level ?? state.effectiveCompatibility(subject);
  const problems = findCompatibilityProblems(level, schema.avroType, liveVersions(state, subject));
  if (problems.length > 0) {
    throw new RegistryError(
      'INCOMPATIBLE_SCHEMA',
      `Schema being registered is incompatible with an earlier schema for subject "${subject}" (${level}): ${problems[0]!.message}`,
      { details: problems.map((problem) => problem.message), problems },
    );
  }
  return {
    change: {
      kind: 'register',
      subject,
      version: state.maxVersion(subject) + 1,
      id: state.idOf(schema.canonical) ?? state.nextId(),
      schema: schema.canonical,
      description: input.description,
      example: input.example,
      at: input.nowIso,
    },
  };
}

/** Confluent's compatibility check of a candidate against one version (or `latest`). */
export function checkAgainstVersion(
  state: RegistryState,
  subject: string,
  version: number | 'latest' | 'all',
  schema: ParsedSchema,
): { compatible: boolean; messages: string[] } {
  const level = state.effectiveCompatibility(subject);
  const live = liveVersions(state, subject);
  if (live.length === 0) throw subjectNotFound(subject);
  let against = live;
  if (version !== 'all') {
    const chosen = version === 'latest' ? live.at(-1) : live.find((v) => v.version === version);
    if (chosen === undefined) throw versionNotFound(subject, version);
    against = [chosen];
  }
  const messages =
    version === 'all'
      ? compatibilityProblems(level, schema.avroType, against)
      : compatibilityProblems(nonTransitive(level), schema.avroType, against);
  return { compatible: messages.length === 0, messages };
}

/** The versions a delete removes, and the change that deletes them. */
export function decideDeletion(
  state: RegistryState,
  subject: string,
  version: number | 'latest' | undefined,
  nowIso: string,
): { versions: number[]; change: Extract<RegistryChange, { kind: 'delete' }> } {
  const live = state.subjectVersions(subject);
  if (live === undefined || live.length === 0) throw subjectNotFound(subject);
  if (version === undefined) {
    return { versions: live.map((v) => v.version), change: { kind: 'delete', subject, at: nowIso } };
  }
  const chosen = version === 'latest' ? live.at(-1) : live.find((v) => v.version === version);
  if (chosen === undefined) throw versionNotFound(subject, version);
  return {
    versions: [chosen.version],
    change: { kind: 'delete', subject, version: chosen.version, at: nowIso },
  };
}

export function subjectNotFound(subject: string): RegistryError {
  return new RegistryError('SUBJECT_NOT_FOUND', `Subject '${subject}' not found.`);
}

export function versionNotFound(subject: string, version: number | string): RegistryError {
  return new RegistryError('VERSION_NOT_FOUND', `Version ${version} not found for subject '${subject}'.`);
}

function liveVersions(state: RegistryState, subject: string) {
  return (state.subjectVersions(subject) ?? []).flatMap((v) =>
    v.registered === undefined ? [] : [{ version: v.version, type: v.registered.avroType }],
  );
}

function nonTransitive(level: CompatibilityLevel): CompatibilityLevel {
  return level.replace('_TRANSITIVE', '') as CompatibilityLevel;
}
