import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createDedupStore, type DeliveryIdentity } from '../../consumers/delivery/dedup-store.js';
import { createKeyQueue, keyQueueKey } from '../../consumers/delivery/key-queue.js';
import { testRedisUrl, uniqueName } from '../support/stack-env.js';

function connect(): Redis {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 0 });
  onTestFinished(() => void redis.disconnect());
  return redis;
}

const delivery = (eventId: string): DeliveryIdentity => ({
  subscriptionId: 'sub_1',
  producerId: 'shop',
  eventId,
});

describe('key queue (ordering: key across retries) on Redis', () => {
  it('lets only the oldest unresolved delivery of a key go, once each, and the next after it leaves', async () => {
    const redis = connect();
    const keyPrefix = `${uniqueName('kq')}:`;
    const queue = createKeyQueue({ redis, keyPrefix, headTimeoutMs: 60_000 });
    expect(await queue.enter(delivery('e1'), 'order-1')).toBe('head');
    expect(await queue.enter(delivery('e2'), 'order-1')).toBe('behind');
    expect(await queue.enter(delivery('e3'), 'order-1')).toBe('behind');
    // Another key, and the same key of another subscription, are queues of their own.
    expect(await queue.enter(delivery('e4'), 'order-2')).toBe('head');
    expect(await queue.enter({ ...delivery('e5'), subscriptionId: 'sub_2' }, 'order-1')).toBe('head');
    // Entering again (a retry, a record read again after a crash) keeps the place.
    expect(await queue.enter(delivery('e1'), 'order-1')).toBe('head');
    expect(await queue.enter(delivery('e3'), 'order-1')).toBe('behind');
    expect(await redis.lrange(keyQueueKey(keyPrefix, 'sub_1', 'order-1'), 0, -1)).toEqual([
      `${keyPrefix}sub_1:shop:e1`,
      `${keyPrefix}sub_1:shop:e2`,
      `${keyPrefix}sub_1:shop:e3`,
    ]);
    await queue.leave(delivery('e1'), 'order-1');
    expect(await queue.enter(delivery('e3'), 'order-1')).toBe('behind');
    expect(await queue.enter(delivery('e2'), 'order-1')).toBe('head');
    await queue.leave(delivery('e2'), 'order-1');
    await queue.leave(delivery('e3'), 'order-1');
    expect(await redis.exists(keyQueueKey(keyPrefix, 'sub_1', 'order-1'))).toBe(0);
  });

  it('skips a head that was delivered but never left, and expires a queue whose head stopped coming', async () => {
    const redis = connect();
    const keyPrefix = `${uniqueName('kq')}:`;
    const queue = createKeyQueue({ redis, keyPrefix, headTimeoutMs: 300 });
    const dedup = createDedupStore({ redis, keyPrefix, leaseMs: 5000, markerTtlMs: 60_000 });
    expect(await queue.enter(delivery('e1'), 'k')).toBe('head');
    expect(await queue.enter(delivery('e2'), 'k')).toBe('behind');
    // e1's completion marker is written, its leave lost: e2 goes anyway.
    await dedup.complete(delivery('e1'));
    expect(await queue.enter(delivery('e2'), 'k')).toBe('head');
    expect(await queue.enter(delivery('e3'), 'k')).toBe('behind');
    // e2 never comes back (lost retry record): waiting does not renew the queue, which expires.
    const ttlMs = await redis.pttl(keyQueueKey(keyPrefix, 'sub_1', 'k'));
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await queue.enter(delivery('e3'), 'k')).toBe('head');
  });

  it('says unavailable when Redis does not answer', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    onTestFinished(() => void redis.disconnect());
    const queue = createKeyQueue({ redis, keyPrefix: 'x:', headTimeoutMs: 1000 });
    expect(await queue.enter(delivery('e1'), 'k')).toBe('unavailable');
    await expect(queue.leave(delivery('e1'), 'k')).resolves.toBeUndefined();
  });
});
