import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { timedSignal } from './abortable.js';

describe('timedSignal', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts when the time runs out and says so', () => {
    vi.useFakeTimers();
    const parent = new AbortController();
    const wait = timedSignal(parent.signal, 2_000);
    vi.advanceTimersByTime(1_999);
    expect(wait.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(wait.signal.aborted).toBe(true);
    expect(wait.timedOut()).toBe(true);
    wait.dispose();
  });

  it('aborts with the parent’s reason, not as a timeout', () => {
    const parent = new AbortController();
    const wait = timedSignal(parent.signal, 60_000);
    parent.abort(new Error('partition revoked'));
    expect(wait.signal.aborted).toBe(true);
    expect((wait.signal.reason as Error).message).toBe('partition revoked');
    expect(wait.timedOut()).toBe(false);
    wait.dispose();
  });

  it('is aborted at once under an already aborted parent', () => {
    const parent = new AbortController();
    parent.abort(new Error('stopping'));
    const wait = timedSignal(parent.signal, 60_000);
    expect(wait.signal.aborted).toBe(true);
    wait.dispose();
  });

  it('leaves nothing attached to the long-lived parent once disposed', () => {
    const parent = new AbortController();
    for (let i = 0; i < 100; i++) timedSignal(parent.signal, 60_000).dispose();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });
});
