import { join } from 'node:path';
import { Pool } from 'undici';
import { kafkaJarDir } from '../../cli/stack/kafka-broker.js';
import { stackPaths } from '../../cli/stack/paths.js';
import { encodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog } from '../../schemas/schema-catalog.js';
import { benchEvent, startBareServer, startGatewayProcess, type BenchProcess } from './bench-processes.js';
import { runWrk, type WrkResult } from './wrk.js';
import { median, oneClass, percentile, runOpenLoop, type OpenLoopResult } from './open-loop-load.js';
import { readBuckets, windowQuantile } from './histogram-quantile.js';
import { describeMicros, medianMicros, runMetered, startCpuMeter, type ProcessRoles } from './process-cpu.js';

export interface IngestBenchOptions {
  env: Record<string, string>;
  apiKey: string;
  eventsTopic: string;
  kafkaBrokers: string;
  rounds: number;
  durationSeconds: number;
  connections: number;
  workDir: string;
  /** The broker and Redis, for CPU per event (see process-cpu.ts). */
  stackProcesses: ProcessRoles;
  log: (line: string) => void;
}

/** A wrk run with the CPU per request of the server under test, the stack and wrk itself. */
interface MeteredRun extends WrkResult {
  cpuMicrosPerRequest: Record<string, number>;
}

async function meteredWrk(
  processes: ProcessRoles,
  options: Parameters<typeof runWrk>[0],
): Promise<MeteredRun> {
  const meter = startCpuMeter(processes);
  const run = await runWrk(options);
  const generator = (run.generatorCpuCores * options.durationSeconds * 1e6) / run.totalRequests;
  return {
    ...run,
    cpuMicrosPerRequest: { ...meter.microsPer(run.totalRequests), wrk: Math.round(generator * 10) / 10 },
  };
}

