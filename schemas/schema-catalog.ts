import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Schema, Type } from 'avsc';
import { SluiceError } from '../common/errors.js';
import { findAvroPolicyProblems, isReservedSubject } from './avro-policy.js';
import { avroToJsonSchema, type JsonSchema } from './avro-to-json-schema.js';
import { createAvroType } from './create-avro-type.js';
import { findSchemasDir, readManifest } from './manifest.js';

/** An Avro schema as parsed from its `.avsc` file (always a record, by catalog policy). */
export type AvroSchemaJson = Readonly<Record<string, unknown>>;

/** One version of one event type, ready to validate, encode and decode. */
export interface RegisteredSchema {
  /** Stable id written into every record's wire header; never reused. */
  readonly id: number;
  /** Event type, e.g. `order.created`. */
  readonly type: string;
  /** 1, 2, 3… Each version reads data written with the previous one. */
  readonly version: number;
  readonly avroSchema: AvroSchemaJson;
  /** Built once at load; unions take plain JSON values (see create-avro-type.ts). */
  readonly avroType: Type;
  /** JSON Schema 2020-12 accepting the same JSON as `avroType`, for GET /v1/event-types. */
  readonly jsonSchema: JsonSchema;
}

/** Where one schema comes from: a manifest row and its file, or a Schema Registry answer. */
export interface SchemaSource {
  id: number;
  type: string;
  version: number;
  avroSchema: unknown;
  /** Names the source in problems, e.g. its file path. */
  origin?: string;
}

export interface SchemaCatalog {
  /** The directory the catalog was loaded from (fixtures live below it); undefined when built in memory. */
  readonly dir: string | undefined;
  /** Event types, sorted. */
  types(): string[];
  /** The highest version of `type`: the one producers' events are written with. */
  latest(type: string): RegisteredSchema | undefined;
  /** True for a type that was deprecated: new events are refused, old records still decode. */
  deprecated(type: string): boolean;
  byId(id: number): RegisteredSchema | undefined;
  /** Every version of `type`, oldest first. */
  versions(type: string): readonly RegisteredSchema[];
  /** Every schema, by id. */
  all(): readonly RegisteredSchema[];
}

/**
 * Loads `manifest.json` and the `.avsc` files it lists. Throws SLUICE_CONFIG_INVALID listing every
 * problem (a schema that fails to parse or breaks the catalog policy), so start-up fails at once.
 */
export function loadSchemaCatalog(options: { dir?: string } = {}): SchemaCatalog {
  const dir = options.dir ?? findSchemasDir();
  const { entries, problems } = readManifest(dir);
  const sources: SchemaSource[] = [];
  for (const entry of entries) {
    try {
      const avroSchema: unknown = JSON.parse(readFileSync(join(dir, entry.file), 'utf8'));
      sources.push({ ...entry, avroSchema, origin: entry.file });
    } catch (error) {
      problems.push(`${entry.file}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw catalogError(problems);
  return createSchemaCatalog(sources, { dir });
}

/** Builds a catalog from schemas already in memory (tests, or ids from a Schema Registry). */
export function createSchemaCatalog(
  sources: readonly SchemaSource[],
  options: { dir?: string } = {},
): SchemaCatalog {
  const problems: string[] = [];
  const byId = new Map<number, RegisteredSchema>();
  const byType = new Map<string, RegisteredSchema[]>();
  for (const source of sources) {
    const label = source.origin ?? `${source.type} v${source.version} (id ${source.id})`;
    if (byId.has(source.id)) problems.push(`${label}: schema id ${source.id} is used twice`);
    if (byType.get(source.type)?.some((other) => other.version === source.version)) {
      problems.push(`${label}: ${source.type} v${source.version} is registered twice`);
    }
    const registered = toRegisteredSchema(source, (problem) => problems.push(`${label}: ${problem}`));
    if (registered === undefined) continue;
    byId.set(registered.id, registered);
    byType.set(registered.type, [...(byType.get(registered.type) ?? []), registered]);
  }
  if (problems.length > 0) throw catalogError(problems);

  for (const versions of byType.values()) versions.sort((a, b) => a.version - b.version);
  const types = [...byType.keys()].sort();
  const all = [...byId.values()].sort((a, b) => a.id - b.id);
  return Object.freeze({
    dir: options.dir,
    types: () => [...types],
    latest: (type: string) => byType.get(type)?.at(-1),
    deprecated: () => false,
    byId: (id: number) => byId.get(id),
    versions: (type: string) => byType.get(type) ?? [],
    all: () => all,
  });
}

/**
 * Builds one catalog entry: the avsc Type (checked against the Avro policy) and its JSON Schema.
 * Reports each problem and returns undefined when the schema cannot be used.
 */
export function toRegisteredSchema(
  source: SchemaSource,
  report: (problem: string) => void,
): RegisteredSchema | undefined {
  let avroType: Type;
  try {
    avroType = createAvroType(source.avroSchema as Schema);
  } catch (error) {
    report(`invalid Avro schema: ${(error as Error).message}`);
    return undefined;
  }
  const policyProblems = findAvroPolicyProblems(avroType, { allowBytes: isReservedSubject(source.type) });
  if (policyProblems.length > 0) {
    policyProblems.forEach(report);
    return undefined;
  }
  return Object.freeze({
    id: source.id,
    type: source.type,
    version: source.version,
    avroSchema: deepFreeze(structuredClone(source.avroSchema) as AvroSchemaJson),
    avroType,
    jsonSchema: deepFreeze(avroToJsonSchema(avroType, { title: `${source.type} v${source.version}` })),
  });
}

function catalogError(problems: string[]): SluiceError {
  return new SluiceError('SLUICE_CONFIG_INVALID', `invalid schema catalog:\n  - ${problems.join('\n  - ')}`, {
    details: { problems },
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
