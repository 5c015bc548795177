import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPostgresClient } from '../../common/postgres/index.js';
import { connectedAdmin, createTestTopic, testProducer } from '../support/kafka-fixture.js';
import { createTestDatabase, migrateLogDatabase } from '../support/postgres-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import {
  attemptRecords,
  countRows,
  produceAttempts,
  startTestLog,
  waitFor,
  waitForNoLag,
} from './log-fixture.js';

describe('sluice log', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase('sluice_log_store');
    await migrateLogDatabase(database.url);
  });
  afterAll(() => database?.drop());

  it('stores every attempt record produced, field for field, and each once when read twice', async () => {
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 3, 'attempts');
    const producer = testProducer();
    await producer.connect();
    const records = attemptRecords(1200);
    await produceAttempts(producer, topic, records);
    // The same records again: a worker that wrote a batch twice, or a re-read after a lost commit.
    await produceAttempts(producer, topic, records.slice(0, 400));
    // One record nobody can read: skipped and counted, never blocking the partition.
    await producer.send({ topic, messages: [{ key: 'x', value: '{"v":1}' }] });
    await producer.disconnect();

    const log = await startTestLog({ databaseUrl: database.url, topic });
    const counted = await waitFor(
      () => countRows(database.url),
      (count) => count.rows >= records.length,
      60_000,
    );
    expect(counted).toEqual({ rows: records.length, distinct: records.length });
    // The repeated records and the unreadable one were read too (they come last), and no row more.
    await waitFor(
      () => scrapeMetric(log.adminUrl, 'sluice_log_duplicate_records_total'),
      (duplicates) => duplicates >= 400,
      30_000,
    );
    expect(await waitForNoLag(log.adminUrl, 20_000)).toBe(0);
    expect(await countRows(database.url)).toEqual({ rows: records.length, distinct: records.length });
    expect(await scrapeMetric(log.adminUrl, 'sluice_log_rows_written_total')).toBe(records.length);
    expect(await scrapeMetric(log.adminUrl, 'sluice_log_duplicate_records_total')).toBe(400);
    expect(await scrapeMetric(log.adminUrl, 'sluice_log_records_skipped_total', { reason: 'invalid' })).toBe(
      1,
    );
    expect(
      await scrapeMetric(log.adminUrl, 'sluice_log_batches_total', { result: 'written' }),
    ).toBeGreaterThan(0);

    const stored = await withPostgresClient(database.url, (client) =>
      client.query(
        `SELECT attempt_id, to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS attempted_at,
                event_id, event_type, producer_id, subscription_id, attempt, latency_ms, status_code,
                error_class, response_headers, response_body, response_body_truncated, outcome,
                to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS next_attempt_at,
                replay_id
           FROM attempts`,
      ),
    );
    const byId = new Map(stored.rows.map((row: Record<string, unknown>) => [row.attempt_id, row]));
    for (const record of records) {
      expect(byId.get(record.attemptId)).toEqual({
        attempt_id: record.attemptId,
        attempted_at: record.attemptedAt,
        event_id: record.eventId,
        event_type: record.eventType,
        producer_id: record.producerId,
        subscription_id: record.subscriptionId,
        attempt: record.attempt,
        latency_ms: record.latencyMs,
        status_code: record.statusCode,
        error_class: record.errorClass,
        response_headers: record.responseHeaders,
        response_body: record.responseBody,
        response_body_truncated: record.responseBodyTruncated,
        outcome: record.outcome,
        next_attempt_at: record.nextAttemptAt,
        replay_id: record.replayId,
      });
    }
  });

  it('skips records past retention and stores a body with a NUL byte', async () => {
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 1, 'attempts');
    const producer = testProducer();
    await producer.connect();
    const [old] = attemptRecords(1, Date.now() - 20 * 86_400_000);
    const [binary] = attemptRecords(1);
    const withNul = { ...binary!, statusCode: 200, responseBody: 'a\u0000b' };
    await produceAttempts(producer, topic, [old!, withNul]);
    await producer.disconnect();
    const before = await countRows(database.url);

    const log = await startTestLog({ databaseUrl: database.url, topic });
    await waitFor(
      () => scrapeMetric(log.adminUrl, 'sluice_log_records_skipped_total', { reason: 'expired' }),
      (skipped) => skipped === 1,
      30_000,
    );
    await waitFor(
      () => countRows(database.url),
      (count) => count.rows === before.rows + 1,
      30_000,
    );
    const body = await withPostgresClient(database.url, (client) =>
      client.query('SELECT response_body FROM attempts WHERE attempt_id = $1', [withNul.attemptId]),
    );
    expect(body.rows[0]?.response_body).toBe('a\uFFFDb');
  });
});
