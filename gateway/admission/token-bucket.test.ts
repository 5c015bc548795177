import { describe, expect, it } from 'vitest';
import { TokenBucket, describeDecision } from './token-bucket.js';

function fakeClock(startMs = 1_000) {
  let nowMs = startMs;
  return { nowMs: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
}

describe('TokenBucket', () => {
  it('starts full and admits the whole burst at once, then refuses', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, nowMs: clock.nowMs });
    for (let i = 4; i >= 0; i--) expect(bucket.take(1)).toMatchObject({ allowed: true, remaining: i });
    expect(bucket.take(1)).toMatchObject({ allowed: false, reason: 'rate', remaining: 0 });
  });

  it('refills at ratePerSecond and says how long until the refused cost fits', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 10, nowMs: clock.nowMs });
    expect(bucket.take(10).allowed).toBe(true);
    const refused = bucket.take(3);
    expect(refused).toMatchObject({ allowed: false, reason: 'rate' });
    if (refused.allowed || refused.reason !== 'rate') throw new Error('unreachable');
    expect(refused.retryAfterMs).toBeCloseTo(300, 6); // 3 tokens at 10/s
    clock.advance(299);
    expect(bucket.take(3).allowed).toBe(false);
    clock.advance(1);
    expect(bucket.take(3)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('never holds more than burst however long it idles', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 20, nowMs: clock.nowMs });
    bucket.take(20);
    clock.advance(3_600_000);
    expect(bucket.level()).toBe(20);
    expect(bucket.take(20)).toMatchObject({ allowed: true, remaining: 0 });
    expect(bucket.take(1).allowed).toBe(false);
  });

  it('refuses a cost above burst as burst-exceeded even when full, and takes nothing', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 50, nowMs: clock.nowMs });
    const result = bucket.take(51);
    expect(result).toMatchObject({ allowed: false, reason: 'burst-exceeded', burst: 50, remaining: 50 });
    expect(result).not.toHaveProperty('retryAfterMs');
    expect(bucket.take(50).allowed).toBe(true);
  });

  it('admits a cost of 0 without changing the level', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, nowMs: clock.nowMs });
    bucket.take(1);
    expect(bucket.take(0)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('reports resetMs as the time until the next whole token', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 4, nowMs: clock.nowMs });
    bucket.take(4);
    clock.advance(100); // 0.4 tokens
    const result = bucket.take(1);
    expect(result.remaining).toBe(0);
    expect(result.resetMs).toBeCloseTo(150, 6); // 0.6 tokens at 4/s
  });

  it('peek decides like take without taking', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 3, nowMs: clock.nowMs });
    expect(bucket.peek(3)).toMatchObject({ allowed: true, remaining: 0 });
    expect(bucket.peek(3)).toMatchObject({ allowed: true, remaining: 0 });
    expect(bucket.level()).toBe(3);
  });

  it('keeps earned tokens, capped, when reconfigured with a smaller burst', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 100, nowMs: clock.nowMs });
    bucket.take(50);
    bucket.reconfigure({ ratePerSecond: 1, burst: 20 });
    expect(bucket.level()).toBe(20);
    expect(bucket.matches({ ratePerSecond: 1, burst: 20 })).toBe(true);
    bucket.take(20);
    clock.advance(1000);
    expect(bucket.level()).toBeCloseTo(1, 9); // refills at the new rate
  });

  it('does not drain or rewind when the clock steps backwards', () => {
    const clock = fakeClock(10_000);
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 2, nowMs: clock.nowMs });
    bucket.take(2);
    clock.advance(-5_000);
    expect(bucket.take(1).allowed).toBe(false);
    clock.advance(5_000 + 1_000); // one second after the last real refill
    expect(bucket.take(1).allowed).toBe(true);
  });

  it('does not let float dust refuse an exactly refilled token', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 3, burst: 1, nowMs: clock.nowMs });
    bucket.take(1);
    for (let i = 0; i < 3; i++) clock.advance(1000 / 9); // three thirds of a token, in floats
    expect(bucket.take(1).allowed).toBe(true);
  });

  it('isFull and idleMs track refill and use without counting reads as use', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 10, nowMs: clock.nowMs });
    bucket.take(5);
    clock.advance(400);
    expect(bucket.isFull()).toBe(false);
    clock.advance(100);
    expect(bucket.isFull()).toBe(true);
    expect(bucket.idleMs()).toBe(500);
    expect(bucket.fillRatio()).toBe(1);
  });

  it('rejects invalid limits and costs as faults', () => {
    const nowMs = () => 0;
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1, nowMs })).toThrow(/ratePerSecond/);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0.5, nowMs })).toThrow(/burst/);
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, nowMs });
    expect(() => bucket.take(-1)).toThrow(/cost/);
    expect(() => bucket.take(1.5)).toThrow(/cost/);
  });
});

describe('describeDecision', () => {
  it('builds the same shape from a level reported elsewhere (the Redis script)', () => {
    expect(describeDecision('rate', 0.5, 2, { ratePerSecond: 2, burst: 10 })).toEqual({
      allowed: false,
      reason: 'rate',
      retryAfterMs: 750,
      remaining: 0,
      resetMs: 250,
    });
  });
});
