import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimitedKey } from './local-rate-limiter.js';
import { createRateLimiter, type RateLimitBackend, type RateLimiter } from './rate-limiter.js';
import { createRedisRateLimiter, type RedisRateLimiter } from './redis-rate-limiter.js';
import { freePort, startOwnRedis } from '../../test/support/own-redis.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const commandTimeoutMs = 50;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let admin: Redis;
beforeAll(() => {
  admin = new Redis(redisUrl);
});
afterAll(async () => {
  await admin.quit();
});

/** A key prefix of its own for each test, with its keys deleted afterwards. */
function uniquePrefix(): string {
  const prefix = `sluice:test:admission:${randomUUID()}:`;
  cleanups.push(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });
  return prefix;
}

function redisLimiter(url: string, keyPrefix: string, timeoutMs = commandTimeoutMs): RedisRateLimiter {
  const limiter = createRedisRateLimiter({
    redisUrl: url,
    keyPrefix,
    commandTimeoutMs: timeoutMs,
    onConnectionError: () => {},
  });
  cleanups.push(() => limiter.close());
  return limiter;
}

function composite(shared: RedisRateLimiter, nowMs: () => number = () => performance.now()) {
  const events = { fallbackDecisions: 0, changes: [] as RateLimitBackend[] };
  const limiter = createRateLimiter({
    mode: 'redis',
    shared,
    nowMs,
    redisProbeIntervalMs: 100,
    onFallbackDecision: () => events.fallbackDecisions++,
    onBackendChange: (change) => events.changes.push(change.backend),
  });
  return { limiter, events };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** The Redis server's clock in µs, the clock its buckets refill on. */
async function redisTimeUs(): Promise<number> {
  const [seconds, micros] = await admin.time();
  return Number(seconds) * 1e6 + Number(micros);
}

/** Takes one event at a time as fast as the limiter answers, until `endMs`; returns events admitted. */
async function hammer(limiter: RateLimiter, key: RateLimitedKey, endMs: number): Promise<number> {
  let admitted = 0;
  while (performance.now() < endMs) {
    const result = await limiter.take(key, 1);
    if (result.allowed) admitted++;
    // A refusal from the denial cache resolves without I/O: yield so replies and timers get their turn.
    else await new Promise((resolve) => setImmediate(resolve));
  }
  return admitted;
}

describe('Redis rate limiter against a real Redis', () => {
  it('enforces one global rate across two gateways sharing a key, within 10 %', async () => {
    const prefix = uniquePrefix();
    // A burst of one second's rate: tokens that refill while a busy machine stalls this process
    // are kept for when it runs again instead of overflowing, so a stall does not read as a
    // limiter admitting too little. Two independent local buckets would still admit twice as much.
    const key: RateLimitedKey = { id: 'producer-shared', ratePerSecond: 200, burst: 200 };
    // A command deadline no stall of a busy machine reaches: a timed-out take falls back to the
    // local bucket (and may still run in Redis), which is the outage path tested below, not this one.
    const gatewayA = composite(redisLimiter(redisUrl, prefix, 2_000));
    // Gateway B's clock is an hour ahead: refill must follow Redis's clock, not the callers'.
    const gatewayB = composite(redisLimiter(redisUrl, prefix, 2_000), () => performance.now() + 3_600_000);
    expect(await gatewayA.limiter.ready()).toBe('redis');
    expect(await gatewayB.limiter.ready()).toBe('redis');

    // The buckets refill on Redis's clock, so the window is measured on it too: a stall of this
    // process between its last take and reading its own clock would otherwise widen the bound.
    const redisStartUs = await redisTimeUs();
    const endMs = performance.now() + 2_000;
    const perGateway = await Promise.all(
      [gatewayA, gatewayB].flatMap(({ limiter }) => [0, 1, 2, 3].map(() => hammer(limiter, key, endMs))),
    );
    const elapsedSeconds = ((await redisTimeUs()) - redisStartUs) / 1e6;
    const admitted = perGateway.reduce((sum, count) => sum + count, 0);
    const expected = key.burst + key.ratePerSecond * elapsedSeconds;

    expect(gatewayA.events.fallbackDecisions + gatewayB.events.fallbackDecisions).toBe(0);
    expect(admitted).toBeGreaterThan(expected * 0.9);
    expect(admitted).toBeLessThan(expected * 1.1);
    const admittedByA = perGateway.slice(0, 4).reduce((sum, count) => sum + count, 0);
    expect(admittedByA).toBeGreaterThan(0);
    expect(admitted - admittedByA).toBeGreaterThan(0);
  });

  it('answers like the local bucket: burst-exceeded, retry-after, and a key that expires once full', async () => {
    const prefix = uniquePrefix();
    const shared = redisLimiter(redisUrl, prefix);
    await shared.ready(2_000);
    const key: RateLimitedKey = { id: 'producer-shape', ratePerSecond: 2, burst: 4 };
    expect(await shared.take(key, 5)).toMatchObject({
      allowed: false,
      reason: 'burst-exceeded',
      burst: 4,
      remaining: 4,
    });
    expect(await admin.exists(`${prefix}${key.id}`)).toBe(0); // a refusal writes nothing
    expect(await shared.take(key, 4)).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await shared.take(key, 2);
    expect(refused).toMatchObject({ allowed: false, reason: 'rate', remaining: 0 });
    if (refused.allowed || refused.reason !== 'rate') throw new Error('unreachable');
    expect(refused.retryAfterMs).toBeGreaterThan(900);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    const ttlMs = await admin.pttl(`${prefix}${key.id}`);
    expect(ttlMs).toBeGreaterThan(2_000); // 4 tokens at 2/s refill in 2 s, plus a second
    expect(ttlMs).toBeLessThanOrEqual(3_000);
  });

  it('reloads its script after the server forgot it (EVALSHA falls back to EVAL)', async () => {
    const { url } = await startOwnRedis();
    const shared = redisLimiter(url, uniquePrefix());
    await shared.ready(2_000);
    const key: RateLimitedKey = { id: 'producer-reload', ratePerSecond: 1, burst: 3 };
    expect(await shared.take(key, 1)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await shared.take(key, 1)).toMatchObject({ allowed: true, remaining: 1 }); // sent as EVALSHA
    const serverAdmin = new Redis(url);
    await serverAdmin.script('FLUSH');
    await serverAdmin.quit();
    expect(await shared.take(key, 1)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await shared.take(key, 1)).toMatchObject({ allowed: false, reason: 'rate' });
  });

  it('decides locally at once and never throws when Redis is unreachable', async () => {
    const closedPort = await freePort();
    const { limiter, events } = composite(redisLimiter(`redis://127.0.0.1:${closedPort}`, uniquePrefix()));
    const key: RateLimitedKey = { id: 'producer-offline', ratePerSecond: 1, burst: 2 };
    // With no offline queue a disconnected client refuses the command at once, so the local
    // decision arrives before any timer fires; a queued command would wait for a reconnect or
    // at least the command timeout, and lose this race.
    const first = await Promise.race([
      limiter.take(key, 1),
      sleep(0).then(() => 'waited for a timer' as const),
    ]);
    expect(first).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.backend()).toBe('local');
    expect(events.changes).toEqual(['local']);
    // Further decisions are synchronous and still enforce the key's limits.
    expect(limiter.takeSync(key, 1)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.takeSync(key, 1)).toMatchObject({ allowed: false, reason: 'rate' });
    expect(events.fallbackDecisions).toBe(3);
  });

  it('falls back when its Redis dies or hangs, and returns to it when it answers again', async () => {
    const server = await startOwnRedis();
    const url = server.url;
    const shared = redisLimiter(url, uniquePrefix());
    const { limiter, events } = composite(shared);
    const key: RateLimitedKey = { id: 'producer-outage', ratePerSecond: 1000, burst: 1000 };
    expect(await limiter.ready()).toBe('redis');
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: true });
    expect(limiter.backend()).toBe('redis');

    // Killed: the connection drops and commands fail at once.
    await server.kill();
    await expect(limiter.take(key, 1)).resolves.toMatchObject({ allowed: true });
    expect(limiter.backend()).toBe('local');
    expect(events.changes).toEqual(['local']);
    expect(events.fallbackDecisions).toBeGreaterThan(0);

    await server.restart();
    await until(() => {
      limiter.takeSync(key, 1); // traffic drives the background probe
      return limiter.backend() === 'redis';
    });
    expect(events.changes).toEqual(['local', 'redis']);
    expect(await limiter.take(key, 1)).toMatchObject({ allowed: true });

    // Hung (SIGSTOP): the socket stays open but nothing answers; the command timeout decides.
    server.signal('SIGSTOP');
    const fallbacksBefore = events.fallbackDecisions;
    await expect(limiter.take(key, 1)).resolves.toMatchObject({ allowed: true });
    expect(events.fallbackDecisions).toBe(fallbacksBefore + 1);
    expect(events.changes).toEqual(['local', 'redis', 'local']);
    server.signal('SIGCONT');
    await until(() => {
      limiter.takeSync(key, 1);
      return limiter.backend() === 'redis';
    });
    expect(events.changes).toEqual(['local', 'redis', 'local', 'redis']);
  });
});