function summarize(results: MeteredRun[]) {
  return {
    requestsPerSecond: median(results.map((r) => r.okRequestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: results.reduce((sum, r) => sum + r.socketErrors, 0),
    generatorCpuCores: median(results.map((r) => r.generatorCpuCores)),
    cpuMicrosPerRequest: medianMicros(results.map((r) => r.cpuMicrosPerRequest)),
    runs: results.map((r) => Math.round(r.requestsPerSecond)),
  };
}

/**
 * Single-event ingest against the bare uWS baseline, interleaved round by round so both see the
 * same machine; then latency at half the measured capacity (open loop); then batch ingest
 * against Kafka's own kafka-producer-perf-test with the same record size and acks=all.
 */
export async function benchIngest(options: IngestBenchOptions) {
  const event = { ...benchEvent, key: 'order-1001' };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` };
  const singleBody = JSON.stringify(event);
  const withIdBody = JSON.stringify({ ...event, id: 'evt-{{n}}' });
  const bare = await startBareServer();
  const gateway = await startGatewayProcess(options.env);
  const script = (name: string) => join(options.workDir, `${name}.lua`);
  const bareRuns: MeteredRun[] = [];
  const gatewayRuns: MeteredRun[] = [];
  const gatewayWithIdRuns: MeteredRun[] = [];
  const inboundRuns: MeteredRun[] = [];
  const bareProcesses = { server: bare.pid, ...options.stackProcesses };
  const gatewayProcesses = { server: gateway.pid, ...options.stackProcesses };
  try {
    // Warm-up: JIT, connections, producer metadata.
    await runWrk({
      url: `${gateway.url}/v1/events`,
      request: { method: 'POST', headers, body: singleBody },
      connections: options.connections,
      durationSeconds: 3,
      scriptPath: script('warm'),
    });
    await runWrk({
      url: `${bare.url}/v1/events`,
      request: { method: 'POST', headers, body: singleBody },
      connections: options.connections,
      durationSeconds: 2,
      scriptPath: script('warm'),
    });
    const inbound = await createInboundSource(gateway.url, options.apiKey);
    for (let round = 1; round <= options.rounds; round++) {
      const common = { connections: options.connections, durationSeconds: options.durationSeconds };
      bareRuns.push(
        await meteredWrk(bareProcesses, {
          ...common,
          url: `${bare.url}/v1/events`,
          request: { method: 'POST', headers, body: singleBody },
          scriptPath: script('bare'),
        }),
      );
      gatewayRuns.push(
        await meteredWrk(gatewayProcesses, {
          ...common,
          url: `${gateway.url}/v1/events`,
          request: { method: 'POST', headers, body: singleBody },
          scriptPath: script('gateway'),
        }),
      );
      gatewayWithIdRuns.push(
        await meteredWrk(gatewayProcesses, {
          ...common,
          url: `${gateway.url}/v1/events`,
          request: { method: 'POST', headers, body: withIdBody, uniqueCounter: true },
          scriptPath: script('gateway-ids'),
        }),
      );
      // Inbound: verify (a header token: wrk cannot compute an HMAC per request), derive type and
      // id from the body, deduplicate and write, each request a new provider event.
      inboundRuns.push(
        await meteredWrk(gatewayProcesses, {
          ...common,
          url: `${gateway.url}/in/${inbound.sourceId}`,
          request: { method: 'POST', headers: inbound.headers, body: inbound.body, uniqueCounter: true },
          scriptPath: script('inbound'),
        }),
      );
      options.log(
        `round ${round}: inbound ${Math.round(inboundRuns.at(-1)!.requestsPerSecond)} req/s (CPU µs per request: ${describeMicros(inboundRuns.at(-1)!.cpuMicrosPerRequest)})`,
      );
      options.log(
        `round ${round} CPU µs per request: bare ${describeMicros(bareRuns.at(-1)!.cpuMicrosPerRequest)}; sluice ${describeMicros(gatewayRuns.at(-1)!.cpuMicrosPerRequest)}`,
      );
      options.log(
        `round ${round}: bare ${Math.round(bareRuns.at(-1)!.requestsPerSecond)} req/s, sluice ${Math.round(gatewayRuns.at(-1)!.requestsPerSecond)} req/s, sluice with producer ids ${Math.round(gatewayWithIdRuns.at(-1)!.requestsPerSecond)} req/s`,
      );
    }
    const single = summarize(gatewayRuns);
    const baseline = summarize(bareRuns);
    const withIds = summarize(gatewayWithIdRuns);
    const inboundSummary = summarize(inboundRuns);

    // Open-loop latency at half of the measured capacity, seen by the client and by the gateway
    // itself (its request-duration histogram). The generator shares the cores, and its own delays
    // are in every client figure: the bare server at the same rate shows how much (the generator floor).
    const halfRate = Math.max(100, Math.round(single.requestsPerSecond / 2));
    const openLoop = async (url: string, beforeMeasuring?: () => Promise<void>) => {
      const pool = new Pool(url, { connections: 64 });
      const plan = {
        ratePerSecond: halfRate,
        durationMs: options.durationSeconds * 1000,
        ...oneClass(headers),
        path: '/v1/events',
        body: () => singleBody,
        maxInFlight: Infinity,
      };
      try {
        // One unmeasured second first: the pool opens its connections as load needs them, and the
        // generator's JIT warms, both of which would otherwise be the measured tail.
        await runOpenLoop(pool, { ...plan, durationMs: 1000 });
        await beforeMeasuring?.();
        return answersOf(await runOpenLoop(pool, plan));
      } finally {
        await pool.close();
      }
    };
    const bareHalfCapacity = await openLoop(bare.url);
    let serverBefore = new Map<number, number>();
    const halfCapacity = await openLoop(gateway.url, async () => {
      serverBefore = await requestDurations(gateway);
    });
    const serverAfter = await requestDurations(gateway);
    const serverMs = (q: number) => Math.round(windowQuantile(serverBefore, serverAfter, q) * 1e4) / 10;
    options.log(
      `half capacity (${halfRate} req/s offered): client p99 ${halfCapacity.p99Ms} ms (bare server at the same rate: ${bareHalfCapacity.p99Ms} ms), gateway-side p99 ${serverMs(0.99)} ms; generator send lag p99 ${halfCapacity.sendLagP99Ms} ms, queued at most ${halfCapacity.clientQueuedMax}`,
    );

    const batch = await benchBatch(options, gateway, headers, event);
    return {
      single: {
        sluice: single,
        bareUws: baseline,
        ratio: single.requestsPerSecond / baseline.requestsPerSecond,
      },
      singleWithProducerIds: {
        sluice: withIds,
        ratio: withIds.requestsPerSecond / baseline.requestsPerSecond,
      },
      /** POST /in/{sourceId} against single-event ingest with producer ids, same rounds (target ≥ 0.8). */
      inbound: {
        sluice: inboundSummary,
        ratioToSingleWithIds: inboundSummary.requestsPerSecond / withIds.requestsPerSecond,
        ratioToSingle: inboundSummary.requestsPerSecond / single.requestsPerSecond,
      },
      halfCapacity: {
        offeredRequestsPerSecond: halfRate,
        achievedRequestsPerSecond: halfCapacity.answersPerSecond,
        p50Ms: halfCapacity.p50Ms,
        p99Ms: halfCapacity.p99Ms,
        /** From the gateway's sluice_http_request_duration_seconds (arrival to answer written). */
        serverP50Ms: serverMs(0.5),
        serverP99Ms: serverMs(0.99),
        /** The bare server under the same open loop: what the generator alone adds. */
        bareP50Ms: bareHalfCapacity.p50Ms,
        bareP99Ms: bareHalfCapacity.p99Ms,
        non2xx: halfCapacity.non2xx,
        errors: halfCapacity.errors,
      },
      batch,
    };
  } finally {
    await gateway.stop();
    await bare.stop();
  }
}

/** A header-token source on the bench gateway, unlimited, reading type and id from the body. */
async function createInboundSource(gatewayUrl: string, apiKey: string) {
  const token = 'bench-inbound-token-0123456789abcdef';
  const response = await fetch(`${gatewayUrl}/v1/sources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      name: 'bench',
      verification: { scheme: 'header-token', header: 'x-bench-token' },
      secret: token,
      eventType: { from: 'body', path: 'type' },
      eventId: { from: 'body', path: 'id' },
      ratePerSecond: 1_000_000,
    }),
  });
  const created = (await response.json()) as { id?: string };
  if (response.status !== 201 || created.id === undefined) {
    throw new Error(
      `the bench gateway refused the inbound source: ${response.status} ${JSON.stringify(created)}`,
    );
  }
  return {
    sourceId: created.id,
    headers: { 'content-type': 'application/json', 'x-bench-token': token },
    body: '{"id":"in-{{n}}","type":"payment.captured","data":{"amountMinor":1999,"currency":"EUR"}}',
  };
}

