import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFailFastRedis } from '../../common/fail-fast-redis.js';
import { createLogger } from '../../common/logger.js';
import { createIdempotencyStore } from '../../gateway/ingest/idempotency-store.js';
import { startOwnRedis } from '../support/own-redis.js';

describe('idempotency store release script on Redis', () => {
  it('frees pending claims only, keeps completed results, and survives SCRIPT FLUSH', async () => {
    const own = await startOwnRedis();
    const admin = new Redis(own.url);
    onTestFinished(() => void admin.disconnect());
    // The gateway's client: no offline queue, auto-pipelining.
    const redis = createFailFastRedis(own.url, 1000);
    onTestFinished(() => void redis.disconnect());
    await redis.connect();
    const unavailable: unknown[] = [];
    const options = {
      redis,
      windowMs: 60_000,
      leaseMs: 60_000,
      keyPrefix: 'i:',
      logger: createLogger('test', 'silent'),
      onUnavailable: (error: unknown) => void unavailable.push(error),
    };
    createIdempotencyStore(options);
    const store = createIdempotencyStore(options);

    expect(await store.claim('shop', ['a', 'b', 'c'])).toEqual([
      { kind: 'claimed' },
      { kind: 'claimed' },
      { kind: 'claimed' },
    ]);
    await store.complete('shop', [{ id: 'b', acceptedAtMs: 1 }]);
    await store.release('shop', ['a', 'b', 'c']);
    expect(await store.claim('shop', ['a', 'b', 'c'])).toEqual([
      { kind: 'claimed' },
      { kind: 'duplicate', result: { id: 'b', acceptedAtMs: 1 } },
      { kind: 'claimed' },
    ]);
    await admin.script('FLUSH');
    await store.release('shop', ['a']);
    expect(await admin.exists('i:shop:a', 'i:shop:c')).toBe(1);
    expect(unavailable).toEqual([]);
  });
});
