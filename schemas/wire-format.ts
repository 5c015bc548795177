// The Confluent wire format that Kafka records carry: one magic byte (0), the schema id as a 4-byte
// big-endian unsigned integer, then the Avro binary body. Confluent's deserializers, kcat and
// ksqlDB read it, so our topics stay readable by standard tooling.

export const WIRE_MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;
/** Schema ids are unsigned 32-bit on the wire (Confluent treats them as positive Java ints). */
export const MAX_WIRE_SCHEMA_ID = 0x7fff_ffff;

export type WireHeader =
  { ok: true; schemaId: number } | { ok: false; reason: 'bad-magic-byte'; message: string };

/** Writes the 5-byte header at the start of `target`, which must have room for it. */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  if (!Number.isInteger(schemaId) || schemaId < 1 || schemaId > MAX_WIRE_SCHEMA_ID) {
    throw new RangeError(`schema id must be an integer from 1 to ${MAX_WIRE_SCHEMA_ID}, got ${schemaId}`);
  }
  target[0] = WIRE_MAGIC_BYTE;
  target.writeUInt32BE(schemaId, 1);
}

/**
 * Reads the header of a record value. A value shorter than the header cannot be in the wire format
 * at all, so it is reported with the same reason as a wrong magic byte.
 */
export function readWireHeader(record: Buffer): WireHeader {
  if (record.length < WIRE_HEADER_BYTES) {
    return {
      ok: false,
      reason: 'bad-magic-byte',
      message: `record value is ${record.length} bytes, shorter than the ${WIRE_HEADER_BYTES}-byte wire header`,
    };
  }
  if (record[0] !== WIRE_MAGIC_BYTE) {
    return {
      ok: false,
      reason: 'bad-magic-byte',
      message: `record value starts with byte ${record[0]}, expected magic byte ${WIRE_MAGIC_BYTE}`,
    };
  }
  return { ok: true, schemaId: record.readUInt32BE(1) };
}

/** The Avro body after the header, sharing memory with `record` (no copy). */
export function wirePayload(record: Buffer): Buffer {
  return record.subarray(WIRE_HEADER_BYTES);
}
