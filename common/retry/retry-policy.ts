import { SluiceError } from '../errors.js';

/** ±20%: enough to spread a herd of retries that failed together, small enough to keep tiers apart. */
export const defaultJitterRatio = 0.2;
/** A receiver's `Retry-After` may stretch a wait to at most this multiple of the scheduled delay. */
const maxRetryAfterFactor = 2;

export type RetryDecision =
  | {
      kind: 'retry';
      /** The 1-based number of the attempt that will follow the wait. */
      nextAttempt: number;
      /** The scheduled (un-jittered) delay: it names the retry tier the delivery travels through. */
      tierDelayMs: number;
      /** How long to wait before the next attempt, jitter and `Retry-After` applied. */
      delayMs: number;
    }
  | { kind: 'dead-letter'; attempts: number };

export interface NextRetryInput {
  /** The retry schedule, ascending (from `parseRetrySchedule`). */
  delaysMs: readonly number[];
  /** The 1-based number of the attempt that just failed. */
  failedAttempt: number;
  /** What the receiver asked for with `Retry-After` on a 429/503, already parsed. */
  retryAfterMs?: number | undefined;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  random?: () => number;
  jitterRatio?: number;
}

/**
 * What happens after attempt `failedAttempt` failed: attempt n waits `delaysMs[n-1]` ± jitter;
 * once every delay is spent the delivery is dead-lettered. A `Retry-After` is honoured within
 * [1×, 2×] the scheduled delay, so a receiver can slow us down but cannot stall a tier or make
 * us retry sooner than the schedule.
 */
export function nextRetry({
  delaysMs,
  failedAttempt,
  retryAfterMs,
  random = Math.random,
  jitterRatio = defaultJitterRatio,
}: NextRetryInput): RetryDecision {
  if (!Number.isSafeInteger(failedAttempt) || failedAttempt < 1) {
    throw new SluiceError(
      'SLUICE_INTERNAL',
      `failedAttempt must be a whole number ≥ 1, got ${failedAttempt}`,
    );
  }
  const scheduledMs = delaysMs[failedAttempt - 1];
  if (scheduledMs === undefined) return { kind: 'dead-letter', attempts: failedAttempt };

  const jitteredMs = jitter(scheduledMs, random, jitterRatio);
  let delayMs = jitteredMs;
  if (retryAfterMs !== undefined) {
    // Jitter may only push a Retry-After wait later: going below what the receiver asked for
    // would earn another 429.
    delayMs = Math.min(Math.max(retryAfterMs, jitteredMs, scheduledMs), maxRetryAfterFactor * scheduledMs);
  }
  return {
    kind: 'retry',
    nextAttempt: failedAttempt + 1,
    tierDelayMs: scheduledMs,
    delayMs: Math.round(delayMs),
  };
}

export type ParkDecision =
  | {
      kind: 'park';
      /** The delay of the tier the delivery is parked in: it names the tier's topic. */
      tierDelayMs: number;
      /** How long to wait before the delivery is looked at again, jitter applied. */
      delayMs: number;
    }
  | { kind: 'expire' };

export interface NextParkingInput {
  /** The retry schedule, ascending (from `parseRetrySchedule`). */
  delaysMs: readonly number[];
  /** Index in `delaysMs` of the tier the delivery came from; -1 for the events topic. */
  fromTierIndex: number;
  /** How long ago the delivery's first attempt was (or would have been). */
  ageMs: number;
  /** A parked delivery older than this is not parked again but dead-lettered. */
  maxAgeMs: number;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  random?: () => number;
  jitterRatio?: number;
}

/**
 * Where a delivery goes that is moved on without an attempt (breaker open, no slot, key blocked,
 * Redis down and fail-closed): one tier further than it came from, the last tier repeating, with
 * its attempt number unspent. Parking spends no attempt, so only its age bounds it: past `maxAgeMs`
 * it expires instead, or a dead endpoint would hold its deliveries for ever.
 */
export function nextParking({
  delaysMs,
  fromTierIndex,
  ageMs,
  maxAgeMs,
  random = Math.random,
  jitterRatio = defaultJitterRatio,
}: NextParkingInput): ParkDecision {
  if (ageMs > maxAgeMs) return { kind: 'expire' };
  const tierDelayMs = delaysMs[Math.min(fromTierIndex + 1, delaysMs.length - 1)]!;
  return { kind: 'park', tierDelayMs, delayMs: Math.round(jitter(tierDelayMs, random, jitterRatio)) };
}

/** `delayMs` moved by up to ±`jitterRatio` of itself, `random()` choosing where in the band. */
function jitter(delayMs: number, random: () => number, jitterRatio: number): number {
  const unit = Math.min(Math.max(random(), 0), 1);
  return delayMs * (1 - jitterRatio + 2 * jitterRatio * unit);
}

const httpDatePattern = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i;
const asctimePattern = /^[a-z]{3} [a-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/i;

/**
 * Parses a `Retry-After` value (RFC 9110): delay-seconds or an HTTP-date, relative to `nowMs`.
 * A date in the past means "now" (0). Anything else is ignored (undefined) rather than guessed:
 * `Date.parse` alone would read `1.5` as a date in 2001.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!httpDatePattern.test(text)) return undefined;
  // HTTP-dates are always GMT; the asctime form carries no zone, and Date.parse would read it
  // as local time.
  const dateMs = Date.parse(asctimePattern.test(text) ? `${text} GMT` : text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}
