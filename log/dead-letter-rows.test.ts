import { describe, expect, it } from 'vitest';
import { buildDeadLetter } from '../common/retry/retry-records.js';
import { deadLetterRow, parseOrigin } from './dead-letter-rows.js';

describe('dead-letter rows', () => {
  it('keeps what a dead letter says about its event, its delivery and its source', () => {
    const event = {
      topic: 'sluice.events',
      partition: 2,
      offset: '41',
      key: Buffer.from('order-1'),
      value: Buffer.from([0, 0, 0, 0, 1, 2]),
      headers: { ce_id: 'evt-1', ce_type: 'order.created', sluice_producer: 'shop' },
      timestampMs: 1_700_000_000_000,
    };
    const letter = buildDeadLetter('sluice.dlq', event, {
      reason: 'retries-exhausted',
      subscriptionId: 'sub_a',
      attempts: 10,
      lastStatus: 503,
      lastError: 'busy\0',
      origin: 'sluice.events/2/41',
      nowMs: 1_700_000_100_000,
    });
    const row = deadLetterRow({
      ...letter,
      topic: 'sluice.dlq',
      partition: 0,
      offset: '7',
      key: letter.key as Buffer,
      value: letter.value as Buffer,
      timestampMs: 0,
    });
    expect(row).toMatchObject({
      id: 'sluice.dlq-0-7',
      deadLetteredAt: new Date(1_700_000_100_000).toISOString(),
      eventId: 'evt-1',
      eventType: 'order.created',
      producerId: 'shop',
      subscriptionId: 'sub_a',
      reason: 'retries-exhausted',
      attempts: 10,
      lastStatus: 503,
      lastError: 'busy\uFFFD',
      source: { topic: 'sluice.events', partition: 2, offset: '41' },
    });
    expect(row.value).toEqual(event.value);
  });

  it('keeps a poison record with nulls where it says nothing', () => {
    const row = deadLetterRow({
      topic: 'd',
      partition: 1,
      offset: '3',
      key: null,
      value: null,
      headers: {},
      timestampMs: 5,
    });
    expect(row).toMatchObject({
      id: 'd-1-3',
      eventId: null,
      subscriptionId: null,
      reason: 'unknown',
      attempts: 0,
      source: null,
    });
    expect(parseOrigin('a/b')).toBeNull();
  });
});
