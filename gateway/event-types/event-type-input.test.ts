import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { validateCompatibilityChange, validateEventTypeRegistration } from './event-type-input.js';

const schema = { type: 'record', name: 'ShipmentDelayed', fields: [{ name: 'id', type: 'string' }] };

function problemFields(result: unknown): string[] {
  expect(result).toBeInstanceOf(SluiceError);
  const error = result as SluiceError;
  expect(error.code).toBe('SLUICE_INVALID_EVENT_TYPE');
  return (error.details.errors as Array<{ field: string }>).map((problem) => problem.field);
}

describe('validateEventTypeRegistration', () => {
  it('takes a type with its schema as an object or JSON text, and the optional fields', () => {
    expect(validateEventTypeRegistration({ type: 'shipment.delayed', schema })).toEqual({
      type: 'shipment.delayed',
      schema,
      description: undefined,
      example: undefined,
      compatibility: undefined,
    });
    expect(
      validateEventTypeRegistration({
        type: 'shipment.delayed',
        schema: JSON.stringify(schema),
        description: 'Late.',
        example: { id: 's-1' },
        compatibility: 'FULL_TRANSITIVE',
      }),
    ).toMatchObject({ description: 'Late.', example: { id: 's-1' }, compatibility: 'FULL_TRANSITIVE' });
  });

  it('reports every bad field at once, naming each', () => {
    const result = validateEventTypeRegistration({
      type: 'Shipment Delayed',
      schema: 7,
      description: 12,
      compatibility: 'SOMETIMES',
      owner: 'me',
    });
    expect(problemFields(result).sort()).toEqual(['compatibility', 'description', 'owner', 'schema', 'type']);
    expect((result as SluiceError).message).toContain('lowercase words joined by dots');
  });

  it('requires a type and a schema, and a JSON object body', () => {
    expect(problemFields(validateEventTypeRegistration({})).sort()).toEqual(['schema', 'type']);
    expect(problemFields(validateEventTypeRegistration([schema]))).toEqual(['']);
    expect(
      problemFields(validateEventTypeRegistration({ type: 'a.b', schema, description: 'x'.repeat(5000) })),
    ).toEqual(['description']);
    expect(problemFields(validateEventTypeRegistration({ type: `a.${'b'.repeat(200)}`, schema }))).toEqual([
      'type',
    ]);
  });
});

describe('validateCompatibilityChange', () => {
  it('takes a level, or null to follow the global level', () => {
    expect(validateCompatibilityChange({ compatibility: 'NONE' })).toEqual({ compatibility: 'NONE' });
    expect(validateCompatibilityChange({ compatibility: null })).toEqual({ compatibility: null });
  });

  it('refuses anything else, naming the field', () => {
    expect(problemFields(validateCompatibilityChange({ compatibility: 'full' }))).toEqual(['compatibility']);
    expect(problemFields(validateCompatibilityChange({}))).toEqual(['compatibility']);
    expect(problemFields(validateCompatibilityChange({ compatibility: 'FULL', level: 'x' }))).toEqual([
      'level',
    ]);
  });
});
