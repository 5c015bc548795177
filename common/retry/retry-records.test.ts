import { describe, expect, it } from 'vitest';
import {
  buildDeadLetter,
  buildReplayRecord,
  buildRetryRecord,
  parseRetryRecord,
  replayIdHeader,
  retryDueAtMs,
} from './retry-records.js';
import type { ConsumedRecord } from '../kafka/index.js';

const event: ConsumedRecord = {
  topic: 'sluice.events',
  partition: 2,
  offset: '41',
  key: Buffer.from('order-1'),
  value: Buffer.from([0, 0, 0, 0, 1, 2]),
  headers: {
    ce_id: 'evt_1',
    ce_type: 'order.created',
    ce_time: '2024-11-05T14:32:07Z',
    sluice_producer: 'shop',
  },
  timestampMs: 1000,
};

const state = {
  subscriptionId: 'sub_1',
  attempt: 2,
  dueAtMs: 5000,
  firstAttemptAtMs: 1000,
  origin: 'sluice.events/2/41',
  lastStatus: 500,
  lastError: 'server-error',
};

describe('delivery records', () => {
  it('carries the original event and the delivery state through a retry record', () => {
    const record = buildRetryRecord('sluice.retry.5s', event, state);
    expect(record.topic).toBe('sluice.retry.5s');
    expect(record.key).toBe(event.key);
    expect(record.value).toBe(event.value);
    expect(record.headers).toMatchObject(event.headers);
    const read: ConsumedRecord = { ...event, topic: record.topic, headers: record.headers };
    expect(parseRetryRecord(read)).toEqual({ ok: true, state });
    expect(retryDueAtMs(read)).toBe(5000);
  });

  it('replaces the state of an earlier hop instead of piling headers up', () => {
    const first = buildRetryRecord('sluice.retry.5s', event, state);
    const hop: ConsumedRecord = { ...event, headers: first.headers };
    const second = buildRetryRecord('sluice.retry.30s', hop, {
      ...state,
      attempt: 3,
      lastStatus: undefined,
      lastError: 'timeout',
    });
    expect(second.headers.sluice_attempt).toBe('3');
    expect(second.headers.sluice_last_status).toBeUndefined();
    expect(second.headers.sluice_last_error).toBe('timeout');
  });

  it('refuses a retry record without the worker’s headers', () => {
    expect(parseRetryRecord(event)).toEqual({ ok: false, problem: 'sluice_subscription_id is missing' });
    expect(retryDueAtMs(event)).toBeUndefined();
  });

  it('writes a dead letter with reason, attempts, last status and subscription beside the event', () => {
    const hop: ConsumedRecord = { ...event, headers: buildRetryRecord('t', event, state).headers };
    const letter = buildDeadLetter('sluice.dlq', hop, {
      reason: 'retries-exhausted',
      subscriptionId: 'sub_1',
      attempts: 10,
      lastStatus: 503,
      lastError: 'x'.repeat(1000),
      origin: 'sluice.events/2/41',
      nowMs: 99,
    });
    expect(letter.headers).toMatchObject({
      ...event.headers,
      sluice_dlq_reason: 'retries-exhausted',
      sluice_attempts: '10',
      sluice_last_status: '503',
      sluice_subscription_id: 'sub_1',
      sluice_dead_lettered_at_ms: '99',
    });
    expect(letter.headers.sluice_due_at_ms).toBeUndefined();
    expect(letter.headers.sluice_last_error!.length).toBeLessThanOrEqual(300);
    expect(letter.value).toBe(event.value);
  });

  it('writes a replayed event as a first-tier retry record due now, marked with its replay id', () => {
    const record = buildReplayRecord('sluice.retry.5s', event, {
      subscriptionId: 'sub_1',
      replayId: 'rpl_1',
      nowMs: 7000,
    });
    expect(record).toMatchObject({ topic: 'sluice.retry.5s', key: event.key, value: event.value });
    expect(record.headers).toEqual({
      ...event.headers,
      sluice_subscription_id: 'sub_1',
      sluice_attempt: '1',
      sluice_due_at_ms: '7000',
      sluice_first_attempt_at_ms: '7000',
      sluice_origin: 'sluice.events/2/41',
      sluice_replay_id: 'rpl_1',
    });
    const read: ConsumedRecord = { ...event, topic: record.topic, headers: record.headers };
    expect(parseRetryRecord(read)).toMatchObject({ ok: true, state: { attempt: 1, dueAtMs: 7000 } });
  });

  it('keeps the replay id through later retry hops and into a dead letter', () => {
    const replayed = buildReplayRecord('t1', event, { subscriptionId: 'sub_1', replayId: 'rpl_1', nowMs: 1 });
    const hop: ConsumedRecord = { ...event, headers: replayed.headers };
    const retried = buildRetryRecord('t2', hop, { ...state, attempt: 2 });
    expect(retried.headers[replayIdHeader]).toBe('rpl_1');
    const letter = buildDeadLetter(
      'dlq',
      { ...hop, headers: retried.headers },
      {
        reason: 'retries-exhausted',
        subscriptionId: 'sub_1',
        attempts: 2,
        lastStatus: 500,
        lastError: undefined,
        origin: 'o',
        nowMs: 2,
      },
    );
    expect(letter.headers[replayIdHeader]).toBe('rpl_1');
  });
});
