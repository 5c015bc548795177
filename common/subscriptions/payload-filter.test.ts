import { describe, expect, it } from 'vitest';
import { compilePayloadFilter } from './payload-filter-matcher.js';
import { parsePayloadFilter, payloadFilterLimits, type FilterDocument } from './payload-filter.js';

function problems(raw: unknown): Array<{ field: string; message: string }> {
  const parsed = parsePayloadFilter(raw);
  return 'problems' in parsed ? parsed.problems : [];
}

describe('parsePayloadFilter', () => {
  it('accepts every supported operator and lists the conditions with their paths and operand kinds', () => {
    const filter = {
      type: { $prefix: 'order.' },
      producer: { $in: ['shop-eu', 'shop-us'] },
      tenant: { $exists: false },
      'data.totalMinor': { $gt: 500, $lte: 100_000 },
      'data.currency': 'EUR',
      'data.items.0.sku': { $ne: null },
      $or: [{ 'data.channel': { $nin: ['POINT_OF_SALE'] } }, { 'data.couponCode': { $gte: 'A', $lt: 'M' } }],
      $and: [{ 'data.shippingAddress.country': { $not: { $eq: 'US' } } }],
      $not: { 'data.discountMinor': 0 },
    };
    const parsed = parsePayloadFilter(filter);
    if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.filter).toEqual(filter);
    expect(parsed.filter).not.toBe(filter);
    expect(parsed.conditions.map((c) => [c.field, c.operator, c.operandKinds])).toEqual([
      ['filter["type"].$prefix', '$prefix', ['string']],
      ['filter["producer"].$in', '$in', ['string', 'string']],
      ['filter["tenant"].$exists', '$exists', []],
      ['filter["data.totalMinor"].$gt', '$gt', ['number']],
      ['filter["data.totalMinor"].$lte', '$lte', ['number']],
      ['filter["data.currency"]', '$eq', ['string']],
      ['filter["data.items.0.sku"].$ne', '$ne', ['null']],
      ['filter.$or[0]["data.channel"].$nin', '$nin', ['string']],
      ['filter.$or[1]["data.couponCode"].$gte', '$gte', ['string']],
      ['filter.$or[1]["data.couponCode"].$lt', '$lt', ['string']],
      ['filter.$and[0]["data.shippingAddress.country"].$not.$eq', '$eq', ['string']],
      ['filter.$not["data.discountMinor"]', '$eq', ['number']],
    ]);
  });

  it('refuses an operator outside the list, naming it and where it is', () => {
    expect(problems({ 'data.note': { $regex: '^a' } })).toEqual([
      {
        field: 'filter["data.note"].$regex',
        message: expect.stringContaining('$regex is not a supported operator; use one of $eq, $ne'),
      },
    ]);
    expect(problems({ $where: 'this.data.total > 500' })).toEqual([
      { field: 'filter.$where', message: expect.stringContaining('$where is not a supported operator') },
    ]);
    expect(problems({ $nor: [{ type: 'a' }] })[0]!.field).toBe('filter.$nor');
    expect(problems({ 'data.items': { $elemMatch: { sku: 'A' } } })[0]!.field).toBe(
      'filter["data.items"].$elemMatch',
    );
  });

  it('refuses paths outside type, producer, tenant and data.*', () => {
    expect(problems({ id: 'evt_1' })[0]).toMatchObject({
      field: 'filter["id"]',
      message: expect.stringContaining('paths start with type, producer, tenant or data.'),
    });
    expect(problems({ data: { totalMinor: 5 } })[0]!.message).toContain('name a field of the data');
    expect(problems({ 'type.name': 'x' })[0]!.message).toContain('type is a string');
    expect(problems({ 'data..x': 1 })[0]!.message).toContain('is not a field path');
    expect(problems({ 'data.$x': 1 })[0]!.message).toContain('is not a field path');
  });

  it('refuses operands of the wrong kind, whole objects and arrays as values, and malformed logic', () => {
    const found = problems({
      'data.a': { $gt: true },
      'data.b': { $in: 'EUR' },
      'data.c': { $exists: 'yes' },
      'data.d': { $prefix: '' },
      'data.e': { nested: 1 },
      'data.f': ['x'],
      'data.g': {},
      'data.h': { $not: 5 },
      type: { $gt: 5 },
      producer: { $prefix: 7 },
      $or: [],
      $and: [{}],
    });
    expect(found.map((problem) => problem.field)).toEqual([
      'filter["data.a"].$gt',
      'filter["data.b"].$in',
      'filter["data.c"].$exists',
      'filter["data.d"].$prefix',
      'filter["data.e"]',
      'filter["data.f"]',
      'filter["data.g"]',
      'filter["data.h"].$not',
      'filter["type"].$gt',
      'filter["producer"].$prefix',
      'filter.$or',
      'filter.$and[0]',
    ]);
    expect(found[8]!.message).toBe('type holds a string, so $gt with a number can never match');
  });

  it('refuses what is not a non-empty object, and filters past the limits', () => {
    for (const raw of [[], 'type = x', 5, {}]) expect(problems(raw)).toHaveLength(1);
    const many = Object.fromEntries(
      Array.from({ length: payloadFilterLimits.maxConditions + 1 }, (_, i) => [`data.f${i}`, i]),
    );
    expect(problems(many)[0]!.message).toContain(`at most ${payloadFilterLimits.maxConditions} conditions`);
    let deep: Record<string, unknown> = { type: 'x' };
    for (let i = 0; i < payloadFilterLimits.maxDepth; i++) deep = { $not: deep };
    expect(problems(deep)[0]!.message).toContain('nest at most');
    expect(problems({ 'data.note': 'x'.repeat(payloadFilterLimits.maxBytes) })[0]!.message).toContain(
      'bytes of JSON',
    );
    expect(
      problems({ 'data.note': 'x'.repeat(payloadFilterLimits.maxStringChars + 1) })[0]!.message,
    ).toContain('at most 1000 characters');
  });
});

