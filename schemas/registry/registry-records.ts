import { randomUUID } from 'node:crypto';
import { isCompatibilityLevel, type CompatibilityLevel } from './compatibility-level.js';

/**
 * The records of the registry topic. Every change to the registry is one record under a key of its
 * own (`change/<uuid>`), carrying `basis`: the offset of the last change in effect when its writer
 * decided it. Every process applies the topic in offset order and a change takes effect only if
 * its basis is still the last change in effect; otherwise another writer got there first and the
 * change is void (its writer reads the winner and tries again). So the topic's one partition orders
 * all writers, every replica derives the same ids and versions, and since a change in effect is
 * never overwritten (its key is unique), compaction only ever removes void changes, which their
 * writers tombstone.
 */
export type RegistryChange =
  | {
      kind: 'register';
      subject: string;
      version: number;
      id: number;
      /** Canonical schema JSON (schema-text.ts). */
      schema: string;
      description?: string | undefined;
      example?: unknown;
      /** ISO 8601 time of registration. */
      at: string;
    }
  /** `subject` undefined: the global level. `compatibility` undefined: the subject's own level is removed. */
  | { kind: 'config'; subject?: string | undefined; compatibility?: CompatibilityLevel | undefined }
  /** Soft delete: `version` undefined deletes (deprecates) the whole subject. */
  | { kind: 'delete'; subject: string; version?: number | undefined; at: string };

export interface RegistryRecord {
  /** Offset of the last change in effect when the writer decided; -1 when there was none. */
  basis: bigint;
  change: RegistryChange;
}

const recordFormatVersion = 1;

export function newChangeKey(): string {
  return `change/${randomUUID()}`;
}

export function encodeRegistryRecord(record: RegistryRecord): Buffer {
  return Buffer.from(
    JSON.stringify({ v: recordFormatVersion, basis: record.basis.toString(), change: record.change }),
  );
}

/** Reads one record value; a string says why it is unreadable (the record is then void). */
export function decodeRegistryRecord(value: Buffer): RegistryRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  const { v, basis, change } = (parsed ?? {}) as { v?: unknown; basis?: unknown; change?: unknown };
  if (v !== recordFormatVersion) return `unknown record format ${JSON.stringify(v)}`;
  if (typeof basis !== 'string' || !/^-?\d+$/.test(basis)) return 'basis must be an offset';
  const problem = changeProblem(change);
  return problem === undefined ? { basis: BigInt(basis), change: change as RegistryChange } : problem;
}

function changeProblem(change: unknown): string | undefined {
  if (change === null || typeof change !== 'object') return 'change must be an object';
  const c = change as Record<string, unknown>;
  const positive = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
  switch (c.kind) {
    case 'register':
      return typeof c.subject === 'string' &&
        positive(c.version) &&
        positive(c.id) &&
        typeof c.schema === 'string' &&
        typeof c.at === 'string'
        ? undefined
        : 'malformed register change';
    case 'config':
      return (c.subject === undefined || typeof c.subject === 'string') &&
        (c.compatibility === undefined || isCompatibilityLevel(c.compatibility))
        ? undefined
        : 'malformed config change';
    case 'delete':
      return typeof c.subject === 'string' && (c.version === undefined || positive(c.version))
        ? undefined
        : 'malformed delete change';
    default:
      return `unknown change kind ${JSON.stringify(c.kind)}`;
  }
}
