import { Redis } from 'ioredis';

/**
 * A Redis client for the hot paths (idempotency, delivery dedup). ioredis by default queues
 * commands while disconnected and retries them, so a Redis outage would stall requests; here a
 * command fails at once when disconnected and after `commandTimeoutMs` when Redis hangs, so the
 * caller's documented fallback (fail-open or fail-closed) decides instead. Commands issued in the
 * same tick share one round trip (auto-pipelining): group commit for Redis. Connect with
 * `client.connect()`.
 */
export function createFailFastRedis(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    enableAutoPipelining: true,
  });
}
