import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { withPostgresClient } from '../../common/postgres/index.js';
import { createDeliveryLog } from '../../gateway/delivery-log/delivery-log.js';
import {
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
} from '../delivery/delivery-fixture.js';
import { createTestDatabase, migrateLogDatabase } from '../support/postgres-fixture.js';
import { startTestLog, waitFor } from './log-fixture.js';

const events = 90;
const bodyLimitBytes = 4096;

/**
 * Failures a (event, subscription) gets before a 2xx, decided by a hash of the pair: 0 for about
 * 70 % of them, else 1 or 2 (the `1s,2s` schedule allows 3 attempts), so about 30 % of first
 * requests fail whatever the timing.
 */
function failuresFor(eventId: string, path: string): number {
  const byte = createHash('sha256').update(`${eventId}${path}`).digest()[0]!;
  if (byte % 10 >= 3) return 0;
  return byte % 2 === 0 ? 1 : 2;
}

/** The body the receiver answers: names the request, and is over the sample size on some of them. */
function bodyFor(eventId: string, path: string, n: number, status: number): string {
  const name = `${status} for ${eventId} on ${path}, request ${n}`;
  const long = createHash('sha256').update(name).digest()[0]! % 4 === 0;
  return long ? `${name} ${'ü'.repeat(2500)}` : name;
}

interface Row {
  event_id: string;
  subscription_id: string;
  attempt: number;
  status_code: number | null;
  outcome: string;
  next_attempt_at: Date | null;
  response_body: string | null;
  response_body_truncated: boolean;
  response_headers: Record<string, string>;
  error_class: string | null;
  source_topic: string | null;
  source_partition: number | null;
  source_offset: string | null;
  attempted_at: Date;
}

