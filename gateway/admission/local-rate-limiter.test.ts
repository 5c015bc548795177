import { describe, expect, it } from 'vitest';
import { createLocalRateLimiter, type RateLimitedKey } from './local-rate-limiter.js';

function fakeClock() {
  let nowMs = 0;
  return { nowMs: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
}

const alpha: RateLimitedKey = { id: 'producer-alpha', ratePerSecond: 10, burst: 10 };
const beta: RateLimitedKey = { id: 'producer-beta', ratePerSecond: 1, burst: 2 };

describe('createLocalRateLimiter', () => {
  it('keeps one independent bucket per key, created lazily from its limits', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ nowMs: clock.nowMs });
    expect(limiter.size()).toBe(0);
    expect(limiter.take(alpha, 10).allowed).toBe(true);
    expect(limiter.take(alpha, 1).allowed).toBe(false);
    expect(limiter.take(beta, 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take(beta, 1)).toMatchObject({ allowed: false, reason: 'rate' });
    expect(limiter.size()).toBe(2);
  });

  it('applies edited key limits to the existing bucket from the moment they are seen', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ nowMs: clock.nowMs });
    limiter.take(alpha, 10);
    const faster = { ...alpha, ratePerSecond: 1000 };
    expect(limiter.take(faster, 1).allowed).toBe(false); // still empty: no tokens granted retroactively
    clock.advance(5); // 5 tokens at 1000/s, 0.05 at the old 10/s
    expect(limiter.take(faster, 5).allowed).toBe(true);
    expect(limiter.size()).toBe(1);
  });

  it('drops a bucket that is idle and full, and only then', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({
      nowMs: clock.nowMs,
      idleEvictionMs: 1_000,
      sweepIntervalMs: 500,
    });
    const slow: RateLimitedKey = { id: 'slow', ratePerSecond: 1, burst: 10 };
    limiter.take(alpha, 10); // full again after 1 s
    limiter.take(slow, 10); // full again after 10 s
    clock.advance(1_000);
    expect(limiter.sweep()).toBe(1);
    expect(limiter.size()).toBe(1);
    expect(limiter.fillRatio('slow')).toBeCloseTo(0.1, 9); // kept: dropping it would grant 9 free events
    clock.advance(9_000);
    expect(limiter.sweep()).toBe(1);
    expect(limiter.size()).toBe(0);
  });

  it('sweeps from the request path once per interval', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({
      nowMs: clock.nowMs,
      idleEvictionMs: 1_000,
      sweepIntervalMs: 5_000,
    });
    for (let i = 0; i < 50; i++) limiter.take({ id: `k${i}`, ratePerSecond: 100, burst: 1 }, 1);
    clock.advance(4_999);
    limiter.take(alpha, 1);
    expect(limiter.size()).toBe(51);
    clock.advance(1);
    limiter.take(alpha, 1);
    expect(limiter.size()).toBe(1);
  });

  it('stays within maxKeys by dropping the oldest buckets', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ nowMs: clock.nowMs, maxKeys: 3 });
    for (let i = 0; i < 10; i++) limiter.take({ id: `k${i}`, ratePerSecond: 1, burst: 5 }, 5);
    expect(limiter.size()).toBe(3);
    // k9 is among the newest and keeps its empty bucket; k0 was dropped and starts full again.
    expect(limiter.take({ id: 'k9', ratePerSecond: 1, burst: 5 }, 1).allowed).toBe(false);
    expect(limiter.take({ id: 'k0', ratePerSecond: 1, burst: 5 }, 1).allowed).toBe(true);
  });

  it('peeks without creating a bucket or taking tokens', () => {
    const clock = fakeClock();
    const limiter = createLocalRateLimiter({ nowMs: clock.nowMs });
    expect(limiter.peek(beta, 2).allowed).toBe(true);
    expect(limiter.peek(beta, 3)).toMatchObject({ allowed: false, reason: 'burst-exceeded' });
    expect(limiter.size()).toBe(0);
    limiter.take(beta, 2);
    expect(limiter.peek(beta, 1)).toMatchObject({ allowed: false, reason: 'rate' });
    clock.advance(1_000);
    expect(limiter.peek(beta, 1).allowed).toBe(true);
    expect(limiter.peek(beta, 1).allowed).toBe(true);
  });
});