/** What an open-loop run got back, every answer counted whatever its status (ms, answers/s). */
function answersOf(result: OpenLoopResult) {
  const outcomes = Object.values(result.byPriority);
  const refusedMs = outcomes.flatMap((outcome) => outcome.refusedLatencyMs);
  const latencyMs = [...outcomes.flatMap((outcome) => outcome.acceptedLatencyMs), ...refusedMs];
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    answersPerSecond: Math.round((latencyMs.length * 1000) / result.elapsedMs),
    p50Ms: round(percentile(latencyMs, 50)),
    p99Ms: round(percentile(latencyMs, 99)),
    /** Answers other than 202. */
    non2xx: refusedMs.length,
    sendLagP99Ms: round(percentile(result.sendLagMs, 99)),
    clientQueuedMax: result.clientQueuedMax,
    /** Network errors and timeouts. */
    errors: outcomes.reduce(
      (sum, outcome) => sum + Object.values(outcome.errors).reduce((a, b) => a + b, 0),
      0,
    ),
  };
}

/** The gateway's request-duration buckets for single-event ingest, from its admin port. */
async function requestDurations(gateway: BenchProcess): Promise<Map<number, number>> {
  const response = await fetch(`${gateway.adminUrl}/metrics`);
  return readBuckets(await response.text(), 'sluice_http_request_duration_seconds', {
    route: '/v1/events',
  });
}

