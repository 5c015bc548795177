import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineRedisScript } from '../../common/redis-script.js';

export type DedupClaim =
  /** This worker holds the in-flight lease: send, then `complete` or `release`. */
  | { kind: 'acquired'; token: string }
  /** A 2xx was already recorded for this (subscription, event): do not send again. */
  | { kind: 'done' }
  /** Another attempt holds the lease right now (a rebalance handed the record over mid-flight). */
  | { kind: 'busy' }
  /** Redis did not answer in time. */
  | { kind: 'unavailable'; error: unknown };

export interface DeliveryIdentity {
  subscriptionId: string;
  /** Event ids are unique per producer only, so the producer is part of the identity. */
  producerId: string;
  eventId: string;
  /**
   * Set for the deliveries of a subscription replay: a replay delivers again what was delivered
   * before, so it gets its own key, shared by all its attempts (the webhook-id stays the event id).
   */
  replayId?: string | undefined;
}

export interface DedupStore {
  claim(identity: DeliveryIdentity): Promise<DedupClaim>;
  /** Records the 2xx; false when Redis could not be told (a later redelivery may then send again). */
  complete(identity: DeliveryIdentity): Promise<boolean>;
  /** Gives the lease back after a failed attempt, so the retry (or another worker) can take it. */
  release(identity: DeliveryIdentity, token: string): Promise<void>;
}

export interface DedupStoreOptions {
  /** A client without offline queue and with a command timeout: an outage must fail fast. */
  redis: Redis;
  keyPrefix: string;
  leaseMs: number;
  markerTtlMs: number;
}

export const doneMarker = 'done';

/**
 * `<prefix><subscription>:<producer>:<event id>`, or `<prefix><subscription>@<replay id>:…` for a
 * replayed delivery. Neither subscription nor producer ids can hold `@` or `:`, so a replay key
 * never equals a first delivery's key.
 */
export function dedupKey(prefix: string, identity: DeliveryIdentity): string {
  const { subscriptionId, producerId, eventId, replayId } = identity;
  const scope = replayId === undefined ? subscriptionId : `${subscriptionId}@${replayId}`;
  return `${prefix}${scope}:${producerId}:${eventId}`;
}

// Deletes the lease only while this attempt still holds it: never a marker or another's lease.
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Per-(subscription, event) deduplication: a key goes lease → `done`. `SET NX PX GET` takes the
 * lease and reads what was there in one round trip (Redis ≥ 7.0). The lease expires by itself if
 * the worker dies mid-attempt; the marker lives at least as long as the events topic keeps a record,
 * so no redelivery from Kafka can outlive it.
 */
export function createDedupStore(options: DedupStoreOptions): DedupStore {
  const keyOf = (identity: DeliveryIdentity) => dedupKey(options.keyPrefix, identity);
  const releaseLease = defineRedisScript(options.redis, 'sluiceDedupRelease', releaseScript);

  return {
    async claim(identity) {
      // randomUUID draws from a cached entropy pool; randomBytes would make a syscall per claim.
      const token = `lease:${randomUUID()}`;
      try {
        const previous = await options.redis.set(keyOf(identity), token, 'PX', options.leaseMs, 'NX', 'GET');
        if (previous === null) return { kind: 'acquired', token };
        return previous === doneMarker ? { kind: 'done' } : { kind: 'busy' };
      } catch (error) {
        return { kind: 'unavailable', error };
      }
    },
    async complete(identity) {
      try {
        await options.redis.set(keyOf(identity), doneMarker, 'PX', options.markerTtlMs);
        return true;
      } catch {
        return false;
      }
    },
    async release(identity, token) {
      try {
        await releaseLease([keyOf(identity)], [token]);
      } catch {
        // The lease expires by itself.
      }
    },
  };
}
