// Batches at a constant arrival rate: events/s through POST /v1/events/batch, and batch latency.
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_API_KEY=sk_live_… RATE=20 BATCH_SIZE=500 \
//     BATCH_FORMAT=ndjson k6 run load-tests/k6/ingest-batch.ts
// RATE counts requests; events/s is the rate of `sluice_events_accepted`. The API key's rate limit
// counts events, so give it room: npx sluice keys create --producer loadtest --rate 200000 --burst 20000
import http from 'k6/http';
import type { Options } from 'k6/options';
import { batchRequest } from '../lib/ingest-request.ts';
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

const config = loadRunConfig(__ENV, { ratePerSecond: 10, duration: '60s', mix: 'flash-sale', p99Ms: 100 });
const mix = mixes[config.mix];

http.setResponseCallback(http.expectedStatuses(202));

export const options: Options = {
  scenarios: {
    batches: constantArrivalScenario(config),
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    sluice_admitted_duration: [`p(99)<${config.p99Ms}`],
    // Every event is a schema fixture with other values: a 207 means the gateway refuses one.
    sluice_events_rejected: ['count==0'],
    sluice_events_duplicate: ['count==0'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats,
};

export function setup(): RunData {
  return runData(config);
}

export default function (data: RunData): void {
  const events = payloadFactory(config, data).batch(currentSlot(), config.batchSize, mix);
  postIngest(config, batchRequest(events, config.batchFormat), config.apiKey, {
    format: config.batchFormat,
  });
}
