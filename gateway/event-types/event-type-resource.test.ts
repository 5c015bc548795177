import { describe, expect, it } from 'vitest';
import type { RegistryChange } from '../../schemas/registry/registry-records.js';
import { RegistryState } from '../../schemas/registry/registry-state.js';
import { eventTypeResource, eventTypeSummaries } from './event-type-resource.js';

function schemaText(name: string, extra: object[] = []): string {
  return JSON.stringify({ type: 'record', name, fields: [{ name: 'id', type: 'string' }, ...extra] });
}

/** A registry state holding `changes`, applied in order as the topic would. */
function stateWith(changes: RegistryChange[]): RegistryState {
  const state = new RegistryState();
  changes.forEach((change, offset) => {
    const result = state.apply(BigInt(offset), { basis: state.lastEffectiveOffset(), change });
    if (!result.applied) throw new Error(result.reason);
  });
  return state;
}

const at = '2026-12-01T10:00:00.000Z';
const register = (subject: string, version: number, id: number, schema: string, extra: object = {}) =>
  ({ kind: 'register', subject, version, id, schema, at, ...extra }) as RegistryChange;

describe('eventTypeResource', () => {
  it('shows every version, the newest description, the current example, schemas and level', () => {
    const state = stateWith([
      register('shipment.delayed', 1, 1, schemaText('Delayed'), {
        description: 'Late.',
        example: { id: 'a' },
      }),
      register('shipment.delayed', 2, 2, schemaText('Delayed', [{ name: 'n', type: 'string', default: '' }])),
      { kind: 'config', subject: 'shipment.delayed', compatibility: 'FULL' },
    ]);
    expect(eventTypeResource(state, 'shipment.delayed')).toEqual({
      type: 'shipment.delayed',
      description: 'Late.',
      example: null,
      compatibility: 'FULL',
      deprecated: false,
      deprecatedAt: null,
      version: 2,
      schemaId: 2,
      avroSchema: JSON.parse(schemaText('Delayed', [{ name: 'n', type: 'string', default: '' }])),
      jsonSchema: expect.objectContaining({ type: 'object', required: ['id'] }),
      versions: [
        { version: 1, schemaId: 1, registeredAt: at, deleted: false },
        { version: 2, schemaId: 2, registeredAt: at, deleted: false },
      ],
    });
    expect(eventTypeResource(state, 'no.such')).toBeUndefined();
  });

  it('keeps showing a deprecated type with its last schema, and lists it as deprecated', () => {
    const deletedAt = '2026-12-02T10:00:00.000Z';
    const state = stateWith([
      register('shipment.lost', 1, 1, schemaText('Lost'), { example: { id: 'x' } }),
      register('shipment.found', 1, 2, schemaText('Found')),
      { kind: 'delete', subject: 'shipment.lost', at: deletedAt },
    ]);
    expect(eventTypeResource(state, 'shipment.lost')).toMatchObject({
      deprecated: true,
      deprecatedAt: deletedAt,
      version: 1,
      schemaId: 1,
      example: { id: 'x' },
      versions: [{ version: 1, schemaId: 1, deleted: true }],
    });
    expect(
      eventTypeSummaries(state).map(({ type, deprecated, versions }) => ({ type, deprecated, versions })),
    ).toEqual([
      { type: 'shipment.found', deprecated: false, versions: [{ version: 1, schemaId: 2 }] },
      { type: 'shipment.lost', deprecated: true, versions: [{ version: 1, schemaId: 1 }] },
    ]);
  });
});
