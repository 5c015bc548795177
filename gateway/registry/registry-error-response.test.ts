import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import { registryErrorResponse } from './registry-error-response.js';

describe('registryErrorResponse', () => {
  it('gives a registry error its Confluent code, and an HTTP-layer error its status as error_code', () => {
    expect(
      registryErrorResponse(new RegistryError('SUBJECT_NOT_FOUND', "Subject 'a.b' not found.")),
    ).toMatchObject({
      status: 404,
      body: { error_code: 40401, message: "Subject 'a.b' not found." },
    });
    const unauthenticated = registryErrorResponse(
      new SluiceError('SLUICE_UNAUTHENTICATED', 'the API key is not recognised'),
    );
    expect(unauthenticated).toMatchObject({ status: 401, body: { error_code: 401 } });
    expect(unauthenticated.headers['www-authenticate']).toMatch(/^Basic /);
    expect(
      registryErrorResponse(new SluiceError('SLUICE_SHUTTING_DOWN', 'stopping')).headers['retry-after'],
    ).toBe('1');
  });

  it('never shows the message of a fault', () => {
    for (const fault of [
      new Error('broker kafka-0.internal:9092 refused'),
      new RegistryError('STORE_ERROR', 'KafkaJSConnectionError: kafka-0.internal:9092'),
      new SluiceError('SLUICE_CONFIG_INVALID', 'SLUICE_SECRETS_KEYS=abc is wrong'),
    ]) {
      const response = registryErrorResponse(fault);
      expect(response.status).toBe(500);
      expect(response.body.message).not.toMatch(/internal:9092|abc/);
    }
    expect(
      registryErrorResponse(
        new RegistryError('OPERATION_TIMEOUT', 'the change was written but not read back in time'),
      ).body,
    ).toEqual({ error_code: 50002, message: 'the change was written but not read back in time' });
  });
});
