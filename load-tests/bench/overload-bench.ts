/**
 * Flash-sale benchmark (docs/architecture.md#benchmarks): offers 3× and 10× the gateway's capacity,
 * open loop, with a mix of priority classes, and reports what admission control made of it:
 * admitted rate and latency against the unloaded p99, 429/503 counts, anything else (must be 0),
 * critical vs bulk admission, gateway RSS and CPU, backlog drain time, and whether every 202 is in
 * Kafka.
 *
 *   node --import tsx load-tests/bench/overload-bench.ts --smoke
 *
 * It creates a topic and keys of every priority class and runs its own `sluice gateway` (stack
 * assumed up: KAFKA_BROKERS / REDIS_URL or the local defaults), whose RSS and CPU it reads from
 * /proc and whose topic it reads back; k6/flash-sale-spike.ts is the spike for a gateway you run.
 * Options: --capacity REQ_PER_S|auto (auto: closed loop of --probe-concurrency critical requests,
 * default 256), --duration S (each spike, default 60), --unloaded-duration S (default 10),
 * --multipliers 3,10, --mix critical=1,normal=3,bulk=6, --connections N (default 512, opened before
 * each phase), --max-in-flight N (default: --connections; arrivals beyond it are counted, not
 * queued), --smoke (5 s spikes, 2 s unloaded, 3 s capacity probe), --json FILE, --rate-per-key N
 * (a rate limit for the keys; default: none in practice), --gateway-env NAME=VALUE (repeatable)
 * tunes the gateway.
 *
 * The generator is one Node process (undici): on a shared two-core machine it tops out at a few
 * thousand requests per second, so check "offered" against the target and the generator's CPU.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type Admin,
  createTopicsWithLeaders,
  Kafka,
  type KafkaClient,
  logLevel,
} from '../../common/kafka/index.js';
import { Pool, request } from 'undici';
import { repoRoot } from '../../cli/stack/paths.js';
import { shedReasons } from '../../gateway/admission/load-shedder.js';
import { createApiKey } from '../../gateway/auth/api-key-generator.js';
import { benchEvent, rssBytes, startGatewayProcess, type BenchProcess } from './bench-processes.js';
import { cpuSeconds } from './process-cpu.js';
import { priorities, type Priority } from '../../gateway/admission/priority.js';
import {
  openConnections,
  percentile,
  runClosedLoop,
  runOpenLoop,
  type OpenLoopResult,
} from './open-loop-load.js';

export interface OverloadBenchOptions {
  url: string;
  /** Admin port: shed counters by reason and the producer backlog (drain time). */
  adminUrl: string;
  /** Gateway process id, for RSS and CPU from /proc. */
  pid: number;
  /** Events topic and brokers, to check that every 202 is in Kafka. */
  topic: string;
  kafkaBrokers: string[];
  keys: Readonly<Record<Priority, string>>;
  /** Measured capacity in requests/s (single events, 202 after the Kafka ack), or `auto`. */
  capacity: number | 'auto';
  spikeDurationSeconds: number;
  unloadedDurationSeconds: number;
  capacityProbeSeconds: number;
  /** Requests in flight during the closed-loop capacity probe (enough to fill the group commit). */
  capacityProbeConcurrency: number;
  /** Offered load as multiples of capacity, one spike each. */
  multipliers: readonly number[];
  mix: Readonly<Record<Priority, number>>;
  connections: number;
  /**
   * Requests in flight at most; an arrival beyond it is not sent (counted as "not sent"). Default:
   * the connection count, so no request waits inside the generator and an admitted request's
   * latency is the gateway's (and the kernel's), not the generator's own queue when it cannot
   * keep up with the target rate.
   */
  maxInFlight: number;
  log: (line: string) => void;
}

