import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { defineRedisScript, type RedisScript } from '../../common/redis-script.js';

/**
 * One subscription's failure streak, shared by every worker: a Redis hash `<prefix><subscription>`
 * with `failingSince` (ms, the first failure since the last success anywhere) and `deadLetters`
 * (dead letters since then). A failure sets `failingSince` if absent, or if it is older than the
 * subscription's last change (ARGV[4]: enabling it again, or a new URL, starts a new streak); a
 * dead letter also counts; a success deletes the hash. Replies `{failingSince, deadLetters}` after
 * a failure, nil after a success. The TTL lets the streak of a deleted subscription, or one that
 * stopped receiving events, go away by itself.
 */
const healthScript = `
if ARGV[1] == 'ok' then
  redis.call('DEL', KEYS[1])
  return nil
end
local since = tonumber(redis.call('HGET', KEYS[1], 'failingSince'))
if since == nil or since < tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'failingSince', ARGV[2], 'deadLetters', 0)
end
local dead
if ARGV[1] == 'dead' then
  dead = redis.call('HINCRBY', KEYS[1], 'deadLetters', 1)
else
  dead = tonumber(redis.call('HGET', KEYS[1], 'deadLetters') or '0')
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {tonumber(redis.call('HGET', KEYS[1], 'failingSince')), dead}
`;

export interface EndpointHealthSettings {
  /** SLUICE_AUTO_DISABLE_AFTER_MS: a streak this old disables the subscription; 0 = never. */
  autoDisableAfterMs: number;
  /** SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS: this many dead letters in a row disable it; 0 = never. */
  autoDisableAfterDeadLetters: number;
  /** SLUICE_HEALTH_KEY_PREFIX. */
  keyPrefix: string;
}

/** What one failed attempt (or a dead letter without one: parked too long) tells the tracker. */
export interface FailureFacts {
  /** The delivery went to the dead-letter topic (schedule spent, or parked too long). */
  deadLettered: boolean;
  lastStatus: number | undefined;
  lastError: string | undefined;
}

/** A streak past a threshold: the worker disables the subscription for `failing`. */
export interface FailingVerdict {
  subscriptionId: string;
  failingSinceMs: number;
  deadLetters: number;
  lastStatus: number | undefined;
  lastError: string | undefined;
}

export interface EndpointHealthMetrics {
  /** Health updates skipped because Redis did not answer: the streak goes on without them. */
  unavailable: Counter;
  /** Subscriptions this worker disabled, by reason (gone, failing); counted by the worker's wiring. */
  autoDisabled: Counter<'reason'>;
}

