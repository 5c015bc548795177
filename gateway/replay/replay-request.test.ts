import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../common/config.js';
import { isSluiceError } from '../../common/errors.js';
import { readTopicSettings } from '../../common/kafka/index.js';
import { readReplayConfig } from './replay-config.js';
import { readDeliveryBounds } from '../../common/retry/delivery-bounds.js';
import { parseRfc3339, validateReplayRequest } from './replay-request.js';

const nowMs = Date.parse('2024-11-05T12:00:00Z');
const limits = { nowMs, maxAgeMs: 7 * 86_400_000 };

function problems(raw: unknown): Array<{ field: string; message: string }> {
  const result = validateReplayRequest(raw, limits);
  if (!isSluiceError(result)) throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
  expect(result.code).toBe('SLUICE_INVALID_REPLAY');
  expect(result.status).toBe(422);
  return result.details.errors as Array<{ field: string; message: string }>;
}

describe('replay request', () => {
  it('accepts a window with from inclusive and to exclusive, dryRun defaulting to false', () => {
    expect(
      validateReplayRequest({ from: '2024-11-05T10:00:00Z', to: '2024-11-05T11:30:00.250Z' }, limits),
    ).toEqual({ fromMs: nowMs - 7_200_000, toMs: nowMs - 1_799_750, dryRun: false });
    expect(validateReplayRequest({ from: '2024-11-05T10:00:00Z', dryRun: true }, limits)).toMatchObject({
      dryRun: true,
    });
  });

  it('defaults to to now and cuts a later to to now', () => {
    expect(validateReplayRequest({ from: '2024-11-05T11:00:00Z' }, limits)).toMatchObject({ toMs: nowMs });
    expect(validateReplayRequest({ from: '2024-11-05T11:00:00Z', to: null }, limits)).toMatchObject({
      toMs: nowMs,
    });
    expect(
      validateReplayRequest({ from: '2024-11-05T11:00:00Z', to: '2030-01-01T00:00:00Z' }, limits),
    ).toMatchObject({ toMs: nowMs });
  });

  it('refuses an empty or reversed window, and one that starts in the future', () => {
    expect(problems({ from: '2024-11-05T11:00:00Z', to: '2024-11-05T11:00:00Z' })).toEqual([
      { field: 'from', message: expect.stringMatching(/from must be earlier than to/) },
    ]);
    expect(problems({ from: '2024-11-05T11:00:00Z', to: '2024-11-05T10:00:00Z' })[0]!.field).toBe('from');
    expect(problems({ from: '2024-11-05T12:00:01Z' })).toEqual([
      { field: 'from', message: 'from must be in the past, got 2024-11-05T12:00:01.000Z' },
    ]);
  });

  it('refuses a window that starts before the events topic’s retention, naming the earliest start', () => {
    expect(problems({ from: '2024-10-29T11:59:59Z' })).toEqual([
      {
        field: 'from',
        message: expect.stringContaining('retention (7d): no earlier than 2024-10-29T12:00:00.000Z'),
      },
    ]);
    expect(validateReplayRequest({ from: '2024-10-29T12:00:00Z' }, limits)).toMatchObject({
      fromMs: nowMs - limits.maxAgeMs,
    });
  });

  it('reports every problem at once: missing from, bad times, bad dryRun, unknown fields', () => {
    expect(problems({ to: 'yesterday', dryRun: 'yes', since: '1h' }).map((p) => p.field)).toEqual([
      'since',
      'from',
      'to',
      'dryRun',
    ]);
    expect(problems({ from: 1730800000000 })[0]!.message).toMatch(/from must be an RFC 3339 time/);
    expect(problems([])[0]!.field).toBe('');
    expect(problems('from=x')[0]!.field).toBe('');
    expect(problems(null)[0]!.field).toBe('');
  });

  it('parses RFC 3339 date-times with an offset and nothing else', () => {
    expect(parseRfc3339('2024-11-05T14:00:00Z')).toBe(Date.parse('2024-11-05T14:00:00Z'));
    expect(parseRfc3339('2024-11-05t14:00:00z')).toBe(Date.parse('2024-11-05T14:00:00Z'));
    expect(parseRfc3339('2024-11-05T15:30:00+01:30')).toBe(Date.parse('2024-11-05T14:00:00Z'));
    expect(parseRfc3339('2024-11-05T09:00:00-05:00')).toBe(Date.parse('2024-11-05T14:00:00Z'));
    expect(parseRfc3339('2024-11-05T14:00:00.123456789Z')).toBe(Date.parse('2024-11-05T14:00:00.123Z'));
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'));
    for (const bad of [
      '2024-11-05',
      '2024-11-05T14:00:00',
      '2024-11-05 14:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-11-05T24:00:00Z',
      '2024-11-05T14:60:00Z',
      '2024-11-05T14:00:60Z',
      '2024-11-05T14:00:00+24:00',
      'Tue, 05 Nov 2024 14:00:00 GMT',
      '1730815200',
      '',
    ]) {
      expect(parseRfc3339(bad), bad).toBeUndefined();
    }
  });
});

describe('replay config', () => {
  const read = (env: Record<string, string>) => {
    const reader = new EnvReader(env);
    const config = readReplayConfig(
      reader,
      readTopicSettings(reader),
      readDeliveryBounds(reader).retryDelaysMs,
    );
    return reader.finish(config);
  };

  it('queues into the first retry tier and defaults the cap, deadline and concurrency', () => {
    expect(read({})).toEqual({
      retryTopic: 'sluice.retry.5s',
      maxEvents: 1_000_000,
      timeoutMs: 60_000,
      maxConcurrent: 2,
    });
    expect(
      read({
        SLUICE_RETRY_TOPIC_PREFIX: 'r.',
        SLUICE_RETRY_SCHEDULE: '1m,1h',
        SLUICE_REPLAY_MAX_EVENTS: '500',
        SLUICE_REPLAY_TIMEOUT_MS: '2m',
      }),
    ).toMatchObject({ retryTopic: 'r.1m', maxEvents: 500, timeoutMs: 120_000 });
  });

  it('reports a bad schedule and bad limits together', () => {
    expect(() =>
      read({
        SLUICE_RETRY_SCHEDULE: '1m,1s',
        SLUICE_REPLAY_MAX_EVENTS: '0',
        SLUICE_REPLAY_TIMEOUT_MS: 'soon',
      }),
    ).toThrow(/RETRY_SCHEDULE must be strictly ascending[\s\S]*REPLAY_MAX_EVENTS[\s\S]*REPLAY_TIMEOUT_MS/);
  });
});