describe('delivery log: every attempt a worker makes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase('sluice_attempt_log');
    await migrateLogDatabase(database.url);
  });
  afterAll(() => database?.drop());

  it(
    'stores each attempt against a receiver failing ~30 %: counts, bodies, outcomes, status, source',
    { timeout: 180_000 },
    async () => {
      const setup = await prepareDelivery({
        SLUICE_RETRY_SCHEDULE: '1s,2s',
        // Failures here are the receiver's choice; the breaker must not park (and skew counts).
        SLUICE_BREAKER_MIN_ATTEMPTS: '1000000',
        SLUICE_LOG_RESPONSE_BODY_BYTES: String(bodyLimitBytes),
      });
      const receiver = await startReceiver();
      /** Requests seen per `${eventId} ${path}`, and the body sent for each request (in order). */
      const bodies = new Map<string, string[]>();
      receiver.respondWith((_req, res, index) => {
        const { path, headers } = receiver.received[index]!;
        const eventId = String(headers['webhook-id']);
        const key = `${eventId} ${path}`;
        const sent = bodies.get(key) ?? [];
        const n = sent.length + 1;
        const status = n <= failuresFor(eventId, path) ? (n % 2 === 1 ? 500 : 503) : 200;
        const body = bodyFor(eventId, path, n, status);
        sent.push(body);
        bodies.set(key, sent);
        res.writeHead(status, {
          'content-type': 'text/plain; charset=utf-8',
          'x-request-id': `${key} ${n}`,
          'set-cookie': 'session=not-for-the-log',
        });
        res.end(body);
      });
      const subscriptions = new MemorySubscriptions();
      const a = testSubscription({ url: `${receiver.url}/a` });
      const b = testSubscription({ url: `${receiver.url}/b` });
      subscriptions.put(a);
      subscriptions.put(b);
      const pathOf = new Map([
        [a.id, new URL(a.url).pathname],
        [b.id, new URL(b.url).pathname],
      ]);
      await startTestWorker(setup, subscriptions);
      await startTestLog({ databaseUrl: database.url, topic: setup.attemptsTopic });

      const written = await produceEvents(
        setup.eventsTopic,
        Array.from({ length: events }, () => ({})),
      );
      const expectedRequests =
        written.length * 2 +
        written.reduce(
          (sum, event) =>
            sum + failuresFor(event.id, pathOf.get(a.id)!) + failuresFor(event.id, pathOf.get(b.id)!),
          0,
        );
      const readRows = () =>
        withPostgresClient(database.url, async (client) => {
          const result = await client.query<Row>(
            `SELECT event_id, subscription_id, attempt, status_code, outcome, next_attempt_at,
                  response_body, response_body_truncated, response_headers, error_class,
                  source_topic, source_partition, source_offset::text AS source_offset, attempted_at
             FROM attempts ORDER BY event_id, subscription_id, attempt`,
          );
          return result.rows;
        });
      // Done when every delivery's 2xx is in the log; the receiver has seen every request by then.
      const rows = await waitFor(
        readRows,
        (found) => found.filter((row) => row.outcome === 'delivered').length >= events * 2,
        120_000,
      );
      const perPair = (eventId: string, subscriptionId: string) =>
        rows.filter((row) => row.event_id === eventId && row.subscription_id === subscriptionId);
      const mismatched = written.flatMap((event) =>
        [a, b].flatMap((subscription) => {
          const path = pathOf.get(subscription.id)!;
          const sent = bodies.get(`${event.id} ${path}`) ?? [];
          const logged = perPair(event.id, subscription.id);
          return sent.length === logged.length && sent.length === 1 + failuresFor(event.id, path)
            ? []
            : [
                {
                  event: event.id,
                  path,
                  sent,
                  logged: logged.map((row) => [row.attempt, row.status_code, row.outcome]),
                },
              ];
        }),
      );
      expect(mismatched, JSON.stringify(mismatched.slice(0, 3))).toEqual([]);
      expect(receiver.received).toHaveLength(expectedRequests);
      expect(rows).toHaveLength(expectedRequests);

      let failedRequests = 0;
      let truncatedBodies = 0;
      for (const event of written) {
        for (const subscription of [a, b]) {
          const path = pathOf.get(subscription.id)!;
          const sent = bodies.get(`${event.id} ${path}`) ?? [];
          const mine = perPair(event.id, subscription.id);
          // As many attempts in the log as requests at the receiver, numbered 1, 2, …
          expect(mine.map((row) => row.attempt)).toEqual(sent.map((_, index) => index + 1));
          mine.forEach((row, index) => {
            const body = sent[index]!;
            const last = index === mine.length - 1;
            const bytes = Buffer.from(body);
            const sample =
              bytes.length <= bodyLimitBytes ? body : bytes.subarray(0, bodyLimitBytes).toString();
            // A cut in a 2-byte character is stepped back over: U+FFFD never ends a sample.
            expect(row.response_body, `${event.id} ${path} ${index + 1}`).toBe(sample.replace(/\uFFFD$/, ''));
            expect(row.response_body_truncated).toBe(bytes.length > bodyLimitBytes);
            if (row.response_body_truncated) truncatedBodies += 1;
            expect(row.response_headers).toEqual({
              'content-type': 'text/plain; charset=utf-8',
              'x-request-id': `${event.id} ${path} ${index + 1}`,
              date: expect.any(String),
            });
            expect(row.error_class).toBeNull();
            expect(row.source_topic).toBe(setup.eventsTopic);
            expect(row.source_partition).toEqual(expect.any(Number));
            expect(row.source_offset).toMatch(/^\d+$/);
            expect({
              status: row.status_code,
              outcome: row.outcome,
              next: row.next_attempt_at !== null,
            }).toEqual(
              last
                ? { status: 200, outcome: 'delivered', next: false }
                : { status: index % 2 === 0 ? 500 : 503, outcome: 'retry-scheduled', next: true },
            );
            if (!last) {
              failedRequests += 1;
              expect(row.next_attempt_at!.getTime()).toBeGreaterThan(row.attempted_at.getTime());
            }
          });
          // Every attempt of one delivery points at the same events-topic record.
          expect(new Set(mine.map((row) => `${row.source_partition}/${row.source_offset}`)).size).toBe(1);
        }
      }
      // Every event's status, as GET /v1/events/{id} reads it: delivered to both subscriptions,
      // after as many attempts as the receiver saw.
      const reader = createDeliveryLog(
        {
          url: database.url,
          maxConnections: 2,
          connectTimeoutMs: 3000,
          statementTimeoutMs: 10_000,
          applicationName: 'test',
        },
        createLogger('test', 'silent'),
      );
      try {
        for (const event of written) {
          const status = await reader.eventStatus(event.id, {});
          expect(
            Object.fromEntries(
              (status ?? []).map((entry) => [entry.subscriptionId, [entry.status, entry.attempts]]),
            ),
            event.id,
          ).toEqual(
            Object.fromEntries(
              [a, b].map((subscription) => [
                subscription.id,
                ['delivered', bodies.get(`${event.id} ${pathOf.get(subscription.id)!}`)?.length],
              ]),
            ),
          );
          expect(await reader.eventAttempts(event.id, {})).toHaveLength(
            [a, b].reduce(
              (sum, subscription) => sum + 1 + failuresFor(event.id, pathOf.get(subscription.id)!),
              0,
            ),
          );
        }
      } finally {
        await reader.close();
      }
      // The hash gives this share; the assertion guards the test against a rule that fails nothing.
      expect(failedRequests / (events * 2)).toBeGreaterThan(0.15);
      expect(truncatedBodies).toBeGreaterThan(0);
    },
  );
});
