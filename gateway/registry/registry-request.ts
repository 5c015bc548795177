import { SluiceError } from '../../common/errors.js';
import { isCompatibilityLevel, type CompatibilityLevel } from '../../schemas/registry/compatibility-level.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';

// Reading what Confluent's clients send: their query flags, version and id segments, and bodies.

/**
 * The media types Confluent's clients send bodies as (the Java and Python clients use the first);
 * parameters such as `charset` are allowed.
 */
const bodyMediaTypes = [
  'application/vnd.schemaregistry.v1+json',
  'application/vnd.schemaregistry+json',
  'application/json',
];

const maxVersion = 2 ** 31 - 1;

/**
 * A boolean query flag. Clients write `true`, `True` (Python formats its booleans into the query
 * string) or nothing; anything else is false, as Confluent reads it.
 */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

/** A version segment: a positive integer, `latest` or `-1` (Confluent's alias for latest); else 42202. */
export function parseVersion(text: string): number | 'latest' {
  if (text === 'latest' || text === '-1') return 'latest';
  const version = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(version <= maxVersion)) {
    throw new RegistryError(
      'INVALID_VERSION',
      `The specified version '${text.slice(0, 40)}' is not a valid version id. Allowed values are between [1, ${maxVersion}] and the string "latest"`,
    );
  }
  return version;
}

/** A schema id segment; anything that is not a positive integer names no schema (40403). */
export function parseSchemaId(text: string): number {
  const id = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id <= maxVersion)) throw schemaNotFound(text.slice(0, 40));
  return id;
}

export function schemaNotFound(id: number | string): RegistryError {
  return new RegistryError('SCHEMA_NOT_FOUND', `Schema ${id} not found`);
}

/** The JSON object of a request body, after checking its media type (415) and syntax (400). */
export function parseBody(contentType: string | undefined, body: Buffer): Record<string, unknown> {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType === undefined || !bodyMediaTypes.includes(mediaType)) {
    throw new SluiceError(
      'SLUICE_UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${contentType ?? '(none)'} is not supported; send ${bodyMediaTypes.join(', ')}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // The parser's message quotes the body; a schema can be long, so it stays out.
    throw new SluiceError('SLUICE_MALFORMED_REQUEST', 'The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SluiceError('SLUICE_MALFORMED_REQUEST', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * The schema text of a register, lookup or compatibility body (`{"schema": "…", "schemaType"?,
 * "references"?}`). Only Avro is held (an absent `schemaType` means Avro, as for every Confluent
 * client); references, metadata and rule sets are refused rather than silently dropped.
 */
export function schemaOfBody(body: Record<string, unknown>): string {
  const { schema, schemaType, references, metadata, ruleSet } = body;
  if (schemaType !== undefined && schemaType !== null && String(schemaType).toUpperCase() !== 'AVRO') {
    throw new RegistryError(
      'INVALID_SCHEMA',
      `Invalid schema: schemaType ${JSON.stringify(schemaType)} is not supported; Sluice's registry holds Avro schemas only`,
    );
  }
  if (Array.isArray(references) ? references.length > 0 : references !== undefined && references !== null) {
    throw new RegistryError(
      'INVALID_SCHEMA',
      'Invalid schema: schema references are not supported; inline the named types into the record',
    );
  }
  if ((metadata ?? null) !== null || (ruleSet ?? null) !== null) {
    throw new RegistryError('INVALID_SCHEMA', 'Invalid schema: metadata and rule sets are not supported');
  }
  if (typeof schema !== 'string' || schema.trim() === '') {
    throw new RegistryError(
      'INVALID_SCHEMA',
      'Invalid schema: the body needs "schema", the schema as a string',
    );
  }
  return schema;
}

/** The level of a `PUT /config` body (`{"compatibility": "BACKWARD"}`, any case); else 42203. */
export function levelOfBody(body: Record<string, unknown>): CompatibilityLevel {
  const given = body.compatibility ?? body.compatibilityLevel;
  const level = typeof given === 'string' ? given.toUpperCase() : given;
  if (!isCompatibilityLevel(level)) {
    throw new RegistryError(
      'INVALID_COMPATIBILITY_LEVEL',
      `Invalid compatibility level ${JSON.stringify(given ?? null)}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive`,
    );
  }
  return level;
}

/** The `doc` of a schema's record, kept as the event type's description (as `sluice schemas import` does). */
export function docOf(schema: string): string | undefined {
  try {
    const doc = (JSON.parse(schema) as { doc?: unknown } | null)?.doc;
    return typeof doc === 'string' ? doc : undefined;
  } catch {
    return undefined;
  }
}
