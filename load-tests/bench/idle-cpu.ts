/**
 * Idle CPU: what a gateway and a delivery worker cost while nothing happens. Starts one of each
 * (fresh topics and groups, no subscriptions, no events), waits until both answer /readyz and
 * a settle time has passed, then reads utime + stime of each from /proc over the idle window and
 * reports it as % of one core, per round and the median.
 *
 *   node --import tsx load-tests/bench/idle-cpu.ts [--idle-seconds 30] [--settle-seconds 10] \
 *     [--rounds 3] [--checkout DIR] [--json FILE]
 *
 * --checkout runs the processes of another checkout (its cli/sluice.ts and node_modules), e.g. the
 * main branch before a change, with the same harness. The stack is assumed up (KAFKA_BROKERS /
 * REDIS_URL or the local defaults). `npm run bench -- --only idle` runs it too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, planTopics } from '../../common/kafka/index.js';
import { repoRoot } from '../../cli/stack/paths.js';
import { loadTopicsConfig, topicsEnsure } from '../../cli/topics-command.js';
import { createLogger } from '../../common/logger.js';
import { generateSecretsKey } from '../../common/subscriptions/secrets-keyring.js';
import {
  startDeliverProcess,
  startGatewayProcess,
  waitReady,
  writeUnlimitedBenchKey,
  type BenchProcess,
} from './bench-processes.js';
import { median } from './open-loop-load.js';
import { cpuSeconds } from './process-cpu.js';

export interface IdleCpuOptions {
  /** What the processes need besides their topics: brokers, Redis, keys file, secrets key, ports. */
  env: Record<string, string>;
  kafkaBrokers: string[];
  /** The checkout whose `cli/sluice.ts` runs; default this one. */
  checkout?: string;
  idleSeconds: number;
  settleSeconds: number;
  rounds: number;
  log: (line: string) => void;
}

export interface IdleCpuReport {
  checkout: string;
  idleSeconds: number;
  settleSeconds: number;
  /** % of one core, one figure per round. */
  gatewayPercentPerRound: number[];
  deliverPercentPerRound: number[];
  gatewayPercent: number;
  deliverPercent: number;
}

const roundTo = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** % of one core `pid` spends over `idleSeconds`, from /proc (USER_HZ ticks: 10 ms resolution). */
async function idlePercent(pid: number, idleSeconds: number): Promise<number> {
  const startSeconds = cpuSeconds(pid);
  const startMs = performance.now();
  await sleep(idleSeconds * 1000);
  const spentSeconds = cpuSeconds(pid) - startSeconds;
  if (!Number.isFinite(spentSeconds)) throw new Error(`process ${pid} exited while idle`);
  return (spentSeconds * 100_000) / (performance.now() - startMs);
}

export async function benchIdleCpu(options: IdleCpuOptions): Promise<IdleCpuReport> {
  const { log, idleSeconds, settleSeconds } = options;
  const checkout = options.checkout ?? repoRoot();
  const prefix = `bench-idle-${Date.now()}`;
  const topicEnv: Record<string, string> = {
    ...options.env,
    SLUICE_HOST: '127.0.0.1',
    SLUICE_PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_EVENTS_TOPIC: `${prefix}.events`,
    SLUICE_RETRY_TOPIC_PREFIX: `${prefix}.retry.`,
    SLUICE_DLQ_TOPIC: `${prefix}.dlq`,
    SLUICE_ATTEMPTS_TOPIC: `${prefix}.attempts`,
    SLUICE_SUBSCRIPTIONS_TOPIC: `${prefix}.subscriptions`,
    SLUICE_IDEMPOTENCY_KEY_PREFIX: `${prefix}:idem:`,
    SLUICE_RATE_LIMIT_KEY_PREFIX: `${prefix}:rl:`,
    SLUICE_DEDUP_KEY_PREFIX: `${prefix}:dedup:`,
  };
  await topicsEnsure(topicEnv, createLogger('idle-cpu', 'warn'));
  const topics = planTopics(loadTopicsConfig(topicEnv).topics, loadTopicsConfig(topicEnv).retryDelaysMs);
  const groups: string[] = [];
  const gatewayPercentPerRound: number[] = [];
  const deliverPercentPerRound: number[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const groupId = `${prefix}.round-${round}`;
      groups.push(groupId, `${groupId}-retry`);
      const started: BenchProcess[] = [];
      try {
        // Side by side: each process's CPU time is its own, whatever else runs on the machine.
        const keep = (child: BenchProcess) => (started.push(child), child);
        const [gateway, deliver] = await Promise.all([
          startGatewayProcess(topicEnv, checkout).then(keep),
          startDeliverProcess({ ...topicEnv, SLUICE_DELIVERY_GROUP_ID: groupId }, checkout).then(keep),
        ]);
        await Promise.all([waitReady(gateway.adminUrl!), waitReady(deliver.adminUrl!)]);
        await sleep(settleSeconds * 1000);
        const [gatewayPercent, deliverPercent] = await Promise.all([
          idlePercent(gateway.pid, idleSeconds),
          idlePercent(deliver.pid, idleSeconds),
        ]);
        gatewayPercentPerRound.push(roundTo(gatewayPercent, 2));
        deliverPercentPerRound.push(roundTo(deliverPercent, 2));
        log(
          `idle round ${round}: gateway ${roundTo(gatewayPercent, 2)} %, deliver ${roundTo(deliverPercent, 2)} % of one core over ${idleSeconds} s`,
        );
      } finally {
        await Promise.all(started.map((child) => child.stop()));
      }
    }
  } finally {
    const admin = new Kafka({
      brokers: options.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.deleteGroups(groups).catch(() => undefined);
    // Only this run's own topics: the schema registry and sources topics are the stack's, shared.
    const own = topics.map((topic) => topic.name).filter((name) => name.startsWith(prefix));
    await admin.deleteTopics({ topics: own }).catch(() => undefined);
    await admin.disconnect();
  }
  return {
    checkout,
    idleSeconds,
    settleSeconds,
    gatewayPercentPerRound,
    deliverPercentPerRound,
    gatewayPercent: roundTo(median(gatewayPercentPerRound), 2),
    deliverPercent: roundTo(median(deliverPercentPerRound), 2),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'idle-seconds': { type: 'string', default: '30' },
      'settle-seconds': { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      checkout: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const workDir = join(repoRoot(), '.sluice', 'bench', `idle-${Date.now()}`);
  mkdirSync(workDir, { recursive: true });
  const { keysFile } = writeUnlimitedBenchKey(workDir);
  const report = await benchIdleCpu({
    env: {
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      SLUICE_API_KEYS_FILE: keysFile,
      SLUICE_SECRETS_KEYS: generateSecretsKey('bench'),
    },
    kafkaBrokers: brokers,
    checkout: values.checkout,
    idleSeconds: Number(values['idle-seconds']),
    settleSeconds: Number(values['settle-seconds']),
    rounds: Number(values.rounds),
    log: (line) => process.stderr.write(`idle-cpu: ${line}\n`),
  });
  const output = JSON.stringify(report, null, 2);
  process.stdout.write(`${output}\n`);
  if (values.json !== undefined) writeFileSync(values.json, output);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `idle-cpu: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
