import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { kafkaJarDir } from '../../cli/stack/kafka-broker.js';
import { stackPaths } from '../../cli/stack/paths.js';
import { encodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog } from '../../schemas/schema-catalog.js';
import { startBareServer, startGatewayProcess } from './bench-processes.js';
import { runWrk, type WrkResult } from './wrk.js';
import { median } from './open-loop-load.js';

export interface IngestBenchOptions {
  env: Record<string, string>;
  apiKey: string;
  eventsTopic: string;
  kafkaBrokers: string;
  rounds: number;
  durationSeconds: number;
  connections: number;
  workDir: string;
  log: (line: string) => void;
}

function summarize(results: WrkResult[]) {
  return {
    requestsPerSecond: median(results.map((r) => r.okRequestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: results.reduce((sum, r) => sum + r.socketErrors, 0),
    generatorCpuCores: median(results.map((r) => r.generatorCpuCores)),
    runs: results.map((r) => Math.round(r.requestsPerSecond)),
  };
}

function sampleEvent(): { type: string; key: string; data: unknown } {
  const data = JSON.parse(
    readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
  ) as unknown;
  return { type: 'order.created', key: 'order-1001', data };
}

/**
 * Single-event ingest against the bare uWS baseline, interleaved round by round so both see the
 * same machine; then latency at half the measured capacity (open loop); then batch ingest
 * against Kafka's own kafka-producer-perf-test with the same record size and acks=all.
 */
export async function benchIngest(options: IngestBenchOptions) {
  const event = sampleEvent();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` };
  const singleBody = JSON.stringify(event);
  const withIdBody = JSON.stringify({ ...event, id: 'evt-{{n}}' });
  const bare = await startBareServer();
  const gateway = await startGatewayProcess(options.env);
  const script = (name: string) => join(options.workDir, `${name}.lua`);
  const bareRuns: WrkResult[] = [];
  const gatewayRuns: WrkResult[] = [];
  const gatewayWithIdRuns: WrkResult[] = [];
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
    for (let round = 1; round <= options.rounds; round++) {
      const common = { connections: options.connections, durationSeconds: options.durationSeconds };
      bareRuns.push(
        await runWrk({
          ...common,
          url: `${bare.url}/v1/events`,
          request: { method: 'POST', headers, body: singleBody },
          scriptPath: script('bare'),
        }),
      );
      gatewayRuns.push(
        await runWrk({
          ...common,
          url: `${gateway.url}/v1/events`,
          request: { method: 'POST', headers, body: singleBody },
          scriptPath: script('gateway'),
        }),
      );
      gatewayWithIdRuns.push(
        await runWrk({
          ...common,
          url: `${gateway.url}/v1/events`,
          request: { method: 'POST', headers, body: withIdBody, uniqueCounter: true },
          scriptPath: script('gateway-ids'),
        }),
      );
      options.log(
        `round ${round}: bare ${Math.round(bareRuns.at(-1)!.requestsPerSecond)} req/s, sluice ${Math.round(gatewayRuns.at(-1)!.requestsPerSecond)} req/s, sluice with producer ids ${Math.round(gatewayWithIdRuns.at(-1)!.requestsPerSecond)} req/s`,
      );
    }
    const single = summarize(gatewayRuns);
    const baseline = summarize(bareRuns);
    const withIds = summarize(gatewayWithIdRuns);

    // Open-loop latency at half of the measured capacity.
    const halfRate = Math.max(100, Math.round(single.requestsPerSecond / 2));
    const halfCapacity = await autocannon({
      url: `${gateway.url}/v1/events`,
      method: 'POST',
      headers,
      body: singleBody,
      connections: 64,
      overallRate: halfRate,
      duration: options.durationSeconds,
    });
    options.log(`half capacity (${halfRate} req/s offered): p99 ${halfCapacity.latency.p99} ms`);

    const batch = await benchBatch(options, gateway.url, headers, event);
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
      halfCapacity: {
        offeredRequestsPerSecond: halfRate,
        achievedRequestsPerSecond: halfCapacity.requests.average,
        p50Ms: halfCapacity.latency.p50,
        p99Ms: halfCapacity.latency.p99,
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

async function benchBatch(
  options: IngestBenchOptions,
  gatewayUrl: string,
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

  const perfRuns: number[] = [];
  const sluiceRuns: number[] = [];
  const refusedBatches: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    perfRuns.push(kafkaProducerPerfTest(options, recordBytes));
    const run = await runWrk({
      url: `${gatewayUrl}/v1/events/batch`,
      request: { method: 'POST', headers, body },
      connections: 8,
      durationSeconds: options.durationSeconds,
      scriptPath: join(options.workDir, 'batch.lua'),
    });
    sluiceRuns.push(run.okRequestsPerSecond * eventsPerBatch);
    refusedBatches.push(run.non2xx);
    options.log(
      `batch round ${round}: kafka-producer-perf-test ${Math.round(perfRuns.at(-1)!)} rec/s, sluice ${Math.round(sluiceRuns.at(-1)!)} events/s` +
        ` (${run.non2xx} batches refused, not counted)`,
    );
  }
  const perf = median(perfRuns);
  const sluice = median(sluiceRuns);
  return {
    recordBytes,
    eventsPerBatch,
    kafkaProducerPerfTestRecordsPerSecond: perf,
    sluiceEventsPerSecond: sluice,
    ratio: sluice / perf,
    runs: { perf: perfRuns, sluice: sluiceRuns, sluiceRefusedBatches: refusedBatches },
  };
}

/** Kafka's own producer benchmark on the same broker: acks=all, idempotent, same record size. */
function kafkaProducerPerfTest(options: IngestBenchOptions, recordBytes: number): number {
  const libDir = kafkaJarDir(stackPaths());
  const output = execFileSync(
    'java',
    [
      '-Xmx512m',
      '-cp',
      join(libDir, '*'),
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      options.eventsTopic,
      '--num-records',
      String(300_000),
      '--record-size',
      String(recordBytes),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${options.kafkaBrokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const summary = output.trim().split('\n').at(-1) ?? '';
  const match = /records sent, ([\d.]+) records\/sec/.exec(summary);
  if (!match) throw new Error(`cannot read kafka-producer-perf-test output:\n${output}`);
  return Number(match[1]);
}
