import { afterEach, describe, expect, it, vi } from 'vitest';
import { withTimeout } from './with-timeout.js';

describe('withTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers with the promise when it settles first, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
    await expect(
      withTimeout(Promise.reject(new Error('no')), 1_000, () => new Error('late')),
    ).rejects.toThrow('no');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with onTimeout() once the time has passed', async () => {
    vi.useFakeTimers();
    const waiting = withTimeout(new Promise<never>(() => undefined), 1_000, () => new Error('late'));
    const outcome = expect(waiting).rejects.toThrow('late');
    await vi.advanceTimersByTimeAsync(1_000);
    await outcome;
  });
});
