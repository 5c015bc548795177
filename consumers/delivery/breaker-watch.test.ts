import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBreakerWatch } from './breaker-watch.js';

describe('breaker watch', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function watch(openEventAfterMs = 300_000) {
    const events: string[] = [];
    const w = createBreakerWatch({
      openEventAfterMs,
      onUnhealthy: (id, openedAtMs) => events.push(`unhealthy ${id} ${openedAtMs}`),
      onRecovered: (id, openedAtMs, closedAtMs) => events.push(`recovered ${id} ${openedAtMs} ${closedAtMs}`),
      nowMs: Date.now,
    });
    return { w, events };
  }

  it('reports a breaker open past the threshold, through half-open probes, then its closing', () => {
    const { w, events } = watch();
    w.stateChanged('sub_a', 'open');
    vi.advanceTimersByTime(30_000);
    w.stateChanged('sub_a', 'half-open');
    w.stateChanged('sub_a', 'open');
    vi.advanceTimersByTime(269_999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['unhealthy sub_a 1000000']);
    w.stateChanged('sub_a', 'closed');
    expect(events).toEqual(['unhealthy sub_a 1000000', 'recovered sub_a 1000000 1300000']);
  });

  it('says nothing of a breaker that closes before the threshold', () => {
    const { w, events } = watch();
    w.stateChanged('sub_a', 'open');
    vi.advanceTimersByTime(299_000);
    w.stateChanged('sub_a', 'closed');
    vi.advanceTimersByTime(600_000);
    expect(events).toEqual([]);
  });

  it('reports nothing with a threshold of 0, nor for a forgotten breaker', () => {
    const never = watch(0);
    never.w.stateChanged('sub_a', 'open');
    vi.advanceTimersByTime(10_000_000);
    never.w.stateChanged('sub_a', 'closed');
    expect(never.events).toEqual([]);
    const forgotten = watch(1000);
    forgotten.w.stateChanged('sub_b', 'open');
    forgotten.w.forget('sub_b');
    vi.advanceTimersByTime(5000);
    expect(forgotten.events).toEqual([]);
  });
});
