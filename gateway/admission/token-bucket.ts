/**
 * Why a request was refused by a rate limiter. `rate`: the bucket holds fewer tokens than the cost
 * right now, retrying later helps (429). `burst-exceeded`: the cost is larger than the bucket can
 * ever hold, so no amount of waiting helps (answer 413 and tell the client to split the batch).
 */
export type RateLimitReason = 'rate' | 'burst-exceeded';

interface BucketLevel {
  /** Whole tokens (events) left after this decision: the `r` of the RateLimit header. */
  readonly remaining: number;
  /** Milliseconds until one more whole token is available: the `t` of the RateLimit header. */
  readonly resetMs: number;
}

export interface TakeAllowed extends BucketLevel {
  readonly allowed: true;
}

export interface TakeDeniedRate extends BucketLevel {
  readonly allowed: false;
  readonly reason: 'rate';
  /** Milliseconds until the bucket holds `cost` tokens (assuming nobody else takes any). */
  readonly retryAfterMs: number;
}

export interface TakeDeniedBurst extends BucketLevel {
  readonly allowed: false;
  readonly reason: 'burst-exceeded';
  /** The bucket's capacity, so the answer can say how far to split the batch. */
  readonly burst: number;
}

export type TakeDenied = TakeDeniedRate | TakeDeniedBurst;
export type TakeResult = TakeAllowed | TakeDenied;

/** The limits of one API key. Producers are rate-limited in events, so a batch of 100 costs 100. */
export interface RateLimits {
  /** Sustained rate in events per second (> 0, may be fractional). */
  readonly ratePerSecond: number;
  /** Bucket capacity in events (whole number ≥ 1): the largest batch that can ever pass. */
  readonly burst: number;
}

/**
 * Refill arithmetic accumulates float dust (4.999999999 instead of 5); comparing with this slack
 * keeps an exactly-refilled token from being refused. The Lua script uses the same value.
 */
export const tokenEpsilon = 1e-9;

export function validateRateLimits(limits: RateLimits): void {
  if (!(Number.isFinite(limits.ratePerSecond) && limits.ratePerSecond > 0)) {
    throw new RangeError(`ratePerSecond must be a positive number, got ${limits.ratePerSecond}`);
  }
  if (!(Number.isInteger(limits.burst) && limits.burst >= 1)) {
    throw new RangeError(`burst must be a whole number of at least 1, got ${limits.burst}`);
  }
}

export function validateCost(cost: number): void {
  if (!(Number.isInteger(cost) && cost >= 0)) {
    throw new RangeError(`cost must be a whole number of events ≥ 0, got ${cost}`);
  }
}

/**
 * Builds the decision for a bucket that holds `tokensAfter` tokens once the decision is applied.
 * Shared by the local bucket and the Redis script's reply so both report identical shapes.
 */
export function describeDecision(
  status: 'allowed' | TakeDenied['reason'],
  tokensAfter: number,
  cost: number,
  limits: RateLimits,
): TakeResult {
  const whole = Math.floor(tokensAfter + tokenEpsilon);
  const remaining = Math.max(0, whole);
  // When the bucket is full (whole === burst) this is one refill period: the time a token spent
  // now takes to come back. It is never 0, so the header's `t` is never 0 either.
  const resetMs = Math.max(0, ((whole + 1 - tokensAfter) * 1000) / limits.ratePerSecond);
  if (status === 'allowed') return { allowed: true, remaining, resetMs };
  if (status === 'burst-exceeded') {
    return { allowed: false, reason: 'burst-exceeded', burst: limits.burst, remaining, resetMs };
  }
  const retryAfterMs = Math.max(0, ((cost - tokensAfter) * 1000) / limits.ratePerSecond);
  return { allowed: false, reason: 'rate', retryAfterMs, remaining, resetMs };
}

export interface TokenBucketOptions extends RateLimits {
  /** Monotonic clock in milliseconds (inject a fake one in tests). */
  readonly nowMs: () => number;
  /** Tokens at creation; defaults to `burst` (a new key may send its whole burst at once). */
  readonly initialTokens?: number;
}

/**
 * A token bucket counting events: it holds at most `burst` tokens and refills continuously at
 * `ratePerSecond`. Refill is computed lazily from the clock on each call, so an idle bucket costs
 * nothing. One bucket belongs to one event loop; nothing here is shared across processes.
 */
export class TokenBucket {
  private limits: RateLimits;
  private tokens: number;
  private refilledAtMs: number;
  private lastUsedMs: number;
  private readonly nowMs: () => number;

  constructor(options: TokenBucketOptions) {
    validateRateLimits(options);
    this.limits = { ratePerSecond: options.ratePerSecond, burst: options.burst };
    this.nowMs = options.nowMs;
    this.tokens = Math.min(options.burst, Math.max(0, options.initialTokens ?? options.burst));
    this.refilledAtMs = options.nowMs();
    this.lastUsedMs = this.refilledAtMs;
  }

  /** Takes `cost` tokens when the bucket holds them; otherwise takes nothing and says why. */
  take(cost: number): TakeResult {
    validateCost(cost);
    this.refill();
    const status = this.statusFor(cost);
    if (status === 'allowed') this.tokens -= cost;
    return describeDecision(status, this.tokens, cost, this.limits);
  }

  /** The decision `take(cost)` would make now, without taking anything. */
  peek(cost: number): TakeResult {
    validateCost(cost);
    this.refill();
    const status = this.statusFor(cost);
    const tokensAfter = status === 'allowed' ? this.tokens - cost : this.tokens;
    return describeDecision(status, tokensAfter, cost, this.limits);
  }

  /** Exact token count now (fractional). Does not count as use. */
  level(): number {
    const elapsedMs = this.nowMs() - this.refilledAtMs;
    if (elapsedMs <= 0) return this.tokens;
    return Math.min(this.limits.burst, this.tokens + (elapsedMs * this.limits.ratePerSecond) / 1000);
  }

  /** Fill ratio now, 0 (empty) to 1 (full). */
  fillRatio(): number {
    return this.level() / this.limits.burst;
  }

  /**
   * True when the bucket is full: it is then indistinguishable from a new bucket, so dropping it
   * and recreating it later changes no decision.
   */
  isFull(): boolean {
    return this.level() + tokenEpsilon >= this.limits.burst;
  }

  /** Milliseconds since the bucket was last taken from, peeked or reconfigured. */
  idleMs(): number {
    return this.nowMs() - this.lastUsedMs;
  }

  matches(limits: RateLimits): boolean {
    return limits.ratePerSecond === this.limits.ratePerSecond && limits.burst === this.limits.burst;
  }

  /** Applies new limits (an API key was edited), keeping the tokens earned so far, capped at the new burst. */
  reconfigure(limits: RateLimits): void {
    validateRateLimits(limits);
    this.refill();
    this.limits = { ratePerSecond: limits.ratePerSecond, burst: limits.burst };
    this.tokens = Math.min(this.tokens, limits.burst);
  }

  private statusFor(cost: number): 'allowed' | TakeDenied['reason'] {
    if (cost > this.limits.burst) return 'burst-exceeded';
    return this.tokens + tokenEpsilon >= cost ? 'allowed' : 'rate';
  }

  private refill(): void {
    const nowMs = this.nowMs();
    this.lastUsedMs = nowMs;
    // A clock that steps backwards (only possible with an injected wall clock) must not drain the
    // bucket or move its timestamp back; the bucket just earns nothing until time passes again.
    if (nowMs <= this.refilledAtMs) return;
    this.tokens = this.level();
    this.refilledAtMs = nowMs;
  }
}
