import { describe, expect, it } from 'vitest';
import { checkFilterFields } from '../common/subscriptions/payload-filter-fields.js';
import { parsePayloadFilter } from '../common/subscriptions/payload-filter.js';
import { avroPathKinds, createFilterFieldTypes } from './avro-field-path.js';
import { createAvroType } from './create-avro-type.js';
import { loadSchemaCatalog } from './schema-catalog.js';

const catalog = loadSchemaCatalog();
const fieldTypes = createFilterFieldTypes(catalog);

describe('avroPathKinds', () => {
  const type = createAvroType({
    type: 'record',
    name: 'T',
    fields: [
      { name: 'total', type: 'long' },
      { name: 'ratio', type: ['null', 'double'] },
      { name: 'paid', type: 'boolean' },
      { name: 'status', type: { type: 'enum', name: 'S', symbols: ['OPEN', 'DONE'] } },
      { name: 'at', type: { type: 'string', logicalType: 'rfc3339-timestamp' } },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: { type: 'record', name: 'L', fields: [{ name: 'sku', type: 'string' }] },
        },
      },
      { name: 'attributes', type: { type: 'map', values: 'int' } },
      {
        name: 'address',
        type: ['null', { type: 'record', name: 'A', fields: [{ name: 'city', type: 'string' }] }],
      },
    ],
  });

  it('gives the kinds a path holds, through unions, arrays (by index or not), maps and logical types', () => {
    expect(avroPathKinds(type, ['total'])).toEqual(['number']);
    expect(avroPathKinds(type, ['ratio'])?.sort()).toEqual(['null', 'number']);
    expect(avroPathKinds(type, ['paid'])).toEqual(['boolean']);
    expect(avroPathKinds(type, ['status'])).toEqual(['string']);
    expect(avroPathKinds(type, ['at'])).toEqual(['string']);
    expect(avroPathKinds(type, ['tags'])).toEqual(['array', 'string']);
    expect(avroPathKinds(type, ['tags', '3'])).toEqual(['string']);
    expect(avroPathKinds(type, ['lines', 'sku'])).toEqual(['string']);
    expect(avroPathKinds(type, ['lines', '0', 'sku'])).toEqual(['string']);
    expect(avroPathKinds(type, ['attributes', 'anything'])).toEqual(['number']);
    expect(avroPathKinds(type, ['address'])?.sort()).toEqual(['null', 'object']);
    expect(avroPathKinds(type, ['address', 'city'])).toEqual(['string']);
  });

  it('has nothing for a path the schema lacks', () => {
    expect(avroPathKinds(type, ['totl'])).toBeUndefined();
    expect(avroPathKinds(type, ['total', 'cents'])).toBeUndefined();
    expect(avroPathKinds(type, ['address', 'street'])).toBeUndefined();
    expect(avroPathKinds(type, ['lines', 'price'])).toBeUndefined();
  });
});

describe('checkFilterFields against the example event types', () => {
  const check = (filter: Record<string, unknown>, eventTypes: string[]) => {
    const parsed = parsePayloadFilter(filter);
    if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
    return checkFilterFields(parsed.conditions, eventTypes, fieldTypes);
  };

  it('accepts paths of the type, including fields only a later version has', () => {
    expect(check({ 'data.totalMinor': { $gt: 500 } }, ['order.created'])).toEqual([]);
    expect(
      check({ 'data.channel': 'WEB', 'data.items.productName': { $exists: true } }, ['order.created']),
    ).toEqual([]);
    expect(check({ 'data.shippingAddress.country': { $in: ['DE', 'FR'] } }, ['order.created'])).toEqual([]);
  });

  it('refuses a path no matching type has, naming the path and the types', () => {
    expect(check({ 'data.total': { $gt: 500 } }, ['order.created'])).toEqual([
      {
        field: 'filter["data.total"].$gt',
        message: 'data.total is not a field of order.created in any of its versions',
      },
    ]);
    expect(check({ $or: [{ 'data.totl': 1 }] }, ['order.*'])).toEqual([
      {
        field: 'filter.$or[0]["data.totl"]',
        message:
          'data.totl is not a field of any event type eventTypes match (order.cancelled, order.created, order.fulfilled)',
      },
    ]);
  });

  it('accepts a path that at least one type a glob matches has', () => {
    expect(fieldTypes.dataFieldKinds('order.cancelled', ['totalMinor'])).toBeUndefined();
    expect(check({ 'data.totalMinor': { $gt: 500 } }, ['order.*'])).toEqual([]);
  });

  it('refuses an operand of a kind the field never holds', () => {
    expect(check({ 'data.totalMinor': { $gt: '500' } }, ['order.created'])).toEqual([
      {
        field: 'filter["data.totalMinor"].$gt',
        message: 'data.totalMinor holds a number, so $gt with a string can never match (in order.created)',
      },
    ]);
    expect(check({ 'data.currency': { $prefix: 'E' }, 'data.couponCode': null }, ['order.created'])).toEqual(
      [],
    );
    expect(check({ 'data.items': { $prefix: 'x' } }, ['order.created'])[0]!.message).toContain(
      '$prefix applies to strings',
    );
  });

  it('refuses data paths when no registered type matches, and ignores non-data paths', () => {
    expect(check({ 'data.x': 1 }, ['custom.*'])[0]!.message).toContain('no registered event type matches');
    expect(check({ type: 'custom.created', producer: { $prefix: 'shop' } }, ['custom.*'])).toEqual([]);
  });
});
