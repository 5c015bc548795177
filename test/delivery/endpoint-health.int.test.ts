import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFailFastRedis } from '../../common/fail-fast-redis.js';
import {
  createEndpointHealth,
  createEndpointHealthMetrics,
  type EndpointHealthSettings,
  type FailingVerdict,
} from '../../consumers/delivery/endpoint-health.js';
import { deadPort } from './delivery-fixture.js';
import { testRedisUrl, uniqueName } from '../support/stack-env.js';

// The health script against the real Redis of the stack, with a clock the test moves: two trackers
// stand for two workers sharing one subscription's streak.

const t0 = Date.parse('2024-03-01T10:00:00.000Z');
const created = '2024-02-01T00:00:00.000Z';
const failure = { deadLettered: false, lastStatus: 503, lastError: 'server-error' };

async function connectedRedis(url = testRedisUrl) {
  const redis = createFailFastRedis(url, 2000);
  onTestFinished(() => redis.disconnect());
  if (url === testRedisUrl) await redis.connect();
  return redis;
}

async function trackers(settings: Partial<EndpointHealthSettings> = {}) {
  const keyPrefix = `${uniqueName('health')}:`;
  const clock = { nowMs: t0 };
  const verdicts: FailingVerdict[] = [];
  const full = { autoDisableAfterMs: 60_000, autoDisableAfterDeadLetters: 0, keyPrefix, ...settings };
  const make = async () => {
    const metrics = createEndpointHealthMetrics(new Registry());
    const health = createEndpointHealth({
      redis: await connectedRedis(),
      settings: full,
      metrics,
      onFailing: async (verdict) => void verdicts.push(verdict),
      nowMs: () => clock.nowMs,
    });
    return { health, metrics };
  };
  const a = await make();
  const b = await make();
  const redis = await connectedRedis();
  const settled = () => Promise.all([a.health.settled(), b.health.settled()]);
  return { a: a.health, b: b.health, clock, verdicts, redis, keyPrefix, settled };
}

describe('endpoint health (Redis)', () => {
  it('keeps one streak across workers and reports it once it is older than the threshold', async () => {
    const { a, b, clock, verdicts, redis, keyPrefix, settled } = await trackers();
    const sub = { id: 'sub_x', updatedAt: created };
    a.failed(sub, failure);
    await settled();
    clock.nowMs = t0 + 30_000;
    b.failed(sub, failure);
    await settled();
    expect(await redis.hget(`${keyPrefix}sub_x`, 'failingSince')).toBe(String(t0));
    expect(verdicts).toEqual([]);
    clock.nowMs = t0 + 60_000;
    b.failed(sub, { ...failure, lastStatus: 500 });
    await settled();
    expect(verdicts).toEqual([
      {
        subscriptionId: 'sub_x',
        failingSinceMs: t0,
        deadLetters: 0,
        lastStatus: 500,
        lastError: 'server-error',
      },
    ]);
    expect(await redis.pttl(`${keyPrefix}sub_x`)).toBeGreaterThan(60_000);
  });

  it('clears the streak on a success, writing a success at most once a second per worker', async () => {
    const { a, b, clock, verdicts, redis, keyPrefix, settled } = await trackers();
    const sub = { id: 'sub_y', updatedAt: created };
    const key = `${keyPrefix}sub_y`;
    a.succeeded('sub_y');
    await settled();
    b.failed(sub, failure);
    await settled();
    clock.nowMs = t0 + 500;
    a.succeeded('sub_y');
    await settled();
    // Within a second of a's last write: skipped, so b's streak stands.
    expect(await redis.hget(key, 'failingSince')).toBe(String(t0));
    clock.nowMs = t0 + 1000;
    a.succeeded('sub_y');
    await settled();
    expect(await redis.exists(key)).toBe(0);
    clock.nowMs = t0 + 120_000;
    b.failed(sub, failure);
    await settled();
    expect(await redis.hget(key, 'failingSince')).toBe(String(t0 + 120_000));
    expect(verdicts).toEqual([]);
  });

  it('counts dead letters in a row when SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS is set', async () => {
    const { a, verdicts, settled } = await trackers({
      autoDisableAfterMs: 0,
      autoDisableAfterDeadLetters: 3,
    });
    const sub = { id: 'sub_z', updatedAt: created };
    for (let i = 0; i < 2; i++) a.failed(sub, { ...failure, deadLettered: true });
    a.failed(sub, failure);
    await settled();
    expect(verdicts).toEqual([]);
    a.failed(sub, { ...failure, deadLettered: true });
    await settled();
    expect(verdicts).toMatchObject([{ subscriptionId: 'sub_z', deadLetters: 3, failingSinceMs: t0 }]);
  });

  it('starts a new streak when the subscription changed after the streak began (enabled again)', async () => {
    const { a, clock, verdicts, redis, keyPrefix, settled } = await trackers();
    a.failed({ id: 'sub_w', updatedAt: created }, failure);
    await settled();
    clock.nowMs = t0 + 90_000;
    const reEnabled = { id: 'sub_w', updatedAt: new Date(t0 + 80_000).toISOString() };
    a.failed(reEnabled, failure);
    await settled();
    expect(verdicts).toEqual([]);
    expect(await redis.hget(`${keyPrefix}sub_w`, 'failingSince')).toBe(String(t0 + 90_000));
  });

  it('skips and counts updates while Redis does not answer, never throwing', async () => {
    const down = createFailFastRedis(`redis://127.0.0.1:${await deadPort()}`, 200);
    onTestFinished(() => down.disconnect());
    const metrics = createEndpointHealthMetrics(new Registry());
    const verdicts: FailingVerdict[] = [];
    const health = createEndpointHealth({
      redis: down,
      settings: { autoDisableAfterMs: 1, autoDisableAfterDeadLetters: 0, keyPrefix: 'x:' },
      metrics,
      onFailing: async (verdict) => void verdicts.push(verdict),
    });
    expect(() => health.failed({ id: 'sub_v', updatedAt: created }, failure)).not.toThrow();
    health.succeeded('sub_v');
    await health.settled();
    expect((await metrics.unavailable.get()).values[0]?.value).toBe(2);
    expect(verdicts).toEqual([]);
  });
});
