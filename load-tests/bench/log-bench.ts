import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { encodeAttemptRecord, type AttemptRecord } from '../../common/attempts/attempt-record.js';
import { createTopicsWithLeaders, Kafka, logLevel } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import {
  createPostgresPool,
  databaseUrlFor,
  quoteIdentifier,
  withPostgresClient,
} from '../../common/postgres/index.js';
import { loadLogConfig } from '../../log/log-config.js';
import { startLogProcess } from '../../log/log-process.js';
import { maintainPartitions } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';

export interface LogBenchOptions {
  kafkaBrokers: string[];
  /** The stack's PostgreSQL server; the bench makes a database of its own on it and drops it. */
  databaseUrl: string;
  /** Attempt records pre-filled into the topic and drained, per round. */
  records: number;
  rounds: number;
  /** One worker's webhooks/s measured in the same run (the delivery bench), for the ratio. */
  deliveriesPerSecond: number | undefined;
  log: (line: string) => void;
}

export interface LogBenchReport {
  records: number;
  bodySampleShare: number;
  /** Rows/s `sluice log` stored while draining the pre-filled topic, one per round. */
  rowsPerSecondRuns: number[];
  rowsPerSecond: number;
  deliveriesPerSecond: number | undefined;
  /** The log's rows/s over one worker's webhooks/s (target ≥ 1.5). */
  ratio: number | undefined;
  postgres: { fsync: string; synchronousCommit: string };
}

/**
 * Realistic records: events with 1–4 attempts (retry-scheduled… then delivered), four
 * subscriptions, a 4 KiB body on a quarter of the answers, allow-listed headers on each.
 */
function realisticRecords(count: number): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  const nowMs = Date.now();
  const bigBody = 'x'.repeat(4096);
  for (let event = 0; records.length < count; event += 1) {
    const eventId = `evt_${randomUUID()}`;
    const attempts = 1 + (event % 4);
    for (let attempt = 1; attempt <= attempts && records.length < count; attempt += 1) {
      const last = attempt === attempts;
      const status = last ? 200 : 503;
      records.push({
        attemptId: randomUUID(),
        eventId,
        eventType: 'order.created',
        producerId: 'shop',
        subscriptionId: `sub_${event % 4}`,
        attempt,
        attemptedAt: new Date(nowMs - 1000 + attempt).toISOString(),
        latencyMs: 12.5,
        statusCode: status,
        errorClass: null,
        responseHeaders: { 'content-type': 'application/json', date: new Date(nowMs).toUTCString() },
        responseBody: records.length % 4 === 0 ? bigBody : `{"ok":${last},"event":"${eventId}"}`,
        responseBodyTruncated: records.length % 4 === 0,
        outcome: last ? 'delivered' : 'retry-scheduled',
        nextAttemptAt: last ? null : new Date(nowMs + 5000).toISOString(),
        replayId: null,
        sourceTopic: 'sluice.events',
        sourcePartition: event % 12,
        sourceOffset: String(event),
      });
    }
  }
  return records;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * How fast `sluice log` drains a backlog of attempt records into PostgreSQL: the topic is filled
 * first, then the log starts (in this process, which only waits meanwhile) and the clock runs
 * from its start until the table holds every record.
 */
export async function benchLog(options: LogBenchOptions): Promise<LogBenchReport> {
  const { log } = options;
  const quiet = createLogger('log-bench', 'warn');
  const kafka = new Kafka({ brokers: options.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  const settings = await withPostgresClient(options.databaseUrl, async (client) => ({
    fsync: String((await client.query('SHOW fsync')).rows[0].fsync),
    synchronousCommit: String((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit),
  }));
  const runs: number[] = [];
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      const name = `bench_log_${Date.now()}`;
      const topic = `bench.attempts.${Date.now()}`;
      await withPostgresClient(options.databaseUrl, (client) =>
        client.query(`CREATE DATABASE ${quoteIdentifier(name)}`),
      );
      const url = databaseUrlFor(options.databaseUrl, name);
      try {
        const pool = createPostgresPool(
          {
            url,
            maxConnections: 2,
            connectTimeoutMs: 5000,
            statementTimeoutMs: 60_000,
            applicationName: 'bench',
          },
          quiet,
        );
        await applyMigrations(pool, loadMigrations());
        await maintainPartitions(pool, Date.now(), { retentionMs: 14 * 86_400_000, daysAhead: 2 });
        await pool.end();
        await createTopicsWithLeaders(admin, [{ topic, numPartitions: 12, replicationFactor: 1 }]);
        const records = realisticRecords(options.records);
        for (let start = 0; start < records.length; start += 1000) {
          await producer.send({
            topic,
            acks: -1,
            messages: records.slice(start, start + 1000).map((record) => encodeAttemptRecord(record)),
          });
        }
        const config = loadLogConfig({
          SLUICE_LOG_DATABASE_URL: url,
          KAFKA_BROKERS: options.kafkaBrokers.join(','),
          SLUICE_ATTEMPTS_TOPIC: topic,
          SLUICE_LOG_GROUP_ID: `${name}.group`,
          SLUICE_ADMIN_PORT: '0',
          SLUICE_HOST: '127.0.0.1',
        });
        const startedMs = performance.now();
        const logProcess = await startLogProcess(config, quiet, {
          onFatal: (error) => log(`sluice log failed: ${error.message}`),
        });
        let rows = 0;
        try {
          while (rows < records.length) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            rows = await withPostgresClient(url, async (client) =>
              Number((await client.query('SELECT count(*) AS n FROM attempts')).rows[0].n),
            );
          }
        } finally {
          await logProcess.shutdown();
        }
        const rate = Math.round(records.length / ((performance.now() - startedMs) / 1000));
        runs.push(rate);
        log(`log round ${round}: ${records.length} records drained at ${rate} rows/s`);
      } finally {
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await withPostgresClient(options.databaseUrl, (client) =>
          client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
        ).catch(() => undefined);
      }
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  const rowsPerSecond = median(runs);
  return {
    records: options.records,
    bodySampleShare: 0.25,
    rowsPerSecondRuns: runs,
    rowsPerSecond,
    deliveriesPerSecond: options.deliveriesPerSecond,
    ratio:
      options.deliveriesPerSecond === undefined
        ? undefined
        : Math.round((rowsPerSecond / options.deliveriesPerSecond) * 100) / 100,
    postgres: settings,
  };
}
