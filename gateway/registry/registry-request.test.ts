import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import {
  levelOfBody,
  parseBody,
  parseSchemaId,
  parseVersion,
  queryFlag,
  schemaOfBody,
} from './registry-request.js';

function codeOf(run: () => unknown): number | string {
  try {
    run();
  } catch (error) {
    if (error instanceof RegistryError) return error.errorCode;
    if (error instanceof SluiceError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('reading what Confluent clients send', () => {
  it('reads query flags as Java and Python write them', () => {
    const query = new URLSearchParams('deleted=True&verbose=true&normalize=False&permanent=yes');
    expect(
      ['deleted', 'verbose', 'normalize', 'permanent', 'absent'].map((name) => queryFlag(query, name)),
    ).toEqual([true, true, false, false, false]);
  });

  it('takes versions 1 to 2^31-1, latest and -1; anything else is 42202', () => {
    expect(['1', '42', '2147483647', 'latest', '-1'].map(parseVersion)).toEqual([
      1,
      42,
      2147483647,
      'latest',
      'latest',
    ]);
    for (const bad of ['0', '-2', '01', '1.5', 'LATEST', '2147483648', '99999999999', '']) {
      expect(
        codeOf(() => parseVersion(bad)),
        bad,
      ).toBe(42202);
    }
  });

  it('answers 40403 for an id that cannot name a schema', () => {
    expect(parseSchemaId('7')).toBe(7);
    for (const bad of ['0', 'abc', '-1', '1e3', '2147483648'])
      expect(
        codeOf(() => parseSchemaId(bad)),
        bad,
      ).toBe(40403);
  });

  it('takes the three JSON media types (with parameters) and refuses others with 415, bad JSON with 400', () => {
    const body = Buffer.from('{"schema":"x"}');
    for (const type of [
      'application/vnd.schemaregistry.v1+json',
      'application/vnd.schemaregistry+json',
      'Application/JSON; charset=utf-8',
    ]) {
      expect(parseBody(type, body), type).toEqual({ schema: 'x' });
    }
    expect(codeOf(() => parseBody(undefined, body))).toBe('SLUICE_UNSUPPORTED_MEDIA_TYPE');
    expect(codeOf(() => parseBody('text/plain', body))).toBe('SLUICE_UNSUPPORTED_MEDIA_TYPE');
    expect(codeOf(() => parseBody('application/json', Buffer.from('{"schema":')))).toBe(
      'SLUICE_MALFORMED_REQUEST',
    );
    expect(codeOf(() => parseBody('application/json', Buffer.from('[1]')))).toBe('SLUICE_MALFORMED_REQUEST');
  });

  it('takes an Avro schema string, absent schemaType meaning AVRO; refuses other types, references and rules with 42201', () => {
    expect(schemaOfBody({ schema: '{}' })).toBe('{}');
    expect(schemaOfBody({ schema: '{}', schemaType: 'AVRO', references: [], metadata: null })).toBe('{}');
    for (const body of [
      { schema: '{}', schemaType: 'JSON' },
      { schema: '{}', schemaType: 'PROTOBUF' },
      { schema: '{}', references: [{ name: 'a', subject: 'b', version: 1 }] },
      { schema: '{}', ruleSet: { domainRules: [] } },
      { schema: { type: 'record' } },
      { schema: ' ' },
      {},
    ]) {
      expect(
        codeOf(() => schemaOfBody(body)),
        JSON.stringify(body),
      ).toBe(42201);
    }
  });

  it('takes a compatibility level in any case; anything else is 42203', () => {
    expect(levelOfBody({ compatibility: 'full_transitive' })).toBe('FULL_TRANSITIVE');
    expect(levelOfBody({ compatibilityLevel: 'NONE' })).toBe('NONE');
    for (const body of [{}, { compatibility: 'SOMETIMES' }, { compatibility: 3 }]) {
      expect(
        codeOf(() => levelOfBody(body)),
        JSON.stringify(body),
      ).toBe(42203);
    }
  });
});
