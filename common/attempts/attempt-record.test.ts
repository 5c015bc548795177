import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config.js';
import {
  attemptRecordContentType,
  decodeAttemptRecord,
  encodeAttemptRecord,
  readAttemptRecordSettings,
  responseBodySample,
  selectResponseHeaders,
  sourcePosition,
  type AttemptRecord,
} from './attempt-record.js';

const record: AttemptRecord = {
  attemptId: '0f8b5a1e-7c1d-4c55-9a4b-6c0de2f1a001',
  eventId: 'evt-1001',
  eventType: 'order.created',
  producerId: 'shop',
  subscriptionId: 'sub-1',
  attempt: 2,
  attemptedAt: '2026-03-01T12:00:00.123Z',
  latencyMs: 41.5,
  statusCode: 503,
  errorClass: null,
  responseHeaders: { 'content-type': 'text/plain', 'retry-after': '30' },
  responseBody: 'busy, try later',
  responseBodyTruncated: false,
  outcome: 'retry-scheduled',
  nextAttemptAt: '2026-03-01T12:00:30.000Z',
  replayId: null,
};

function valueWith(changes: Record<string, unknown>): Buffer {
  const value = JSON.parse(encodeAttemptRecord(record).value.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...value, ...changes }));
}

describe('attempt record', () => {
  it('round-trips through encode and decode, keyed by the event id', () => {
    const encoded = encodeAttemptRecord(record);
    expect(encoded.key).toBe('evt-1001');
    expect(encoded.headers['content-type']).toBe(attemptRecordContentType);
    expect(JSON.parse(encoded.value.toString('utf8')).v).toBe(1);
    expect(decodeAttemptRecord(encoded.value)).toEqual({ ok: true, record });
  });

  it('round-trips an attempt with no answer: status, latency and body null', () => {
    const noAnswer: AttemptRecord = {
      ...record,
      statusCode: null,
      errorClass: 'timeout',
      latencyMs: 15000,
      responseHeaders: {},
      responseBody: null,
      outcome: 'dead-lettered',
      nextAttemptAt: null,
      replayId: 'replay-7',
    };
    expect(decodeAttemptRecord(encodeAttemptRecord(noAnswer).value)).toEqual({ ok: true, record: noAnswer });
  });

  it.each([
    ['attemptId', 'not-a-uuid'],
    ['eventId', ''],
    ['attempt', 0],
    ['attempt', 1.5],
    ['attemptedAt', 'yesterday'],
    ['attemptedAt', '2026-03-01'],
    ['latencyMs', -1],
    ['statusCode', 42],
    ['outcome', 'lost'],
    ['nextAttemptAt', 12],
    ['responseHeaders', { Authorization: 'Bearer x' }],
    ['responseBodyTruncated', 'no'],
    ['replayId', ''],
  ])('refuses a record whose %s is %j, naming the field and not the value', (field, bad) => {
    const decoded = decodeAttemptRecord(valueWith({ [field]: bad }));
    expect(decoded).toEqual({ ok: false, problem: `field ${field} is missing or has the wrong type` });
  });

  it('refuses a missing field, an unknown version, non-JSON and an empty value', () => {
    const value = JSON.parse(encodeAttemptRecord(record).value.toString('utf8')) as Record<string, unknown>;
    delete value.subscriptionId;
    expect(decodeAttemptRecord(Buffer.from(JSON.stringify(value)))).toEqual({
      ok: false,
      problem: 'field subscriptionId is missing or has the wrong type',
    });
    expect(decodeAttemptRecord(valueWith({ v: 2 }))).toEqual({
      ok: false,
      problem: 'record format version 2 is not supported',
    });
    expect(decodeAttemptRecord(Buffer.from('{'))).toEqual({
      ok: false,
      problem: 'the record value is not JSON',
    });
    expect(decodeAttemptRecord(Buffer.from('[]'))).toMatchObject({ ok: false });
    expect(decodeAttemptRecord(null)).toEqual({ ok: false, problem: 'the record has no value' });
  });

  it('will not encode a record the log would refuse', () => {
    expect(() => encodeAttemptRecord({ ...record, attempt: 0 })).toThrow(/field attempt/);
  });
});

describe('responseBodySample', () => {
  it('keeps a body within the limit whole', () => {
    expect(responseBodySample(Buffer.from('ok'), 4096)).toEqual({
      responseBody: 'ok',
      responseBodyTruncated: false,
    });
    expect(responseBodySample(null, 4096)).toEqual({ responseBody: null, responseBodyTruncated: false });
    expect(responseBodySample(new Uint8Array(0), 4096)).toEqual({
      responseBody: null,
      responseBodyTruncated: false,
    });
  });

  it('cuts a longer body to the limit, never in the middle of a character', () => {
    // "é" is two bytes: a cut after 3 bytes would split the second one.
    const body = Buffer.from('aéé', 'utf8');
    expect(responseBodySample(body, 3)).toEqual({ responseBody: 'aé', responseBodyTruncated: true });
    expect(responseBodySample(body, 4)).toEqual({ responseBody: 'aé', responseBodyTruncated: true });
    const emoji = Buffer.from('😀😀', 'utf8');
    expect(responseBodySample(emoji, 6)).toEqual({ responseBody: '😀', responseBodyTruncated: true });
  });

  it('replaces bytes that are not UTF-8 instead of refusing the body', () => {
    const sample = responseBodySample(Buffer.from([0x6f, 0xff, 0x6b]), 4096);
    expect(sample.responseBody).toBe('o\uFFFDk');
  });
});

describe('selectResponseHeaders', () => {
  it('keeps known, harmless headers in lower case and drops the rest', () => {
    expect(
      selectResponseHeaders({
        'Content-Type': 'application/json',
        'Retry-After': '30',
        'Set-Cookie': ['session=secret'],
        'X-Api-Token': 'secret',
        Via: ['1.1 a', '1.1 b'],
      }),
    ).toEqual({ 'content-type': 'application/json', 'retry-after': '30', via: '1.1 a, 1.1 b' });
  });
});

describe('readAttemptRecordSettings', () => {
  it('defaults to 4 KiB of response body and takes sizes with units', () => {
    expect(readAttemptRecordSettings(new EnvReader({})).responseBodyMaxBytes).toBe(4096);
    expect(
      readAttemptRecordSettings(new EnvReader({ SLUICE_LOG_RESPONSE_BODY_BYTES: '16KiB' }))
        .responseBodyMaxBytes,
    ).toBe(16384);
  });
});

describe('source position', () => {
  it('reads topic, partition and offset from a delivery origin; nulls for anything else', () => {
    expect(sourcePosition('sluice.events/3/1234567890123')).toEqual({
      sourceTopic: 'sluice.events',
      sourcePartition: 3,
      sourceOffset: '1234567890123',
    });
    for (const origin of [undefined, '', 'sluice.events/3', 'a/b/c', 'sluice.events/-1/5', 't/1/01']) {
      expect(sourcePosition(origin)).toEqual({
        sourceTopic: null,
        sourcePartition: null,
        sourceOffset: null,
      });
    }
  });

  it('round-trips the source fields and refuses a malformed offset', () => {
    const withSource = { ...record, sourceTopic: 'sluice.events', sourcePartition: 2, sourceOffset: '99' };
    expect(decodeAttemptRecord(encodeAttemptRecord(withSource).value)).toEqual({
      ok: true,
      record: withSource,
    });
    expect(decodeAttemptRecord(valueWith({ sourceOffset: 99 }))).toEqual({
      ok: false,
      problem: 'field sourceOffset is missing or has the wrong type',
    });
  });
});
