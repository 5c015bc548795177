import { describe, expect, it } from 'vitest';
import {
  MAX_WIRE_SCHEMA_ID,
  readWireHeader,
  WIRE_HEADER_BYTES,
  wirePayload,
  writeWireHeader,
} from './wire-format.js';

describe('wire format', () => {
  it('writes magic byte 0 then the schema id as 4 big-endian bytes', () => {
    const record = Buffer.alloc(WIRE_HEADER_BYTES + 1, 0xff);
    writeWireHeader(record, 0x01020304);
    expect([...record]).toEqual([0, 1, 2, 3, 4, 0xff]);
  });

  it('reads back the schema id it wrote, up to the largest id', () => {
    for (const schemaId of [1, 300, MAX_WIRE_SCHEMA_ID]) {
      const record = Buffer.alloc(WIRE_HEADER_BYTES);
      writeWireHeader(record, schemaId);
      expect(readWireHeader(record)).toEqual({ ok: true, schemaId });
    }
  });

  it('refuses schema ids that do not fit a positive 32-bit int', () => {
    const record = Buffer.alloc(WIRE_HEADER_BYTES);
    for (const schemaId of [0, -1, 1.5, MAX_WIRE_SCHEMA_ID + 1]) {
      expect(() => writeWireHeader(record, schemaId)).toThrow(RangeError);
    }
  });

  it('reports a record that does not start with the magic byte', () => {
    const header = readWireHeader(Buffer.from([1, 0, 0, 0, 7, 2]));
    expect(header).toMatchObject({ ok: false, reason: 'bad-magic-byte' });
  });

  it('reports a record shorter than the header as a bad magic byte', () => {
    expect(readWireHeader(Buffer.alloc(0))).toMatchObject({ ok: false, reason: 'bad-magic-byte' });
    const short = readWireHeader(Buffer.from([0, 0, 0]));
    expect(short).toMatchObject({ ok: false, reason: 'bad-magic-byte' });
    expect(short.ok ? '' : short.message).toContain('3 bytes');
  });

  it('gives the Avro body after the header without copying', () => {
    const record = Buffer.from([0, 0, 0, 0, 9, 0xaa, 0xbb]);
    const payload = wirePayload(record);
    expect([...payload]).toEqual([0xaa, 0xbb]);
    record[5] = 0xcc;
    expect(payload[0]).toBe(0xcc);
  });
});
