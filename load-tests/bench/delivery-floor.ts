/**
 * The delivery floor: for each record only the steps a delivery cannot skip, with nothing around
 * them. Read it from Kafka (kafkajs), decode its Avro, claim its dedup lease in Redis, build and
 * sign the webhook, POST it on an undici Pool, write the completion marker. No offset tracking or
 * commits, retries, breakers, limits, SSRF guard, timeouts, backpressure by partition or metrics.
 *
 * The delivery benchmark drains the same backlog with it, between the worker and the raw loop: it
 * splits the worker's distance from the raw loop into what these steps cost on this machine and
 * what the worker's own machinery adds. It uses the worker's own parts for each step (Kafka record
 * decoder, Avro decoder, batched dedup store, body builder, signer), so it is no slower than a
 * fresh write of them would be.
 *
 * A process of its own, configured by environment (set by the benchmark):
 *   KAFKA_BROKERS, REDIS_URL, SLUICE_FLOOR_TOPIC, SLUICE_FLOOR_GROUP_ID, SLUICE_FLOOR_DEDUP_PREFIX,
 *   SLUICE_FLOOR_RECEIVER_URL, SLUICE_FLOOR_SECRET, SLUICE_FLOOR_CONCURRENCY.
 * Prints one JSON line when its consumer has joined; exits on SIGTERM.
 */
import { Kafka, type KafkaMessage, logLevel } from '../../common/kafka/index.js';
import { Pool } from 'undici';
import { createFailFastRedis } from '../../common/fail-fast-redis.js';
import { createDedupStore } from '../../consumers/delivery/dedup-store.js';
import { buildAttemptHeaders, buildWebhookBody } from '../../consumers/delivery/webhook-payload.js';
import { decodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog } from '../../schemas/schema-catalog.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** At most `limit` promises at once: `acquire` waits for a free place. */
function createSlots(limit: number) {
  let used = 0;
  const waiting: Array<() => void> = [];
  return {
    async acquire(): Promise<void> {
      if (used < limit) {
        used++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next === undefined) used--;
      else next();
    },
  };
}

async function main(): Promise<void> {
  const concurrency = Number(required('SLUICE_FLOOR_CONCURRENCY'));
  const target = new URL(required('SLUICE_FLOOR_RECEIVER_URL'));
  const subscription = { secrets: [{ secret: required('SLUICE_FLOOR_SECRET'), expiresAtMs: undefined }] };
  const subscriptionId = 'floor';
  const catalog = loadSchemaCatalog();
  const redis = createFailFastRedis(required('REDIS_URL'), 2000);
  await redis.connect();
  const dedup = createDedupStore({
    redis,
    keyPrefix: required('SLUICE_FLOOR_DEDUP_PREFIX'),
    leaseMs: 60_000,
    markerTtlMs: 3_600_000,
  });
  const pool = new Pool(target.origin, { connections: concurrency });
  const slots = createSlots(concurrency);

  async function deliver(message: KafkaMessage): Promise<void> {
    const id = message.headers?.ce_id?.toString() ?? '';
    const decoded = decodeEvent(catalog, message.value!);
    if (!decoded.ok) throw new Error(decoded.message);
    const identity = {
      subscriptionId,
      producerId: message.headers?.sluice_producer?.toString() ?? '',
      eventId: id,
    };
    const claimed = await dedup.claim(identity);
    if (claimed.kind !== 'acquired') throw new Error(`dedup claim answered ${claimed.kind}`);
    const body = buildWebhookBody({
      id,
      type: message.headers!.ce_type!.toString(),
      time: message.headers!.ce_time!.toString(),
      data: decoded.data,
    });
    const response = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: buildAttemptHeaders({ eventId: id, body, subscription, nowMs: Date.now() }),
      body,
    });
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(`the receiver answered ${response.statusCode}`);
    }
    await dedup.complete(identity);
  }

  // Through the door, as the worker: Sluice's record decoder, faster than kafkajs's own.
  const kafka = new Kafka({
    brokers: required('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
  });
  // The worker's fetch wait (see delivery-worker.ts), so both fetch alike.
  const consumer = kafka.consumer({ groupId: required('SLUICE_FLOOR_GROUP_ID'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [required('SLUICE_FLOOR_TOPIC')], fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () =>
    console.log(JSON.stringify({ msg: 'delivery floor running', port: 0 })),
  );
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      for (const message of batch.messages) {
        await slots.acquire();
        deliver(message).then(
          () => slots.release(),
          (error: unknown) => {
            console.error(String(error));
            process.exit(1);
          },
        );
        resolveOffset(message.offset);
      }
    },
  });

  process.once('SIGTERM', () => {
    void Promise.allSettled([consumer.disconnect(), pool.close()]).then(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
}

await main();
