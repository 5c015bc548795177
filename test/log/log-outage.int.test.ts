import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withPostgresClient } from '../../common/postgres/index.js';
import {
  eventually,
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
  type TestEvent,
} from '../delivery/delivery-fixture.js';
import { connectedAdmin, createTestTopic, testProducer } from '../support/kafka-fixture.js';
import { startOwnPostgres, migrateLogDatabase } from '../support/postgres-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import {
  attemptRecords,
  countRows,
  produceAttempts,
  startTestLog,
  waitFor,
  waitForNoLag,
} from './log-fixture.js';

const chunks = 60;
const perChunk = 200;
const killAtChunk = 20;
const restartAtChunk = 40;
/** The end-to-end test's stream: events produced in chunks, half before the kill, half after. */
const streamEvents = 1600;
const streamChunks = 16;

/** A server of the test's own (the suite's shared one must not be killed), migrated. */
async function migratedOwnPostgres() {
  const postgres = await startOwnPostgres();
  await migrateLogDatabase(postgres.url);
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
    expect(await waitForNoLag(log.adminUrl, 20_000)).toBe(0);
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

/** About one (event, subscription) pair in ten gets a 503 on its first request: attempt 2 follows. */
function failsFirst(eventId: string, path: string): boolean {
  return createHash('sha256').update(`${eventId}${path}`).digest()[0]! % 10 === 0;
}

/** Arrivals per second between the first and the last of them, for the test's output only. */
function ratePerSecond(arrivalsMs: readonly number[]): number {
  if (arrivalsMs.length < 2) return 0;
  const spanMs = Math.max(arrivalsMs.at(-1)! - arrivalsMs[0]!, 1);
  return Math.round(((arrivalsMs.length - 1) * 1000) / spanMs);
}

describe('delivery while the log database is killed', () => {
  it(
    'delivers every event with PostgreSQL down, then logs each attempt the receiver saw exactly once',
    { timeout: 240_000 },
    async () => {
      const postgres = await migratedOwnPostgres();
      const setup = await prepareDelivery({
        // The receiver's 503s are its choice; the breaker must not park deliveries (and add none).
        SLUICE_BREAKER_MIN_ATTEMPTS: '1000000',
      });
      const receiver = await startReceiver();
      const requestsPerPair = new Map<string, number>();
      const deliveredPairs = new Set<string>();
      const arrivalsMs: number[] = [];
      receiver.respondWith((_req, res, index) => {
        const { path, headers } = receiver.received[index]!;
        const eventId = String(headers['webhook-id']);
        const pair = `${eventId} ${path}`;
        const n = (requestsPerPair.get(pair) ?? 0) + 1;
        requestsPerPair.set(pair, n);
        arrivalsMs.push(Date.now());
        const status = n === 1 && failsFirst(eventId, path) ? 503 : 200;
        if (status === 200) deliveredPairs.add(pair);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status} ${pair} ${n}`);
      });
      const subscriptions = new MemorySubscriptions();
      const a = testSubscription({ url: `${receiver.url}/a` });
      const b = testSubscription({ url: `${receiver.url}/b` });
      subscriptions.put(a);
      subscriptions.put(b);
      const subscriptionOf = new Map([
        [new URL(a.url).pathname, a.id],
        [new URL(b.url).pathname, b.id],
      ]);
      // Delivery "at full speed" during the outage is structural: a worker has no path to
      // PostgreSQL (lint keeps common/postgres/ out of consumers/); it hands attempt records to
      // Kafka and never waits for them. What this test proves is what follows from that: every
      // event is delivered while the database is down, and the log loses and repeats nothing.
      const worker = await startTestWorker(setup, subscriptions);
      const log = await startTestLog({
        databaseUrl: postgres.url,
        topic: setup.attemptsTopic,
        env: fastRetries,
      });

      const written: TestEvent[] = [];
      const produceChunk = async () =>
        written.push(
          ...(await produceEvents(
            setup.eventsTopic,
            Array.from({ length: streamEvents / streamChunks }, () => ({})),
          )),
        );
      for (let chunk = 0; chunk < streamChunks / 2; chunk += 1) await produceChunk();
      // Killed once the log has stored part of the attempts, with half the stream still to come.
      const rowsAtKill = (
        await waitFor(
          () => countRows(postgres.url),
          (count) => count.rows > 0,
          60_000,
        )
      ).rows;
      await postgres.kill();
      const killedAtMs = Date.now();
      for (let chunk = streamChunks / 2; chunk < streamChunks; chunk += 1) await produceChunk();
      const pairs = written.length * 2;
      await eventually(
        'every event delivered to both subscriptions',
        () => deliveredPairs.size >= pairs,
        120_000,
      );

      // Every delivery happened with the database down, and the log knew it was down.
      await expect(countRows(postgres.url)).rejects.toThrow();
      expect(
        await waitFor(
          () => scrapeMetric(log.adminUrl, 'sluice_log_database_available'),
          (available) => available === 0,
          20_000,
        ),
      ).toBe(0);
      const deliveredBeforeRestart = deliveredPairs.size;
      expect(deliveredBeforeRestart).toBe(pairs);
      const requests = receiver.received.length;
      expect(rowsAtKill, 'the kill came in the middle of the stream').toBeLessThan(requests);
      // Nothing was lost on the worker's side: each attempt's record reached Kafka.
      expect(await worker.metric('sluice_attempt_records_dropped_total')).toBe(0);
      expect(
        await waitFor(
          () => worker.metric('sluice_attempt_records_written_total'),
          (records) => records >= requests,
          20_000,
        ),
      ).toBe(requests);
      await postgres.restart();
      const restartedAtMs = Date.now();

      const stored = await waitFor(
        () => countRows(postgres.url),
        (count) => count.rows >= requests,
        120_000,
      );
      const caughtUpMs = Date.now() - restartedAtMs;
      // Consumed and committed to the end: no row is still on its way.
      expect(await waitForNoLag(log.adminUrl, 30_000)).toBe(0);
      expect(await countRows(postgres.url)).toEqual({ rows: requests, distinct: requests });
      expect(stored.rows).toBe(requests);

      // No gap and no duplicate: the log's (event, subscription, attempt, status) are the receiver's.
      const seen = new Map<string, number>();
      const expected = receiver.received.map(({ path, headers }) => {
        const pair = `${String(headers['webhook-id'])} ${path}`;
        const n = (seen.get(pair) ?? 0) + 1;
        seen.set(pair, n);
        const status = n === 1 && failsFirst(String(headers['webhook-id']), path) ? 503 : 200;
        return `${String(headers['webhook-id'])} ${subscriptionOf.get(path)} ${n} ${status}`;
      });
      const logged = await withPostgresClient(postgres.url, (client) =>
        client.query<{ event_id: string; subscription_id: string; attempt: number; status_code: number }>(
          'SELECT event_id, subscription_id, attempt, status_code FROM attempts',
        ),
      );
      expect(
        logged.rows
          .map((row) => `${row.event_id} ${row.subscription_id} ${row.attempt} ${row.status_code}`)
          .sort(),
      ).toEqual(expected.sort());
      expect(
        expected.filter((entry) => entry.endsWith(' 503')).length,
        'some pairs were retried',
      ).toBeGreaterThan(0);
      expect(
        await scrapeMetric(log.adminUrl, 'sluice_log_batches_total', { result: 'unavailable' }),
      ).toBeGreaterThan(0);
      expect(worker.fatalErrors).toEqual([]);

      // For information only (a shared 2-core machine; the stream's pace bounds both): requests/s
      // from the first to the last arrival before the kill, and from the first to the last after it.
      const before = arrivalsMs.filter((at) => at < killedAtMs);
      const during = arrivalsMs.filter((at) => at >= killedAtMs);
      console.info(
        `delivery during a log outage: ${written.length} events, ${requests} requests; ` +
          `${ratePerSecond(before)} requests/s before the kill, ${ratePerSecond(during)} requests/s with PostgreSQL down; ` +
          `${rowsAtKill} rows at the kill, all ${requests} stored ${caughtUpMs} ms after the restart`,
      );
    },
  );
});
