/**
 * Delivery benchmark (docs/architecture.md#benchmarks):
 *
 * (a) Throughput: the real worker (`sluice deliver`, its own process) drains W + N pre-produced
 *     events to one subscription on a fast mock receiver, against a raw undici `Pool` loop posting
 *     W + N equally sized, equally signed bodies to the same receiver with the same concurrency.
 *     Interleaved rounds; both measured at the receiver, from the W-th to the (W + N)-th 2xx, and
 *     CPU from there on too. Each side runs in a fresh process of its own every round, the raw
 *     loop included (this file with --raw-loop-child): in the process that had just run the
 *     ingest benchmarks it was a third slower, which flattered the ratio. The first W (warm-up)
 *     are left out on both sides: a new process's group join and JIT warm-up are not what a
 *     long-running one delivers at. The target is ≥ 0.85 of the delivery floor (sluiceOverFloor).
 *     Each round also drains with the worker's attempt records off (SLUICE_ATTEMPT_RECORDS=false):
 *     attemptRecordsRatio is what writing the delivery log's records leaves of the rate, and the
 *     floor drains once more writing them with the worker's parts (floorAttemptRecordsRatio): what
 *     they cost any worker, the bound of the first. And once more with the subscription carrying a payload filter that matches every event plus custom
 *     headers, one of them secret (its own subscriptions topic, the same backlog and receiver):
 *     optionsRatio is that worker over the raw loop, beside ratio, and optionsOverPlain what the
 *     filter and headers leave of the plain worker's rate (#18: within noise of it).
 * (b) Latency at half capacity: a spawned gateway, the worker and the receiver. First the
 *     capacity of that whole pipeline on this machine (all of it shares the cores, so it is less
 *     than either part alone): single events offered at min(ingest, delivery capacity from (a))
 *     for 5 s, accepted events over the time from the first 202 to the last webhook. Then single
 *     events posted open loop at half of it; p50/p99 of (webhook arrival at the receiver − the
 *     gateway's 202 arriving here). Target p99 ≤ 50 ms.
 *
 * The receiver runs in a child process of its own (this file with --receiver-child, over IPC),
 * so neither the worker nor the baseline loop shares an event loop with it.
 *
 * `npm run bench -- --only delivery` runs it (options at the top of run-bench.ts); a quick check
 * that it runs: `--events 3000 --warmup-events 1000 --rounds 1 --duration 3`. It creates its own
 * topics and subscription; without the ingest bench's capacity it measures one with wrk.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka, type KafkaClient, KeyPartitioner, logLevel, planTopics } from '../../common/kafka/index.js';
import { Pool } from 'undici';
import { loadTopicsConfig, topicsEnsure } from '../../cli/topics-command.js';
import { createLogger } from '../../common/logger.js';
import { createSsrfPolicy } from '../../common/ssrf-guard.js';
import { parseSecretsKeys, SecretsKeyring } from '../../common/subscriptions/secrets-keyring.js';
import type { SubscriptionCreateInput } from '../../common/subscriptions/subscription-input.js';
import { createSubscriptionStore } from '../../common/subscriptions/subscription-store.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { buildAttemptHeaders, buildWebhookBody } from '../../consumers/delivery/webhook-payload.js';
import { decodeEvent, encodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog } from '../../schemas/schema-catalog.js';
import { startMockReceiver, type MockReceiverStats } from '../lib/mock-receiver.js';
import {
  benchEvent,
  startDeliverProcess,
  startDeliveryFloorProcess,
  startGatewayProcess,
  waitReady,
  type BenchProcess,
} from './bench-processes.js';
import { median, oneClass, percentile, runOpenLoop } from './open-loop-load.js';
import { runWrk } from './wrk.js';
import { deleteKeysWithPrefix } from './redis-keys.js';
import { describeMicros, medianMicros, startCpuMeter, type ProcessRoles } from './process-cpu.js';

export interface DeliveryBenchOptions {
  /** Base environment: KAFKA_BROKERS, REDIS_URL, SLUICE_API_KEYS_FILE, SLUICE_SECRETS_KEYS, … */
  env: Record<string, string>;
  /** A key the gateway accepts (for (b)). */
  apiKey: string;
  kafkaBrokers: string[];
  rounds: number;
  /** Events drained per round in (a), measured. */
  events: number;
  /** Events drained per round in (a) before the measured ones, left out (warm-up). */
  warmupEvents: number;
  /** The subscription's maxConcurrency, the worker's connections per origin, the baseline's. */
  concurrency: number;
  /** Length of the measured open-loop phase of (b). */
  latencySeconds: number;
  /** Single-event ingest capacity (req/s) when the ingest bench measured it; else measured here. */
  ingestRequestsPerSecond?: number;
  workDir: string;
  /** The broker and Redis, for CPU per delivery (see process-cpu.ts). */
  stackProcesses: ProcessRoles;
  log: (line: string) => void;
}

