import { Redis } from 'ioredis';
import type { RateLimitedKey } from './local-rate-limiter.js';
import { describeDecision, tokenEpsilon, validateCost, type TakeResult } from './token-bucket.js';

/**
 * The token bucket as one atomic script, so concurrent gateways never both spend the same token.
 * Time comes from the Redis server (`TIME`), never from the caller: gateways with skewed clocks
 * then agree on how much a bucket has refilled. Timestamps are in microseconds and written with
 * `%.0f`, because Redis would format a Lua number with 14 significant digits and lose the last two.
 *
 * KEYS[1]: the bucket hash. ARGV: ratePerSecond, burst, cost. Replies { status, tokensAfter }.
 * A refused take writes nothing: the stored (tokens, time) pair already refills to the same value.
 * The key expires once it would be full again (plus a second), and a missing key reads as a full
 * bucket, so expiry changes no decision while keeping memory bounded by active keys.
 */
const takeScript = `
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = redis.call('TIME')
local nowUs = tonumber(now[1]) * 1000000 + tonumber(now[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updatedUs')
local tokens = tonumber(state[1])
local updatedUs = tonumber(state[2])
if tokens == nil or updatedUs == nil then
  tokens = burst
  updatedUs = nowUs
end
if nowUs > updatedUs then
  tokens = math.min(burst, tokens + (nowUs - updatedUs) * rate / 1000000)
  updatedUs = nowUs
end
if tokens > burst then tokens = burst end
local status = 'rate'
if cost > burst then
  status = 'burst-exceeded'
elseif tokens + ${tokenEpsilon} >= cost then
  status = 'allowed'
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'updatedUs', string.format('%.0f', updatedUs))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
end
return { status, string.format('%.17g', tokens) }
`;

const commandName = 'sluiceTakeTokens';

type TakeTokensCommand = (
  key: string,
  ratePerSecond: number,
  burst: number,
  cost: number,
) => Promise<unknown>;

/** Options of the Redis-backed limiter. */
export interface RedisRateLimiterOptions {
  /** `redis://` or `rediss://` URL of the shared Redis. */
  readonly redisUrl: string;
  /** Prefix of bucket keys; the API key's id follows. Default `sluice:ratelimit:`. */
  readonly keyPrefix?: string;
  /**
   * Deadline of each command in ms (default 50). This is what turns a hung or overloaded Redis into
   * a fast fallback instead of requests queueing behind it.
   */
  readonly commandTimeoutMs?: number;
  /** TCP connect deadline in ms. Default 1000. */
  readonly connectTimeoutMs?: number;
  /** Upper bound of the reconnect backoff in ms. Default 2000. */
  readonly reconnectMaxDelayMs?: number;
  /** Connection errors (ioredis `error` events, one per failed reconnect); log them, do not throw. */
  readonly onConnectionError?: (error: Error) => void;
}

/** A limiter whose buckets live in a store shared by every gateway process. */
export interface SharedRateLimiter {
  /** Takes `cost` events from the key's shared bucket. Rejects when the store is unavailable or slow. */
  take(key: RateLimitedKey, cost: number): Promise<TakeResult>;
  /** Resolves when the store answers within the command timeout; used to detect that it is back. */
  ping(): Promise<void>;
  /** Resolves once connected (at start-up), rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface RedisRateLimiter extends SharedRateLimiter {
  /** The dedicated connection (for tests and diagnostics; do not reuse it for other work). */
  readonly client: Redis;
}

/**
 * Token buckets in Redis, one per API key, shared by all gateway processes. The script is
 * registered with `defineCommand`, so ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT
 * (after a Redis restart or SCRIPT FLUSH) by itself.
 *
 * The client is dedicated and configured for a hot path: no offline queue (a command issued while
 * disconnected fails at once instead of waiting for a reconnect), no retries, no re-sending of
 * commands that were in flight when the connection dropped (a replayed take would charge tokens
 * for a request that was already decided locally), and a short command timeout. It keeps
 * reconnecting in the background so that the composite limiter can return to it. A command that
 * timed out may still run on the server later and spend its tokens: that errs on the strict side.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  const keyPrefix = options.keyPrefix ?? 'sluice:ratelimit:';
  const reconnectMaxDelayMs = options.reconnectMaxDelayMs ?? 2000;
  const client = new Redis(options.redisUrl, {
    commandTimeout: options.commandTimeoutMs ?? 50,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, reconnectMaxDelayMs),
    connectionName: 'sluice-rate-limiter',
  });
  // Without a listener ioredis prints every failed reconnect to stderr as an unhandled error.
  client.on('error', (error: Error) => options.onConnectionError?.(error));
  client.defineCommand(commandName, { numberOfKeys: 1, lua: takeScript });
  const takeTokens = (client as unknown as Record<typeof commandName, TakeTokensCommand>)[commandName].bind(
    client,
  );

  return {
    client,
    async take(key, cost) {
      validateCost(cost);
      const reply = await takeTokens(keyPrefix + key.id, key.ratePerSecond, key.burst, cost);
      return parseReply(reply, cost, key);
    },
    async ping() {
      await client.ping();
    },
    ready: (timeoutMs) => connected(client, timeoutMs),
    async close() {
      // quit() waits for in-flight replies but needs a live connection; disconnect() always works.
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

/** Without an offline queue, commands sent before the connection is ready fail: start-up waits here. */
function connected(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready within ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    client.once('ready', onReady);
  });
}

function parseReply(reply: unknown, cost: number, key: RateLimitedKey): TakeResult {
  if (Array.isArray(reply) && reply.length === 2) {
    const [status, tokensText] = reply as unknown[];
    const tokensAfter = Number(tokensText);
    if (
      (status === 'allowed' || status === 'rate' || status === 'burst-exceeded') &&
      Number.isFinite(tokensAfter)
    ) {
      return describeDecision(status, tokensAfter, cost, key);
    }
  }
  // A reply we do not understand is a fault of this process or the server: the composite limiter
  // treats it like an unavailable Redis and decides locally.
  throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
}
