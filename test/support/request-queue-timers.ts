import { vi } from 'vitest';

export interface TimerCount {
  /** Timers armed since the count started. */
  readonly armed: number;
  stop(): void;
}

// kafkajs's own method and Sluice's replacement (common/kafka/pending-check.ts).
const pendingCheck = /\b(scheduleCheckPendingRequests|schedulePendingCheck)\b/;

/**
 * Counts the timers kafkajs request queues arm for their pending requests (whether kafkajs's
 * check or Sluice's arms them) until `stop`; every other setTimeout runs uncounted.
 */
export function countPendingCheckTimers(): TimerCount {
  const original = globalThis.setTimeout;
  let armed = 0;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((...args: unknown[]) => {
    if (pendingCheck.test(new Error().stack ?? '')) armed++;
    return Reflect.apply(original, globalThis, args) as NodeJS.Timeout;
  }) as typeof setTimeout);
  return {
    get armed() {
      return armed;
    },
    stop: () => spy.mockRestore(),
  };
}