export interface DrainRun {
  deliveriesPerSecond: number;
  windowMs: number;
  duplicates: number;
  /** CPU µs per delivery of each process: the worker (or the raw loop), receiver, broker, Redis. */
  cpuMicrosPerDelivery: Record<string, number>;
}

export interface DeliveryBenchReport {
  throughput: {
    events: number;
    warmupEvents: number;
    concurrency: number;
    bodyBytes: number;
    sluiceDeliveriesPerSecond: number;
    rawUndiciPoolPerSecond: number;
    /** The required steps alone (delivery-floor.ts): Kafka, Avro, Redis claim and marker, signing, POST. */
    floorDeliveriesPerSecond: number;
    /** Sluice over the raw loop, medians of the rounds. */
    ratio: number;
    /** The floor over the raw loop: the most any worker doing those steps reaches here. */
    floorRatio: number;
    /** Sluice over the floor: what the worker's own machinery leaves of it (target ≥ 0.85). */
    sluiceOverFloor: number;
    /** The worker with `SLUICE_ATTEMPT_RECORDS=off`: what writing the delivery log's records costs. */
    sluiceWithoutAttemptRecordsPerSecond: number;
    /** Sluice (records on) over Sluice with them off, medians of the rounds. */
    attemptRecordsRatio: number;
    /** The floor writing each delivery's attempt record with the worker's parts. */
    floorWithAttemptRecordsPerSecond: number;
    /** The floor with records over the floor without: the bound of `attemptRecordsRatio`. */
    floorAttemptRecordsRatio: number;
    /** The worker whose subscription has a (matching) payload filter and custom headers. */
    sluiceWithFilterAndHeadersPerSecond: number;
    /** That worker over the raw loop, to read beside `ratio`. */
    optionsRatio: number;
    /** That worker over the plain one, medians of the rounds: the filter's and headers' cost. */
    optionsOverPlain: number;
    /** Medians over the rounds: where each side's CPU went (the machine's 2 cores are shared). */
    cpuMicrosPerDelivery: {
      sluice: Record<string, number>;
      sluiceWithoutAttemptRecords: Record<string, number>;
      sluiceWithFilterAndHeaders: Record<string, number>;
      floor: Record<string, number>;
      floorWithAttemptRecords: Record<string, number>;
      rawPool: Record<string, number>;
    };
    runs: {
      sluice: DrainRun[];
      sluiceWithoutAttemptRecords: DrainRun[];
      sluiceWithFilterAndHeaders: DrainRun[];
      floor: DrainRun[];
      floorWithAttemptRecords: DrainRun[];
      rawPool: DrainRun[];
    };
  };
  latency: {
    ingestRequestsPerSecond: number;
    ingestMeasuredBy: 'ingest bench' | 'wrk';
    deliveryCapacityPerSecond: number;
    /** Events/s through gateway, Kafka, worker and receiver running together; half is offered. */
    pipelineCapacityPerSecond: number;
    offeredPerSecond: number;
    accepted: number;
    notAccepted: Record<string, number>;
    delivered: number;
    /** Accepted but not delivered within the wait: must be 0. */
    missing: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** p99 of the gateway's own answer time, for reference. */
    ingestP99Ms: number;
    /** How late the generator sent, p99: above a few ms the figures include the generator. */
    sendLagP99Ms: number;
  };
}

// ---------------------------------------------------------------------------------------------
// The receiver, in a child process driven over IPC.

type ReceiverRequest =
  { op: 'reset' } | { op: 'wait'; count: number; timeoutMs: number } | { op: 'arrivals' } | { op: 'close' };

interface WaitAnswer {
  ok: boolean;
  error?: string;
  stats: MockReceiverStats;
  /** Wall clock (ms, sub-ms precision) of the first and the count-th 2xx. */
  firstAtMs: number;
  lastAtMs: number;
}

/** Wall-clock ms with sub-ms precision, comparable between processes on one machine. */
const wallClockMs = () => performance.timeOrigin + performance.now();

