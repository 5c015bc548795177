import type { BreakerState } from './endpoint-breakers.js';

export interface BreakerWatchOptions {
  /** SLUICE_BREAKER_OPEN_EVENT_AFTER_MS: a breaker open this long is reported unhealthy; 0 = never. */
  openEventAfterMs: number;
  /** The breaker has been open (or half-open, probing) for `openEventAfterMs` since `openedAtMs`. */
  onUnhealthy: (subscriptionId: string, openedAtMs: number) => void;
  /** It closed again after an `onUnhealthy`. */
  onRecovered: (subscriptionId: string, openedAtMs: number, closedAtMs: number) => void;
  nowMs?: () => number;
}

export interface BreakerWatch {
  /** Every state change of a subscription's breaker in this worker. */
  stateChanged(subscriptionId: string, state: BreakerState): void;
  /** Forgets a breaker that was dropped (its subscription deleted): no event follows. */
  forget(subscriptionId: string): void;
  shutdown(): void;
}

interface Opening {
  openedAtMs: number;
  reported: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Turns one worker's breaker states into the `sluice.subscription.unhealthy` / `recovered` pair.
 * An opening lasts from `open` to `closed`: the half-open probes in between, and a failed probe
 * opening it again, are part of it. Nothing is reported for an opening shorter than the threshold,
 * so a breaker that trips and recovers within minutes makes no noise.
 */
export function createBreakerWatch(options: BreakerWatchOptions): BreakerWatch {
  const nowMs = options.nowMs ?? Date.now;
  const openings = new Map<string, Opening>();

  return {
    stateChanged(subscriptionId, state) {
      const opening = openings.get(subscriptionId);
      if (state === 'open' && opening === undefined) {
        const started: Opening = { openedAtMs: nowMs(), reported: false, timer: undefined };
        if (options.openEventAfterMs > 0) {
          started.timer = setTimeout(() => {
            started.timer = undefined;
            started.reported = true;
            options.onUnhealthy(subscriptionId, started.openedAtMs);
          }, options.openEventAfterMs);
          started.timer.unref();
        }
        openings.set(subscriptionId, started);
      } else if (state === 'closed' && opening !== undefined) {
        clearTimeout(opening.timer);
        openings.delete(subscriptionId);
        if (opening.reported) options.onRecovered(subscriptionId, opening.openedAtMs, nowMs());
      }
    },
    forget(subscriptionId) {
      clearTimeout(openings.get(subscriptionId)?.timer);
      openings.delete(subscriptionId);
    },
    shutdown() {
      for (const opening of openings.values()) clearTimeout(opening.timer);
      openings.clear();
    },
  };
}
