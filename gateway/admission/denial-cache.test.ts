import { describe, expect, it } from 'vitest';
import { createDenialCache } from './denial-cache.js';
import type { RateLimitedKey } from './local-rate-limiter.js';
import { TokenBucket } from './token-bucket.js';

const key: RateLimitedKey = { id: 'producer-1', ratePerSecond: 10, burst: 5 };

function setup() {
  let nowMs = 0;
  const clock = { nowMs: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  // The bucket stands in for the shared store: same rate, its answers are what the cache records.
  const store = new TokenBucket({ ...key, nowMs: clock.nowMs });
  return { clock, store, cache: createDenialCache(clock.nowMs) };
}

describe('createDenialCache', () => {
  it('refuses locally until the reported level can have refilled the cost', () => {
    const { clock, store, cache } = setup();
    cache.record(key, store.take(5), clock.nowMs()); // emptied the bucket
    expect(cache.check(key, 1)).toMatchObject({ allowed: false, reason: 'rate', remaining: 0 });
    clock.advance(99);
    const refused = cache.check(key, 1);
    expect(refused?.retryAfterMs).toBeCloseTo(1, 6);
    clock.advance(1);
    expect(cache.check(key, 1)).toBeUndefined(); // one token may be back: ask the store
    expect(cache.check(key, 3)).toBeDefined(); // three cannot be
  });

  it('never refuses what the store would allow', () => {
    const { clock, store, cache } = setup();
    let sentAtMs = clock.nowMs();
    cache.record(key, store.take(5), sentAtMs);
    let refusedLocally = 0;
    for (let step = 0; step < 200; step++) {
      clock.advance(7);
      const cost = 1 + (step % 3);
      const local = cache.check(key, cost);
      if (local !== undefined) {
        refusedLocally++;
        expect(store.peek(cost).allowed).toBe(false);
        continue;
      }
      sentAtMs = clock.nowMs();
      cache.record(key, store.take(cost), sentAtMs);
    }
    // The walk did exercise local refusals (a cache that never refuses would pass the loop).
    expect(refusedLocally).toBeGreaterThan(20);
  });

  it('forgets a key once its bucket is known to be non-empty or its limits change', () => {
    const { clock, store, cache } = setup();
    cache.record(key, store.take(5), clock.nowMs());
    expect(cache.size()).toBe(1);
    expect(cache.check({ ...key, ratePerSecond: 20 }, 1)).toBeUndefined();
    expect(cache.size()).toBe(0);
    cache.record(key, store.take(0), clock.nowMs());
    clock.advance(500);
    cache.record(key, store.take(1), clock.nowMs()); // 4 left: nothing to remember
    expect(cache.size()).toBe(0);
  });

  it('stays bounded by emptying itself when full', () => {
    const { clock } = setup();
    const cache = createDenialCache(clock.nowMs, 10);
    const emptied = { allowed: true, remaining: 0, resetMs: 100 } as const;
    for (let i = 0; i < 25; i++) cache.record({ ...key, id: `k${i}` }, emptied, 0);
    expect(cache.size()).toBeLessThanOrEqual(10);
    expect(cache.check({ ...key, id: 'k24' }, 1)).toBeDefined(); // the newest is kept
  });
});
