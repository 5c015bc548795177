import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';
import { defineRedisScript } from '../../common/redis-script.js';

/** What a repeat of an event id gets back: the original answer. */
export interface StoredResult {
  id: string;
  acceptedAtMs: number;
}

export type ClaimResult =
  | { kind: 'claimed' }
  | { kind: 'duplicate'; result: StoredResult }
  | { kind: 'in-flight' }
  /** Redis could not answer: the event goes through without deduplication (fail-open). */
  | { kind: 'unavailable' };

export interface IdempotencyStore {
  claim(producerId: string, eventIds: readonly string[]): Promise<ClaimResult[]>;
  /** Records that the event was acknowledged; repeats within the window get this result. */
  complete(producerId: string, results: readonly StoredResult[]): Promise<void>;
  /** Frees a claim whose event was not written, so the producer's retry can go through. */
  release(producerId: string, eventIds: readonly string[]): Promise<void>;
}

export interface IdempotencyStoreOptions {
  redis: Redis;
  /** How long an accepted event id is remembered (`SLUICE_IDEMPOTENCY_WINDOW_MS`, default 24 h). */
  windowMs: number;
  /** How long an in-flight claim lives if the gateway dies before settling it; above the send deadline. */
  leaseMs: number;
  keyPrefix: string;
  logger: Logger;
  onUnavailable: (error: unknown) => void;
}

const pending = 'pending';

// Deletes the claim only while it is still pending: never erase a completed result.
const releaseScript = `
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

/**
 * Per-producer event-id deduplication in Redis: `SET key pending NX PX lease GET` claims an id
 * and returns what was there in one round trip (Redis ≥ 7.0), so two concurrent requests with
 * the same id can never both be written: the second sees `pending` and gets 409.
 */
export function createIdempotencyStore(options: IdempotencyStoreOptions): IdempotencyStore {
  const keyOf = (producerId: string, eventId: string) => `${options.keyPrefix}${producerId}:${eventId}`;
  const releasePending = defineRedisScript(options.redis, 'sluiceIdempotencyRelease', releaseScript);

  return {
    async claim(producerId, eventIds) {
      if (eventIds.length === 0) return [];
      const pipeline = options.redis.pipeline();
      for (const eventId of eventIds) {
        pipeline.set(keyOf(producerId, eventId), pending, 'PX', options.leaseMs, 'NX', 'GET');
      }
      let replies: Array<[Error | null, unknown]> | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        options.onUnavailable(error);
        return eventIds.map(() => ({ kind: 'unavailable' }) as const);
      }
      return eventIds.map((_, index): ClaimResult => {
        const [error, previous] = replies?.[index] ?? [new Error('no reply'), null];
        if (error) {
          options.onUnavailable(error);
          return { kind: 'unavailable' };
        }
        if (previous === null) return { kind: 'claimed' };
        if (previous === pending) return { kind: 'in-flight' };
        try {
          return { kind: 'duplicate', result: JSON.parse(String(previous)) as StoredResult };
        } catch {
          return { kind: 'in-flight' };
        }
      });
    },

    async complete(producerId, results) {
      if (results.length === 0) return;
      const pipeline = options.redis.pipeline();
      for (const result of results) {
        pipeline.set(keyOf(producerId, result.id), JSON.stringify(result), 'PX', options.windowMs);
      }
      try {
        await pipeline.exec();
      } catch (error) {
        // The lease will expire; a repeat after that is written again (counted as unavailable).
        options.onUnavailable(error);
      }
    },

    async release(producerId, eventIds) {
      if (eventIds.length === 0) return;
      try {
        await releasePending(
          eventIds.map((id) => keyOf(producerId, id)),
          [pending],
        );
      } catch (error) {
        options.onUnavailable(error);
      }
    },
  };
}
