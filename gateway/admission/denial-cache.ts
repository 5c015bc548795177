import type { RateLimitedKey } from './local-rate-limiter.js';
import { describeDecision, type TakeDeniedRate, type TakeResult } from './token-bucket.js';

/**
 * Remembers, per key, the last level the shared store reported when a bucket was empty, so that
 * the flood of requests from a key that is over its limit is refused in this process without a
 * Redis round trip (and synchronously, before the body is read).
 *
 * Soundness: other gateways can only take tokens from the shared bucket, and it refills at the
 * key's rate, so its level now is at most `levelReported + rate × (now − sentAt)`. `sentAt` is when
 * the command left this process, before the script ran, which only overestimates the refill. A
 * refusal derived from that upper bound is therefore one the store would also have given; the
 * cache can never refuse a request that Redis would have allowed.
 */
export interface DenialCache {
  /** Records the store's answer to a take sent at `sentAtMs` (same clock as `nowMs`). */
  record(key: RateLimitedKey, result: TakeResult, sentAtMs: number): void;
  /** A refusal that is certain without asking the store, or undefined when the store must decide. */
  check(key: RateLimitedKey, cost: number): TakeDeniedRate | undefined;
  size(): number;
}

interface Observation {
  readonly sentAtMs: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

export function createDenialCache(nowMs: () => number, maxEntries = 10_000): DenialCache {
  const observations = new Map<string, Observation>();

  return {
    record(key, result, sentAtMs) {
      // Worth remembering only when the next request of cost 1 could be refused: a refusal for
      // rate, or an admission that emptied the bucket.
      const empty = result.allowed ? result.remaining === 0 : result.reason === 'rate';
      if (!empty) {
        observations.delete(key.id);
        return;
      }
      // The cache is only an optimisation, so when it is full it is simply emptied.
      if (observations.size >= maxEntries && !observations.has(key.id)) observations.clear();
      observations.set(key.id, {
        sentAtMs,
        remaining: result.remaining,
        resetMs: result.resetMs,
        ratePerSecond: key.ratePerSecond,
        burst: key.burst,
      });
    },

    check(key, cost) {
      const seen = observations.get(key.id);
      if (seen === undefined) return undefined;
      if (seen.ratePerSecond !== key.ratePerSecond || seen.burst !== key.burst || cost > key.burst) {
        observations.delete(key.id);
        return undefined;
      }
      const elapsedMs = nowMs() - seen.sentAtMs;
      // `resetMs` is the time until `remaining + 1` tokens; each further token takes 1000/rate ms.
      const waitMs = seen.resetMs + ((cost - seen.remaining - 1) * 1000) / seen.ratePerSecond - elapsedMs;
      if (waitMs <= 0) {
        if (elapsedMs >= seen.resetMs + ((key.burst - seen.remaining - 1) * 1000) / seen.ratePerSecond) {
          observations.delete(key.id); // refilled completely: nothing left to know
        }
        return undefined;
      }
      const levelUpperBound = seen.remaining + 1 - ((seen.resetMs - elapsedMs) * seen.ratePerSecond) / 1000;
      return describeDecision('rate', levelUpperBound, cost, key) as TakeDeniedRate;
    },

    size: () => observations.size,
  };
}
