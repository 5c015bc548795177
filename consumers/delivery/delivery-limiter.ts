/** A timer source, injected so tests drive time by hand. */
export interface LimiterClock {
  nowMs(): number;
  /** Calls `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemLimiterClock: LimiterClock = {
  nowMs: () => performance.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

export interface DeliveryLimits {
  /** Attempts in flight at once. */
  maxConcurrency: number;
  /** Attempts started per second (token bucket with one second of burst); undefined = unlimited. */
  ratePerSecond: number | undefined;
}

interface Waiter {
  /** A release function, or undefined when the wait ran past its deadline. */
  grant: (release: (() => void) | undefined) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  deadlineMs: number;
}

/** One abort listener for all the waiters that share a signal (a partition's). */
interface WatchedSignal {
  waiters: number;
  onAbort: () => void;
}

/**
 * One subscription's concurrency slots and rate limit. Waiters are served first come, first
 * served, and each waits on its own promise, so a slow or throttled endpoint only ever delays
 * its own deliveries, never another subscription's.
 */
export class DeliveryLimiter {
  private limits: DeliveryLimits;
  private activeCount = 0;
  private readonly queue: Waiter[] = [];
  private tokens: number;
  private refilledAtMs: number;
  private cancelTimer: (() => void) | undefined;
  /** One timer for the earliest waiter deadline, not one per waiter. */
  private cancelExpiryTimer: (() => void) | undefined;
  private expiryTimerAtMs = Number.POSITIVE_INFINITY;
  /**
   * Thousands of deliveries can wait on one partition's signal. A listener each would cost every
   * `addEventListener` a walk over all the others (EventTarget refuses duplicates), so the limiter
   * listens once per signal and finds that signal's waiters when it aborts.
   */
  private readonly watched = new Map<AbortSignal, WatchedSignal>();

  constructor(
    limits: DeliveryLimits,
    private readonly clock: LimiterClock = systemLimiterClock,
  ) {
    this.limits = { ...limits };
    this.tokens = this.capacity();
    this.refilledAtMs = clock.nowMs();
  }