describe('compilePayloadFilter', () => {
  const order = (data: Record<string, unknown>, extra: Partial<FilterDocument> = {}): FilterDocument => ({
    type: 'order.created',
    producer: 'shop-eu',
    data,
    ...extra,
  });
  const matches = (filter: Record<string, unknown>, document: FilterDocument) => {
    const parsed = parsePayloadFilter(filter);
    if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
    return compilePayloadFilter(parsed.filter)(document);
  };

  it('compares numbers with numbers and strings with strings only', () => {
    const over500 = { 'data.totalMinor': { $gt: 500 } };
    expect(matches(over500, order({ totalMinor: 501 }))).toBe(true);
    expect(matches(over500, order({ totalMinor: 500 }))).toBe(false);
    expect(matches(over500, order({ totalMinor: '9000' }))).toBe(false);
    expect(matches(over500, order({}))).toBe(false);
    expect(matches({ 'data.currency': { $gte: 'EUR', $lt: 'GBP' } }, order({ currency: 'EUR' }))).toBe(true);
    expect(matches({ 'data.currency': { $gte: 'EUR', $lt: 'GBP' } }, order({ currency: 'USD' }))).toBe(false);
  });

  it('reads the event’s type, producer and tenant, and a missing tenant does not exist', () => {
    expect(matches({ type: { $prefix: 'order.' } }, order({}))).toBe(true);
    expect(matches({ type: { $prefix: 'payment.' } }, order({}))).toBe(false);
    expect(matches({ producer: { $in: ['shop-us', 'shop-eu'] } }, order({}))).toBe(true);
    expect(matches({ producer: { $nin: ['shop-eu'] } }, order({}))).toBe(false);
    expect(matches({ tenant: { $exists: false } }, order({}))).toBe(true);
    expect(matches({ tenant: 'acme' }, order({}, { tenant: 'acme' }))).toBe(true);
    expect(matches({ tenant: { $exists: false } }, order({}, { tenant: 'acme' }))).toBe(false);
  });

  it('looks into arrays as MongoDB does, and treats a missing field as null for $ne, $nin and $not', () => {
    const items = [{ sku: 'HOODIE' }, { sku: 'STICKER' }];
    expect(matches({ 'data.items.sku': 'STICKER' }, order({ items }))).toBe(true);
    expect(matches({ 'data.items.sku': { $in: ['MUG'] } }, order({ items }))).toBe(false);
    expect(matches({ 'data.items.0.sku': 'HOODIE' }, order({ items }))).toBe(true);
    expect(matches({ 'data.items.1.sku': 'HOODIE' }, order({ items }))).toBe(false);
    expect(matches({ 'data.couponCode': { $ne: 'X' } }, order({}))).toBe(true);
    expect(matches({ 'data.couponCode': null }, order({}))).toBe(true);
    expect(matches({ 'data.couponCode': { $exists: true } }, order({ couponCode: null }))).toBe(true);
    expect(matches({ 'data.totalMinor': { $not: { $gt: 500 } } }, order({}))).toBe(true);
  });

  it('combines with $and, $or and $not', () => {
    const filter = {
      $or: [{ 'data.totalMinor': { $gt: 10_000 } }, { 'data.currency': 'EUR' }],
      $not: { producer: 'shop-test' },
    };
    expect(matches(filter, order({ totalMinor: 20_000, currency: 'USD' }))).toBe(true);
    expect(matches(filter, order({ totalMinor: 100, currency: 'EUR' }))).toBe(true);
    expect(matches(filter, order({ totalMinor: 100, currency: 'USD' }))).toBe(false);
    expect(matches(filter, order({ totalMinor: 20_000 }, { producer: 'shop-test' }))).toBe(false);
    expect(matches({ $and: [{ 'data.a': { $gte: 1 } }, { 'data.a': { $lte: 2 } }] }, order({ a: 3 }))).toBe(
      false,
    );
  });

  it('knows no operator outside the list, even for a filter that skipped the checks', () => {
    expect(() => compilePayloadFilter({ $where: 'true' })).toThrow(/Unsupported operation: \$where/);
    expect(() => compilePayloadFilter({ 'data.a': { $regex: '.*' } })).toThrow(/Unsupported operation/);
  });
});
