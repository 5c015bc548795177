import { describe, expect, it } from 'vitest';
import { MemorySchemaRegistry } from '../test/support/memory-schema-registry.js';
import { decodeEvent, encodeEvent } from './event-codec.js';
import type { SchemaRegistry } from './registry/schema-registry.js';
import { isSluiceOwnedSchema, sluiceOwnedType } from './sluice-owned-types.js';
import {
  subscriptionDisabledSchema,
  subscriptionDisabledType,
  subscriptionEventSchemas,
} from './subscription-events.js';

describe('Sluice’s own types', () => {
  it('accepts each operational event schema under its own reserved subject only', () => {
    for (const [subject, schema] of Object.entries(subscriptionEventSchemas)) {
      expect(isSluiceOwnedSchema(subject, JSON.stringify(schema))).toBe(true);
      expect(isSluiceOwnedSchema('sluice.inbound_webhook', schema)).toBe(false);
    }
    const changed = { ...subscriptionDisabledSchema, fields: subscriptionDisabledSchema.fields.slice(1) };
    expect(isSluiceOwnedSchema(subscriptionDisabledType, changed)).toBe(false);
    expect(isSluiceOwnedSchema('sluice.subscription.other', subscriptionDisabledSchema)).toBe(false);
  });

  it('registers a type once on first need, and its events encode and decode', async () => {
    const registry = new MemorySchemaRegistry();
    const type = sluiceOwnedType(registry as unknown as SchemaRegistry, subscriptionDisabledType);
    expect(registry.state.latest(subscriptionDisabledType)).toBeUndefined();
    await Promise.all([type.ensure(), type.ensure()]);
    const schema = registry.state.latest(subscriptionDisabledType)!;
    expect(registry.state.subjectVersions(subscriptionDisabledType)).toHaveLength(1);
    const data = {
      subscriptionId: 'sub_x',
      reason: 'failing',
      disabledAt: '2024-03-01T10:00:00.000Z',
      failingSince: '2024-02-25T10:00:00.000Z',
      deadLetters: null,
      lastStatus: 503,
      lastError: null,
    };
    const encoded = encodeEvent(schema, data);
    if (!encoded.ok) throw new Error(encoded.message);
    expect(decodeEvent(registry.state, encoded.value)).toMatchObject({ ok: true, data });
  });

  it('refuses to register a subject that is not one of its own', () => {
    expect(() =>
      sluiceOwnedType(new MemorySchemaRegistry() as unknown as SchemaRegistry, 'sluice.x'),
    ).toThrow(/not one of Sluice's own types/);
  });
});
