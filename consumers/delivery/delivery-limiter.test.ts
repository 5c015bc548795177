import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DeliveryLimiter, DeliveryLimiters, type LimiterClock } from './delivery-limiter.js';

/** A clock moved by hand: timers fire only when `advance` passes them. */
function manualClock() {
  let now = 0;
  const timers = new Set<{ atMs: number; callback: () => void }>();
  const clock: LimiterClock = {
    nowMs: () => now,
    setTimer(callback, delayMs) {
      const timer = { atMs: now + delayMs, callback };
      timers.add(timer);
      return () => timers.delete(timer);
    },
  };
  return {
    clock,
    advance(ms: number) {
      now += ms;
      for (const timer of [...timers].sort((a, b) => a.atMs - b.atMs)) {
        if (timer.atMs <= now && timers.delete(timer)) timer.callback();
      }
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Starts `count` acquisitions and records the order in which they are granted. */
function acquireMany(limiter: DeliveryLimiter, count: number, signal?: AbortSignal) {
  const granted: number[] = [];
  const releases = new Map<number, () => void>();
  const outcomes = Array.from({ length: count }, (_, index) =>
    limiter.acquire(signal).then(
      (release) => {
        granted.push(index);
        releases.set(index, release!);
        return 'granted' as const;
      },
      () => 'aborted' as const,
    ),
  );
  return { granted, releases, outcomes };
}

describe('DeliveryLimiter', () => {
  it('keeps at most maxConcurrency attempts in flight, serving waiters in order', async () => {
    const { clock } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 2, ratePerSecond: undefined }, clock);
    const { granted, releases } = acquireMany(limiter, 5);
    await flush();
    expect(granted).toEqual([0, 1]);
    expect(limiter.waiting()).toBe(3);
    releases.get(1)!();
    await flush();
    expect(granted).toEqual([0, 1, 2]);
    releases.get(0)!();
    releases.get(0)!(); // releasing twice frees one slot only
    await flush();
    expect(granted).toEqual([0, 1, 2, 3]);
    expect(limiter.active()).toBe(2);
  });

  it('grants a free slot at once through tryAcquire, but never ahead of a waiter or past the limits', async () => {
    const { clock, advance } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 2, ratePerSecond: 2 }, clock);
    const first = limiter.tryAcquire();
    const second = limiter.tryAcquire();
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(limiter.tryAcquire()).toBeUndefined(); // both slots taken
    const { granted } = acquireMany(limiter, 1);
    first!();
    advance(1000); // a token refills
    await flush();
    expect(granted).toEqual([0]); // the waiter got the freed slot, not a later tryAcquire
    expect(limiter.tryAcquire()).toBeUndefined();
    second!();
    const third = limiter.tryAcquire(); // the refill left one token
    expect(third).toBeTypeOf('function');
    third!();
    expect(limiter.tryAcquire()).toBeUndefined(); // a slot is free but the rate's tokens are spent
    advance(500);
    expect(limiter.tryAcquire()).toBeTypeOf('function');
  });

  it('starts at most ratePerSecond attempts per second after a one-second burst', async () => {
    const { clock, advance } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 100, ratePerSecond: 2 }, clock);
    const { granted } = acquireMany(limiter, 6);
    await flush();
    expect(granted).toEqual([0, 1]);
    advance(499);
    await flush();
    expect(granted).toHaveLength(2);
    advance(1);
    await flush();
    expect(granted).toEqual([0, 1, 2]);
    advance(500);
    await flush();
    expect(granted).toEqual([0, 1, 2, 3]);
    advance(1000);
    await flush();
    expect(granted).toHaveLength(6);
  });

  it('lets a waiter give up without blocking the ones behind it', async () => {
    const { clock } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 1, ratePerSecond: undefined }, clock);
    const first = (await limiter.acquire())!;
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const third = limiter.acquire();
    controller.abort(new Error('revoked'));
    await expect(aborted).rejects.toThrow('revoked');
    first();
    const release = (await third)!;
    expect(limiter.active()).toBe(1);
    release();
    expect(limiter.idle()).toBe(true);
  });

  it('listens once per signal however many wait on it, and aborts only that signal’s waiters', async () => {
    const { clock } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 1, ratePerSecond: undefined }, clock);
    const first = (await limiter.acquire())!;
    const revoked = new AbortController();
    const kept = new AbortController();
    const doomed = Array.from({ length: 1000 }, () => limiter.acquire(revoked.signal));
    const staying = limiter.acquire(kept.signal);
    expect(getEventListeners(revoked.signal, 'abort')).toHaveLength(1);
    revoked.abort(new Error('revoked'));
    const outcomes = await Promise.allSettled(doomed);
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(limiter.waiting()).toBe(1);
    first();
    const release = (await staying)!;
    // Served: nobody waits on that signal any more, so its listener is gone too.
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);
    release();
    expect(limiter.idle()).toBe(true);
  });

  it('applies a raised concurrency limit to the waiters at once', async () => {
    const { clock } = manualClock();
    const limiter = new DeliveryLimiter({ maxConcurrency: 1, ratePerSecond: undefined }, clock);
    const { granted } = acquireMany(limiter, 3);
    await flush();
    expect(granted).toEqual([0]);
    limiter.update({ maxConcurrency: 3, ratePerSecond: undefined });
    await flush();
    expect(granted).toEqual([0, 1, 2]);
  });

  it('throttles one subscription without delaying another', async () => {
    const { clock } = manualClock();
    const limiters = new DeliveryLimiters(clock);
    const slow = limiters.for('sub_slow', { maxConcurrency: 1, ratePerSecond: 1 });
    const fast = limiters.for('sub_fast', { maxConcurrency: 10, ratePerSecond: undefined });
    const slowRun = acquireMany(slow, 5);
    const fastRun = acquireMany(fast, 5);
    await flush();
    expect(slowRun.granted).toEqual([0]);
    expect(fastRun.granted).toEqual([0, 1, 2, 3, 4]);
    expect(limiters.for('sub_slow', { maxConcurrency: 1, ratePerSecond: 1 })).toBe(slow);
  });

  it('sends a waiter away empty-handed at its deadline, with one timer for all the waiters', async () => {
    const { clock, advance } = manualClock();
    let timersSet = 0;
    const counting: LimiterClock = {
      nowMs: clock.nowMs,
      setTimer: (callback, delayMs) => {
        timersSet++;
        return clock.setTimer(callback, delayMs);
      },
    };
    const limiter = new DeliveryLimiter({ maxConcurrency: 1, ratePerSecond: undefined }, counting);
    const held = (await limiter.acquire())!;
    const early = limiter.acquire(undefined, 1000);
    advance(500);
    const late = limiter.acquire(undefined, 1000);
    const patient = limiter.acquire();
    expect(timersSet).toBe(1);
    advance(500);
    expect(await early).toBeUndefined();
    expect(limiter.waiting()).toBe(2);
    advance(500);
    expect(await late).toBeUndefined();
    // Past the deadlines the one without a deadline still waits, and gets the slot.
    expect(limiter.waiting()).toBe(1);
    held();
    const release = await patient;
    expect(release).toBeTypeOf('function');
    release!();
    expect(limiter.idle()).toBe(true);
  });
});
