import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineRedisScript } from '../../common/redis-script.js';
import { createTickBatcher } from '../../common/tick-batcher.js';

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

// Writes the completion marker of every key (ARGV[1] the marker, ARGV[2] its ms), over a lease or
// anything else: the delivery is done, whoever held the key.
const completeScript = `for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return #KEYS`;

// Takes the lease of every key (ARGV[i] is key i's token, the last ARGV the lease's ms) and answers
// what each key held before: the marker, another lease, or nil when the lease was taken.
const claimScript = `local leaseMs = ARGV[#KEYS + 1]
local previous = {}
for i = 1, #KEYS do
  previous[i] = redis.call('SET', KEYS[i], ARGV[i], 'PX', leaseMs, 'NX', 'GET')
end
return previous`;

/**
 * Keys per script call. A call blocks Redis while it runs (~1 µs per key), so a cap keeps one
 * worker's burst from delaying everyone else's commands.
 */
const maxKeysPerCall = 256;

interface ClaimRequest {
  key: string;
  token: string;
}

/**
 * Per-(subscription, event) deduplication: a key goes lease → `done`. `SET NX PX GET` takes the
 * lease and reads what was there in one step (Redis ≥ 7.0). The lease expires by itself if
 * the worker dies mid-attempt; the marker lives at least as long as the events topic keeps a record,
 * so no redelivery from Kafka can outlive it.
 *
 * The claims made in one turn of the event loop go to Redis as one script call, and so do the
 * completion markers: a command per claim or marker cost the worker more client CPU than the
 * signing of the request it guards. The keys of one call may live anywhere, so this needs one Redis
 * server (or a primary with replicas), not Redis Cluster. Both scripts skip the client's
 * auto-pipelining: it waits for the end of the turn as the batches do, and a second wait would
 * widen the window in which a crash repeats a delivery whose marker is not written yet (batched
 * markers behind auto-pipelining doubled the deliveries the SIGKILL test saw repeated).
 */
export function createDedupStore(options: DedupStoreOptions): DedupStore {
  const keyOf = (identity: DeliveryIdentity) => dedupKey(options.keyPrefix, identity);
  const releaseLease = defineRedisScript(options.redis, 'sluiceDedupRelease', releaseScript);
  const claimLeases = defineRedisScript(options.redis, 'sluiceDedupClaim', claimScript, {
    autoPipelined: false,
  });
  const writeMarkers = defineRedisScript(options.redis, 'sluiceDedupComplete', completeScript, {
    autoPipelined: false,
  });

  const claimBatch = createTickBatcher(async (requests: ClaimRequest[]) => {
    const keys = requests.map((request) => request.key);
    const args: Array<string | number> = requests.map((request) => request.token);
    args.push(options.leaseMs);
    return (await claimLeases(keys, args)) as Array<string | null>;
  }, maxKeysPerCall);

  const completeBatch = createTickBatcher(async (keys: string[]) => {
    await writeMarkers(keys, [doneMarker, options.markerTtlMs]);
    return keys.map(() => true);
  }, maxKeysPerCall);

  // Tokens only need to differ between attempts: a random prefix per store and a counter do that
  // without drawing entropy per claim.
  const tokenPrefix = `lease:${randomUUID()}:`;
  let tokensIssued = 0;

  return {
    async claim(identity) {
      const token = tokenPrefix + String(tokensIssued++);
      try {
        const previous = await claimBatch({ key: keyOf(identity), token });
        if (previous === null) return { kind: 'acquired', token };
        return previous === doneMarker ? { kind: 'done' } : { kind: 'busy' };
      } catch (error) {
        return { kind: 'unavailable', error };
      }
    },
    async complete(identity) {
      try {
        return await completeBatch(keyOf(identity));
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
