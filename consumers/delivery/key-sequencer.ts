import { abortable } from './abortable.js';

/**
 * Turns per key: `acquire(key)` resolves once every earlier holder of the same key released.
 * Callers must call `acquire` in the order they want to be served (synchronously, as records are
 * dispatched in offset order); the turn is taken at the call, not when the promise resolves.
 */
export class KeySequencer {
  private readonly tails = new Map<string, Promise<void>>();

  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let releaseSelf!: () => void;
    const selfDone = new Promise<void>((resolve) => (releaseSelf = resolve));
    // The chain passes through this turn only once the previous one is done and this one released,
    // even when this caller gave up waiting: later turns keep their order.
    const gate = previous.then(() => selfDone);
    this.tails.set(key, gate);
    void gate.then(() => {
      if (this.tails.get(key) === gate) this.tails.delete(key);
    });
    return abortable(previous, signal).then(
      () => releaseSelf,
      (error: unknown) => {
        releaseSelf();
        throw error;
      },
    );
  }

  /** Keys with a turn held or queued. */
  size(): number {
    return this.tails.size;
  }
}
