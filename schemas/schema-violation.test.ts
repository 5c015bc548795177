import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSchemaCatalog, type RegisteredSchema } from './schema-catalog.js';
import { findSchemaViolation } from './schema-violation.js';

const catalog = loadSchemaCatalog();

function schemaOf(type: string): RegisteredSchema {
  const schema = catalog.latest(type);
  if (schema === undefined) throw new Error(`${type} is not in the catalog`);
  return schema;
}

function fixtureOf(schema: RegisteredSchema): Record<string, unknown> {
  const path = join(catalog.dir ?? '', 'fixtures', schema.type, `v${schema.version}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

const orderCreated = schemaOf('order.created');
const accountCreated = schemaOf('account.created');

function orderWith(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...fixtureOf(orderCreated), ...changes };
}

function violationOf(schema: RegisteredSchema, data: unknown) {
  return findSchemaViolation(schema.avroType, data);
}

describe('findSchemaViolation', () => {
  it('accepts a valid event and one that omits fields with defaults', () => {
    expect(violationOf(orderCreated, fixtureOf(orderCreated))).toBeUndefined();
    const { discountMinor: _d, couponCode: _c, channel: _ch, ...withoutV2Fields } = fixtureOf(orderCreated);
    expect(violationOf(orderCreated, withoutV2Fields)).toBeUndefined();
  });

  it('names a missing required field', () => {
    const { customerId: _omitted, ...data } = fixtureOf(orderCreated);
    expect(violationOf(orderCreated, data)).toEqual({
      path: 'data.customerId',
      message: 'data.customerId is required (a string)',
    });
  });

  it('names a missing field inside an array item', () => {
    const items = [
      { sku: 'A', quantity: 1, unitPriceMinor: 100 },
      { sku: 'B', quantity: 1, unitPriceMinor: 100 },
      { quantity: 2, unitPriceMinor: 100 },
    ];
    expect(violationOf(orderCreated, orderWith({ items }))?.path).toBe('data.items[2].sku');
  });

  it('names a wrong type nested in an array and echoes the value', () => {
    const items = [
      { sku: 'A', quantity: 1, unitPriceMinor: 100 },
      { sku: 'B', quantity: '2', unitPriceMinor: 100 },
    ];
    expect(violationOf(orderCreated, orderWith({ items }))).toEqual({
      path: 'data.items[1].quantity',
      message: 'data.items[1].quantity must be an integer from -2147483648 to 2147483647, got "2"',
    });
  });

  it('refuses a long beyond what a double holds exactly, and fractions', () => {
    expect(violationOf(orderCreated, orderWith({ totalMinor: 9007199254740990 }))).toBeUndefined();
    const unsafe = violationOf(orderCreated, orderWith({ totalMinor: 2 ** 53 }));
    expect(unsafe?.path).toBe('data.totalMinor');
    expect(unsafe?.message).toContain('must be an integer from -9007199254740990 to 9007199254740990');
    expect(violationOf(orderCreated, orderWith({ totalMinor: 12.5 }))?.path).toBe('data.totalMinor');
  });

  it('refuses an unsafe long inside a nullable field', () => {
    const payment = schemaOf('payment.succeeded');
    const violation = violationOf(payment, { ...fixtureOf(payment), feeMinor: -(2 ** 60) });
    expect(violation?.path).toBe('data.feeMinor');
    expect(violation?.message).toContain('must be an integer');
  });

  it('lists the symbols when an enum value is unknown', () => {
    expect(violationOf(orderCreated, orderWith({ channel: 'TELEVISION' }))).toEqual({
      path: 'data.channel',
      message: 'data.channel must be one of WEB, MOBILE_APP, POINT_OF_SALE, MARKETPLACE, got "TELEVISION"',
    });
  });

  it('refuses an undeclared field and names it, so typos surface', () => {
    const violation = violationOf(orderCreated, orderWith({ totalMinr: 5 }));
    expect(violation?.path).toBe('data.totalMinr');
    expect(violation?.message).toMatch(
      /^data\.totalMinr is not a field of this schema \(expected one of: orderId,/,
    );
  });

  it('refuses an undeclared field inside a nested record', () => {
    const items = [{ sku: 'A', quantity: 1, unitPriceMinor: 100, colour: 'red' }];
    expect(violationOf(orderCreated, orderWith({ items }))?.path).toBe('data.items[0].colour');
  });

  it('quotes map keys that are not identifiers', () => {
    const data = { ...fixtureOf(accountCreated), attributes: { 'utm-source': 5 } };
    expect(violationOf(accountCreated, data)).toEqual({
      path: 'data.attributes["utm-source"]',
      message: 'data.attributes["utm-source"] must be a string, got 5',
    });
  });

  it('refuses an array where an object is expected, even an empty one', () => {
    expect(violationOf(orderCreated, orderWith({ items: [[]] }))).toEqual({
      path: 'data.items[0]',
      message: 'data.items[0] must be an object, got an array',
    });
    expect(violationOf(orderCreated, orderWith({ items: [['x']] }))?.message).toBe(
      'data.items[0] must be an object, got an array',
    );
    expect(violationOf(orderCreated, orderWith({ shippingAddress: [] }))?.message).toBe(
      'data.shippingAddress must be null or an object, got an array',
    );
  });

  it('refuses null for a field that is not nullable', () => {
    expect(violationOf(orderCreated, orderWith({ customerId: null }))?.message).toBe(
      'data.customerId must be a string, got null',
    );
  });

  it('refuses a timestamp that is not RFC 3339', () => {
    const violation = violationOf(orderCreated, orderWith({ placedAt: '05/11/2024 14:32' }));
    expect(violation?.path).toBe('data.placedAt');
    expect(violation?.message).toContain('must be an RFC 3339 timestamp');
    const trial = violationOf(accountCreated, { ...fixtureOf(accountCreated), trialEndsAt: 'soon' });
    expect(trial?.message).toContain('data.trialEndsAt must be null or an RFC 3339 timestamp');
  });

  it('reports data that is not an object at the root path', () => {
    expect(violationOf(orderCreated, null)).toEqual({
      path: 'data',
      message: 'data must be an object, got null',
    });
    expect(violationOf(orderCreated, 'x'.repeat(100))?.message).toBe(
      `data must be an object, got "${'x'.repeat(40)}…"`,
    );
  });
});
