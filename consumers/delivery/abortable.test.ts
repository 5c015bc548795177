import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortable, sleepMs } from './abortable.js';

describe('abortable and sleepMs', () => {
  it('passes the value through and leaves no listener on the signal', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await sleepMs(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the signal’s reason as soon as it aborts, also when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('revoked');
    const waiting = abortable(new Promise(() => undefined), controller.signal);
    const sleeping = sleepMs(60_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(sleeping).rejects.toBe(reason);
    await expect(sleepMs(1, controller.signal)).rejects.toBe(reason);
    await expect(abortable(Promise.resolve(1), controller.signal)).rejects.toBe(reason);
  });
});
