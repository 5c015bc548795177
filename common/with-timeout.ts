/**
 * Waits for `promise`, or rejects with `onTimeout()` once `timeoutMs` has passed, whichever comes
 * first. The promise itself is not cancelled: callers use it where the work has a deadline of its
 * own (kafkajs's `timeout`) and only the wait must be bounded.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