export interface PhaseReport {
  name: string;
  targetRequestsPerSecond: number;
  offeredRequestsPerSecond: number;
  admittedRequestsPerSecond: number;
  admittedP50Ms: number;
  admittedP99Ms: number;
  /** Admitted p99 over the unloaded phase's p99 (target: at most 2, docs/architecture.md#benchmarks). */
  p99VsUnloaded: number;
  refusedP99Ms: number;
  /**
   * Little's law: mean requests in flight ÷ answers per second. Once the gateway is saturated this
   * is the mean latency whatever it sheds: it can only answer faster, or face fewer requests.
   */
  inFlightOverAnswerRateMs: number;
  rateLimited: number;
  shed: number;
  /** Answers other than 202/429/503-overloaded, by status and code; must be empty. */
  otherStatuses: Record<string, number>;
  /** Network errors and timeouts; must be empty. */
  errors: Record<string, number>;
  generatorDropped: number;
  /** Share of offered requests admitted, per class. */
  admittedShare: Record<Priority, number>;
  criticalVsBulkAdmission: number;
  /** Shed counters from /metrics (delta over the phase), by reason. */
  shedByReason: Record<string, number>;
  rssMaxMiB: number;
  gatewayCpuCores: number;
  generatorCpuCores: number;
  sendLagP99Ms: number;
  /** Most requests waiting in the generator for a connection (see `clientQueuedMax`). */
  clientQueuedMax: number;
  connectionsOpened: number;
  /** Host-wide TcpExtListenOverflows during the phase: SYNs dropped by full accept queues. */
  listenOverflows: number;
  /** Busiest second of the gateway, in cores. */
  gatewayCpuMaxCores: number;
  /** From the last arrival until nothing was pending for Kafka and every answer was in. */
  drainSeconds: number;
}

export interface OverloadReport {
  capacityRequestsPerSecond: number;
  rssBeforeMiB: number;
  phases: PhaseReport[];
  kafka: { admitted: number; found: number; missing: number; duplicates: number };
  /**
   * Correctness checks; a failure means an event was lost or a request failed in a way the
   * flash-sale criteria forbid (docs/architecture.md#benchmarks).
   */
  failures: string[];
}

/** One `order.created` event per request, with a unique partition key; the gateway assigns the id. */
function eventBody(prefix: string): (index: number) => string {
  const data = JSON.stringify(benchEvent.data);
  return (index) => `{"type":"order.created","key":"${prefix}-${index}","data":${data}}`;
}

