import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../common/errors.js';
import { createSchemaCatalog, loadSchemaCatalog, type SchemaSource } from './schema-catalog.js';

function recordSource(id: number, fields: unknown[], type = `test.case_${id}`): SchemaSource {
  return { id, type, version: 1, avroSchema: { type: 'record', name: 'Case', fields }, origin: `case ${id}` };
}

function catalogProblems(sources: SchemaSource[]): string[] {
  try {
    createSchemaCatalog(sources);
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) return error.details.problems as string[];
    throw error;
  }
  return [];
}

describe('loadSchemaCatalog', () => {
  const catalog = loadSchemaCatalog();

  it('loads every event type of the committed catalog', () => {
    expect(catalog.types()).toEqual([
      'account.created',
      'account.plan_changed',
      'inventory.adjusted',
      'order.cancelled',
      'order.created',
      'order.fulfilled',
      'payment.failed',
      'payment.succeeded',
      'refund.created',
    ]);
    expect(catalog.all()).toHaveLength(11);
  });

  it('finds schemas by id and the latest version by type', () => {
    expect(catalog.byId(1)).toMatchObject({ id: 1, type: 'order.created', version: 1 });
    expect(catalog.latest('order.created')).toMatchObject({ id: 10, version: 2 });
    expect(catalog.latest('order.created')).toBe(catalog.byId(10));
    expect(catalog.versions('order.created').map((schema) => schema.version)).toEqual([1, 2]);
    expect(catalog.byId(999)).toBeUndefined();
    expect(catalog.latest('order.teleported')).toBeUndefined();
    expect(catalog.versions('order.teleported')).toEqual([]);
  });

  it('builds each avsc Type once and freezes what callers could mutate', () => {
    const schema = catalog.latest('refund.created');
    expect(schema?.avroType).toBe(catalog.byId(schema?.id ?? 0)?.avroType);
    expect(Object.isFrozen(schema)).toBe(true);
    expect(Object.isFrozen(schema?.jsonSchema.properties)).toBe(true);
    expect(Object.isFrozen(schema?.avroSchema.fields)).toBe(true);
    const types = catalog.types();
    types.pop();
    expect(catalog.types()).toHaveLength(9);
  });

  it('reads plain JSON unions, not the wrapped {"string": …} form', () => {
    const type = catalog.latest('order.cancelled')?.avroType;
    expect(
      type?.isValid({
        orderId: 'o',
        customerId: 'c',
        cancelledAt: '2024-11-05T16:10:00Z',
        reason: 'OTHER',
        note: 'x',
      }),
    ).toBe(true);
    expect(
      type?.isValid({
        orderId: 'o',
        customerId: 'c',
        cancelledAt: '2024-11-05T16:10:00Z',
        reason: 'OTHER',
        note: { string: 'x' },
      }),
    ).toBe(false);
  });

  it('fails with SLUICE_CONFIG_INVALID when the directory has no valid manifest', () => {
    expect(() => loadSchemaCatalog({ dir: '/nonexistent-sluice-schemas' })).toThrow(/manifest\.json/);
  });
});

describe('createSchemaCatalog policy', () => {
  it('lists every problem of every schema at once', () => {
    const problems = catalogProblems([
      recordSource(1, [{ name: 'payload', type: 'bytes' }]),
      recordSource(2, [{ name: 'ratio', type: 'float' }]),
      recordSource(3, [{ name: 'checksum', type: { type: 'fixed', name: 'Md5', size: 16 } }]),
    ]);
    expect(problems).toEqual([
      'case 1: data.payload: bytes has no JSON form; use a string (e.g. base64) instead',
      'case 2: data.ratio: float silently rounds JSON numbers; use double',
      'case 3: data.checksum: fixed has no JSON form; use a string (e.g. base64) instead',
    ]);
  });

  it('refuses a union that plain JSON cannot tell apart', () => {
    const problems = catalogProblems([recordSource(1, [{ name: 'amount', type: ['int', 'long'] }])]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^case 1: invalid Avro schema: ambiguous unwrapped union/);
  });

  it('refuses a top-level schema that is not a record', () => {
    const problems = catalogProblems([{ id: 1, type: 'test.scalar', version: 1, avroSchema: 'string' }]);
    expect(problems[0]).toContain('the top-level schema must be a record');
  });

  it('refuses arrays of items that take no bytes, which would defeat the corrupt-count guard', () => {
    const problems = catalogProblems([
      recordSource(1, [{ name: 'gaps', type: { type: 'array', items: 'null' } }]),
    ]);
    expect(problems).toEqual(['case 1: data.gaps: array items must not encode to zero bytes']);
  });

  it('refuses a reused id and a repeated type and version', () => {
    const field = [{ name: 'a', type: 'string' }];
    const problems = catalogProblems([
      recordSource(1, field, 'test.one'),
      recordSource(1, field, 'test.two'),
      { ...recordSource(2, field, 'test.one') },
    ]);
    expect(problems).toEqual([
      'case 1: schema id 1 is used twice',
      'case 2: test.one v1 is registered twice',
    ]);
  });

  it('builds a catalog from memory, as a Schema Registry client would', () => {
    const catalog = createSchemaCatalog([recordSource(41, [{ name: 'a', type: 'string' }], 'test.memory')]);
    expect(catalog.dir).toBeUndefined();
    expect(catalog.byId(41)?.jsonSchema.required).toEqual(['a']);
  });
});
