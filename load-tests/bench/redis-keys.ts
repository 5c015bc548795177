import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix` (SCAN, then UNLINK in batches). A benchmark's dedup markers
 * live as long as the events topic's retention, days: without this, each run on the same local
 * stack left ~100 000 keys behind, and the next runs measured a Redis that kept growing.
 */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
