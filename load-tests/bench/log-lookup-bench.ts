import { cpus, loadavg, totalmem } from 'node:os';
import { Pool } from 'undici';
import { createLogger } from '../../common/logger.js';
import {
  createPostgresPool,
  databaseUrlFor,
  quoteIdentifier,
  withPostgresClient,
} from '../../common/postgres/index.js';
import { dayStartMs, ensurePartitions } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';
import { startGatewayProcess, waitReady } from './bench-processes.js';
import { median, oneClass, percentile, runOpenLoop } from './open-loop-load.js';

export interface LogLookupBenchOptions {
  /** The stack's database URL: the bench creates a database of its own on that server. */
  databaseUrl: string;
  env: NodeJS.ProcessEnv;
  apiKey: string;
  rows: number;
  days: number;
  subscriptions: number;
  attemptsPerEvent: number;
  ratePerSecond: number;
  durationSeconds: number;
  rounds: number;
  log: (line: string) => void;
}

const dayMs = 86_400_000;
const databaseName = 'sluice_bench_log';

/**
 * Fills `attempts` with `rows` rows over `days` daily partitions, set-based in PostgreSQL
 * (generate_series, one statement per day): event e has `attemptsPerEvent` rows spread over three
 * subscriptions (first attempt, retries), its time spread evenly over the days. Attempt ids are
 * built from the row number, so the primary key grows in order: the load takes minutes, not an
 * hour, and the lookup under test (by event id) does not depend on them.
 */
async function fill(url: string, options: LogLookupBenchOptions): Promise<void> {
  const { rows, days, attemptsPerEvent, subscriptions } = options;
  const events = Math.ceil(rows / attemptsPerEvent);
  const firstDay = dayStartMs(Date.now()) - (days - 1) * dayMs;
  const pool = createPostgresPool(
    {
      url,
      maxConnections: 2,
      connectTimeoutMs: 5000,
      statementTimeoutMs: 3_600_000,
      applicationName: 'bench',
    },
    createLogger('bench', 'warn'),
  );
  try {
    await applyMigrations(pool, loadMigrations());
    await ensurePartitions(
      pool,
      Array.from({ length: days }, (_, day) => firstDay + day * dayMs),
    );
    const perDay = Math.ceil(events / days);
    for (let day = 0; day < days; day++) {
      const from = day * perDay;
      const to = Math.min(events, from + perDay) - 1;
      if (to < from) break;
      const startedMs = Date.now();
      // Row r: event e = r / k, attempt a = r % k; subscriptions (e + a % 3) % S; the last attempt
      // of each (event, subscription) delivered, the others retried; latency log-normal-ish.
      await pool.query(
        `INSERT INTO attempts (
           attempt_id, attempted_at, event_id, event_type, producer_id, subscription_id, attempt,
           latency_ms, status_code, error_class, response_headers, response_body,
           response_body_truncated, outcome, next_attempt_at, replay_id,
           source_topic, source_partition, source_offset)
         SELECT lpad(to_hex(r), 32, '0')::uuid,
                $1::timestamptz + (e - $2) * ($3::double precision / $4) * interval '1 millisecond' + a * interval '5 seconds',
                'evt_' || e, 'order.created', 'shop', 'sub_' || ((e + a % 3) % $5), a / 3 + 1,
                20 + (r % 97) * 1.7, CASE WHEN a >= $6 - 3 THEN 200 ELSE 503 END, NULL,
                '{"content-type":"application/json"}'::jsonb,
                CASE WHEN a >= $6 - 3 THEN '{"ok":true}' ELSE 'Service Unavailable' END, false,
                CASE WHEN a >= $6 - 3 THEN 'delivered' ELSE 'retry-scheduled' END,
                CASE WHEN a >= $6 - 3 THEN NULL ELSE $1::timestamptz + interval '1 day' END, NULL,
                'sluice.events', (e % 12)::integer, e
           FROM generate_series($2::bigint * $6, ($7::bigint + 1) * $6 - 1) AS r,
                LATERAL (SELECT r / $6 AS e, (r % $6)::integer AS a) AS x`,
        [
          new Date(firstDay + day * dayMs).toISOString(),
          from,
          dayMs - 60_000,
          perDay,
          subscriptions,
          attemptsPerEvent,
          to,
        ],
      );
      options.log(
        `log-lookup: day ${day + 1}/${days}: events ${from}..${to} in ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
      );
    }
    options.log('log-lookup: ANALYZE attempts');
    await pool.query('ANALYZE attempts');
    await pool.query(`CREATE TABLE bench_meta (rows bigint NOT NULL)`);
    await pool.query(`INSERT INTO bench_meta SELECT count(*) FROM attempts`);
  } finally {
    await pool.end();
  }
}

/** The bench database, built when missing or built for another size; reused otherwise. */
async function prepareDatabase(options: LogLookupBenchOptions): Promise<string> {
  const url = databaseUrlFor(options.databaseUrl, databaseName);
  const existing = await withPostgresClient(url, async (client) => {
    const meta = await client.query<{ rows: string }>('SELECT rows FROM bench_meta');
    return Number(meta.rows[0]?.rows ?? 0);
  }).catch(() => 0);
  if (existing === options.rows) {
    options.log(`log-lookup: reusing ${databaseName} (${existing} rows)`);
    return url;
  }
  await withPostgresClient(options.databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(databaseName)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdentifier(databaseName)}`);
  });
  options.log(
    `log-lookup: filling ${databaseName} with ${options.rows} attempt rows over ${options.days} days`,
  );
  const startedMs = Date.now();
  await fill(url, options);
  options.log(`log-lookup: filled in ${((Date.now() - startedMs) / 1000).toFixed(0)} s`);
  return url;
}