function headersFor(apiKey: string): Record<string, string> {
  return { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
}

/** The gateway's /metrics text; undefined once it no longer answers (its phase shows errors). */
async function scrape(adminUrl: string): Promise<string | undefined> {
  try {
    const response = await request(`${adminUrl}/metrics`);
    return await response.body.text();
  } catch {
    return undefined;
  }
}

/** Sum of a metric's samples whose labels include `labels` (Prometheus text format). */
function sampleSum(text: string | undefined, name: string, labels: Record<string, string> = {}): number {
  if (text === undefined) return Number.NaN;
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = match[2] ?? '';
    if (Object.entries(labels).every(([label, value]) => present.includes(`${label}="${value}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
}

/**
 * Samples the gateway every 250 ms: RSS (VmRSS) and CPU, for the maximum RSS and the busiest
 * second of CPU since the last `take()`.
 */
function processSampler(pid: number) {
  let rssMax = 0;
  let cpuMax = 0;
  const recent: Array<{ atMs: number; cpuSeconds: number }> = [];
  const sample = () => {
    try {
      rssMax = Math.max(rssMax, rssBytes(pid));
      recent.push({ atMs: performance.now(), cpuSeconds: cpuSeconds(pid) });
      if (recent.length > 5) recent.shift();
      const first = recent[0]!;
      const last = recent.at(-1)!;
      if (last.atMs - first.atMs >= 900) {
        cpuMax = Math.max(cpuMax, (last.cpuSeconds - first.cpuSeconds) / ((last.atMs - first.atMs) / 1000));
      }
    } catch {
      // The process is gone; the phase will show it as errors.
    }
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  return {
    take(): { rssMaxMiB: number; cpuMaxCores: number } {
      sample();
      const taken = { rssMaxMiB: rssMax / 2 ** 20, cpuMaxCores: cpuMax };
      rssMax = 0;
      cpuMax = 0;
      return taken;
    },
    stop: () => clearInterval(timer),
  };
}

/** Host-wide count of connections dropped because a listen queue was full (Linux). */
function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const [names, values] = lines.filter((line) => line.startsWith('TcpExt:')).map((line) => line.split(' '));
    return Number(values?.[names?.indexOf('ListenOverflows') ?? -1]);
  } catch {
    return Number.NaN;
  }
}

/** Waits until the gateway has nothing pending for Kafka (or 2 minutes passed). */
async function waitForDrain(adminUrl: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const pending = sampleSum(await scrape(adminUrl), 'sluice_producer_pending_events');
    if (pending === 0 || Number.isNaN(pending)) return;
    await sleep(50);
  }
}

function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : Number.NaN;
}

function mergeCounts(target: Record<string, number>, source: Record<string, number>): void {
  for (const [key, count] of Object.entries(source)) target[key] = (target[key] ?? 0) + count;
}

function phaseReport(
  name: string,
  target: number,
  result: OpenLoopResult,
  context: {
    unloadedP99Ms: number;
    shedByReason: Record<string, number>;
    rssMaxMiB: number;
    gatewayCpuCores: number;
    gatewayCpuMaxCores: number;
    listenOverflows: number;
    drainSeconds: number;
  },
): PhaseReport {
  const outcomes = priorities.map((priority) => result.byPriority[priority]);
  const sum = (pick: (outcome: (typeof outcomes)[number]) => number) =>
    outcomes.reduce((total, outcome) => total + pick(outcome), 0);
  const acceptedLatency = outcomes.flatMap((outcome) => outcome.acceptedLatencyMs);
  const refusedLatency = outcomes.flatMap((outcome) => outcome.refusedLatencyMs);
  const otherStatuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const outcome of outcomes) {
    mergeCounts(otherStatuses, outcome.otherStatuses);
    mergeCounts(errors, outcome.errors);
  }
  const arrivalsSeconds = result.arrivalsMs / 1000;
  // Admitted throughput over the whole phase, answers after the last arrival included.
  const elapsedSeconds = result.elapsedMs / 1000;
  const admittedShare = Object.fromEntries(
    priorities.map((priority) => [
      priority,
      share(result.byPriority[priority].accepted, result.byPriority[priority].sent),
    ]),
  ) as Record<Priority, number>;
  const p99 = percentile(acceptedLatency, 99);
  return {
    name,
    targetRequestsPerSecond: target,
    offeredRequestsPerSecond: sum((outcome) => outcome.sent) / arrivalsSeconds,
    admittedRequestsPerSecond: sum((outcome) => outcome.accepted) / elapsedSeconds,
    admittedP50Ms: percentile(acceptedLatency, 50),
    admittedP99Ms: p99,
    p99VsUnloaded: p99 / context.unloadedP99Ms,
    refusedP99Ms: percentile(refusedLatency, 99),
    inFlightOverAnswerRateMs:
      (result.meanInFlight * 1000) /
      Math.max(1, (acceptedLatency.length + refusedLatency.length) / elapsedSeconds),
    rateLimited: sum((outcome) => outcome.rateLimited),
    shed: sum((outcome) => outcome.shed),
    otherStatuses,
    errors,
    generatorDropped: result.generatorDropped,
    admittedShare,
    criticalVsBulkAdmission: admittedShare.critical / admittedShare.bulk,
    shedByReason: context.shedByReason,
    rssMaxMiB: context.rssMaxMiB,
    gatewayCpuCores: context.gatewayCpuCores,
    generatorCpuCores: result.generatorCpuCores,
    sendLagP99Ms: percentile(result.sendLagMs, 99),
    clientQueuedMax: result.clientQueuedMax,
    connectionsOpened: result.connectionsOpened,
    listenOverflows: context.listenOverflows,
    gatewayCpuMaxCores: context.gatewayCpuMaxCores,
    drainSeconds: context.drainSeconds,
  };
}

function shedCounts(metrics: string | undefined): Record<string, number> {
  return Object.fromEntries(
    shedReasons.map((reason) => [reason, sampleSum(metrics, 'sluice_load_shed_total', { reason })]),
  );
}

/** Partition → next offset to be written, for a topic. */
async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((entry) => [entry.partition, BigInt(entry.high)]));
}

/**
 * Reads the topic from the offsets it had before the run to its end with an independent consumer
 * and checks that every id answered 202 is there (by the `ce_id` header), once.
 */
async function verifyInKafka(
  kafka: KafkaClient,
  topic: string,
  startOffsets: Map<number, bigint>,
  acceptedIds: readonly string[],
  log: (line: string) => void,
): Promise<NonNullable<OverloadReport['kafka']>> {
  const admin = kafka.admin();
  await admin.connect();
  const end = await endOffsets(admin, topic);
  await admin.disconnect();
  const expected = new Set(acceptedIds);
  const seen = new Map<string, number>();
  const remaining = new Set(
    [...end].filter(([p, high]) => high > (startOffsets.get(p) ?? 0n)).map(([p]) => p),
  );
  const consumer = kafka.consumer({ groupId: `sluice-overload-verify-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const id = message.headers?.ce_id?.toString();
          if (id !== undefined && expected.has(id)) seen.set(id, (seen.get(id) ?? 0) + 1);
          if (BigInt(message.offset) + 1n >= (end.get(batch.partition) ?? 0n))
            remaining.delete(batch.partition);
        }
      },
    });
    for (const [partition, offset] of startOffsets)
      consumer.seek({ topic, partition, offset: String(offset) });
    const deadline = performance.now() + 300_000;
    while (remaining.size > 0 && performance.now() < deadline) await sleep(100);
    if (remaining.size > 0) log(`Kafka check: partitions ${[...remaining].join(',')} not read to the end`);
  } finally {
    await consumer.disconnect();
  }
  const duplicates = [...seen.values()].filter((count) => count > 1).length;
  return { admitted: expected.size, found: seen.size, missing: expected.size - seen.size, duplicates };
}

