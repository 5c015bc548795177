import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createPostgresPool, withPostgresClient } from '../../common/postgres/index.js';
import { maintainPartitions } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';
import { connectedAdmin, createTestTopic, testProducer } from '../support/kafka-fixture.js';
import { startOwnPostgres } from '../support/postgres-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import { attemptRecords, countRows, produceAttempts, readLag, startTestLog, waitFor } from './log-fixture.js';

const chunks = 60;
const perChunk = 200;
const killAtChunk = 20;
const restartAtChunk = 40;

/** A server of the test's own (the suite's shared one must not be killed), migrated. */
async function migratedOwnPostgres() {
  const postgres = await startOwnPostgres();
  const pool = createPostgresPool(
    {
      url: postgres.url,
      maxConnections: 2,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 10_000,
      applicationName: 'test',
    },
    createLogger('test', 'silent'),
  );
  await applyMigrations(pool, loadMigrations());
  await maintainPartitions(pool, Date.now(), { retentionMs: 14 * 86_400_000, daysAhead: 2 });
  await pool.end();
  return postgres;
}

const fastRetries = {
  SLUICE_LOG_RETRY_MAX_BACKOFF_MS: '1s',
  SLUICE_LOG_DATABASE_CONNECT_TIMEOUT_MS: '1s',
  SLUICE_LOG_DATABASE_STATEMENT_TIMEOUT_MS: '5s',
};

describe('sluice log when PostgreSQL is killed', () => {
  it('pauses, and after PostgreSQL is back catches up from Kafka with no gap and no duplicate row', async () => {
    const postgres = await migratedOwnPostgres();
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 3, 'attempts');
    const producer = testProducer();
    await producer.connect();
    const log = await startTestLog({
      databaseUrl: postgres.url,
      topic,
      env: fastRetries,
    });

    const records = attemptRecords(chunks * perChunk);
    let rowsAtKill = 0;
    let restartedAtMs = 0;
    let backlogStoredAtMs: Promise<number> | undefined;
    for (let chunk = 0; chunk < chunks; chunk += 1) {
      if (chunk === killAtChunk) rowsAtKill = (await countRows(postgres.url)).rows;
      if (chunk === restartAtChunk) {
        await postgres.restart();
        restartedAtMs = Date.now();
        // Catching up: everything produced before PostgreSQL came back is stored.
        const backlog = chunk * perChunk;
        backlogStoredAtMs = waitFor(
          () => countRows(postgres.url),
          (count) => count.rows >= backlog,
          90_000,
        ).then(() => Date.now());
      }
      await produceAttempts(producer, topic, records.slice(chunk * perChunk, (chunk + 1) * perChunk));
      // At once, while the log is likely inserting this chunk.
      if (chunk === killAtChunk) await postgres.kill();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A stretch written twice by a worker, after the outage: still one row each.
    await produceAttempts(producer, topic, records.slice(10 * perChunk, 12 * perChunk));
    await producer.disconnect();

    const final = await waitFor(
      () => countRows(postgres.url),
      (count) => count.rows >= records.length,
      90_000,
    );
    const caughtUpMs = (await backlogStoredAtMs!) - restartedAtMs;
    expect(rowsAtKill, 'the kill came in the middle of the stream').toBeGreaterThan(0);
    expect(rowsAtKill).toBeLessThan(records.length);
    expect(final).toEqual({ rows: records.length, distinct: records.length });
    const stored = await withPostgresClient(postgres.url, (client) =>
      client.query<{ attempt_id: string }>('SELECT attempt_id FROM attempts'),
    );
    expect(new Set(stored.rows.map((row) => row.attempt_id))).toEqual(
      new Set(records.map((record) => record.attemptId)),
    );

    // The log saw the outage, counted its failed tries, and is healthy and caught up again.
    expect(
      await scrapeMetric(log.adminUrl, 'sluice_log_batches_total', { result: 'unavailable' }),
    ).toBeGreaterThan(0);
    expect(await scrapeMetric(log.adminUrl, 'sluice_log_database_available')).toBe(1);
    expect(
      await waitFor(
        () => readLag(log.adminUrl),
        (lag) => lag === 0,
        20_000,
      ),
    ).toBe(0);
    const ready = await fetch(`${log.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    console.info(
      `log outage: ${records.length} records (+${2 * perChunk} repeated), ${rowsAtKill} rows at the kill, ` +
        `${final.rows} rows after; the ${restartAtChunk * perChunk} records produced before PostgreSQL was back were stored ${caughtUpMs} ms after it`,
    );
  });

  it('starts while PostgreSQL is down, is not ready, and stores everything once it is up', async () => {
    const postgres = await migratedOwnPostgres();
    await postgres.kill();
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 2, 'attempts');
    const producer = testProducer();
    await producer.connect();
    const records = attemptRecords(500);
    await produceAttempts(producer, topic, records);
    await producer.disconnect();

    const log = await startTestLog({ databaseUrl: postgres.url, topic, env: fastRetries });
    const readiness = () =>
      fetch(`${log.adminUrl}/readyz`).then((answer) => answer.json() as Promise<{ reasons: string[] }>);
    // In its group, consuming, but not ready: PostgreSQL does not answer.
    const notReady = await waitFor(readiness, (body) => body.reasons.length === 1, 30_000);
    expect(notReady.reasons).toEqual(['PostgreSQL unavailable']);
    expect((await fetch(`${log.adminUrl}/healthz`)).status).toBe(200);

    await postgres.restart();
    const stored = await waitFor(
      () => countRows(postgres.url),
      (count) => count.rows >= records.length,
      60_000,
    );
    expect(stored).toEqual({ rows: records.length, distinct: records.length });
    expect(await waitFor(readiness, (body) => body.reasons.length === 0, 30_000)).toEqual({
      status: 'ready',
      reasons: [],
    });
  });
});
