import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { createEventEncoder, decodeEvent, encodeEvent } from './event-codec.js';
import { createSchemaCatalog, loadSchemaCatalog, type RegisteredSchema } from './schema-catalog.js';
import { readWireHeader, WIRE_HEADER_BYTES } from './wire-format.js';

const catalog = loadSchemaCatalog();

function fixtureOf(schema: RegisteredSchema): Record<string, unknown> {
  const path = join(catalog.dir ?? '', 'fixtures', schema.type, `v${schema.version}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function encoded(schema: RegisteredSchema, data: unknown): Buffer {
  const result = encodeEvent(schema, data);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

function withBody(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.from([0, 0, 0, 0, 0]);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

const orderCreatedV1 = catalog.versions('order.created')[0] as RegisteredSchema;
const orderCreated = catalog.latest('order.created') as RegisteredSchema;

describe('encodeEvent and decodeEvent', () => {
  it.each(catalog.all().map((schema) => [`${schema.type} v${schema.version}`, schema] as const))(
    'round-trips the %s fixture through the wire format',
    (_label, schema) => {
      const fixture = fixtureOf(schema);
      const record = encoded(schema, fixture);
      expect(readWireHeader(record)).toEqual({ ok: true, schemaId: schema.id });
      const decoded = decodeEvent(catalog, record);
      if (!decoded.ok) throw new Error(decoded.message);
      expect(decoded.schema).toBe(schema);
      expect(decoded.data).toMatchObject(fixture);
      expect(JSON.parse(JSON.stringify(decoded.data))).toMatchObject(fixture);
    },
  );

  it('writes exactly avsc binary after the header, so any Avro reader can decode the body', () => {
    const fixture = fixtureOf(orderCreated);
    const record = encoded(orderCreated, fixture);
    expect(record.subarray(WIRE_HEADER_BYTES).equals(orderCreated.avroType.toBuffer(fixture))).toBe(true);
  });

  it('fills omitted fields with their defaults', () => {
    const decoded = decodeEvent(catalog, encoded(orderCreatedV1, fixtureOf(orderCreatedV1)));
    expect(decoded.ok && decoded.data.shippingAddress).toMatchObject({ city: 'Berlin', region: null });
  });

  it('returns buffers that later encodes do not overwrite', () => {
    const first = encoded(orderCreated, fixtureOf(orderCreated));
    const snapshot = Buffer.from(first);
    encoded(orderCreatedV1, { ...fixtureOf(orderCreatedV1), orderId: 'ord_other', customerId: 'cus_other' });
    expect(first.equals(snapshot)).toBe(true);
  });

  it('encodes an event larger than its scratch buffer', () => {
    const items = Array.from({ length: 20_000 }, (_, index) => ({
      sku: `SKU-${index}`,
      quantity: 1,
      unitPriceMinor: 1000,
    }));
    const record = encoded(orderCreated, { ...fixtureOf(orderCreated), items });
    expect(record.length).toBeGreaterThan(128 * 1024);
    const decoded = decodeEvent(catalog, record);
    expect(decoded.ok && (decoded.data.items as unknown[]).length).toBe(20_000);
  });

  it('returns the failing path instead of encoding invalid data', () => {
    const result = encodeEvent(orderCreated, { ...fixtureOf(orderCreated), currency: 978 });
    expect(result).toEqual({
      ok: false,
      path: 'data.currency',
      message: 'data.currency must be a string, got 978',
    });
  });
});

describe('decodeEvent with poison records', () => {
  const body = orderCreated.avroType.toBuffer(fixtureOf(orderCreated));

  it('reports a wrong magic byte', () => {
    const record = withBody(orderCreated.id, body);
    record[0] = 1;
    expect(decodeEvent(catalog, record)).toMatchObject({ ok: false, reason: 'bad-magic-byte' });
  });

  it('reports an empty or plain-JSON record value as a bad magic byte', () => {
    expect(decodeEvent(catalog, Buffer.alloc(0))).toMatchObject({ ok: false, reason: 'bad-magic-byte' });
    expect(decodeEvent(catalog, Buffer.from('{"orderId":"x"}'))).toMatchObject({
      ok: false,
      reason: 'bad-magic-byte',
    });
  });

  it('reports a schema id that is not in the catalog, with the id', () => {
    expect(decodeEvent(catalog, withBody(9999, body))).toMatchObject({
      ok: false,
      reason: 'unknown-schema-id',
      schemaId: 9999,
    });
  });

  it('reports a truncated body as invalid Avro', () => {
    const result = decodeEvent(catalog, withBody(orderCreated.id, body.subarray(0, body.length - 3)));
    expect(result).toMatchObject({ ok: false, reason: 'invalid-avro', schemaId: orderCreated.id });
  });

  it('reports trailing bytes as invalid Avro', () => {
    const result = decodeEvent(catalog, withBody(orderCreated.id, Buffer.concat([body, Buffer.from([2])])));
    expect(result).toMatchObject({ ok: false, reason: 'invalid-avro' });
  });

  it('reports a body written with another schema as invalid Avro', () => {
    const payment = catalog.latest('payment.succeeded') as RegisteredSchema;
    const result = decodeEvent(
      catalog,
      withBody(orderCreated.id, payment.avroType.toBuffer(fixtureOf(payment))),
    );
    expect(result).toMatchObject({ ok: false, reason: 'invalid-avro' });
  });

  it('reports an out-of-range enum index as invalid Avro', () => {
    const inventory = catalog.latest('inventory.adjusted') as RegisteredSchema;
    const valid = inventory.avroType.toBuffer(fixtureOf(inventory));
    // The enum is followed by the referenceId union; with referenceId null the body ends
    // [enum index][union index 0], so the enum index is the second-to-last byte.
    const corrupt = Buffer.from(valid);
    corrupt[corrupt.length - 2] = 0x7e; // zig-zag 63: far past the seven symbols
    const result = decodeEvent(catalog, withBody(inventory.id, corrupt));
    expect(result).toMatchObject({ ok: false, reason: 'invalid-avro' });
    expect(result.ok ? '' : result.message).toContain('enum');
  });

  describe('corrupt block counts', () => {
    const small = createSchemaCatalog([
      {
        id: 1,
        type: 'test.collections',
        version: 1,
        avroSchema: {
          type: 'record',
          name: 'Collections',
          fields: [
            { name: 'tags', type: { type: 'array', items: 'string' } },
            { name: 'labels', type: { type: 'map', values: 'string' } },
          ],
        },
      },
    ]);
    const long = avro.Type.forSchema('long');

    it('stops at an array count larger than the record instead of looping billions of times', () => {
      const corrupt = Buffer.concat([long.toBuffer(2 ** 31), Buffer.from([2, 0x61, 0, 0])]);
      const startedMs = performance.now();
      const result = decodeEvent(small, withBody(1, corrupt));
      expect(result).toMatchObject({ ok: false, reason: 'invalid-avro' });
      expect(result.ok ? '' : result.message).toContain('2147483648 items announced');
      expect(performance.now() - startedMs).toBeLessThan(1000);
    });

    it('stops at a map count larger than the record', () => {
      const corrupt = Buffer.concat([
        Buffer.from([0]),
        long.toBuffer(-(2 ** 40)),
        long.toBuffer(5),
        Buffer.from([0]),
      ]);
      const result = decodeEvent(small, withBody(1, corrupt));
      expect(result).toMatchObject({ ok: false, reason: 'invalid-avro' });
      expect(result.ok ? '' : result.message).toContain('items announced');
    });

    it('still decodes arrays and maps written in several blocks', () => {
      const valid = Buffer.concat([
        long.toBuffer(1),
        long.toBuffer(1),
        Buffer.from('a'),
        long.toBuffer(-1), // negative count: a byte size follows
        long.toBuffer(2),
        long.toBuffer(1),
        Buffer.from('b'),
        long.toBuffer(0),
        long.toBuffer(1),
        long.toBuffer(1),
        Buffer.from('k'),
        long.toBuffer(1),
        Buffer.from('v'),
        long.toBuffer(0),
      ]);
      const result = decodeEvent(small, withBody(1, valid));
      expect(result.ok && result.data).toEqual({ tags: ['a', 'b'], labels: { k: 'v' } });
    });

    it('decodes a __proto__ map key as data, not as the prototype', () => {
      const data = JSON.parse('{"tags": [], "labels": {"__proto__": "x", "plain": "y"}}') as unknown;
      const record = encodeEvent(small.latest('test.collections') as RegisteredSchema, data);
      if (!record.ok) throw new Error(record.message);
      const result = decodeEvent(small, record.value);
      const labels = (result.ok ? result.data.labels : {}) as Record<string, unknown>;
      expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
      expect(Object.keys(labels)).toEqual(['__proto__', 'plain']);
    });
  });
});

describe('createEventEncoder', () => {
  const deprecatedType = 'order.cancelled';
  const live = {
    latest: (type: string) => (type === deprecatedType ? undefined : catalog.latest(type)),
    deprecated: (type: string) => type === deprecatedType,
  };

  it('encodes with the newest schema of the named type', () => {
    const result = createEventEncoder(live)('order.created', fixtureOf(orderCreated));
    expect(result.ok && readWireHeader(result.value)).toEqual({ ok: true, schemaId: orderCreated.id });
  });

  it('tells an unknown type from a deprecated one', () => {
    const encode = createEventEncoder(live);
    expect(encode('no.such.type', {})).toEqual({ ok: false, reason: 'unknown-type' });
    expect(encode(deprecatedType, {})).toEqual({ ok: false, reason: 'deprecated' });
  });

  it('reports the failing path of invalid data', () => {
    const result = createEventEncoder(live)('order.created', { ...fixtureOf(orderCreated), currency: 978 });
    expect(result).toMatchObject({ ok: false, reason: 'invalid', path: 'data.currency' });
  });

  it('encodes every event as the fixed type, whatever its name', () => {
    const result = createEventEncoder(live, 'order.created')('anything.else', fixtureOf(orderCreated));
    expect(result.ok && readWireHeader(result.value)).toEqual({ ok: true, schemaId: orderCreated.id });
  });
});