export async function benchOverload(options: OverloadBenchOptions): Promise<OverloadReport> {
  const log = options.log;
  const pool = new Pool(options.url, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    // Connections opened before a phase must survive the calm gaps between phases.
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
  });
  const kafka = new Kafka({
    brokers: options.kafkaBrokers,
    clientId: 'sluice-overload-bench',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const startOffsets = await endOffsets(admin, options.topic);
  await admin.disconnect();
  const sampler = processSampler(options.pid);
  const runId = Date.now().toString(36);
  const acceptedIds: string[] = [];
  const headers = Object.fromEntries(
    priorities.map((priority) => [priority, headersFor(options.keys[priority])]),
  ) as Record<Priority, Record<string, string>>;

  try {
    const rssBeforeMiB = sampler.take().rssMaxMiB;
    let capacity: number;
    // Warm-up at low concurrency: JIT, connections and producer metadata. A cold gateway's
    // event-loop delay would otherwise trip load shedding for the first sampling window.
    const warmUp = await runClosedLoop(pool, {
      concurrency: 8,
      durationMs: Math.max(1000, (options.capacityProbeSeconds * 1000) / 3),
      path: '/v1/events',
      headers: headers.critical,
      body: eventBody(`warm-${runId}`),
    });
    for (const id of warmUp.acceptedIds) acceptedIds.push(id);
    await waitForDrain(options.adminUrl);
    await sleep(1000);
    if (options.capacity === 'auto') {
      const probe = await runClosedLoop(pool, {
        concurrency: options.capacityProbeConcurrency,
        durationMs: options.capacityProbeSeconds * 1000,
        path: '/v1/events',
        headers: headers.critical,
        body: eventBody(`cap-${runId}`),
      });
      for (const id of probe.acceptedIds) acceptedIds.push(id);
      capacity = probe.accepted / (probe.elapsedMs / 1000);
      log(
        `capacity probe: ${Math.round(capacity)} req/s (closed loop, ${options.capacityProbeConcurrency} in flight; not 202: ${JSON.stringify(probe.others)})`,
      );
      await waitForDrain(options.adminUrl);
    } else {
      capacity = options.capacity;
    }

    const phases: PhaseReport[] = [];
    let unloadedP99Ms = Number.NaN;
    const plans = [
      { name: 'unloaded', rate: Math.max(10, capacity * 0.1), seconds: options.unloadedDurationSeconds },
      ...options.multipliers.map((multiplier) => ({
        name: `${multiplier}× capacity`,
        rate: capacity * multiplier,
        seconds: options.spikeDurationSeconds,
      })),
    ];
    for (const plan of plans) {
      log(`${plan.name}: offering ${Math.round(plan.rate)} req/s for ${plan.seconds} s`);
      await openConnections(pool, options.connections);
      const metricsBefore = await scrape(options.adminUrl);
      const cpuBefore = cpuSeconds(options.pid);
      const overflowsBefore = listenOverflows();
      sampler.take();
      const result = await runOpenLoop(pool, {
        ratePerSecond: plan.rate,
        durationMs: plan.seconds * 1000,
        mix: options.mix,
        body: eventBody(`${plan.name.replace(/\W+/g, '')}-${runId}`),
        headers,
        path: '/v1/events',
        maxInFlight: options.maxInFlight,
      });
      await waitForDrain(options.adminUrl);
      const drainSeconds = (performance.now() - (result.startedAtMs + result.arrivalsMs)) / 1000;
      const cpuAfter = cpuSeconds(options.pid);
      const metricsAfter = await scrape(options.adminUrl);
      const { rssMaxMiB, cpuMaxCores } = sampler.take();
      const sampled = { rssMaxMiB, gatewayCpuMaxCores: cpuMaxCores };
      const before = shedCounts(metricsBefore);
      const after = shedCounts(metricsAfter);
      const report = phaseReport(plan.name, plan.rate, result, {
        unloadedP99Ms,
        shedByReason: Object.fromEntries(
          shedReasons.map((reason) => [reason, after[reason]! - before[reason]!]),
        ),
        ...sampled,
        listenOverflows: listenOverflows() - overflowsBefore,
        gatewayCpuCores: (cpuAfter - cpuBefore) / (result.elapsedMs / 1000),
        drainSeconds,
      });
      if (plan.name === 'unloaded') {
        unloadedP99Ms = report.admittedP99Ms;
        report.p99VsUnloaded = 1;
      }
      phases.push(report);
      // A loop, not push(...ids): a spike accepts hundreds of thousands, more than a call takes as arguments.
      for (const id of result.acceptedIds) acceptedIds.push(id);
      log(
        `${plan.name}: admitted ${Math.round(report.admittedRequestsPerSecond)} req/s, p99 ${report.admittedP99Ms.toFixed(1)} ms, 429 ${report.rateLimited}, 503 ${report.shed}`,
      );
      // A calm gap so the next phase starts from an idle gateway.
      await sleep(2000);
    }

    const kafkaCheck = await verifyInKafka(kafka, options.topic, startOffsets, acceptedIds, log);
    const failures: string[] = [];
    for (const phase of phases) {
      if (Object.keys(phase.otherStatuses).length > 0) {
        failures.push(
          `${phase.name}: answers other than 202/429/503 overloaded: ${JSON.stringify(phase.otherStatuses)}`,
        );
      }
      if (Object.keys(phase.errors).length > 0)
        failures.push(`${phase.name}: errors ${JSON.stringify(phase.errors)}`);
    }
    if (kafkaCheck.missing > 0) {
      failures.push(`${kafkaCheck.missing} of ${kafkaCheck.admitted} events answered 202 are not in Kafka`);
    }
    if (kafkaCheck.duplicates > 0) {
      failures.push(`${kafkaCheck.duplicates} events answered 202 are in Kafka more than once`);
    }
    return { capacityRequestsPerSecond: capacity, rssBeforeMiB, phases, kafka: kafkaCheck, failures };
  } finally {
    sampler.stop();
    await pool.close();
  }
}

const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const percent = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : '–');

