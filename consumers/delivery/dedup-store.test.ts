import { describe, expect, it } from 'vitest';
import { dedupKey } from './dedup-store.js';

describe('dedup keys', () => {
  const identity = { subscriptionId: 'sub_1', producerId: 'shop', eventId: 'evt:1' };

  it('keys a delivery by subscription, producer and event id', () => {
    expect(dedupKey('sluice:dedup:', identity)).toBe('sluice:dedup:sub_1:shop:evt:1');
    expect(dedupKey('p:', { ...identity, replayId: undefined })).toBe('p:sub_1:shop:evt:1');
  });

  it('gives each replay its own key, so the original completion marker does not suppress it', () => {
    const original = dedupKey('p:', identity);
    const first = dedupKey('p:', { ...identity, replayId: 'rpl_a' });
    const second = dedupKey('p:', { ...identity, replayId: 'rpl_b' });
    expect(first).toBe('p:sub_1@rpl_a:shop:evt:1');
    expect(new Set([original, first, second]).size).toBe(3);
  });
});
