import type { Type } from 'avsc';
import type { RegisteredSchema, SchemaCatalog } from './schema-catalog.js';
import { findSchemaViolation, type SchemaViolation } from './schema-violation.js';
import { readWireHeader, WIRE_HEADER_BYTES, wirePayload, writeWireHeader } from './wire-format.js';

export type EncodeResult = { ok: true; value: Buffer } | ({ ok: false } & SchemaViolation);

export type DecodeFailureReason = 'bad-magic-byte' | 'unknown-schema-id' | 'invalid-avro';

/** A poison record is an expected outcome for consumers (they dead-letter it), so it is a value. */
export type DecodeResult =
  | { ok: true; schema: RegisteredSchema; data: Record<string, unknown> }
  | { ok: false; reason: DecodeFailureReason; message: string; schemaId?: number };

/**
 * Validates an event's `data` (plain JSON, see README.md) and encodes it as a Kafka record value in
 * the Confluent wire format. Invalid data yields the first failing path, e.g. `data.items[2].sku`.
 */
export function encodeEvent(schema: RegisteredSchema, data: unknown): EncodeResult {
  const violation = findSchemaViolation(schema.avroType, data);
  if (violation !== undefined) return { ok: false, ...violation };
  return { ok: true, value: encodeWire(schema.id, schema.avroType, data) };
}

/**
 * What the gateway's routes encode with: `data` validated and encoded with the newest schema of
 * `type`, or why not. An unknown type and a deprecated one are refusals, not errors.
 */
export type EventEncoder = (
  type: string,
  data: unknown,
) =>
  | { ok: true; value: Buffer }
  | { ok: false; reason: 'unknown-type' | 'deprecated' }
  | { ok: false; reason: 'invalid'; path: string; message: string };

/**
 * An encoder over the live catalog (the schema registry's state), so a version registered while the
 * gateway runs is used by the next event. `fixedType` encodes every event as that type whatever its
 * name (the inbound route's `sluice.inbound.webhook`).
 */
export function createEventEncoder(
  catalog: Pick<SchemaCatalog, 'latest' | 'deprecated'>,
  fixedType?: string,
): EventEncoder {
  return (type, data) => {
    const schema = catalog.latest(fixedType ?? type);
    if (!schema) return { ok: false, reason: catalog.deprecated(type) ? 'deprecated' : 'unknown-type' };
    const encoded = encodeEvent(schema, data);
    if (!encoded.ok) return { ok: false, reason: 'invalid', path: encoded.path, message: encoded.message };
    return { ok: true, value: encoded.value };
  };
}

/** Reads a record value written by `encodeEvent` (or any Confluent-format Avro producer). */
export function decodeEvent(catalog: Pick<SchemaCatalog, 'byId'>, record: Buffer): DecodeResult {
  const header = readWireHeader(record);
  if (!header.ok) return header;
  const { schemaId } = header;
  const schema = catalog.byId(schemaId);
  if (schema === undefined) {
    return {
      ok: false,
      reason: 'unknown-schema-id',
      schemaId,
      message: `schema id ${schemaId} is not in the catalog`,
    };
  }
  try {
    // fromBuffer also refuses trailing bytes, so a record cut or padded in transit is caught.
    const data = schema.avroType.fromBuffer(wirePayload(record)) as Record<string, unknown>;
    return { ok: true, schema, data };
  } catch (error) {
    return {
      ok: false,
      reason: 'invalid-avro',
      schemaId,
      message: `record is not valid ${schema.type} v${schema.version} Avro (schema id ${schemaId}): ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
}

// avsc writes each event into one reused scratch buffer, after room for the header; the used bytes
// are then copied out once. That is one allocation and copy per event instead of two (toBuffer,
// then concat with the header) on the ingest hot path. Synchronous, so no two writers interleave.
let scratch = Buffer.allocUnsafe(64 * 1024);

function encodeWire(schemaId: number, type: Type, data: unknown): Buffer {
  let end = type.encode(data, scratch, WIRE_HEADER_BYTES);
  if (end < 0) {
    // A negative result is the number of bytes that did not fit.
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
    end = type.encode(data, scratch, WIRE_HEADER_BYTES);
  }
  writeWireHeader(scratch, schemaId);
  return Buffer.from(scratch.subarray(0, end));
}
