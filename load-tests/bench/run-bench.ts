/**
 * `npm run bench`: Sluice's benchmarks with their baselines measured in the same run
 * (docs/architecture.md#benchmarks). Prints a table and writes JSON to .sluice/bench/. Options:
 *   --duration SECONDS   length of each measured run (default 10)
 *   --rounds N           interleaved rounds per comparison (default 3)
 *   --only NAME          idle | producer | ingest | delivery | log | log-lookup | overload (default: all
 *                        of them); log alone also runs the delivery bench, for its ratio
 *   --log-records N      log: attempt records pre-filled and drained per round, the first tenth
 *                        unmeasured (default 100000)
 *   --idle-seconds S     idle: window over which an idle gateway's and worker's CPU is read (default 30)
 *   --spike-duration S   each overload spike (3× and 10× capacity; default 60)
 *   --events N           delivery: events the worker drains per round, measured (default 20000)
 *   --warmup-events N    delivery: events drained before those, not measured (default 10000)
 *   --log-rows N         log-lookup: attempt rows in the bench's log database (default 10000000)
 *   --log-rate N         log-lookup: GET /v1/events/{id} per second, fixed (default 200)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTopicsWithLeaders, Kafka, logLevel } from '../../common/kafka/index.js';
import { generateSecretsKey } from '../../common/subscriptions/secrets-keyring.js';
import { repoRoot } from '../../cli/stack/paths.js';
import { createLogger } from '../../common/logger.js';
import { schemasImport } from '../../cli/schemas-command.js';
import { stackUp } from '../../cli/stack/stack.js';
import { stackProcesses } from './stack-processes.js';
import { writeUnlimitedBenchKey } from './bench-processes.js';
import { benchDelivery } from './delivery-bench.js';
import { benchIdleCpu } from './idle-cpu.js';
import { benchLog } from './log-bench.js';
import { benchIngest } from './ingest-bench.js';
import { benchLogLookup } from './log-lookup-bench.js';
import { benchProducer } from './producer-bench.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    'spike-duration': { type: 'string', default: '60' },
    events: { type: 'string', default: '20000' },
    'warmup-events': { type: 'string', default: '10000' },
    'idle-seconds': { type: 'string', default: '30' },
    'log-records': { type: 'string', default: '100000' },
    'log-rows': { type: 'string', default: '10000000' },
    'log-rate': { type: 'string', default: '200' },
  },
});
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const durationSeconds = Number(values.duration);
const rounds = Number(values.rounds);

const endpoints = await stackUp(process.env, log);
// The benches send the example event types: registered (idempotently) as `sluice dev` does.
await schemasImport(
  [],
  { ...process.env, KAFKA_BROKERS: endpoints.kafkaBrokers.join(',') },
  createLogger('bench', 'warn'),
);
const workDir = join(repoRoot(), '.sluice', 'bench');
mkdirSync(workDir, { recursive: true });

const { apiKey, keysFile } = writeUnlimitedBenchKey(workDir);

const processes = await stackProcesses(endpoints);
log(
  `CPU per event is read from /proc for: ${Object.entries(processes)
    .map(([role, pid]) => `${role} ${pid ?? '(not on this machine)'}`)
    .join(', ')}`,
);

const eventsTopic = `bench.events.${Date.now()}`;
const admin = new Kafka({
  brokers: endpoints.kafkaBrokers,
  logLevel: logLevel.NOTHING,
}).admin();
await admin.connect();
await createTopicsWithLeaders(admin, [
  {
    topic: eventsTopic,
    numPartitions: 12,
    replicationFactor: 1,
    configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
  },
]);

const env = {
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  REDIS_URL: endpoints.redisUrl,
  SLUICE_HOST: '127.0.0.1',
  SLUICE_PORT: '0',
  SLUICE_ADMIN_PORT: '0',
  SLUICE_API_KEYS_FILE: keysFile,
  SLUICE_EVENTS_TOPIC: eventsTopic,
  SLUICE_LOG_LEVEL: 'warn',
  SLUICE_SECRETS_KEYS: generateSecretsKey('bench'),
};

const report: Record<string, unknown> = { startedAt: new Date().toISOString(), durationSeconds, rounds };
try {
  if (!values.only || values.only === 'idle') {
    // First, while nothing else this run starts is running: what Sluice costs doing nothing.
    report.idle = await benchIdleCpu({
      env,
      kafkaBrokers: endpoints.kafkaBrokers,
      idleSeconds: Number(values['idle-seconds']),
      settleSeconds: 10,
      rounds,
      log,
    });
  }
  if (!values.only || values.only === 'producer') {
    // The Kafka client alone, kafkajs's record encoder against Sluice's: the floor under ingest.
    report.producer = await benchProducer({
      kafkaBrokers: endpoints.kafkaBrokers,
      rounds,
      durationSeconds,
      log,
    });
  }
  if (!values.only || values.only === 'ingest') {
    report.ingest = await benchIngest({
      env,
      apiKey,
      eventsTopic,
      kafkaBrokers: endpoints.kafkaBrokers.join(','),
      rounds,
      durationSeconds,
      connections: 128,
      workDir,
      stackProcesses: processes,
      log,
    });
  }
  if (!values.only || values.only === 'delivery' || values.only === 'log') {
    const ingest = report.ingest as Awaited<ReturnType<typeof benchIngest>> | undefined;
    report.delivery = await benchDelivery({
      env,
      apiKey,
      kafkaBrokers: endpoints.kafkaBrokers,
      rounds,
      events: Number(values.events),
      warmupEvents: Number(values['warmup-events']),
      concurrency: 64,
      latencySeconds: durationSeconds,
      ingestRequestsPerSecond: ingest?.single.sluice.requestsPerSecond,
      workDir,
      stackProcesses: processes,
      log,
    });
  }
  if (!values.only || values.only === 'log') {
    // The log must keep up with the workers: its drain rate over one worker's delivery rate, both
    // measured in this run.
    const delivery = report.delivery as Awaited<ReturnType<typeof benchDelivery>> | undefined;
    report.log = await benchLog({
      kafkaBrokers: endpoints.kafkaBrokers,
      databaseUrl: endpoints.databaseUrl,
      records: Number(values['log-records']),
      rounds,
      deliveriesPerSecond: delivery?.throughput.sluiceDeliveriesPerSecond,
      stackProcesses: processes,
      log,
    });
  }
  if (!values.only || values.only === 'log-lookup') {
    report.logLookup = await benchLogLookup({
      databaseUrl: endpoints.databaseUrl,
      env,
      apiKey,
      rows: Number(values['log-rows']),
      days: 14,
      subscriptions: 50,
      attemptsPerEvent: 10,
      ratePerSecond: Number(values['log-rate']),
      durationSeconds,
      rounds,
      log,
    });
  }
  if (!values.only || values.only === 'overload') {
    // Its own process: it spawns its own gateway with keys of every priority class and checks
    // every 202 against Kafka afterwards; see overload-bench.ts.
    const jsonFile = join(workDir, `overload-${Date.now()}.json`);
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(repoRoot(), 'load-tests', 'bench', 'overload-bench.ts'),
        '--duration',
        values['spike-duration'],
        '--json',
        jsonFile,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS, REDIS_URL: env.REDIS_URL },
      },
    );
    report.overload = existsSync(jsonFile)
      ? JSON.parse(readFileSync(jsonFile, 'utf8'))
      : { failed: run.status };
  }
} finally {
  await admin.deleteTopics({ topics: [eventsTopic] }).catch(() => undefined);
  await admin.disconnect();
}

const file = join(workDir, `results-${Date.now()}.json`);
writeFileSync(file, JSON.stringify(report, null, 2));
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
log(`results written to ${file}`);
process.exit(0);
