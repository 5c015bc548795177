import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { prepareGateway, spawnGateway } from '../support/gateway-fixture.js';
import {
  countBy,
  metricValue,
  postEvent,
  scrapeMetrics,
  startOwnRedis,
  waitFor,
  type GatewayAnswer,
} from './admission-helpers.js';

/** Ten single events in a row from one key; 1 event/s with a burst of 3 puts it over its limit. */
async function overLimitRound(url: string, apiKey: string): Promise<GatewayAnswer[]> {
  const answers: GatewayAnswer[] = [];
  for (let i = 0; i < 10; i++) answers.push(await postEvent(url, apiKey));
  return answers;
}

function fallbackDecisions(metrics: string): number {
  return metricValue(metrics, 'sluice_rate_limit_fallback_total');
}

describe('admission: rate limiting through a Redis outage', () => {
  it('keeps limiting locally without a 5xx while Redis is down, and returns to Redis when it is back', async () => {
    const redis = await startOwnRedis();
    const setup = await prepareGateway(
      [{ producerId: 'over-limit', ratePerSecond: 1, burst: 3, priority: 'normal' }],
      {
        SLUICE_RATE_LIMIT_MODE: 'redis',
        // Also the idempotency store's Redis: events without ids never ask it, and it fails open.
        REDIS_URL: redis.url,
        SLUICE_RATE_LIMIT_REDIS_PROBE_INTERVAL_MS: '200',
        // Only the outage may cause a fallback, not a slow answer from a busy machine.
        SLUICE_RATE_LIMIT_REDIS_TIMEOUT_MS: '1000',
      },
    );
    const gateway = await spawnGateway(setup);
    const apiKey = setup.keys['over-limit']!;
    const bucketKey = `${setup.env.SLUICE_RATE_LIMIT_KEY_PREFIX}over-limit`;
    const logged = (message: string) => gateway.logLines.some((line) => line.includes(message));

    // Redis up: Redis decides (the bucket lives there), nothing falls back.
    const before = await overLimitRound(gateway.url, apiKey);
    expect(countBy(before, (answer) => answer.status)[429]).toBeGreaterThan(0);
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    await probe.connect();
    expect(await probe.exists(bucketKey)).toBe(1);
    probe.disconnect();
    expect(fallbackDecisions(await scrapeMetrics(gateway.adminUrl))).toBe(0);

    await redis.kill();
    // Until the key's bucket could hold a token again (1 s at 1 event/s), the gateway refuses it
    // from what Redis last said, without asking Redis (design: the denial cache); the outage is
    // only noticed by the first request that needs Redis.
    await sleep(1500);

    // Redis down: the local bucket (a fresh one, full) limits the key; every answer is 202 or 429.
    const during = await overLimitRound(gateway.url, apiKey);
    expect(during.filter((answer) => answer.status >= 500)).toEqual([]);
    expect(countBy(during, (answer) => answer.status)[429]).toBeGreaterThan(0);
    for (const answer of during.filter((item) => item.status === 429)) {
      expect(answer.code).toBe('SLUICE_RATE_LIMITED');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const metricsDuring = await scrapeMetrics(gateway.adminUrl);
    expect(fallbackDecisions(metricsDuring)).toBeGreaterThan(0);
    expect(logged('rate limiting falls back to local buckets')).toBe(true);

    await redis.restart();

    // Back: the next request after a probe interval sends a PING; once it answers, the limiter
    // switches back (one log line), and decisions stop falling back.
    await waitFor(
      'the limiter to switch back to Redis',
      async () => {
        const answer = await postEvent(gateway.url, apiKey);
        expect(answer.status).toBeLessThan(500);
        return logged('rate limiting is global again') ? true : undefined;
      },
      20_000,
      100,
    );
    const fallbacksAfterSwitch = fallbackDecisions(await scrapeMetrics(gateway.adminUrl));
    const after = await overLimitRound(gateway.url, apiKey);
    expect(after.filter((answer) => answer.status >= 500)).toEqual([]);
    expect(countBy(after, (answer) => answer.status)[429]).toBeGreaterThan(0);
    expect(fallbackDecisions(await scrapeMetrics(gateway.adminUrl))).toBe(fallbacksAfterSwitch);
    const restarted = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    await restarted.connect();
    // The restarted Redis started empty: the bucket in it was written after the switch back.
    expect(await restarted.exists(bucketKey)).toBe(1);
    restarted.disconnect();
  }, 90_000);
});
