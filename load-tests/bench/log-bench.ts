import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeAttemptRecord, type AttemptRecord } from '../../common/attempts/attempt-record.js';
import { createTopicsWithLeaders, Kafka, logLevel } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import {
  createPostgresPool,
  databaseUrlFor,
  quoteIdentifier,
  withPostgresClient,
} from '../../common/postgres/index.js';
import { maintainPartitions } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';
import { startSluiceLogProcess } from './bench-processes.js';
import { describeMicros, medianMicros, startCpuMeter, type ProcessRoles } from './process-cpu.js';

export interface LogBenchOptions {
  kafkaBrokers: string[];
  /** The stack's PostgreSQL server; the bench makes a database of its own on it and drops it. */
  databaseUrl: string;
  /** Attempt records pre-filled into the topic and drained, per round. */
  records: number;
  rounds: number;
  /** One worker's webhooks/s measured in the same run (the delivery bench), for the ratio. */
  deliveriesPerSecond: number | undefined;
  /** The broker (and Redis): their CPU per row is reported beside the log process's. */
  stackProcesses: ProcessRoles;
  log: (line: string) => void;
}

export interface LogBenchReport {
  records: number;
  /** Rows stored before the clock starts, per round: process start, group join, JIT warm-up. */
  warmupRecords: number;
  bodySampleShare: number;
  /** Rows/s `sluice log` stored while draining the pre-filled topic, one per round. */
  rowsPerSecondRuns: number[];
  /** CPU µs per stored row of the log process and the broker (median over rounds). */
  cpuMicrosPerRow: Record<string, number>;
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

/** `sluice_log_rows_written_total` of the log process: rows it committed to PostgreSQL. */
async function rowsWritten(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const sample = /^sluice_log_rows_written_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return sample === null ? 0 : Number(sample[1]);
}

/**
 * How fast `sluice log` stores attempt records into PostgreSQL, from Kafka: the topic is filled
 * first, then `sluice log` starts as a process of its own (as `sluice deliver` does in the
 * delivery bench, the denominator of the ratio) and drains it. Like the worker's, the rate leaves
 * out a warm-up (the first tenth of the records: process start, group join, JIT) and runs from the
 * moment that many rows were committed to the moment all of them were, read from the process's
 * `sluice_log_rows_written_total` every 100 ms (a `count(*)` that often would load the database
 * under test); the table is then counted to check every record became exactly one row.
 */
export async function benchLog(options: LogBenchOptions): Promise<LogBenchReport> {
  const { log } = options;
  const quiet = createLogger('log-bench', 'warn');
  const kafka = new Kafka({ brokers: options.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const settings = await withPostgresClient(options.databaseUrl, async (client) => ({
    fsync: String((await client.query('SHOW fsync')).rows[0].fsync),
    synchronousCommit: String((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit),
  }));
  const runs: number[] = [];
  const cpuRuns: Array<Record<string, number>> = [];
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
        // A producer per round: kafkajs keeps every topic it wrote to in its metadata requests, and
        // the previous round's topic is deleted by now.
        const producer = kafka.producer();
        await producer.connect();
        try {
          for (let start = 0; start < records.length; start += 1000) {
            await producer.send({
              topic,
              acks: -1,
              messages: records.slice(start, start + 1000).map((record) => encodeAttemptRecord(record)),
            });
          }
        } finally {
          await producer.disconnect();
        }
        const warmup = Math.max(1, Math.floor(records.length / 10));
        const logProcess = await startSluiceLogProcess({
          SLUICE_LOG_DATABASE_URL: url,
          KAFKA_BROKERS: options.kafkaBrokers.join(','),
          SLUICE_ATTEMPTS_TOPIC: topic,
          // A topic that does not exist: the log reads the attempts alone.
          SLUICE_DLQ_TOPIC: `${topic}.no-dlq`,
          SLUICE_LOG_GROUP_ID: `${name}.group`,
          SLUICE_ADMIN_PORT: '0',
          SLUICE_HOST: '127.0.0.1',
        });
        let run: { rowsPerSecond: number; cpu: Record<string, number> };
        try {
          const adminUrl = logProcess.adminUrl!;
          const waitRows = async (target: number) => {
            for (;;) {
              const rows = await rowsWritten(adminUrl);
              if (rows >= target) return { rows, atMs: performance.now() };
              if (logProcess.child.exitCode !== null) throw new Error('sluice log exited during the bench');
              await sleep(100);
            }
          };
          const warm = await waitRows(warmup);
          const cpu = startCpuMeter({ log: logProcess.pid, ...options.stackProcesses });
          const drained = await waitRows(records.length);
          const rows = drained.rows - warm.rows;
          run = {
            rowsPerSecond: Math.round((rows * 1000) / (drained.atMs - warm.atMs)),
            cpu: cpu.microsPer(rows),
          };
        } finally {
          await logProcess.stop();
        }
        const stored = await withPostgresClient(url, async (client) =>
          Number((await client.query('SELECT count(*) AS n FROM attempts')).rows[0].n),
        );
        if (stored !== records.length) {
          throw new Error(`the log stored ${stored} rows of ${records.length} records`);
        }
        runs.push(run.rowsPerSecond);
        cpuRuns.push(run.cpu);
        log(
          `log round ${round}: ${records.length} records (first ${warmup} as warm-up) stored at ` +
            `${run.rowsPerSecond} rows/s by sluice log; CPU µs per row: ${describeMicros(run.cpu)}`,
        );
      } finally {
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await withPostgresClient(options.databaseUrl, (client) =>
          client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
        ).catch(() => undefined);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const rowsPerSecond = median(runs);
  const ratio =
    options.deliveriesPerSecond === undefined
      ? undefined
      : Math.round((rowsPerSecond / options.deliveriesPerSecond) * 100) / 100;
  log(
    ratio === undefined
      ? `log: ${rowsPerSecond} rows/s (median of ${runs.length}); no delivery rate in this run, so no ratio`
      : `log: ratio ${ratio} (sluice log ${rowsPerSecond} rows/s over one worker's ${options.deliveriesPerSecond} deliveries/s, same run; target ≥ 1.5)`,
  );
  return {
    records: options.records,
    warmupRecords: Math.max(1, Math.floor(options.records / 10)),
    bodySampleShare: 0.25,
    rowsPerSecondRuns: runs,
    rowsPerSecond,
    cpuMicrosPerRow: medianMicros(cpuRuns),
    deliveriesPerSecond: options.deliveriesPerSecond,
    ratio,
    postgres: settings,
  };
}