async function benchBatch(
  options: IngestBenchOptions,
  gateway: BenchProcess,
  headers: Record<string, string>,
  event: { type: string; key: string; data: unknown },
) {
  const eventsPerBatch = 1000;
  const catalog = loadSchemaCatalog();
  const encoded = encodeEvent(catalog.latest(event.type)!, event.data);
  if (!encoded.ok) throw new Error(encoded.message);
  const recordBytes = encoded.value.length;
  const body = JSON.stringify(
    Array.from({ length: eventsPerBatch }, (_, i) => ({ ...event, key: `order-${i}` })),
  );

  const perfRuns: PerfTestRun[] = [];
  const sluiceRuns: number[] = [];
  const sluiceMicros: Array<Record<string, number>> = [];
  const refusedBatches: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    perfRuns.push(await kafkaProducerPerfTest(options, recordBytes));
    const run = await meteredWrk(
      { gateway: gateway.pid, broker: options.stackProcesses.broker },
      {
        url: `${gateway.url}/v1/events/batch`,
        request: { method: 'POST', headers, body },
        connections: 8,
        durationSeconds: options.durationSeconds,
        scriptPath: join(options.workDir, 'batch.lua'),
      },
    );
    sluiceRuns.push(run.okRequestsPerSecond * eventsPerBatch);
    sluiceMicros.push(perEvent(run.cpuMicrosPerRequest, eventsPerBatch));
    refusedBatches.push(run.non2xx);
    options.log(
      `batch round ${round}: kafka-producer-perf-test ${Math.round(perfRuns.at(-1)!.recordsPerSecond)} rec/s, sluice ${Math.round(sluiceRuns.at(-1)!)} events/s` +
        ` (${run.non2xx} batches refused, not counted); CPU µs per event: perf-test ${describeMicros(perfRuns.at(-1)!.cpuMicrosPerRecord)}; sluice ${describeMicros(sluiceMicros.at(-1)!)}`,
    );
  }
  const perf = median(perfRuns.map((run) => run.recordsPerSecond));
  const sluice = median(sluiceRuns);
  return {
    recordBytes,
    eventsPerBatch,
    kafkaProducerPerfTestRecordsPerSecond: perf,
    sluiceEventsPerSecond: sluice,
    ratio: sluice / perf,
    cpuMicrosPerEvent: {
      perfTest: medianMicros(perfRuns.map((run) => run.cpuMicrosPerRecord)),
      sluice: medianMicros(sluiceMicros),
    },
    runs: {
      perf: perfRuns.map((run) => run.recordsPerSecond),
      sluice: sluiceRuns,
      sluiceRefusedBatches: refusedBatches,
    },
  };
}

/** Per-request figures of a batch run, per event (the wrk figure is per batch request). */
function perEvent(micros: Record<string, number>, eventsPerRequest: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(micros).map(([role, value]) => [role, Math.round((value * 100) / eventsPerRequest) / 100]),
  );
}

interface PerfTestRun {
  recordsPerSecond: number;
  /** The Java client (the perf-test process) and the broker. */
  cpuMicrosPerRecord: Record<string, number>;
}

/** Kafka's own producer benchmark on the same broker: acks=all, idempotent, same record size. */
async function kafkaProducerPerfTest(options: IngestBenchOptions, recordBytes: number): Promise<PerfTestRun> {
  const records = 300_000;
  const libDir = kafkaJarDir(stackPaths());
  const brokerMeter = startCpuMeter({ broker: options.stackProcesses.broker });
  const client = await runMetered(
    'java',
    [
      '-Xmx512m',
      '-cp',
      join(libDir, '*'),
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      options.eventsTopic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordBytes),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${options.kafkaBrokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    // 100-ms samples: /proc forgets a process once it exits. The figure includes the JVM's start-up.
    100,
  );
  const { code, output } = client;
  if (code !== 0) throw new Error(`kafka-producer-perf-test failed (${code}):\n${output}`);
  const summary = output.trim().split('\n').at(-1) ?? '';
  const match = /records sent, ([\d.]+) records\/sec/.exec(summary);
  if (!match) throw new Error(`cannot read kafka-producer-perf-test output:\n${output}`);
  return {
    recordsPerSecond: Number(match[1]),
    cpuMicrosPerRecord: {
      client: Math.round((client.cpuSeconds * 1e6 * 100) / records) / 100,
      ...brokerMeter.microsPer(records),
    },
  };
}