export function createEndpointHealthMetrics(registry: Registry): EndpointHealthMetrics {
  const autoDisabled = new Counter({
    name: 'sluice_subscriptions_auto_disabled_total',
    help: 'Subscriptions a worker disabled, by reason: gone (the receiver answered 410) or failing (every attempt failed for SLUICE_AUTO_DISABLE_AFTER_MS, or SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS dead letters in a row).',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Exported at zero from the start, so an alert has a series before the first disable.
  for (const reason of ['gone', 'failing']) autoDisabled.inc({ reason }, 0);
  return {
    unavailable: new Counter({
      name: 'sluice_endpoint_health_unavailable_total',
      help: 'Endpoint health updates skipped because Redis did not answer (auto-disable then sees fewer failures; deliveries go on).',
      registers: [registry],
    }),
    autoDisabled,
  };
}

export interface EndpointHealth {
  /** A 2xx. Writes at most once per second per subscription in this worker; never waits. */
  succeeded(subscriptionId: string): void;
  /**
   * A failed attempt or a dead letter. Never waits; may call `onFailing` a moment later. A streak
   * begun before the subscription's `updatedAt` starts over.
   */
  failed(subscription: { id: string; updatedAt: string }, facts: FailureFacts): void;
  /** Forgets subscriptions for which `keep` says no (deleted ones). */
  prune(keep: (subscriptionId: string) => boolean): void;
  /** Resolves once the updates started so far are settled (tests). */
  settled(): Promise<void>;
}

export interface EndpointHealthOptions {
  redis: Redis;
  settings: EndpointHealthSettings;
  metrics: EndpointHealthMetrics;
  /** A streak passed a threshold: disable the subscription (called once at a time per subscription). */
  onFailing: (verdict: FailingVerdict) => Promise<void>;
  /** Redis failed; the caller logs it (rate-limited). */
  onUnavailable?: (error: unknown) => void;
  nowMs?: () => number;
}

/** A success is written at most this often per subscription and worker. */
const successWriteIntervalMs = 1000;
/** The streak outlives a pause in failures this long at least (a streak of days spans quiet nights). */
const minStreakTtlMs = 86_400_000;

/**
 * Endpoint health for auto-disable (README, "Endpoint health"): every worker reports its attempts'
 * outcomes into the subscription's shared streak in Redis, and the worker whose report finds the
 * streak past a threshold disables the subscription. Off the delivery path: calls return at once,
 * a Redis failure is counted and skipped, and a healthy endpoint costs one Redis call per second
 * per worker, not one per delivery.
 */
export function createEndpointHealth(options: EndpointHealthOptions): EndpointHealth {
  const { settings, metrics } = options;
  const nowMs = options.nowMs ?? Date.now;
  const enabled = settings.autoDisableAfterMs > 0 || settings.autoDisableAfterDeadLetters > 0;
  const script: RedisScript = defineRedisScript(options.redis, 'sluiceEndpointHealth', healthScript);
  const ttlMs = Math.max(2 * settings.autoDisableAfterMs, minStreakTtlMs);
  /** When this worker last wrote a success per subscription; absent after a failure it saw. */
  const lastSuccessWriteMs = new Map<string, number>();
  /** Subscriptions whose disable is in progress in this worker. */
  const disabling = new Set<string>();
  const pending = new Set<Promise<unknown>>();

  function track(work: Promise<unknown>): void {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  function unavailable(error: unknown): void {
    metrics.unavailable.inc();
    options.onUnavailable?.(error);
  }

  function isPastThreshold(failingSinceMs: number, deadLetters: number): boolean {
    return (
      (settings.autoDisableAfterMs > 0 && nowMs() - failingSinceMs >= settings.autoDisableAfterMs) ||
      (settings.autoDisableAfterDeadLetters > 0 && deadLetters >= settings.autoDisableAfterDeadLetters)
    );
  }

  async function reportFailure(
    subscriptionId: string,
    changedAtMs: number,
    facts: FailureFacts,
  ): Promise<void> {
    let reply: unknown;
    try {
      reply = await script(
        [settings.keyPrefix + subscriptionId],
        [facts.deadLettered ? 'dead' : 'fail', nowMs(), ttlMs, changedAtMs],
      );
    } catch (error) {
      unavailable(error);
      return;
    }
    const [failingSinceMs, deadLetters] = (Array.isArray(reply) ? reply : []).map(Number) as [number, number];
    if (!Number.isFinite(failingSinceMs) || !isPastThreshold(failingSinceMs, deadLetters ?? 0)) return;
    if (disabling.has(subscriptionId)) return;
    disabling.add(subscriptionId);
    try {
      await options.onFailing({
        subscriptionId,
        failingSinceMs,
        deadLetters: deadLetters ?? 0,
        lastStatus: facts.lastStatus,
        lastError: facts.lastError,
      });
    } finally {
      disabling.delete(subscriptionId);
    }
  }

  return {
    succeeded(subscriptionId) {
      if (!enabled) return;
      const now = nowMs();
      const last = lastSuccessWriteMs.get(subscriptionId);
      if (last !== undefined && now - last < successWriteIntervalMs) return;
      lastSuccessWriteMs.set(subscriptionId, now);
      track(script([settings.keyPrefix + subscriptionId], ['ok', now, ttlMs, 0]).catch(unavailable));
    },
    failed(subscription, facts) {
      if (!enabled) return;
      // The next success this worker sees clears the streak at once, not up to a second later.
      lastSuccessWriteMs.delete(subscription.id);
      const changedAtMs = Date.parse(subscription.updatedAt);
      track(
        reportFailure(subscription.id, Number.isFinite(changedAtMs) ? changedAtMs : 0, facts).catch(
          () => undefined,
        ),
      );
    },
    prune(keep) {
      for (const id of lastSuccessWriteMs.keys()) if (!keep(id)) lastSuccessWriteMs.delete(id);
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
