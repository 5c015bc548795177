import { describe, expect, it } from 'vitest';
import type { RateLimitedKey } from './local-rate-limiter.js';
import { createRateLimiter, type RateLimitBackend } from './rate-limiter.js';
import type { SharedRateLimiter } from './redis-rate-limiter.js';
import { TokenBucket, type TakeResult } from './token-bucket.js';

const key: RateLimitedKey = { id: 'producer-1', ratePerSecond: 10, burst: 5 };

/**
 * An in-memory stand-in for the shared store, to test the composition logic (fallback, probing,
 * synchronous paths). The real Redis limiter is covered by redis-rate-limiter.int.test.ts.
 */
function fakeShared(nowMs: () => number) {
  const bucket = new TokenBucket({ ...key, nowMs });
  const state = { available: true, takes: 0, pings: 0 };
  const shared: SharedRateLimiter = {
    async take(_key, cost): Promise<TakeResult> {
      state.takes++;
      if (!state.available) throw new Error('connect ECONNREFUSED');
      return bucket.take(cost);
    },
    async ping() {
      state.pings++;
      if (!state.available) throw new Error('connect ECONNREFUSED');
    },
    async ready() {
      if (!state.available) throw new Error('not connected');
    },
    async close() {},
  };
  return { shared, state };
}

function setup() {
  let now = 0;
  const clock = { nowMs: () => now, advance: (ms: number) => void (now += ms) };
  const { shared, state } = fakeShared(clock.nowMs);
  const events = { fallbackDecisions: 0, changes: [] as RateLimitBackend[] };
  const limiter = createRateLimiter({
    mode: 'redis',
    shared,
    nowMs: clock.nowMs,
    redisProbeIntervalMs: 1_000,
    onFallbackDecision: () => events.fallbackDecisions++,
    onBackendChange: (change) => events.changes.push(change.backend),
  });
  return { clock, state, events, limiter };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createRateLimiter in local mode', () => {
  it('decides synchronously and never reports a fallback', async () => {
    let fallbacks = 0;
    const limiter = createRateLimiter({ mode: 'local', onFallbackDecision: () => fallbacks++ });
    expect(limiter.takeSync(key, 5)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.takeSync(key, 1)).toMatchObject({ allowed: false, reason: 'rate' });
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: false });
    expect(limiter.backend()).toBe('local');
    expect(fallbacks).toBe(0);
  });

  it('prechecks without consuming', () => {
    const limiter = createRateLimiter({ mode: 'local' });
    expect(limiter.precheck(key, 5)).toBeUndefined();
    expect(limiter.precheck(key, 6)).toMatchObject({ reason: 'burst-exceeded' });
    expect(limiter.takeSync(key, 5)?.allowed).toBe(true);
    expect(limiter.precheck(key, 1)).toMatchObject({ reason: 'rate' });
  });

  it("refuses mode 'redis' without a shared limiter", () => {
    expect(() => createRateLimiter({ mode: 'redis' })).toThrow(/shared/);
  });
});

describe('createRateLimiter in redis mode', () => {
  it('asks the shared store, so takeSync defers while the bucket may hold tokens', async () => {
    const { state, limiter } = setup();
    expect(limiter.takeSync(key, 1)).toBeUndefined();
    expect(await limiter.take(key, 5)).toMatchObject({ allowed: true, remaining: 0 });
    expect(state.takes).toBe(1);
  });

  it('refuses a key known to be empty without a round trip', async () => {
    const { clock, state, limiter } = setup();
    await limiter.take(key, 5);
    expect(limiter.takeSync(key, 1)).toMatchObject({ allowed: false, reason: 'rate' });
    expect(limiter.precheck(key, 1)).toMatchObject({ allowed: false });
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: false });
    expect(state.takes).toBe(1);
    clock.advance(100);
    expect(limiter.takeSync(key, 1)).toBeUndefined();
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: true });
    expect(state.takes).toBe(2);
  });

  it('falls back to local decisions when the store fails, reporting the switch once', async () => {
    const { state, events, limiter } = setup();
    state.available = false;
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: true });
    expect(limiter.backend()).toBe('local');
    // While falling back, decisions are synchronous and local.
    expect(limiter.takeSync(key, 4)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.takeSync(key, 1)).toMatchObject({ allowed: false });
    expect(events.changes).toEqual(['local']);
    expect(events.fallbackDecisions).toBe(3);
    expect(state.takes).toBe(1);
  });

  it('probes at most once per interval and returns to the store when it answers', async () => {
    const { clock, state, events, limiter } = setup();
    state.available = false;
    await limiter.take(key, 1);
    clock.advance(999);
    limiter.takeSync(key, 1);
    expect(state.pings).toBe(0);
    clock.advance(1);
    limiter.takeSync(key, 1);
    limiter.takeSync(key, 1);
    await flush();
    expect(state.pings).toBe(1);
    expect(limiter.backend()).toBe('local'); // still down
    state.available = true;
    clock.advance(1_000);
    limiter.takeSync(key, 1);
    await flush();
    expect(state.pings).toBe(2);
    expect(limiter.backend()).toBe('redis');
    expect(events.changes).toEqual(['local', 'redis']);
    expect(limiter.takeSync(key, 1)).toBeUndefined(); // back to asking the store
  });

  it('waits for the store at start-up and falls back when it does not connect', async () => {
    const up = setup();
    expect(await up.limiter.ready()).toBe('redis');
    expect(up.events.changes).toEqual([]);
    const down = setup();
    down.state.available = false;
    expect(await down.limiter.ready()).toBe('local');
    expect(down.events.changes).toEqual(['local']);
  });

  it('falls back when the store reply cannot be trusted, never rejecting', async () => {
    let now = 0;
    const shared: SharedRateLimiter = {
      take: () => Promise.reject(new Error('unexpected reply from the rate-limit script')),
      ping: () => Promise.reject(new Error('down')),
      ready: async () => {},
      close: async () => {},
    };
    const limiter = createRateLimiter({ mode: 'redis', shared, nowMs: () => now });
    await expect(limiter.take(key, 1)).resolves.toMatchObject({ allowed: true });
    now += 10;
    await expect(limiter.take(key, 9)).resolves.toMatchObject({ allowed: false, reason: 'burst-exceeded' });
  });
});
