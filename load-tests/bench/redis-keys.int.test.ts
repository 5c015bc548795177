import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startOwnRedis } from '../../test/support/own-redis.js';
import { deleteKeysWithPrefix } from './redis-keys.js';

describe('benchmark Redis cleanup', () => {
  it('deletes every key under the prefix, across SCAN pages, and nothing else', async () => {
    const own = await startOwnRedis();
    const redis = new Redis(own.url);
    onTestFinished(() => void redis.disconnect());
    const pipeline = redis.pipeline();
    for (let index = 0; index < 2500; index++)
      pipeline.set(`bench.delivery.1:drain-1:dedup:${index}`, 'done');
    pipeline.set('bench.delivery.2:drain-1:dedup:0', 'done');
    pipeline.set('sluice:dedup:keep', 'done');
    await pipeline.exec();

    expect(await deleteKeysWithPrefix(own.url, 'bench.delivery.1:')).toBe(2500);

    expect((await redis.keys('*')).sort()).toEqual(['bench.delivery.2:drain-1:dedup:0', 'sluice:dedup:keep']);
  });
});
