import { performance } from 'node:perf_hooks';
import { createDenialCache } from './denial-cache.js';
import { createLocalRateLimiter, type LocalRateLimiter, type RateLimitedKey } from './local-rate-limiter.js';
import type { RateLimitConfig } from './admission-config.js';
import { createRedisRateLimiter, type SharedRateLimiter } from './redis-rate-limiter.js';
import { validateCost, type TakeDenied, type TakeResult } from './token-bucket.js';

export type RateLimitMode = 'local' | 'redis';

/** Which limiter decides right now: the shared Redis buckets, or this process's own. */
export type RateLimitBackend = 'redis' | 'local';

export interface RateLimiterOptions {
  /** `local`: per-process buckets. `redis`: one budget shared by all gateways, local while Redis is down. */
  readonly mode: RateLimitMode;
  /** Required in `redis` mode (normally `createRedisRateLimiter`). */
  readonly shared?: SharedRateLimiter;
  /** The per-process limiter (decides in `local` mode and during a Redis outage). Default: a new one. */
  readonly local?: LocalRateLimiter;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly nowMs?: () => number;
  /** While falling back, how often to check whether Redis answers again, in ms. Default 1000. */
  readonly redisProbeIntervalMs?: number;
  /** Called for every decision made locally because Redis was unavailable: count it. */
  readonly onFallbackDecision?: () => void;
  /** Called once per switch between Redis and the local fallback: log it. */
  readonly onBackendChange?: (change: { backend: RateLimitBackend; cause?: unknown }) => void;
}

export interface RateLimiter {
  /**
   * A refusal that is certain without consuming anything, or undefined. Call it before reading a
   * batch body (with cost 1, or a lower bound of the batch) so that a key that is over its limit
   * is refused without buffering its body. Synchronous; never touches Redis.
   */
  precheck(key: RateLimitedKey, cost: number): TakeDenied | undefined;
  /**
   * The decision when it can be made synchronously (local mode, Redis down, or a refusal known
   * from Redis's last answer); undefined when Redis must be asked: then call `take`.
   */
  takeSync(key: RateLimitedKey, cost: number): TakeResult | undefined;
  /** The decision. Never rejects: if Redis fails or is slower than its timeout, the local limiter decides. */
  take(key: RateLimitedKey, cost: number): Promise<TakeResult>;
  /**
   * Waits (at start-up) until Redis is connected, at most `timeoutMs` (default 2000); if it is not,
   * switches to the local fallback. Resolves with the backend in use; never rejects. Without it the
   * first requests find the connection still opening and fall back needlessly.
   */
  ready(timeoutMs?: number): Promise<RateLimitBackend>;
  /** Which limiter decides at the moment. */
  backend(): RateLimitBackend;
  close(): Promise<void>;
}

/**
 * The rate limiter the HTTP layer calls. In `redis` mode it behaves like a small circuit breaker
 * around Redis: the first failed or timed-out call switches to the local buckets (reported once
 * through `onBackendChange`, and per decision through `onFallbackDecision`); while local, one
 * PING per `redisProbeIntervalMs` (sent from the request path, in the background) checks whether
 * Redis is back, and the first that answers switches back. Probing instead of trying every request
 * matters when Redis hangs rather than refuses: each attempt would then cost a full command timeout.
 *
 * During an outage each gateway enforces the full per-key rate on its own, so the global rate a
 * key gets is up to (number of gateways) × its rate until Redis returns.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const nowMs = options.nowMs ?? (() => performance.now());
  const local = options.local ?? createLocalRateLimiter({ nowMs });
  const shared = options.shared;
  if (options.mode === 'redis' && shared === undefined) {
    throw new TypeError("rate limiter mode 'redis' needs a shared limiter");
  }
  const probeIntervalMs = options.redisProbeIntervalMs ?? 1000;
  const denials = createDenialCache(nowMs);
  let backend: RateLimitBackend = options.mode === 'redis' ? 'redis' : 'local';
  let probing = false;
  let lastProbeMs = -Infinity;

  function fallBack(cause: unknown): void {
    if (backend === 'local') return;
    backend = 'local';
    lastProbeMs = nowMs();
    options.onBackendChange?.({ backend: 'local', cause });
  }

  function probe(): void {
    if (probing || shared === undefined || nowMs() - lastProbeMs < probeIntervalMs) return;
    probing = true;
    lastProbeMs = nowMs();
    shared.ping().then(
      () => {
        probing = false;
        if (backend === 'local') {
          backend = 'redis';
          options.onBackendChange?.({ backend: 'redis' });
        }
      },
      () => {
        probing = false;
      },
    );
  }

  function takeLocally(key: RateLimitedKey, cost: number): TakeResult {
    if (options.mode === 'redis') {
      probe();
      options.onFallbackDecision?.();
    }
    return local.take(key, cost);
  }

  function takeSync(key: RateLimitedKey, cost: number): TakeResult | undefined {
    validateCost(cost);
    if (backend === 'local') return takeLocally(key, cost);
    return denials.check(key, cost);
  }

  return {
    precheck(key, cost) {
      validateCost(cost);
      if (backend === 'local') {
        const result = local.peek(key, cost);
        return result.allowed ? undefined : result;
      }
      return denials.check(key, cost);
    },

    takeSync,

    async take(key, cost) {
      const known = takeSync(key, cost);
      if (known !== undefined || shared === undefined) return known ?? takeLocally(key, cost);
      const sentAtMs = nowMs();
      try {
        const result = await shared.take(key, cost);
        denials.record(key, result, sentAtMs);
        return result;
      } catch (error) {
        fallBack(error);
        return takeLocally(key, cost);
      }
    },

    async ready(timeoutMs = 2000) {
      if (shared === undefined || backend === 'local') return backend;
      try {
        await shared.ready(timeoutMs);
      } catch (error) {
        fallBack(error);
      }
      return backend;
    },

    backend: () => backend,

    async close() {
      await shared?.close();
    },
  };
}

/** Hooks of `createRateLimiterFromConfig`: metrics and logs live with the caller. */
export interface RateLimiterHooks {
  readonly onFallbackDecision?: () => void;
  readonly onBackendChange?: (change: { backend: RateLimitBackend; cause?: unknown }) => void;
  /** Redis connection errors (one per failed reconnect attempt while Redis is down). */
  readonly onConnectionError?: (error: Error) => void;
}

/** Builds the limiter the settings ask for, with its own Redis connection in `redis` mode. */
export function createRateLimiterFromConfig(
  config: RateLimitConfig,
  hooks: RateLimiterHooks = {},
): RateLimiter {
  const shared =
    config.mode === 'redis'
      ? createRedisRateLimiter({
          redisUrl: config.redisUrl,
          keyPrefix: config.redisKeyPrefix,
          commandTimeoutMs: config.redisCommandTimeoutMs,
          onConnectionError: hooks.onConnectionError,
        })
      : undefined;
  return createRateLimiter({
    mode: config.mode,
    shared,
    local: createLocalRateLimiter({ idleEvictionMs: config.idleEvictionMs, maxKeys: config.maxKeys }),
    redisProbeIntervalMs: config.redisProbeIntervalMs,
    onFallbackDecision: hooks.onFallbackDecision,
    onBackendChange: hooks.onBackendChange,
  });
}
