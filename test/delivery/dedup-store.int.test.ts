import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFailFastRedis } from '../../common/fail-fast-redis.js';
import { createDedupStore, dedupKey, type DeliveryIdentity } from '../../consumers/delivery/dedup-store.js';
import { createKeyQueue } from '../../consumers/delivery/key-queue.js';
import { startOwnRedis } from '../support/own-redis.js';

const delivery = (eventId: string): DeliveryIdentity => ({
  subscriptionId: 'sub_1',
  producerId: 'shop',
  eventId,
});

/** The worker's client (no offline queue, auto-pipelining) on a Redis of the test's own. */
async function workerClient(url: string): Promise<Redis> {
  const redis = createFailFastRedis(url, 1000);
  onTestFinished(() => void redis.disconnect());
  await redis.connect();
  return redis;
}

/** A plain client for the test's own looks at the server, closed with the test. */
function adminClient(url: string): Redis {
  const admin = new Redis(url);
  onTestFinished(() => void admin.disconnect());
  return admin;
}

/** Calls of EVAL and EVALSHA the server has run (INFO commandstats). */
async function scriptCalls(admin: Redis): Promise<{ eval: number; evalsha: number }> {
  const stats = await admin.info('commandstats');
  const calls = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return { eval: calls('eval'), evalsha: calls('evalsha') };
}

describe('dedup store and key queue scripts on Redis', () => {
  it('releases only the lease its attempt holds, never a completion marker', async () => {
    const own = await startOwnRedis();
    const redis = await workerClient(own.url);
    const dedup = createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    const claimed = await dedup.claim(delivery('e1'));
    if (claimed.kind !== 'acquired') throw new Error(`claimed ${claimed.kind}`);
    await dedup.release(delivery('e1'), 'lease:someone-else');
    expect(await dedup.claim(delivery('e1'))).toEqual({ kind: 'busy' });
    await dedup.release(delivery('e1'), claimed.token);
    const again = await dedup.claim(delivery('e1'));
    expect(again.kind).toBe('acquired');
    await dedup.complete(delivery('e1'));
    if (again.kind === 'acquired') await dedup.release(delivery('e1'), again.token);
    expect(await dedup.claim(delivery('e1'))).toEqual({ kind: 'done' });
  });

  it('sends each script body once per connection, then EVALSHA, with both stores on one client', async () => {
    const own = await startOwnRedis();
    const admin = adminClient(own.url);
    const redis = await workerClient(own.url);
    // The worker builds each store once; building them again on the same client is harmless.
    createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    createKeyQueue({ redis, keyPrefix: 'd:', headTimeoutMs: 60_000 });
    const dedup = createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    const queue = createKeyQueue({ redis, keyPrefix: 'd:', headTimeoutMs: 60_000 });
    const before = await scriptCalls(admin);
    for (const eventId of ['e1', 'e2', 'e3']) {
      const claimed = await dedup.claim(delivery(eventId));
      if (claimed.kind !== 'acquired') throw new Error(`claimed ${claimed.kind}`);
      await dedup.release(delivery(eventId), claimed.token);
    }
    // Concurrent calls share one auto-pipelined round trip.
    expect(
      await Promise.all(['e1', 'e2', 'e3'].map((eventId) => queue.enter(delivery(eventId), 'k'))),
    ).toEqual(['head', 'behind', 'behind']);
    const after = await scriptCalls(admin);
    // Claim, release and enter: each body once (EVAL), then by hash (EVALSHA) twice each.
    expect(after.eval - before.eval).toBe(3);
    expect(after.evalsha - before.evalsha).toBe(6);
    expect(await admin.exists(dedupKey('d:', delivery('e1')))).toBe(0);
  });

  it("answers each of a turn's claims from one script call: taken, done or busy", async () => {
    const own = await startOwnRedis();
    const admin = adminClient(own.url);
    const redis = await workerClient(own.url);
    const dedup = createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    const held = await dedup.claim(delivery('held'));
    if (held.kind !== 'acquired') throw new Error(`claimed ${held.kind}`);
    const finished = await dedup.claim(delivery('finished'));
    if (finished.kind !== 'acquired') throw new Error(`claimed ${finished.kind}`);
    expect(await dedup.complete(delivery('finished'))).toBe(true);
    const before = await scriptCalls(admin);

    const claims = await Promise.all(
      ['fresh', 'held', 'finished', 'other'].map((id) => dedup.claim(delivery(id))),
    );

    expect(claims.map((claim) => claim.kind)).toEqual(['acquired', 'busy', 'done', 'acquired']);
    const [fresh, , , other] = claims;
    if (fresh?.kind !== 'acquired' || other?.kind !== 'acquired') throw new Error('not acquired');
    expect(new Set([held.token, fresh.token, other.token]).size).toBe(3);
    expect(await admin.get(dedupKey('d:', delivery('fresh')))).toBe(fresh.token);
    expect(await admin.pttl(dedupKey('d:', delivery('fresh')))).toBeGreaterThan(50_000);
    const after = await scriptCalls(admin);
    expect(after.eval + after.evalsha - before.eval - before.evalsha).toBe(1);
  });

  it('answers unavailable to every claim of a turn when Redis is gone, and false to completions', async () => {
    const own = await startOwnRedis();
    const redis = await workerClient(own.url);
    const dedup = createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    redis.disconnect();
    const claims = await Promise.all(['a', 'b'].map((id) => dedup.claim(delivery(id))));
    expect(claims.map((claim) => claim.kind)).toEqual(['unavailable', 'unavailable']);
    expect(await dedup.complete(delivery('a'))).toBe(false);
  });

  it('runs its scripts again after the server forgot them (SCRIPT FLUSH, NOSCRIPT)', async () => {
    const own = await startOwnRedis();
    const admin = adminClient(own.url);
    const redis = await workerClient(own.url);
    const dedup = createDedupStore({ redis, keyPrefix: 'd:', leaseMs: 60_000, markerTtlMs: 60_000 });
    const queue = createKeyQueue({ redis, keyPrefix: 'd:', headTimeoutMs: 60_000 });
    expect(await queue.enter(delivery('e1'), 'k')).toBe('head');
    const first = await dedup.claim(delivery('e1'));
    if (first.kind !== 'acquired') throw new Error(`claimed ${first.kind}`);
    await dedup.release(delivery('e1'), first.token);
    await admin.script('FLUSH');
    expect(await queue.enter(delivery('e2'), 'k')).toBe('behind');
    const second = await dedup.claim(delivery('e1'));
    if (second.kind !== 'acquired') throw new Error(`claimed ${second.kind}`);
    await dedup.release(delivery('e1'), second.token);
    expect(await admin.exists(dedupKey('d:', delivery('e1')))).toBe(0);
  });
});
