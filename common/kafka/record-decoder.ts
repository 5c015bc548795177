/**
 * Decodes one Kafka record (record batch v2 "Record", KIP-98) into the object kafkajs 2.2.4's own
 * record decoder returns, for the delivery worker's fetches.
 *
 * kafkajs builds each record's headers object by spreading it once per header (quadratic in the
 * number of headers: Sluice writes eight or more per event, retry records more) and does its
 * offset and timestamp arithmetic on `Long` objects parsed from decimal strings, per record. That
 * was the largest single cost of the delivery worker after garbage collection. This decoder gives
 * the same result (checked against kafkajs's decoder in record-decoder.test.ts) with plain numbers
 * where they are exact, BigInt where they are not.
 */

/** The part of kafkajs's `Decoder` a record decoder is handed: the record's bytes and a cursor. */
export interface RecordBytes {
  buffer: Buffer;
  offset: number;
}

/** What kafkajs's record-batch decoder passes along with every record of a batch. */
export interface RecordBatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
  [other: string]: unknown;
}

export type HeaderValues = Record<string, Buffer | null | Array<Buffer | null>>;

export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string | undefined;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderValues;
  isControlRecord: boolean;
  batchContext: RecordBatchContext;
}

/** kafkajs's TimestampTypes.LOG_APPEND_TIME. */
const logAppendTime = 1;

/** A cursor over one record's bytes, reading varints exactly as kafkajs's Decoder does. */
class Cursor {
  constructor(
    readonly buffer: Buffer,
    public at: number,
  ) {}

  int8(): number {
    const value = this.buffer.readInt8(this.at);
    this.at += 1;
    return value;
  }

  /** kafkajs's readVarInt: 32-bit arithmetic, zigzag-decoded. */
  varInt(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buffer[this.at++]!;
      result += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong: a number while exact (up to seven bytes, 49 bits), else a bigint. */
  varLong(): number | bigint {
    const start = this.at;
    let raw = 0;
    let scale = 1;
    let byte: number;
    do {
      if (this.at - start >= 7) return this.bigVarLong(start);
      byte = this.buffer[this.at++]!;
      raw += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  private bigVarLong(start: number): bigint {
    this.at = start;
    let raw = 0n;
    let shift = 0n;
    let byte: number;
    do {
      if (shift > 63n) throw new Error('Invalid Long, must contain 9 bytes or less');
      byte = this.buffer[this.at++]!;
      raw += BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte >= 0x80);
    raw = BigInt.asUintN(64, raw);
    return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n));
  }

  bytes(): Buffer | null {
    const length = this.varInt();
    if (length === -1) return null;
    const value = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  string(): string | null {
    const length = this.varInt();
    if (length === -1) return null;
    const value = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }
}

/** `base` (a decimal string) plus `delta`, as a decimal string, exact over the 64-bit range. */
function addToDecimal(base: string | undefined, delta: number | bigint): string {
  const start = Number(base ?? 0);
  if (typeof delta === 'number' && Number.isSafeInteger(start)) {
    const sum = start + delta;
    if (Number.isSafeInteger(sum)) return String(sum);
  }
  return BigInt.asIntN(64, BigInt(base ?? 0) + BigInt(delta)).toString();
}

function addHeader(headers: HeaderValues, name: string | null, value: Buffer | null): void {
  const key = String(name);
  const existing = Object.prototype.hasOwnProperty.call(headers, key) ? headers[key] : undefined;
  const next =
    existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  // An own property even for `__proto__`, which plain assignment would turn into a prototype
  // change (kafkajs's object spread defines it as an own property too).
  if (key === '__proto__') {
    Object.defineProperty(headers, key, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    headers[key] = next;
  }
}

export function decodeRecord(decoder: RecordBytes, batchContext: RecordBatchContext = {}): DecodedRecord {
  const {
    firstOffset,
    firstTimestamp,
    magicByte,
    isControlBatch = false,
    timestampType,
    maxTimestamp,
  } = batchContext;
  const cursor = new Cursor(decoder.buffer, decoder.offset);
  const attributes = cursor.int8();
  const timestampDelta = cursor.varLong();
  const timestamp =
    timestampType === logAppendTime && maxTimestamp
      ? maxTimestamp
      : addToDecimal(firstTimestamp, timestampDelta);
  const offset = addToDecimal(firstOffset, cursor.varInt());
  const key = cursor.bytes();
  const value = cursor.bytes();
  const headers: HeaderValues = {};
  const headerCount = cursor.varInt();
  for (let i = 0; i < headerCount; i++) {
    const name = cursor.string();
    addHeader(headers, name, cursor.bytes());
  }
  decoder.offset = cursor.at;
  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}
