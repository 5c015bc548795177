import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../common/kafka/index.js';
import { offsetsIn, replaySelector } from './replay-window.js';

function record(
  timestampMs: number,
  headers: Record<string, string>,
  value: Buffer | null = Buffer.from('v'),
) {
  const consumed: ConsumedRecord = {
    topic: 'sluice.events',
    partition: 0,
    offset: '0',
    key: null,
    value,
    headers,
    timestampMs,
  };
  return consumed;
}

const order = { ce_id: 'e1', ce_type: 'order.created', sluice_producer: 'tenant-a' };

describe('replaySelector', () => {
  const selects = replaySelector(
    { eventTypes: ['order.*'], producerIds: ['tenant-a'], tenant: undefined },
    { fromMs: 1000, toMs: 2000, dryRun: false },
  );

  it('keeps records stamped from `from` inclusive to `to` exclusive', () => {
    expect([999, 1000, 1999, 2000].map((ms) => selects(record(ms, order)))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('keeps only the subscription’s event types and producers', () => {
    expect(selects(record(1500, { ...order, ce_type: 'payment.succeeded' }))).toBe(false);
    expect(selects(record(1500, { ...order, sluice_producer: 'tenant-b' }))).toBe(false);
    expect(selects(record(1500, { ce_id: 'e1', ce_type: 'order.created' }))).toBe(false);
  });

  it('keeps only its tenant’s events for a tenant’s subscription, every event for a global one', () => {
    const window = { fromMs: 1000, toMs: 2000, dryRun: false };
    const acmeOnly = replaySelector(
      { eventTypes: ['order.*'], producerIds: undefined, tenant: 'acme' },
      window,
    );
    const global = replaySelector(
      { eventTypes: ['order.*'], producerIds: undefined, tenant: undefined },
      window,
    );
    const acme = record(1500, { ...order, ce_tenantid: 'acme' });
    const globex = record(1500, { ...order, ce_tenantid: 'globex' });
    const none = record(1500, order);
    expect([acme, globex, none].map(acmeOnly)).toEqual([true, false, false]);
    expect([acme, globex, none].map(global)).toEqual([true, true, true]);
  });

  it('skips poison records: no id, no type or no value', () => {
    expect(selects(record(1500, { ...order, ce_id: '' }))).toBe(false);
    expect(selects(record(1500, { ce_id: 'e1', sluice_producer: 'tenant-a' }))).toBe(false);
    expect(selects(record(1500, order, null))).toBe(false);
  });
});

describe('offsetsIn', () => {
  it('adds up the offsets of every range', () => {
    expect(
      offsetsIn([
        { partition: 0, start: 5n, end: 10n },
        { partition: 3, start: 0n, end: 1n },
      ]),
    ).toBe(6);
  });
});
