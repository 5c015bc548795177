import type { RateLimits, TakeResult } from './token-bucket.js';

/**
 * IETF RateLimit header fields, structured-field form, following
 * draft-ietf-httpapi-ratelimit-headers-10 (27 September 2025):
 *
 *   RateLimit-Policy: "default";q=<burst>;w=<seconds to refill the whole burst>
 *   RateLimit: "default";r=<whole events available>;t=<seconds until more quota is available>
 *
 * How a token bucket maps onto the draft's quota model:
 * - `q` is the burst and `w` the time the bucket takes to refill it, so q/w is the sustained rate
 *   (w is rounded up to whole seconds, as the draft requires, which understates the rate slightly).
 * - `r` is the whole tokens left after this request.
 * - `t` is the draft-10 "reset": seconds until additional quota is made available, here the time
 *   until one more whole token has refilled. On a refusal it is the time until the refused cost
 *   fits, equal to Retry-After, which also satisfies draft-11's rule that Retry-After must not
 *   point before the end of the window.
 * - The quota unit is events, not requests (a batch of 100 costs 100). The draft's registry has
 *   no such unit, so `qu` is left out rather than sent with an unregistered value.
 */
export const rateLimitPolicyName = 'default';

export interface RateLimitHeaders {
  'RateLimit-Policy': string;
  RateLimit: string;
  /** Whole seconds, at least 1; only on a refusal that waiting can fix. */
  'Retry-After'?: string;
}

export function rateLimitHeaders(result: TakeResult, limits: RateLimits): RateLimitHeaders {
  const windowSeconds = Math.max(1, Math.ceil(limits.burst / limits.ratePerSecond));
  const refusedForRate = !result.allowed && result.reason === 'rate';
  const resetSeconds = wholeSeconds(refusedForRate ? result.retryAfterMs : result.resetMs);
  const headers: RateLimitHeaders = {
    'RateLimit-Policy': `"${rateLimitPolicyName}";q=${limits.burst};w=${windowSeconds}`,
    RateLimit: `"${rateLimitPolicyName}";r=${result.remaining};t=${resetSeconds}`,
  };
  // A cost above the burst can never pass: a Retry-After would invite a retry that fails again.
  if (refusedForRate) headers['Retry-After'] = String(resetSeconds);
  return headers;
}

/** Retry-After value for a wait in milliseconds: whole seconds rounded up, never below 1. */
export function retryAfterSeconds(waitMs: number): number {
  return wholeSeconds(waitMs);
}

function wholeSeconds(ms: number): number {
  // The epsilon keeps float dust (1000.0000000002 ms) from rounding a full second up to two.
  return Math.max(1, Math.ceil(ms / 1000 - 1e-9));
}
