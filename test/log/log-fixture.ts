import { randomUUID } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { encodeAttemptRecord, type AttemptRecord } from '../../common/attempts/attempt-record.js';
import type { Producer } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import { withPostgresClient } from '../../common/postgres/index.js';
import { loadLogConfig } from '../../log/log-config.js';
import { startLogProcess, type LogProcess } from '../../log/log-process.js';
import { testKafka } from '../support/kafka-fixture.js';
import { sumSamples } from '../support/prometheus-text.js';
import { testKafkaBrokers, uniqueName } from '../support/stack-env.js';

/** `count` attempt records of distinct events, attempted around `atMs`, with a body sample each. */
export function attemptRecords(
  count: number,
  atMs = Date.now(),
  prefix = uniqueName('evt'),
): AttemptRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const failed = index % 3 === 0;
    return {
      attemptId: randomUUID(),
      eventId: `${prefix}-${index}`,
      eventType: 'order.created',
      producerId: 'shop',
      subscriptionId: `sub-${index % 4}`,
      attempt: 1 + (index % 2),
      attemptedAt: new Date(atMs - (index % 1000)).toISOString(),
      latencyMs: failed ? null : 5 + (index % 50),
      statusCode: failed ? null : 200,
      errorClass: failed ? 'timeout' : null,
      responseHeaders: failed ? {} : ({ 'content-type': 'text/plain' } as Record<string, string>),
      responseBody: failed ? null : `ok ${index} "quoted" \\ {braces} é`,
      responseBodyTruncated: false,
      outcome: failed ? 'retry-scheduled' : 'delivered',
      nextAttemptAt: failed ? new Date(atMs + 5000).toISOString() : null,
      replayId: null,
    };
  });
}

export async function produceAttempts(producer: Producer, topic: string, records: readonly AttemptRecord[]) {
  for (let start = 0; start < records.length; start += 500) {
    await producer.send({
      topic,
      acks: -1,
      messages: records.slice(start, start + 500).map((record) => encodeAttemptRecord(record)),
    });
  }
}

/** `sluice log`, in this process, on the test's topic, group and database; stopped when the test finishes. */
export async function startTestLog(options: {
  databaseUrl: string;
  topic: string;
  env?: Record<string, string>;
}): Promise<LogProcess & { adminUrl: string; groupId: string }> {
  const groupId = uniqueName('log');
  const config = loadLogConfig({
    SLUICE_LOG_DATABASE_URL: options.databaseUrl,
    SLUICE_KAFKA_BROKERS: testKafkaBrokers.join(','),
    SLUICE_ATTEMPTS_TOPIC: options.topic,
    SLUICE_LOG_GROUP_ID: groupId,
    SLUICE_ADMIN_PORT: '0',
    SLUICE_HOST: '127.0.0.1',
    SLUICE_KAFKA_SESSION_TIMEOUT_MS: '10s',
    SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
    SLUICE_SHUTDOWN_GRACE_MS: '5s',
    ...options.env,
  });
  const log = await startLogProcess(config, createLogger('sluice-log-test'), {
    kafka: testKafka('sluice-log-test'),
    onFatal: (error) => {
      throw error;
    },
  });
  onTestFinished(() => log.shutdown());
  return { ...log, adminUrl: `http://127.0.0.1:${log.adminPort}`, groupId };
}

/** Rows of the attempts table, and distinct attempt ids among them. */
export async function countRows(databaseUrl: string): Promise<{ rows: number; distinct: number }> {
  return withPostgresClient(databaseUrl, async (client) => {
    const result = await client.query<{ rows: string; distinct: string }>(
      'SELECT count(*) AS rows, count(DISTINCT attempt_id) AS distinct FROM attempts',
    );
    return { rows: Number(result.rows[0]!.rows), distinct: Number(result.rows[0]!.distinct) };
  });
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last value read. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await read();
      if (done(value)) return value;
    } catch {
      // The database may be down: that is what some tests wait out.
    }
    if (Date.now() > deadline) {
      if (value !== undefined) return value;
      throw new Error('timed out');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * `sluice_log_lag_records` summed over partitions, once the lag reader has set it (undefined
 * before: a gauge with no sample is not a lag of 0).
 */
export async function readLag(adminUrl: string): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const lag = sumSamples(text, 'sluice_log_lag_records');
  return lag.found ? lag.sum : undefined;
}

/** Waits until the log has consumed its topic to the end (lag 0); returns the last lag it read. */
export function waitForNoLag(adminUrl: string, timeoutMs: number): Promise<number | undefined> {
  return waitFor(
    () => readLag(adminUrl),
    (lag) => lag === 0,
    timeoutMs,
  );
}
