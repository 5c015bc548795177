import { performance } from 'node:perf_hooks';
import { TokenBucket, validateCost, type RateLimits, type TakeResult } from './token-bucket.js';

/** What the limiter needs from an authenticated API key. */
export interface RateLimitedKey extends RateLimits {
  /** Stable id of the bucket's owner (the producer id), never the secret key itself. */
  readonly id: string;
}

/** Options of the per-process limiter; every field has a default. */
export interface LocalRateLimiterOptions {
  /** Monotonic clock in ms. Default `performance.now` (wall clocks can step and refill a bucket early). */
  readonly nowMs?: () => number;
  /** A bucket unused for this long is dropped once it has refilled completely. Default 60 000 ms. */
  readonly idleEvictionMs?: number;
  /** How often (at most) a `take` scans for idle buckets. Default 10 000 ms. */
  readonly sweepIntervalMs?: number;
  /** Hard cap on buckets held; beyond it the oldest are dropped. Default 100 000. */
  readonly maxKeys?: number;
}

export interface LocalRateLimiter {
  /** Takes `cost` events from the key's bucket, creating the bucket (full) on first use. Synchronous. */
  take(key: RateLimitedKey, cost: number): TakeResult;
  /** The decision `take` would make, without taking anything or creating a bucket. */
  peek(key: RateLimitedKey, cost: number): TakeResult;
  /** Fill ratio (0..1) of the key's bucket; 1 when the key has no bucket (a new one starts full). */
  fillRatio(keyId: string): number;
  /** Drops idle, full buckets now; returns how many were dropped. */
  sweep(): number;
  /** Buckets held. */
  size(): number;
}

const defaults = { idleEvictionMs: 60_000, sweepIntervalMs: 10_000, maxKeys: 100_000 };

/**
 * Per-process token buckets, one per API key, created lazily from the key's `ratePerSecond` and
 * `burst`. Memory stays bounded without changing any decision: a bucket is only dropped once it is
 * idle AND full, because a full bucket behaves exactly like the new one `take` would create.
 * `maxKeys` is the safety net for the case that cannot happen with a sane key file (more active
 * keys than the cap): then the oldest-created buckets are dropped, which at worst grants such a
 * key one extra burst.
 */
export function createLocalRateLimiter(options: LocalRateLimiterOptions = {}): LocalRateLimiter {
  const nowMs = options.nowMs ?? (() => performance.now());
  const idleEvictionMs = options.idleEvictionMs ?? defaults.idleEvictionMs;
  const sweepIntervalMs = options.sweepIntervalMs ?? defaults.sweepIntervalMs;
  const maxKeys = options.maxKeys ?? defaults.maxKeys;
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1))
    throw new RangeError(`maxKeys must be ≥ 1, got ${maxKeys}`);

  const buckets = new Map<string, TokenBucket>();
  let lastSweepMs = nowMs();

  function sweep(): number {
    lastSweepMs = nowMs();
    let dropped = 0;
    for (const [id, bucket] of buckets) {
      if (bucket.idleMs() >= idleEvictionMs && bucket.isFull()) {
        buckets.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  function makeRoom(): void {
    if (buckets.size < maxKeys) return;
    sweep();
    // Map iteration follows insertion order, so the first keys are the oldest buckets.
    for (const id of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(id);
    }
  }

  function bucketFor(key: RateLimitedKey): TokenBucket {
    let bucket = buckets.get(key.id);
    if (bucket === undefined) {
      makeRoom();
      bucket = new TokenBucket({ ratePerSecond: key.ratePerSecond, burst: key.burst, nowMs });
      buckets.set(key.id, bucket);
    } else if (!bucket.matches(key)) {
      bucket.reconfigure(key);
    }
    return bucket;
  }

  return {
    take(key, cost) {
      validateCost(cost);
      // Sweeping from the request path (amortised, at most once per interval) avoids a timer that
      // would need starting and stopping; one pass over even 100k buckets takes about a millisecond.
      if (nowMs() - lastSweepMs >= sweepIntervalMs) sweep();
      return bucketFor(key).take(cost);
    },
    peek(key, cost) {
      const bucket = buckets.get(key.id);
      if (bucket === undefined) {
        // No bucket: judge against the full bucket `take` would create, without keeping it.
        return new TokenBucket({ ratePerSecond: key.ratePerSecond, burst: key.burst, nowMs }).peek(cost);
      }
      if (!bucket.matches(key)) bucket.reconfigure(key);
      return bucket.peek(cost);
    },
    fillRatio(keyId) {
      return buckets.get(keyId)?.fillRatio() ?? 1;
    },
    sweep,
    size: () => buckets.size,
  };
}
