import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../common/kafka/index.js';
import { buildDeadLetter } from '../common/retry/retry-records.js';
import { parseDlqReplayArgs, replayRecordFor } from './dlq-replay.js';

const nowMs = Date.parse('2024-11-05T12:00:00Z');

const event: ConsumedRecord = {
  topic: 'sluice.events',
  partition: 0,
  offset: '7',
  key: Buffer.from('k'),
  value: Buffer.from([0, 0, 0, 0, 1]),
  headers: { ce_id: 'evt_1', ce_type: 'order.created', sluice_producer: 'shop' },
  timestampMs: nowMs - 10_000,
};

function deadLetter(subscriptionId: string | undefined, deadAtMs: number): ConsumedRecord {
  const letter = buildDeadLetter('sluice.dlq', event, {
    reason: subscriptionId ? 'retries-exhausted' : 'invalid-avro',
    subscriptionId,
    attempts: 10,
    lastStatus: 500,
    lastError: 'server-error',
    origin: 'sluice.events/0/7',
    nowMs: deadAtMs,
  });
  return { ...event, topic: 'sluice.dlq', offset: '3', headers: letter.headers };
}

describe('dlq replay', () => {
  it('parses its options, with --since as a time or a duration back from now', () => {
    expect(parseDlqReplayArgs([], nowMs)).toEqual({
      subscriptionId: undefined,
      sinceMs: undefined,
      dryRun: false,
    });
    expect(parseDlqReplayArgs(['--subscription', 'sub_1', '--since', '2h', '--dry-run'], nowMs)).toEqual({
      subscriptionId: 'sub_1',
      sinceMs: nowMs - 7_200_000,
      dryRun: true,
    });
    expect(parseDlqReplayArgs(['--since', '2024-11-05T10:00:00Z'], nowMs).sinceMs).toBe(
      Date.parse('2024-11-05T10:00:00Z'),
    );
    expect(() => parseDlqReplayArgs(['--since', 'yesterday'], nowMs)).toThrow(/--since must be/);
    expect(() => parseDlqReplayArgs(['--subscription'], nowMs)).toThrow(/needs a value/);
    expect(() => parseDlqReplayArgs(['--force'], nowMs)).toThrow(/unknown argument --force/);
  });

  it('turns a dead letter into a first-tier retry record for a whole new schedule', () => {
    const record = replayRecordFor(
      deadLetter('sub_1', nowMs - 1000),
      { subscriptionId: undefined, sinceMs: undefined, dryRun: false },
      'sluice.retry.5s',
      nowMs,
    );
    if (typeof record === 'string') throw new Error(record);
    expect(record.topic).toBe('sluice.retry.5s');
    expect(record.value).toBe(event.value);
    expect(record.headers).toMatchObject({
      ...event.headers,
      sluice_subscription_id: 'sub_1',
      sluice_attempt: '1',
      sluice_due_at_ms: String(nowMs),
      sluice_origin: 'sluice.events/0/7',
    });
    expect(record.headers.sluice_dlq_reason).toBeUndefined();
    expect(record.headers.sluice_attempts).toBeUndefined();
  });

  it('skips poison records and those outside --subscription or --since', () => {
    const all = { subscriptionId: undefined, sinceMs: undefined, dryRun: false };
    expect(replayRecordFor(deadLetter(undefined, nowMs), all, 't', nowMs)).toBe('no-subscription');
    expect(replayRecordFor(deadLetter('sub_2', nowMs), { ...all, subscriptionId: 'sub_1' }, 't', nowMs)).toBe(
      'filtered',
    );
    expect(
      replayRecordFor(deadLetter('sub_1', nowMs - 5000), { ...all, sinceMs: nowMs - 1000 }, 't', nowMs),
    ).toBe('filtered');
    expect(
      typeof replayRecordFor(deadLetter('sub_1', nowMs), { ...all, sinceMs: nowMs - 1000 }, 't', nowMs),
    ).toBe('object');
  });
});
