/** Waits for `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/** A timer as a promise that an abort cuts short (rejecting with the signal's reason). */
export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface TimedSignal {
  signal: AbortSignal;
  /** True when it aborted because the time ran out (not because the parent aborted). */
  timedOut(): boolean;
  /** Stops the timer and unlinks from the parent; call when the wait is over. */
  dispose(): void;
}

/**
 * A signal that aborts when `parent` does or after `timeoutMs`. Linked by hand rather than with
 * AbortSignal.any: the parent lives as long as a partition, and on Node 20 every signal made with
 * any() stays referenced by its sources until they are collected.
 */
export function timedSignal(parent: AbortSignal, timeoutMs: number): TimedSignal {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent.reason);
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`waited ${timeoutMs} ms`));
  }, timeoutMs);
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
