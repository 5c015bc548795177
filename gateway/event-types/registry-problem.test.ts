import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import { toEventTypeError } from './registry-problem.js';

describe('toEventTypeError', () => {
  it('turns an incompatible schema into 409 SLUICE_SCHEMA_INCOMPATIBLE naming the field, with every problem', () => {
    const problems = [
      {
        field: 'data.total',
        message: 'the new schema cannot read data written with version 1: data.total is required',
      },
      { field: 'data.sku', message: 'version 1 cannot read data written with the new schema: data.sku: ...' },
    ];
    const error = toEventTypeError(new RegistryError('INCOMPATIBLE_SCHEMA', 'incompatible', { problems }), {
      type: 'order.created',
      compatibility: 'FULL',
    }) as SluiceError;
    expect(error).toBeInstanceOf(SluiceError);
    expect(error.code).toBe('SLUICE_SCHEMA_INCOMPATIBLE');
    expect(error.message).toContain('data.total');
    expect(error.details).toEqual({
      eventType: 'order.created',
      compatibility: 'FULL',
      field: 'data.total',
      errors: problems,
    });
  });

  it('answers a refused schema with every policy problem, and Kafka trouble as retryable 503', () => {
    const refused = toEventTypeError(
      new RegistryError('INVALID_SCHEMA', 'Invalid schema: a; b', {
        details: ['data.a: float', 'data.b: bytes'],
      }),
      { type: 'order.created' },
    ) as SluiceError;
    expect(refused.code).toBe('SLUICE_SCHEMA_REFUSED');
    expect(refused.details.errors).toEqual([
      { field: 'schema', message: 'data.a: float' },
      { field: 'schema', message: 'data.b: bytes' },
    ]);
    const timeout = toEventTypeError(new RegistryError('OPERATION_TIMEOUT', 'slow'), {
      type: 'a.b',
    }) as SluiceError;
    expect({ code: timeout.code, retryable: timeout.retryable }).toEqual({
      code: 'SLUICE_KAFKA_UNAVAILABLE',
      retryable: true,
    });
    const notRegistry = new Error('other');
    expect(toEventTypeError(notRegistry, { type: 'a.b' })).toBe(notRegistry);
  });
});