async function describeDatabase(url: string) {
  return withPostgresClient(url, async (client) => {
    const read = async (sql: string) => (await client.query<{ v: string }>(sql)).rows[0]?.v ?? '';
    return {
      version: await read(`SELECT current_setting('server_version') AS v`),
      sharedBuffers: await read(`SELECT current_setting('shared_buffers') AS v`),
      rows: Number(await read('SELECT rows::text AS v FROM bench_meta')),
      partitions: Number(
        await read(`SELECT count(*)::text AS v FROM pg_inherits WHERE inhparent = 'attempts'::regclass`),
      ),
      totalSize: await read(
        `SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) AS v FROM pg_inherits WHERE inhparent = 'attempts'::regclass`,
      ),
    };
  });
}

/**
 * `GET /v1/events/{id}` against a log of `rows` attempts: a real gateway process reading the bench
 * database, driven at a fixed arrival rate by the open-loop generator, each request a different
 * event chosen across the whole store (so most lookups are not in the pages the previous ones
 * read). Reports p50/p99 of the answers and the machine.
 */
export async function benchLogLookup(options: LogLookupBenchOptions) {
  const url = await prepareDatabase(options);
  const database = await describeDatabase(url);
  const events = Math.ceil(options.rows / options.attemptsPerEvent);
  const gateway = await startGatewayProcess({ ...options.env, SLUICE_LOG_DATABASE_URL: url });
  try {
    if (gateway.adminUrl !== undefined) await waitReady(gateway.adminUrl);
    const pool = new Pool(gateway.url, { connections: 32, pipelining: 1 });
    // A multiplicative walk over the events: every index a distinct, scattered event.
    const eventAt = (index: number, round: number) =>
      `/v1/events/evt_${(index * 7_919 + round * 104_729) % events}`;
    const headers = { authorization: `Bearer ${options.apiKey}` };
    await runOpenLoop(pool, {
      ...oneClass(headers),
      ratePerSecond: options.ratePerSecond,
      durationMs: 2000,
      path: (index) => eventAt(index, 99),
      method: 'GET',
      okStatus: 200,
      maxInFlight: 1000,
    });
    const runs = [];
    for (let round = 0; round < options.rounds; round++) {
      const result = await runOpenLoop(pool, {
        ...oneClass(headers),
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationSeconds * 1000,
        path: (index) => eventAt(index, round),
        method: 'GET',
        okStatus: 200,
        maxInFlight: 1000,
      });
      const outcome = result.byPriority.critical;
      const latencies = outcome.acceptedLatencyMs;
      const run = {
        sent: outcome.sent,
        ok: outcome.accepted,
        other: { ...outcome.otherStatuses, ...outcome.errors },
        p50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
        p99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
        maxMs: Math.round(Math.max(...latencies) * 100) / 100,
        generatorCpuCores: Math.round(result.generatorCpuCores * 100) / 100,
        sendLagP99Ms: Math.round(percentile(result.sendLagMs, 99) * 100) / 100,
        // The machine is shared: a busy one shows here first, and in the tail.
        loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      };
      options.log(
        `log-lookup round ${round + 1}: ${run.ok}/${run.sent} answered 200 at ${options.ratePerSecond}/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms (load average ${run.loadAverage1m})`,
      );
      runs.push(run);
    }
    await pool.close();
    return {
      route: 'GET /v1/events/{id}',
      ratePerSecond: options.ratePerSecond,
      durationSeconds: options.durationSeconds,
      events,
      subscriptions: options.subscriptions,
      database,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryBytes: totalmem() },
      runs,
      p50Ms: median(runs.map((run) => run.p50Ms)),
      p99Ms: median(runs.map((run) => run.p99Ms)),
      targetP99Ms: 20,
    };
  } finally {
    await gateway.stop();
  }
}
