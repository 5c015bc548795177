import { randomUUID } from 'node:crypto';
import { onTestFinished } from 'vitest';
import type { AttemptRecord } from '../../common/attempts/attempt-record.js';
import { createLogger } from '../../common/logger.js';
import { createPostgresPool, withPostgresClient } from '../../common/postgres/index.js';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { startDeliveryWorker } from '../../consumers/delivery-worker.js';
import { insertAttemptRows } from '../../log/attempt-rows.js';
import { ensurePartitions, dayStartMs } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';
import { fixtureData } from '../delivery/delivery-fixture.js';
import { workerStore, type ReplayGateway } from '../replay/replay-fixture.js';
import { testProducer } from '../support/kafka-fixture.js';
import { createTestDatabase } from '../support/postgres-fixture.js';
import { uniqueName } from '../support/stack-env.js';

const catalog = loadSchemaCatalog();
const dayMs = 86_400_000;

/** A migrated database of the test's own; dropped when the test finishes. */
export async function migratedDatabase(): Promise<string> {
  const database = await createTestDatabase('sluice_logapi');
  onTestFinished(() => database.drop());
  const pool = createPostgresPool(
    {
      url: database.url,
      maxConnections: 2,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 30_000,
      applicationName: 'test',
    },
    createLogger('test-migrate', 'warn'),
  );
  try {
    await applyMigrations(pool, loadMigrations());
    const today = dayStartMs(Date.now());
    await ensurePartitions(pool, [today - 2 * dayMs, today - dayMs, today, today + dayMs]);
  } finally {
    await pool.end();
  }
  return database.url;
}

export type Source = { topic: string; partition: number; offset: string };

/** One attempt with sensible defaults; `at` ms ago from now. */
export function attempt(
  fields: Partial<AttemptRecord> & { eventId: string; subscriptionId: string },
  agoMs = 0,
): AttemptRecord {
  const delivered = (fields.outcome ?? 'delivered') === 'delivered';
  return {
    attemptId: randomUUID(),
    eventType: 'order.created',
    producerId: 'shop',
    attempt: 1,
    attemptedAt: new Date(Date.now() - agoMs).toISOString(),
    latencyMs: 12,
    statusCode: delivered ? 200 : 503,
    errorClass: null,
    responseHeaders: { 'content-type': 'text/plain' },
    responseBody: delivered ? 'ok' : 'busy',
    responseBodyTruncated: false,
    outcome: 'delivered',
    nextAttemptAt: null,
    replayId: null,
    ...fields,
  };
}

/**
 * Writes attempt rows as `sluice log` does (its insert), then sets their events-topic record: the
 * workers' side of that column is built elsewhere, so the fixture sets it directly.
 */
export async function writeAttempts(url: string, records: AttemptRecord[], source?: Source): Promise<void> {
  await withPostgresClient(url, async (client) => {
    await insertAttemptRows(client, records);
    if (source !== undefined) {
      await client.query(
        'UPDATE attempts SET source_topic = $1, source_partition = $2, source_offset = $3 WHERE attempt_id = ANY($4::uuid[])',
        [source.topic, source.partition, source.offset, records.map((record) => record.attemptId)],
      );
    }
  });
}

/** Writes one event to `topic` as the gateway does; resolves to its id and position. */
export async function produceEvent(
  topic: string,
  producer = 'shop',
): Promise<{ id: string; source: Source }> {
  const kafka = testProducer();
  await kafka.connect();
  try {
    const id = `evt_${randomUUID()}`;
    const encoded = encodeEvent(catalog.latest('order.created')!, fixtureData('order.created'));
    if (!encoded.ok) throw new Error(encoded.message);
    const [meta] = await kafka.send({
      topic,
      acks: -1,
      messages: [
        {
          key: `key-${id}`,
          value: encoded.value,
          headers: {
            ce_specversion: '1.0',
            ce_id: id,
            ce_type: 'order.created',
            ce_source: '/test',
            ce_time: new Date().toISOString(),
            'content-type': 'application/avro',
            sluice_producer: producer,
          },
        },
      ],
    });
    return { id, source: { topic, partition: meta!.partition, offset: String(meta!.baseOffset) } };
  } finally {
    await kafka.disconnect();
  }
}

/**
 * A delivery worker in this process on the gateway's topics (events, retry tiers, dead letters,
 * attempts), reading the subscriptions the gateway writes; stopped when the test finishes. Its
 * fatal errors are collected in the array returned.
 */
export async function startGatewayWorker(gw: ReplayGateway): Promise<Error[]> {
  const store = await workerStore(gw.setup);
  const env = {
    ...gw.setup.env,
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DELIVERY_GROUP_ID: uniqueName('log-api-group'),
    SLUICE_DEDUP_KEY_PREFIX: `${uniqueName('t')}:dedup:`,
    SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '2s',
    SLUICE_DEDUP_LEASE_MS: '5s',
    SLUICE_SHUTDOWN_GRACE_MS: '5s',
    SLUICE_KAFKA_SESSION_TIMEOUT_MS: '10s',
    SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
    SLUICE_DELIVERY_COMMIT_INTERVAL_MS: '200ms',
    SLUICE_LOG_LEVEL: 'error',
  };
  const fatal: Error[] = [];
  const worker = await startDeliveryWorker(loadDeliveryConfig(env), createLogger('test-deliver', 'error'), {
    subscriptions: store,
    subscriptionsReady: () => store.isCaughtUp(),
    onGone: async (subscriptionId) => void (await store.disable(subscriptionId, 'gone')),
    onFatal: (error) => fatal.push(error),
    catalog,
  });
  onTestFinished(() => worker.shutdown());
  return fatal;
}
