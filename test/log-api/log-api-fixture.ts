import { randomUUID } from 'node:crypto';
import { onTestFinished } from 'vitest';
import type { AttemptRecord } from '../../common/attempts/attempt-record.js';
import { withPostgresClient } from '../../common/postgres/index.js';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import { insertAttemptRows } from '../../log/attempt-rows.js';
import { ensurePartitions, dayStartMs } from '../../log/partitions.js';
import { fixtureData } from '../delivery/delivery-fixture.js';
import { startStoreWorker, type ReplayGateway } from '../replay/replay-fixture.js';
import { testProducer } from '../support/kafka-fixture.js';
import { createTestDatabase, migrateLogDatabase } from '../support/postgres-fixture.js';

const catalog = loadSchemaCatalog();
const dayMs = 86_400_000;

/** A migrated database of the test's own; dropped when the test finishes. */
export async function migratedDatabase(): Promise<string> {
  const database = await createTestDatabase('sluice_logapi');
  onTestFinished(() => database.drop());
  const today = dayStartMs(Date.now());
  await migrateLogDatabase(database.url, {
    partitions: false,
    statementTimeoutMs: 30_000,
    then: async (pool) => {
      await ensurePartitions(pool, [today - 2 * dayMs, today - dayMs, today, today + dayMs]);
    },
  });
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
  return (await startStoreWorker(gw, { name: 'log-api', catalog })).fatal;
}