async function receiverChild(): Promise<void> {
  const receiver = await startMockReceiver({ nowMs: wallClockMs, successStatus: 204 });
  const send = (message: unknown) => process.send!(message);
  process.on('message', (message: { id: number; request: ReceiverRequest }) => {
    const { id, request } = message;
    const reply = (value: unknown) => send({ id, value });
    switch (request.op) {
      case 'reset':
        receiver.reset();
        reply(null);
        return;
      case 'wait':
        receiver.waitForDelivered(request.count, request.timeoutMs).then(
          (records) => {
            const times = records.map((record) => record.arrivedAtMs);
            reply({
              ok: true,
              stats: receiver.stats(),
              firstAtMs: Math.min(...times),
              lastAtMs: times.sort((a, b) => a - b)[request.count - 1] ?? Number.NaN,
            } satisfies WaitAnswer);
          },
          (error: unknown) =>
            reply({
              ok: false,
              error: String(error),
              stats: receiver.stats(),
              firstAtMs: Number.NaN,
              lastAtMs: Number.NaN,
            } satisfies WaitAnswer),
        );
        return;
      case 'arrivals':
        reply(
          receiver.received
            .filter((record) => record.status === 204 && record.attempt === 1)
            .map((record) => [record.webhookId, record.arrivedAtMs]),
        );
        return;
      case 'close':
        void receiver.close().then(() => {
          reply(null);
          process.exit(0);
        });
        return;
    }
  });
  // Never outlive the bench (a crash of it included).
  process.on('disconnect', () => process.exit(0));
  send({ ready: receiver.url });
}

interface ReceiverHandle {
  url: string;
  pid: number;
  reset(): Promise<void>;
  waitFor(count: number, timeoutMs: number): Promise<WaitAnswer>;
  arrivals(): Promise<Array<[string, number]>>;
  close(): Promise<void>;
}

