import CircuitBreaker from 'opossum';
import { countsAgainstEndpointHealth, type DeliveryOutcome } from './classify-outcome.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  errorThresholdPercentage: number;
  volumeThreshold: number;
  rollingWindowMs: number;
  resetTimeoutMs: number;
}

/** What an attempt function returns: anything that carries the attempt's outcome. */
export interface HasOutcome {
  readonly outcome: DeliveryOutcome;
}

export type BreakerRun<T> =
  /** The attempt ran; `value` is what it returned, whatever the outcome. */
  | { kind: 'ran'; value: T }
  /** The breaker is open (or half-open with its probe already out): no attempt was made. */
  | { kind: 'open' };

export interface EndpointBreakers {
  /**
   * Runs one attempt inside the subscription's breaker. The attempt must settle by itself (the
   * sender's deadline does that): the breaker sets no timer of its own, one per attempt saved.
   */
  run<T extends HasOutcome>(subscriptionId: string, attempt: () => Promise<T>): Promise<BreakerRun<T>>;
  state(subscriptionId: string): BreakerState;
  /** Drops the breakers of subscriptions for which `keep` says no (deleted ones). */
  prune(keep: (subscriptionId: string) => boolean): void;
  shutdown(): void;
}

type Attempt = () => Promise<HasOutcome>;

/** The action's way to tell opossum "this attempt failed", carrying the attempt's result along. */
class AttemptFailed extends Error {
  constructor(
    readonly value: HasOutcome,
    readonly outcome: DeliveryOutcome,
  ) {
    super(`attempt failed: ${outcome.kind}`);
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * One opossum breaker per subscription. Every attempt that is not a 2xx rejects inside the
 * breaker, and the `errorFilter` decides whether it says anything about the endpoint's health
 * (classify-outcome's `countsAgainstEndpointHealth`): a 400 or a redirect is the endpoint
 * answering, and must not open the breaker. Faults of our own (a thrown bug) do not count either.
 */
export function createEndpointBreakers(
  settings: BreakerSettings,
  onStateChange: (subscriptionId: string, state: BreakerState) => void,
): EndpointBreakers {
  const breakers = new Map<string, CircuitBreaker<[Attempt], HasOutcome>>();

  function breakerFor(subscriptionId: string): CircuitBreaker<[Attempt], HasOutcome> {
    let breaker = breakers.get(subscriptionId);
    if (breaker !== undefined) return breaker;
    breaker = new CircuitBreaker<[Attempt], HasOutcome>(
      async (attempt) => {
        const value = await attempt();
        if (value.outcome.kind !== 'delivered') throw new AttemptFailed(value, value.outcome);
        return value;
      },
      {
        name: subscriptionId,
        timeout: false,
        errorThresholdPercentage: settings.errorThresholdPercentage,
        volumeThreshold: settings.volumeThreshold,
        rollingCountTimeout: settings.rollingWindowMs,
        rollingCountBuckets: 10,
        resetTimeout: settings.resetTimeoutMs,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        errorFilter: (error: unknown) => {
          if (error instanceof AttemptFailed) return !countsAgainstEndpointHealth(error.outcome);
          return true;
        },
      },
    );
    breaker.on('open', () => onStateChange(subscriptionId, 'open'));
    breaker.on('halfOpen', () => onStateChange(subscriptionId, 'half-open'));
    breaker.on('close', () => onStateChange(subscriptionId, 'closed'));
    breakers.set(subscriptionId, breaker);
    return breaker;
  }

  return {
    async run<T extends HasOutcome>(subscriptionId: string, attempt: () => Promise<T>) {
      try {
        const value = (await breakerFor(subscriptionId).fire(attempt)) as T;
        return { kind: 'ran', value };
      } catch (error) {
        if (error instanceof AttemptFailed) return { kind: 'ran', value: error.value as T };
        if (codeOf(error) === 'EOPENBREAKER') return { kind: 'open' };
        throw error;
      }
    },
    state(subscriptionId) {
      const breaker = breakers.get(subscriptionId);
      if (breaker === undefined || breaker.closed) return 'closed';
      return breaker.halfOpen ? 'half-open' : 'open';
    },
    prune(keep) {
      for (const [id, breaker] of breakers) {
        if (!keep(id)) {
          breaker.shutdown();
          breakers.delete(id);
        }
      }
    },
    shutdown() {
      for (const breaker of breakers.values()) breaker.shutdown();
      breakers.clear();
    },
  };
}
