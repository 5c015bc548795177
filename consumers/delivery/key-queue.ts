import type { Redis } from 'ioredis';
import { defineRedisScript } from '../../common/redis-script.js';
import { dedupKey, doneMarker, type DeliveryIdentity } from './dedup-store.js';

/**
 * `ordering: key` across retries. The in-process KeySequencer orders the attempts one process
 * makes; once a delivery fails it leaves for a retry tier (possibly read by another process), and
 * the events behind it must not overtake it. So each (subscription, key) with an unresolved
 * delivery has a queue in Redis: a delivery joins it when it starts, may attempt only at its head,
 * and leaves it once resolved (delivered, dead-lettered, dropped). One that joins behind others is
 * parked to the next tier without an attempt and tries again from there; retry tiers keep a key's
 * records in one partition, in order, so it reaches each tier after the one it waits for.
 */
export type KeyQueueEntry =
  /** Nothing unresolved before this delivery: attempt it. */
  | 'head'
  /** Earlier deliveries of the key are unresolved: park this one behind them. */
  | 'behind'
  /** Redis did not answer: the caller's failure mode decides. */
  | 'unavailable';

export interface KeyQueue {
  /** Joins the key's queue (once: a delivery already in it keeps its place) and says where it stands. */
  enter(identity: DeliveryIdentity, key: string): Promise<KeyQueueEntry>;
  /** Leaves the queue: the delivery is resolved, the next one of the key may go. */
  leave(identity: DeliveryIdentity, key: string): Promise<void>;
}

export interface KeyQueueOptions {
  /** A client without offline queue and with a command timeout: an outage must fail fast. */
  redis: Redis;
  /** The dedup store's prefix: members are deliveries' dedup keys, so a delivered head is recognised. */
  keyPrefix: string;
  /**
   * A queue whose head has not come back for this long is dropped, so a head whose retry record
   * was lost (topic retention shorter than a tier, a deleted topic) cannot hold its key for ever.
   * Must exceed the longest time between two attempts of one delivery.
   */
  headTimeoutMs: number;
}

// A head whose completion marker exists was delivered and its `leave` was lost (Redis blinked):
// it is dropped here rather than holding the key. Members are dedup keys, read without being
// declared, which is fine on the standalone Redis Sluice uses (not on Redis Cluster).
// The expiry is renewed only when the head enters (makes progress), never by those waiting.
const enterScript = `local queue, me = KEYS[1], ARGV[1]
while true do
  local head = redis.call('LINDEX', queue, 0)
  if not head or head == me or redis.call('GET', head) ~= ARGV[3] then break end
  redis.call('LPOP', queue)
end
local position = redis.call('LPOS', queue, me)
if not position then
  redis.call('RPUSH', queue, me)
  position = redis.call('LLEN', queue) - 1
end
if position ~= 0 then return 0 end
redis.call('PEXPIRE', queue, ARGV[2])
return 1`;

/** `<prefix>order:<subscription>:<key>`: subscription ids hold no `:`, so no dedup key looks like it. */
export function keyQueueKey(prefix: string, subscriptionId: string, key: string): string {
  return `${prefix}order:${subscriptionId}:${key}`;
}

export function createKeyQueue(options: KeyQueueOptions): KeyQueue {
  const { redis, keyPrefix } = options;
  const enterQueue = defineRedisScript(redis, 'sluiceKeyQueueEnter', enterScript);
  return {
    async enter(identity, key) {
      try {
        const atHead = await enterQueue(
          [keyQueueKey(keyPrefix, identity.subscriptionId, key)],
          [dedupKey(keyPrefix, identity), options.headTimeoutMs, doneMarker],
        );
        return atHead === 1 ? 'head' : 'behind';
      } catch {
        return 'unavailable';
      }
    },
    async leave(identity, key) {
      try {
        await redis.lrem(
          keyQueueKey(keyPrefix, identity.subscriptionId, key),
          1,
          dedupKey(keyPrefix, identity),
        );
      } catch {
        // Left at the head: a delivered head is dropped by the next `enter` (its completion
        // marker); any other expires with the queue after headTimeoutMs.
      }
    },
  };
}
