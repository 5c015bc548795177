// Single events at a constant arrival rate: ingest latency (202 after the Kafka ack) below capacity.
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_API_KEY=sk_live_… RATE=500 DURATION=2m \
//     k6 run load-tests/k6/ingest-steady.ts
// Every request should be accepted: at a rate below capacity, a 429 or 503 counts as a failure.
import http from 'k6/http';
import type { Options } from 'k6/options';
import { singleEventRequest } from '../lib/ingest-request.ts';
import { mixes } from '../lib/payloads.ts';
import { loadRunConfig } from '../lib/run-config.ts';
import {
  constantArrivalScenario,
  currentSlot,
  payloadFactory,
  postIngest,
  runData,
  summaryTrendStats,
  type RunData,
} from './ingest-client.ts';

const config = loadRunConfig(__ENV, { ratePerSecond: 200, duration: '60s', mix: 'catalog', p99Ms: 10 });
const mix = mixes[config.mix];

http.setResponseCallback(http.expectedStatuses(202));

export const options: Options = {
  scenarios: {
    steady: constantArrivalScenario(config),
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    // The target (docs/architecture.md#benchmarks): p99 ingest ≤ 10 ms at half of capacity (P99_MS).
    sluice_admitted_duration: [`p(99)<${config.p99Ms}`],
    sluice_events_duplicate: ['count==0'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats,
};

export function setup(): RunData {
  return runData(config);
}

export default function (data: RunData): void {
  const { event, priority } = payloadFactory(config, data).fromMix(mix, currentSlot());
  postIngest(config, singleEventRequest(event, config.format), config.apiKey, {
    type: event.type,
    priority,
    format: config.format,
  });
}