/** This file again, through tsx, as a child process (`role` picks its part) talking over IPC. */
function forkThisFile(role: '--receiver-child' | '--raw-loop-child'): ChildProcess {
  return fork(fileURLToPath(import.meta.url), [role], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function startReceiverProcess(): Promise<ReceiverHandle> {
  const child = forkThisFile('--receiver-child');
  let nextId = 0;
  const pending = new Map<number, (value: unknown) => void>();
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the receiver process exited with ${code}`)));
    child.on('message', (message: { ready?: string; id?: number; value?: unknown }) => {
      if (message.ready !== undefined) resolve(message.ready);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
  });
  const ask = <T>(request: ReceiverRequest) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (value: unknown) => void);
      child.send({ id, request });
    });
  return {
    url: `${url}/hooks`,
    pid: child.pid!,
    reset: () => ask<void>({ op: 'reset' }),
    waitFor: (count, timeoutMs) => ask<WaitAnswer>({ op: 'wait', count, timeoutMs }),
    arrivals: () => ask<Array<[string, number]>>({ op: 'arrivals' }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([ask({ op: 'close' }), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (a) Throughput.

const eventType = benchEvent.type;

/** Writes `count` events as the gateway does (Avro, CloudEvents headers), 1000 per request. */
async function produceBacklog(kafka: KafkaClient, topic: string, value: Buffer, count: number) {
  // Idempotent: a resent request must not write records twice (the floor stops at a duplicate).
  const producer = kafka.producer({
    createPartitioner: KeyPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const runId = randomBytes(4).toString('hex');
    for (let start = 0; start < count; start += 1000) {
      const messages = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
        key: `order-${start + i}`,
        value,
        headers: {
          ce_specversion: '1.0',
          ce_id: `evt-${runId}-${start + i}`,
          ce_type: eventType,
          ce_source: '/bench',
          ce_time: new Date().toISOString(),
          'content-type': 'application/avro',
          sluice_producer: 'bench',
        },
      }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Waits for the receiver's `count`-th 2xx; throws what went wrong instead. */
async function arrivalOf(receiver: ReceiverHandle, count: number, timeoutMs: number): Promise<WaitAnswer> {
  const answer = await receiver.waitFor(count, timeoutMs);
  if (!answer.ok) throw new Error(answer.error);
  return answer;
}

interface DrainSpan {
  warmupEvents: number;
  events: number;
  /** How long to wait for the warm-up's last 2xx. */
  warmupTimeoutMs: number;
  /** How long to wait for the last 2xx, once `sending` (if any) has finished. */
  drainedTimeoutMs: number;
}

/**
 * The measured part of a drain that is under way: the `events` 2xx after the warm-up's last one,
 * and the CPU each process in `roles` spent from right after that one arrived. `sending` is the
 * raw loop's process finishing, awaited before the last 2xx.
 */
async function measureDrain(
  receiver: ReceiverHandle,
  span: DrainSpan,
  roles: ProcessRoles,
  sending?: Promise<void>,
): Promise<DrainRun> {
  const warm = await arrivalOf(receiver, span.warmupEvents, span.warmupTimeoutMs);
  const cpu = startCpuMeter(roles);
  await sending;
  const drained = await arrivalOf(receiver, span.warmupEvents + span.events, span.drainedTimeoutMs);
  const windowMs = drained.lastAtMs - warm.lastAtMs;
  return {
    deliveriesPerSecond: Math.round((span.events * 1000) / windowMs),
    windowMs: Math.round(windowMs),
    duplicates: drained.stats.duplicateDeliveries,
    cpuMicrosPerDelivery: cpu.microsPer(span.events),
  };
}

/**
 * The baseline: `concurrency` loops on one undici Pool, each POSTing a webhook body signed as the
 * worker signs it (fresh timestamp and HMAC per request) to the same receiver.
 */
async function rawPoolLoop(
  receiverUrl: string,
  subscription: Pick<Subscription, 'secrets'>,
  body: Buffer,
  count: number,
  concurrency: number,
): Promise<void> {
  const target = new URL(receiverUrl);
  const pool = new Pool(target.origin, { connections: concurrency });
  const runId = randomBytes(4).toString('hex');
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const eventId = `raw-${runId}-${next++}`;
      const response = await pool.request({
        path: target.pathname,
        method: 'POST',
        headers: buildAttemptHeaders({ eventId, body, subscription, nowMs: Date.now() }),
        body,
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode > 299) {
        throw new Error(`the receiver answered ${response.statusCode} to the baseline`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, loop));
  } finally {
    await pool.close();
  }
}

interface RawLoopJob {
  receiverUrl: string;
  secrets: Subscription['secrets'];
  bodyBase64: string;
  count: number;
  concurrency: number;
}

/**
 * The raw loop's process: takes one job over IPC, runs it and reports how it went, then stays
 * until the benchmark disconnects, so its CPU time can still be read from /proc.
 */
function rawLoopChild(): void {
  process.once('message', (job: RawLoopJob) => {
    const body = Buffer.from(job.bodyBase64, 'base64');
    rawPoolLoop(job.receiverUrl, { secrets: job.secrets }, body, job.count, job.concurrency).then(
      () => process.send!({ ok: true }),
      (error: unknown) => process.send!({ ok: false, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

interface RawLoopProcess {
  pid: number;
  /** Settles when the loop has sent every request (rejects with what went wrong). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the raw loop in a fresh process of its own. */
async function startRawLoopProcess(job: RawLoopJob): Promise<RawLoopProcess> {
  const child = forkThisFile('--raw-loop-child');
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const exitedEarly = exited.then((code) => {
    throw new Error(`the raw loop process exited with ${code}`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([new Promise((resolve) => child.once('message', resolve)), exitedEarly]);
  const answer = new Promise<void>((resolve, reject) => {
    child.once('message', (result: { ok: boolean; error?: string }) =>
      result.ok ? resolve() : reject(new Error(result.error)),
    );
  });
  child.send(job);
  return {
    pid: child.pid!,
    done: Promise.race([answer, exitedEarly]),
    async stop() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (b) Latency at half capacity.

interface PostedAtRate {
  /** Wall-clock ms at which each accepted id's 202 arrived, comparable with the receiver's clock. */
  acceptedAtMs: Map<string, number>;
  /** Arrivals not answered 202, by status and code or by error. */
  notAccepted: Record<string, number>;
  answerMs: number[];
  sendLagMs: number[];
}

/** Posts single events open loop (open-loop-load.ts): arrival i is due at start + i / rate. */
async function postAtRate(
  gatewayUrl: string,
  apiKey: string,
  ratePerSecond: number,
  durationMs: number,
  data: unknown,
): Promise<PostedAtRate> {
  const pool = new Pool(gatewayUrl, { connections: 64 });
  const result = await runOpenLoop(pool, {
    ratePerSecond,
    durationMs,
    ...oneClass({ 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }),
    path: '/v1/events',
    body: (index) => JSON.stringify({ type: eventType, key: `order-${index}`, data }),
    maxInFlight: Infinity,
  }).finally(() => pool.close());
  const { rateLimited, shed, otherStatuses, errors, acceptedLatencyMs } = result.byPriority.critical;
  const notAccepted: Record<string, number> = { ...otherStatuses, ...errors };
  if (rateLimited > 0) notAccepted['429'] = rateLimited;
  if (shed > 0) notAccepted['503 SLUICE_OVERLOADED'] = shed;
  return {
    acceptedAtMs: new Map(
      result.acceptedIds.map((id, i) => [id, performance.timeOrigin + result.acceptedAtMs[i]!]),
    ),
    notAccepted,
    answerMs: acceptedLatencyMs,
    sendLagMs: result.sendLagMs,
  };
}

/** Single-event ingest capacity with wrk (scripts/bench.sh installs it), closed loop. */
async function measureIngestCapacity(
  gatewayUrl: string,
  apiKey: string,
  data: unknown,
  seconds: number,
  workDir: string,
): Promise<number> {
  const result = await runWrk({
    url: `${gatewayUrl}/v1/events`,
    request: {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ type: eventType, key: 'order-1001', data }),
    },
    connections: 128,
    durationSeconds: seconds,
    scriptPath: join(workDir, 'delivery-ingest.lua'),
  });
  return result.okRequestsPerSecond;
}

// ---------------------------------------------------------------------------------------------

const round1 = (value: number) => Math.round(value * 10) / 10;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

export async function benchDelivery(options: DeliveryBenchOptions): Promise<DeliveryBenchReport> {
  const { log } = options;
  const prefix = `bench.delivery.${Date.now()}`;
  const topicEnv: Record<string, string> = {
    ...options.env,
    SLUICE_EVENTS_TOPIC: `${prefix}.events`,
    SLUICE_RETRY_TOPIC_PREFIX: `${prefix}.retry.`,
    SLUICE_DLQ_TOPIC: `${prefix}.dlq`,
    SLUICE_ATTEMPTS_TOPIC: `${prefix}.attempts`,
    SLUICE_SUBSCRIPTIONS_TOPIC: `${prefix}.subscriptions`,
  };
  const quiet = createLogger('delivery-bench', 'warn');
  await topicsEnsure(topicEnv, quiet);
  const plannedTopics = planTopics(
    loadTopicsConfig(topicEnv).topics,
    loadTopicsConfig(topicEnv).retryDelaysMs,
  );
  /** The variant's subscription lives apart, so its worker sees that one alone. */
  const optionsSubscriptionsTopic = `${prefix}.subscriptions-options`;
  // Deleted at the end: only this run's own topics. The schema registry and sources topics are the
  // stack's, shared by every process (deleting them dropped the example event types mid-run).
  const topicNames = [
    ...plannedTopics.map((topic) => topic.name).filter((name) => name.startsWith(prefix)),
    optionsSubscriptionsTopic,
  ];
  const kafka = new Kafka({ brokers: options.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const receiver = await startReceiverProcess();
  const workers: BenchProcess[] = [];
  let gatewayStop: (() => Promise<unknown>) | undefined;

  try {
    const keyring = parseSecretsKeys(options.env.SLUICE_SECRETS_KEYS ?? '');
    if (!(keyring instanceof SecretsKeyring)) throw new Error(keyring.problems.join('; '));
    const createSubscription = async (topic: string, fields: Partial<SubscriptionCreateInput>) => {
      const subscriptionsSpec = plannedTopics.find((t) => t.name === topicEnv.SLUICE_SUBSCRIPTIONS_TOPIC);
      const store = createSubscriptionStore({
        kafka,
        topic,
        createTopic: subscriptionsSpec === undefined ? undefined : { ...subscriptionsSpec, name: topic },
        keyring,
        ssrfPolicy: createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] }),
        logger: quiet,
      });
      await store.start();
      try {
        return await store.create({
          url: receiver.url,
          eventTypes: ['order.*'],
          maxConcurrency: options.concurrency,
          ...fields,
        });
      } finally {
        await store.stop();
      }
    };
    const subscription = await createSubscription(topicEnv.SLUICE_SUBSCRIPTIONS_TOPIC!, {});
    // Matches every backlog event (the fixture's total is 6664, EUR is not its currency): each
    // condition is evaluated, none short-circuits to a refusal.
    await createSubscription(optionsSubscriptionsTopic, {
      secret: subscription.secrets[0]!.secret,
      filter: {
        type: { $prefix: 'order.' },
        'data.totalMinor': { $gt: 500 },
        $or: [{ 'data.currency': 'EUR' }, { 'data.items.sku': { $in: ['HOODIE-GRY-L', 'MUG-BLK'] } }],
        tenant: { $exists: false },
      },
      headers: {
        Authorization: { value: `Bearer ${randomBytes(24).toString('base64url')}`, secret: true },
        'X-Api-Key': 'bench-key-1',
        'X-Shop': 'bench',
      },
    });

    const catalog = loadSchemaCatalog();
    const data = benchEvent.data;
    const encoded = encodeEvent(catalog.latest(eventType)!, data);
    if (!encoded.ok) throw new Error(encoded.message);
    const decoded = decodeEvent(catalog, encoded.value);
    if (!decoded.ok) throw new Error(decoded.message);
    // The very body the worker sends (data with the schema's defaults filled in), for the baseline.
    const body = buildWebhookBody({
      id: 'x',
      type: eventType,
      time: new Date().toISOString(),
      data: decoded.data,
    });
    const workerEnv = (name: string): Record<string, string> => ({
      ...topicEnv,
      SLUICE_HOST: '127.0.0.1',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_DELIVERY_GROUP_ID: `${prefix}.${name}`,
      SLUICE_DEDUP_KEY_PREFIX: `${prefix}:${name}:dedup:`,
      SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
      SLUICE_DELIVERY_CONNECTIONS_PER_ORIGIN: String(options.concurrency),
    });

    // (a) Throughput, interleaved: the worker drains the backlog with a fresh group (and fresh
    // dedup keys) each round, then the raw loop posts as many requests.
    const total = options.warmupEvents + options.events;
    log(`delivery: producing ${total} events (${options.warmupEvents} of warm-up)`);
    await produceBacklog(kafka, topicEnv.SLUICE_EVENTS_TOPIC!, encoded.value, total);
    const drainTimeoutMs = Math.max(120_000, total * 10);
    const span = {
      warmupEvents: options.warmupEvents,
      events: options.events,
      warmupTimeoutMs: drainTimeoutMs,
    };
    const sluiceRuns: DrainRun[] = [];
    const noRecordRuns: DrainRun[] = [];
    const optionsRuns: DrainRun[] = [];
    const floorRuns: DrainRun[] = [];
    const floorRecordRuns: DrainRun[] = [];
    const rawRuns: DrainRun[] = [];
    /** Drains the backlog with a process started for it (the worker or the floor), then stops it. */
    const drainWith = async (role: string, start: () => Promise<BenchProcess>): Promise<DrainRun> => {
      await receiver.reset();
      const drainer = await start();
      workers.push(drainer);
      const run = await measureDrain(
        receiver,
        { ...span, drainedTimeoutMs: drainTimeoutMs },
        { [role]: drainer.pid, receiver: receiver.pid, ...options.stackProcesses },
      );
      await drainer.stop();
      workers.pop();
      return run;
    };
    for (let round = 1; round <= options.rounds; round++) {
      sluiceRuns.push(await drainWith('worker', () => startDeliverProcess(workerEnv(`drain-${round}`))));
      noRecordRuns.push(
        await drainWith('worker', () =>
          startDeliverProcess({ ...workerEnv(`drain-off-${round}`), SLUICE_ATTEMPT_RECORDS: 'false' }),
        ),
      );
      optionsRuns.push(
        await drainWith('worker', () =>
          startDeliverProcess({
            ...workerEnv(`drain-options-${round}`),
            SLUICE_SUBSCRIPTIONS_TOPIC: optionsSubscriptionsTopic,
          }),
        ),
      );
      const floorEnv = (name: string): Record<string, string | undefined> => ({
        KAFKA_BROKERS: options.kafkaBrokers.join(','),
        REDIS_URL: options.env.REDIS_URL,
        SLUICE_FLOOR_TOPIC: topicEnv.SLUICE_EVENTS_TOPIC,
        SLUICE_FLOOR_GROUP_ID: `${prefix}.${name}-${round}`,
        SLUICE_FLOOR_DEDUP_PREFIX: `${prefix}:${name}-${round}:dedup:`,
        SLUICE_FLOOR_RECEIVER_URL: receiver.url,
        SLUICE_FLOOR_SECRET: subscription.secrets[0]!.secret,
        SLUICE_FLOOR_CONCURRENCY: String(options.concurrency),
      });
      floorRuns.push(await drainWith('floor', () => startDeliveryFloorProcess(floorEnv('floor'))));
      floorRecordRuns.push(
        await drainWith('floor', () =>
          startDeliveryFloorProcess({
            ...floorEnv('floor-records'),
            SLUICE_FLOOR_ATTEMPTS_TOPIC: topicEnv.SLUICE_ATTEMPTS_TOPIC,
          }),
        ),
      );

      await receiver.reset();
      const loop = await startRawLoopProcess({
        receiverUrl: receiver.url,
        secrets: subscription.secrets,
        bodyBase64: body.toString('base64'),
        count: total,
        concurrency: options.concurrency,
      });
      // A failed loop shows when measureDrain awaits it; this keeps it from being an unhandled
      // rejection while the warm-up is awaited.
      loop.done.catch(() => undefined);
      try {
        rawRuns.push(
          await measureDrain(
            receiver,
            { ...span, drainedTimeoutMs: 10_000 },
            { loop: loop.pid, receiver: receiver.pid, ...options.stackProcesses },
            loop.done,
          ),
        );
      } finally {
        await loop.stop();
      }
      log(
        `delivery round ${round}: sluice ${Math.round(sluiceRuns.at(-1)!.deliveriesPerSecond)} webhooks/s (attempt records off ${Math.round(noRecordRuns.at(-1)!.deliveriesPerSecond)}, filter and headers ${Math.round(optionsRuns.at(-1)!.deliveriesPerSecond)}), floor ${Math.round(floorRuns.at(-1)!.deliveriesPerSecond)} webhooks/s (with attempt records ${Math.round(floorRecordRuns.at(-1)!.deliveriesPerSecond)}), raw undici Pool ${Math.round(rawRuns.at(-1)!.deliveriesPerSecond)} requests/s`,
      );
      log(
        `delivery round ${round} CPU µs per delivery: sluice ${describeMicros(sluiceRuns.at(-1)!.cpuMicrosPerDelivery)}; floor ${describeMicros(floorRuns.at(-1)!.cpuMicrosPerDelivery)}; raw ${describeMicros(rawRuns.at(-1)!.cpuMicrosPerDelivery)}`,
      );
    }
    const sluicePerSecond = median(sluiceRuns.map((run) => run.deliveriesPerSecond));
    const noRecordsPerSecond = median(noRecordRuns.map((run) => run.deliveriesPerSecond));
    const optionsPerSecond = median(optionsRuns.map((run) => run.deliveriesPerSecond));
    const floorPerSecond = median(floorRuns.map((run) => run.deliveriesPerSecond));
    const floorRecordsPerSecond = median(floorRecordRuns.map((run) => run.deliveriesPerSecond));
    const rawPerSecond = median(rawRuns.map((run) => run.deliveriesPerSecond));

    // (b) Latency at half of capacity, through a gateway.
    const gateway = await startGatewayProcess({
      ...topicEnv,
      SLUICE_IDEMPOTENCY_KEY_PREFIX: `${prefix}:idem:`,
      SLUICE_RATE_LIMIT_KEY_PREFIX: `${prefix}:rl:`,
    });
    gatewayStop = () => gateway.stop();
    let ingest: { requestsPerSecond: number; by: DeliveryBenchReport['latency']['ingestMeasuredBy'] };
    if (options.ingestRequestsPerSecond !== undefined) {
      ingest = { requestsPerSecond: options.ingestRequestsPerSecond, by: 'ingest bench' };
    } else {
      ingest = {
        requestsPerSecond: await measureIngestCapacity(
          gateway.url,
          options.apiKey,
          data,
          Math.min(options.latencySeconds, 5),
          options.workDir,
        ),
        by: 'wrk',
      };
      log(`delivery: ingest capacity ${Math.round(ingest.requestsPerSecond)} req/s (${ingest.by})`);
    }
    // The worker of (b) starts at the end of the topic: the backlog of (a) and the probe are not its.
    const liveEnv = workerEnv('live');
    const ends = await admin.fetchTopicOffsets(topicEnv.SLUICE_EVENTS_TOPIC!);
    await admin.setOffsets({
      groupId: liveEnv.SLUICE_DELIVERY_GROUP_ID!,
      topic: topicEnv.SLUICE_EVENTS_TOPIC!,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
    const worker = await startDeliverProcess(liveEnv);
    workers.push(worker);
    await waitReady(worker.url);
    const postAndReceive = async (rate: number, durationMs: number) => {
      await receiver.reset();
      const posted = await postAtRate(gateway.url, options.apiKey, rate, durationMs, data);
      const waited = await receiver.waitFor(posted.acceptedAtMs.size, 60_000);
      if (!waited.ok) log(`delivery: ${waited.error}`);
      return { posted, arrivals: new Map(await receiver.arrivals()) };
    };

    // Capacity of the whole pipeline, gateway → Kafka → worker → receiver, all sharing this
    // machine's cores: offer what each part managed alone and see how fast events come out the
    // far end (accepted count over first 202 → last arrival). Also the warm-up.
    const probeRate = Math.max(100, Math.round(Math.min(ingest.requestsPerSecond, sluicePerSecond)));
    const probe = await postAndReceive(probeRate, 5000);
    const firstAcceptedMs = Math.min(...probe.posted.acceptedAtMs.values());
    const lastArrivalMs = Math.max(...probe.arrivals.values());
    const pipelinePerSecond = Math.min(
      probeRate,
      (probe.posted.acceptedAtMs.size * 1000) / Math.max(1, lastArrivalMs - firstAcceptedMs),
    );
    const rate = Math.max(50, Math.round(pipelinePerSecond / 2));
    log(`delivery: pipeline capacity ${Math.round(pipelinePerSecond)} events/s (offered ${probeRate}/s)`);

    // The probe saturated every process; for about a second after it, deliveries take up to ~100 ms
    // (heaps grown at saturation are collected, queues drain). That is the probe's after-effect, not
    // latency at half of capacity, so the pipeline first runs 3 s at the measured rate, unmeasured.
    await postAndReceive(rate, 3000);
    log(`delivery: end-to-end latency at ${rate} events/s for ${options.latencySeconds} s`);
    const { posted, arrivals } = await postAndReceive(rate, options.latencySeconds * 1000);
    const latencies: number[] = [];
    for (const [id, acceptedMs] of posted.acceptedAtMs) {
      const arrivedMs = arrivals.get(id);
      if (arrivedMs !== undefined) latencies.push(arrivedMs - acceptedMs);
    }
    const report: DeliveryBenchReport = {
      throughput: {
        events: options.events,
        warmupEvents: options.warmupEvents,
        concurrency: options.concurrency,
        bodyBytes: Buffer.byteLength(body),
        sluiceDeliveriesPerSecond: Math.round(sluicePerSecond),
        rawUndiciPoolPerSecond: Math.round(rawPerSecond),
        floorDeliveriesPerSecond: Math.round(floorPerSecond),
        ratio: round3(sluicePerSecond / rawPerSecond),
        floorRatio: round3(floorPerSecond / rawPerSecond),
        sluiceOverFloor: round3(sluicePerSecond / floorPerSecond),
        sluiceWithoutAttemptRecordsPerSecond: Math.round(noRecordsPerSecond),
        attemptRecordsRatio: round3(sluicePerSecond / noRecordsPerSecond),
        floorWithAttemptRecordsPerSecond: Math.round(floorRecordsPerSecond),
        floorAttemptRecordsRatio: round3(floorRecordsPerSecond / floorPerSecond),
        sluiceWithFilterAndHeadersPerSecond: Math.round(optionsPerSecond),
        optionsRatio: round3(optionsPerSecond / rawPerSecond),
        optionsOverPlain: round3(optionsPerSecond / sluicePerSecond),
        cpuMicrosPerDelivery: {
          sluice: medianMicros(sluiceRuns.map((run) => run.cpuMicrosPerDelivery)),
          sluiceWithoutAttemptRecords: medianMicros(noRecordRuns.map((run) => run.cpuMicrosPerDelivery)),
          sluiceWithFilterAndHeaders: medianMicros(optionsRuns.map((run) => run.cpuMicrosPerDelivery)),
          floor: medianMicros(floorRuns.map((run) => run.cpuMicrosPerDelivery)),
          floorWithAttemptRecords: medianMicros(floorRecordRuns.map((run) => run.cpuMicrosPerDelivery)),
          rawPool: medianMicros(rawRuns.map((run) => run.cpuMicrosPerDelivery)),
        },
        runs: {
          sluice: sluiceRuns,
          sluiceWithoutAttemptRecords: noRecordRuns,
          sluiceWithFilterAndHeaders: optionsRuns,
          floor: floorRuns,
          floorWithAttemptRecords: floorRecordRuns,
          rawPool: rawRuns,
        },
      },
      latency: {
        ingestRequestsPerSecond: Math.round(ingest.requestsPerSecond),
        ingestMeasuredBy: ingest.by,
        deliveryCapacityPerSecond: Math.round(sluicePerSecond),
        pipelineCapacityPerSecond: Math.round(pipelinePerSecond),
        offeredPerSecond: rate,
        accepted: posted.acceptedAtMs.size,
        notAccepted: posted.notAccepted,
        delivered: latencies.length,
        missing: posted.acceptedAtMs.size - latencies.length,
        p50Ms: round1(percentile(latencies, 50)),
        p99Ms: round1(percentile(latencies, 99)),
        maxMs: round1(Math.max(...latencies)),
        ingestP99Ms: round1(percentile(posted.answerMs, 99)),
        sendLagP99Ms: round1(percentile(posted.sendLagMs, 99)),
      },
    };
    log(
      `delivery: ratio ${report.throughput.ratio} (sluice ${report.throughput.sluiceDeliveriesPerSecond}/s, raw ${report.throughput.rawUndiciPoolPerSecond}/s), ` +
        `floor ${report.throughput.floorRatio} of raw, sluice ${report.throughput.sluiceOverFloor} of floor, ` +
        `${report.throughput.attemptRecordsRatio} of itself without attempt records (the floor: ${report.throughput.floorAttemptRecordsRatio}); ` +
        `with a filter and custom headers ratio ${report.throughput.optionsRatio} (${report.throughput.sluiceWithFilterAndHeadersPerSecond}/s, ${report.throughput.optionsOverPlain} of plain); ` +
        `end-to-end at ${rate}/s: p50 ${report.latency.p50Ms} ms, p99 ${report.latency.p99Ms} ms, missing ${report.latency.missing}`,
    );
    return report;
  } finally {
    for (const worker of workers) await worker.stop();
    await gatewayStop?.();
    await receiver.close();
    await admin.deleteTopics({ topics: topicNames }).catch(() => undefined);
    await admin.disconnect();
    if (options.env.REDIS_URL !== undefined) {
      await deleteKeysWithPrefix(options.env.REDIS_URL, `${prefix}:`).catch((error: unknown) =>
        options.log(`delivery: could not delete the benchmark's Redis keys: ${String(error)}`),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The children: this file again, forked by forkThisFile.

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--raw-loop-child')) rawLoopChild();
  else if (process.argv.includes('--receiver-child')) {
    receiverChild().catch((error: unknown) => {
      process.stderr.write(
        `delivery-bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
  } else {
    process.stderr.write('delivery-bench: run it with npm run bench -- --only delivery\n');
    process.exit(2);
  }
}