  /**
   * Resolves with a release function once a slot and a token are free, or with undefined once
   * `maxWaitMs` passed without one; rejects if `signal` aborts first.
   */
  acquire(signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, reject, signal, deadlineMs: this.clock.nowMs() + maxWaitMs };
      if (signal !== undefined) this.watch(signal);
      this.queue.push(waiter);
      this.pump();
      // Still waiting: pump serves from the front, so it is still the last one.
      if (this.queue.at(-1) === waiter) this.armExpiry(waiter.deadlineMs);
    });
  }

  /**
   * A slot at once when one is free and nobody waits (the common case), without the promise and
   * abort bookkeeping of `acquire`; undefined when the caller must wait.
   */
  tryAcquire(): (() => void) | undefined {
    if (this.queue.length > 0 || this.activeCount >= this.limits.maxConcurrency) return undefined;
    this.refill();
    if (this.tokens < 1) return undefined;
    if (this.limits.ratePerSecond !== undefined) this.tokens -= 1;
    this.activeCount++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.activeCount--;
      this.pump();
    };
  }

  /** Applies changed subscription settings; waiters are re-examined at once. */
  update(limits: DeliveryLimits): void {
    if (
      limits.maxConcurrency === this.limits.maxConcurrency &&
      limits.ratePerSecond === this.limits.ratePerSecond
    ) {
      return;
    }
    this.refill();
    this.limits = { ...limits };
    this.tokens = Math.min(this.tokens, this.capacity());
    this.pump();
  }

  active(): number {
    return this.activeCount;
  }

  waiting(): number {
    return this.queue.length;
  }

  /** True when nothing holds or waits for a slot, so the limiter can be dropped. */
  idle(): boolean {
    return this.activeCount === 0 && this.queue.length === 0;
  }

  private capacity(): number {
    const rate = this.limits.ratePerSecond;
    return rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, rate);
  }

  private refill(): void {
    const now = this.clock.nowMs();
    const rate = this.limits.ratePerSecond;
    if (rate !== undefined) {
      this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.refilledAtMs) * rate) / 1000);
    }
    this.refilledAtMs = now;
  }

  private watch(signal: AbortSignal): void {
    const watched = this.watched.get(signal);
    if (watched !== undefined) {
      watched.waiters++;
      return;
    }
    const onAbort = () => this.abortWaitersOf(signal);
    this.watched.set(signal, { waiters: 1, onAbort });
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** A waiter left the queue (served, expired or aborted). */
  private unwatch(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    const watched = this.watched.get(signal);
    if (watched === undefined) return;
    watched.waiters--;
    if (watched.waiters > 0) return;
    this.watched.delete(signal);
    signal.removeEventListener('abort', watched.onAbort);
  }

  private abortWaitersOf(signal: AbortSignal): void {
    this.watched.delete(signal);
    for (const waiter of this.takeWaiters((waiter) => waiter.signal === signal)) waiter.reject(signal.reason);
    this.pump();
  }

  /** Removes the waiters `matches` picks from the queue, in place (it can be long), keeping the order. */
  private takeWaiters(matches: (waiter: Waiter) => boolean): Waiter[] {
    const taken: Waiter[] = [];
    let kept = 0;
    for (const waiter of this.queue) {
      if (matches(waiter)) taken.push(waiter);
      else this.queue[kept++] = waiter;
    }
    this.queue.length = kept;
    return taken;
  }

  private armExpiry(deadlineMs: number): void {
    if (!Number.isFinite(deadlineMs) || deadlineMs >= this.expiryTimerAtMs) return;
    this.cancelExpiryTimer?.();
    this.expiryTimerAtMs = deadlineMs;
    this.cancelExpiryTimer = this.clock.setTimer(
      () => this.expire(),
      Math.max(1, deadlineMs - this.clock.nowMs()),
    );
  }

  /** Sends away the waiters whose deadline passed, then sets the timer for the next deadline. */
  private expire(): void {
    this.cancelExpiryTimer = undefined;
    this.expiryTimerAtMs = Number.POSITIVE_INFINITY;
    const now = this.clock.nowMs();
    const expired = this.takeWaiters((waiter) => waiter.deadlineMs <= now);
    let nextDeadlineMs = Number.POSITIVE_INFINITY;
    for (const waiter of this.queue) nextDeadlineMs = Math.min(nextDeadlineMs, waiter.deadlineMs);
    this.armExpiry(nextDeadlineMs);
    for (const waiter of expired) {
      this.unwatch(waiter.signal);
      waiter.grant(undefined);
    }
  }

  private pump(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.refill();
    while (this.queue.length > 0 && this.activeCount < this.limits.maxConcurrency) {
      if (this.tokens < 1) {
        const rate = this.limits.ratePerSecond ?? 1;
        const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / rate));
        this.cancelTimer = this.clock.setTimer(() => {
          this.cancelTimer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      const waiter = this.queue.shift()!;
      this.unwatch(waiter.signal);
      if (this.limits.ratePerSecond !== undefined) this.tokens -= 1;
      this.activeCount++;
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        this.activeCount--;
        this.pump();
      });
    }
  }
}

/** One limiter per subscription id, created on first use and kept in step with the subscription. */
export class DeliveryLimiters {
  private readonly limiters = new Map<string, DeliveryLimiter>();

  constructor(private readonly clock: LimiterClock = systemLimiterClock) {}

  for(subscriptionId: string, limits: DeliveryLimits): DeliveryLimiter {
    let limiter = this.limiters.get(subscriptionId);
    if (limiter === undefined) {
      if (this.limiters.size > 1000) this.sweep();
      limiter = new DeliveryLimiter(limits, this.clock);
      this.limiters.set(subscriptionId, limiter);
    } else {
      limiter.update(limits);
    }
    return limiter;
  }

  /** Drops idle limiters (of deleted or quiet subscriptions). */
  sweep(): void {
    for (const [id, limiter] of this.limiters) if (limiter.idle()) this.limiters.delete(id);
  }
}