/** The report as a plain-text table, one column per phase, then the checks. */
export function formatOverloadTable(report: OverloadReport): string {
  const rows: Array<[string, (phase: PhaseReport) => string]> = [
    ['offered target (req/s)', (p) => fixed(p.targetRequestsPerSecond)],
    ['offered achieved (req/s)', (p) => fixed(p.offeredRequestsPerSecond)],
    ['admitted (req/s)', (p) => fixed(p.admittedRequestsPerSecond)],
    ['admitted p50 (ms)', (p) => fixed(p.admittedP50Ms, 2)],
    ['admitted p99 (ms)', (p) => fixed(p.admittedP99Ms, 2)],
    ['p99 / unloaded p99 (≤ 2)', (p) => fixed(p.p99VsUnloaded, 2)],
    ['refused p99 (ms)', (p) => fixed(p.refusedP99Ms, 2)],
    ['in flight ÷ answers/s (ms)', (p) => fixed(p.inFlightOverAnswerRateMs, 2)],
    ['429 rate limited', (p) => String(p.rateLimited)],
    ['503 overloaded (shed)', (p) => String(p.shed)],
    [
      'shed by reason',
      (p) =>
        Object.entries(p.shedByReason)
          .filter(([, n]) => n > 0)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ') || '–',
    ],
    ['other answers (must be 0)', (p) => String(Object.values(p.otherStatuses).reduce((a, b) => a + b, 0))],
    ['errors (must be 0)', (p) => String(Object.values(p.errors).reduce((a, b) => a + b, 0))],
    ['not sent (generator cap)', (p) => String(p.generatorDropped)],
    ['critical admitted', (p) => percent(p.admittedShare.critical)],
    ['normal admitted', (p) => percent(p.admittedShare.normal)],
    ['bulk admitted', (p) => percent(p.admittedShare.bulk)],
    ['critical / bulk admission', (p) => fixed(p.criticalVsBulkAdmission, 2)],
    ['gateway RSS max (MiB)', (p) => fixed(p.rssMaxMiB, 1)],
    ['gateway CPU (cores)', (p) => fixed(p.gatewayCpuCores, 2)],
    ['gateway CPU, busiest 1 s (cores)', (p) => fixed(p.gatewayCpuMaxCores, 2)],
    ['generator CPU (cores)', (p) => fixed(p.generatorCpuCores, 2)],
    ['generator send lag p99 (ms)', (p) => fixed(p.sendLagP99Ms, 1)],
    ['queued in generator, max', (p) => String(p.clientQueuedMax)],
    ['connections opened', (p) => String(p.connectionsOpened)],
    ['listen queue overflows (host)', (p) => String(p.listenOverflows)],
    ['backlog drained after (s)', (p) => fixed(p.drainSeconds, 2)],
  ];
  const header = ['', ...report.phases.map((phase) => phase.name)];
  const body = rows.map(([label, cell]) => [label, ...report.phases.map(cell)]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  const lines = [
    `capacity C = ${fixed(report.capacityRequestsPerSecond)} req/s; gateway RSS before ${fixed(report.rssBeforeMiB, 1)} MiB`,
    line(header),
    ...body.map(line),
  ];
  const k = report.kafka;
  lines.push(
    `Kafka: ${k.found} of ${k.admitted} events answered 202 found by ce_id (${k.missing} missing, ${k.duplicates} duplicated)`,
  );
  lines.push(
    report.failures.length === 0
      ? 'checks: no lost event, no error, only 429/503 refusals'
      : `FAILED:\n  ${report.failures.join('\n  ')}`,
  );
  return lines.join('\n');
}

function parseMix(text: string): Record<Priority, number> {
  const mix: Record<Priority, number> = { critical: 0, normal: 0, bulk: 0 };
  for (const part of text.split(',')) {
    const [name, weight] = part.split('=');
    if (!priorities.includes(name as Priority) || !(Number(weight) >= 0)) {
      throw new Error(`--mix must look like critical=1,normal=3,bulk=6, got ${text}`);
    }
    mix[name as Priority] = Number(weight);
  }
  return mix;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      brokers: {
        type: 'string',
        default: process.env.KAFKA_BROKERS ?? process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092',
      },
      capacity: { type: 'string', default: 'auto' },
      duration: { type: 'string' },
      'unloaded-duration': { type: 'string' },
      multipliers: { type: 'string', default: '3,10' },
      mix: { type: 'string', default: 'critical=1,normal=3,bulk=6' },
      connections: { type: 'string', default: '512' },
      'probe-concurrency': { type: 'string', default: '256' },
      'max-in-flight': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      // Chose this mode when the bench could also drive a gateway it had not started; still accepted.
      spawn: { type: 'boolean', default: true },
      'rate-per-key': { type: 'string', default: '10000000' },
      'gateway-env': { type: 'string', multiple: true, default: [] },
      json: { type: 'string' },
    },
  });
  const log = (line: string) => process.stderr.write(`overload-bench: ${line}\n`);
  const smoke = values.smoke;
  const brokers = values.brokers.split(',');
  const extraEnv = Object.fromEntries(
    values['gateway-env'].map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--gateway-env must be NAME=VALUE, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const workDir = join(repoRoot(), '.sluice', 'bench', `overload-${Date.now()}`);
  mkdirSync(workDir, { recursive: true });
  const rate = Number(values['rate-per-key']);
  const created = priorities.map((priority) =>
    createApiKey({
      producerId: `bench-${priority}`,
      allowedEventTypes: ['*'],
      ratePerSecond: rate,
      burst: Math.ceil(rate),
      priority,
    }),
  );
  const keysFile = join(workDir, 'api-keys.jsonl');
  writeFileSync(keysFile, `${created.map((key) => key.line).join('\n')}\n`, { mode: 0o600 });
  const topic = `bench.overload.${Date.now()}`;
  const subscriptionsTopic = `${topic}.subscriptions`;
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  let gateway: BenchProcess | undefined;
  try {
    await createTopicsWithLeaders(admin, [
      {
        topic,
        numPartitions: 12,
        replicationFactor: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
      },
    ]);
    gateway = await startGatewayProcess({
      KAFKA_BROKERS: brokers.join(','),
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: '0',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_API_KEYS_FILE: keysFile,
      SLUICE_EVENTS_TOPIC: topic,
      // The gateway creates it (compacted) at start; a topic of its own keeps the run isolated.
      SLUICE_SUBSCRIPTIONS_TOPIC: subscriptionsTopic,
      SLUICE_SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      SLUICE_RATE_LIMIT_KEY_PREFIX: `bench:${Date.now()}:rl:`,
      SLUICE_LOG_LEVEL: 'warn',
      ...extraEnv,
    });
    log(`spawned gateway ${gateway.url} (pid ${gateway.pid}), topic ${topic}`);
    const report = await benchOverload({
      url: gateway.url,
      adminUrl: gateway.adminUrl!,
      pid: gateway.pid,
      topic,
      kafkaBrokers: brokers,
      keys: Object.fromEntries(created.map((key) => [key.record.priority, key.apiKey])) as Record<
        Priority,
        string
      >,
      capacity: values.capacity === 'auto' ? 'auto' : Number(values.capacity),
      spikeDurationSeconds: Number(values.duration ?? (smoke ? 5 : 60)),
      unloadedDurationSeconds: Number(values['unloaded-duration'] ?? (smoke ? 2 : 10)),
      capacityProbeSeconds: smoke ? 3 : 10,
      capacityProbeConcurrency: Number(values['probe-concurrency']),
      multipliers: values.multipliers.split(',').map(Number),
      mix: parseMix(values.mix),
      connections: Number(values.connections),
      maxInFlight: Number(values['max-in-flight'] ?? values.connections),
      log,
    });
    process.stdout.write(`${formatOverloadTable(report)}\n`);
    if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(report, null, 2));
    return report.failures.length === 0 ? 0 : 1;
  } finally {
    await gateway?.stop();
    await admin.deleteTopics({ topics: [topic, subscriptionsTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `overload-bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
