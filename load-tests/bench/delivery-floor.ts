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
 * With SLUICE_FLOOR_ATTEMPTS_TOPIC set it also writes each delivery's attempt record there, with
 * the worker's own parts (response sample, record builder, attempt writer): the bound of what the
 * delivery log's records cost any worker, beside what they cost Sluice's.
 *
 * A process of its own, configured by environment (set by the benchmark):
 *   KAFKA_BROKERS, REDIS_URL, SLUICE_FLOOR_TOPIC, SLUICE_FLOOR_GROUP_ID, SLUICE_FLOOR_DEDUP_PREFIX,
 *   SLUICE_FLOOR_RECEIVER_URL, SLUICE_FLOOR_SECRET, SLUICE_FLOOR_CONCURRENCY,
 *   SLUICE_FLOOR_ATTEMPTS_TOPIC (optional).
 * Prints one JSON line when its consumer has joined; exits on SIGTERM.
 */
import { Kafka, type KafkaMessage, logLevel, StickyPartitioner } from '../../common/kafka/index.js';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { selectResponseHeaders } from '../../common/attempts/attempt-record.js';
import { createLogger } from '../../common/logger.js';
import { buildAttemptRecord } from '../../consumers/delivery/attempt-facts.js';
import { createAttemptWriter, createAttemptWriterMetrics } from '../../consumers/delivery/attempt-writer.js';
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
  // Through the door, as the worker: Sluice's record decoder, faster than kafkajs's own.
  const kafka = new Kafka({
    brokers: required('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
  });
  const attemptsTopic = process.env.SLUICE_FLOOR_ATTEMPTS_TOPIC;
  const attemptsProducer =
    attemptsTopic === undefined ? undefined : kafka.producer({ createPartitioner: StickyPartitioner });
  await attemptsProducer?.connect();
  const attempts =
    attemptsProducer &&
    createAttemptWriter({
      producer: attemptsProducer,
      topic: attemptsTopic!,
      maxPendingRecords: 10_000,
      timeoutMs: 10_000,
      metrics: createAttemptWriterMetrics(new Registry()),
      logger: createLogger('delivery-floor', 'warn'),
    });

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
    const startedMs = Date.now();
    const startedAt = performance.now();
    const response = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: buildAttemptHeaders({ eventId: id, body, subscription, nowMs: startedMs }),
      body,
    });
    const responseBody = attempts ? Buffer.from(await response.body.arrayBuffer()) : undefined;
    if (!attempts) await response.body.dump();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(`the receiver answered ${response.statusCode}`);
    }
    attempts?.record(
      buildAttemptRecord({
        delivery: {
          event: {
            id,
            type: message.headers!.ce_type!.toString(),
            producerId: identity.producerId,
            replayId: undefined,
          },
          subscription: { id: subscriptionId },
          attempt: 1,
          origin: `${required('SLUICE_FLOOR_TOPIC')}/0/${message.offset}`,
        },
        attemptedAtMs: startedMs,
        happening: {
          kind: 'sent',
          result: {
            status: response.statusCode,
            retryAfter: undefined,
            durationMs: performance.now() - startedAt,
            responseHeaders: selectResponseHeaders(response.headers),
            responseBody,
            responseBodyTruncated: false,
          },
        },
        followUp: 'delivered',
        responseBodyMaxBytes: 4096,
      }),
    );
    await dedup.complete(identity);
  }

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
    void Promise.allSettled([consumer.disconnect(), pool.close(), attempts?.close()]).then(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
}

await main();
