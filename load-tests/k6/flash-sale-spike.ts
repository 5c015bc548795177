// A flash sale: baseline → SPIKE_FACTOR × baseline for SPIKE_DURATION → baseline
// (docs/architecture.md#benchmarks).
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_API_KEY_CRITICAL=… SLUICE_API_KEY_NORMAL=… \
//     SLUICE_API_KEY_BULK=… RATE=300 k6 run load-tests/k6/flash-sale-spike.ts
// Passes when the excess is refused only with 429/503 (always with Retry-After), nothing is refused
// at baseline, and requests admitted during the spike keep a p99 within SPIKE_P99_MS
// (default 2 × P99_MS). Payments travel with the critical key, orders normal, stock updates bulk.
import exec from 'k6/execution';
import http from 'k6/http';
import type { Options } from 'k6/options';
import { singleEventRequest } from '../lib/ingest-request.ts';
import { mixes } from '../lib/payloads.ts';
import { loadRunConfig, spikeProfile } from '../lib/run-config.ts';
import {
  currentSlot,
  payloadFactory,
  postIngest,
  runData,
  summaryTrendStats,
  type RunData,
} from './ingest-client.ts';

const config = loadRunConfig(__ENV, { ratePerSecond: 200, duration: '60s', mix: 'flash-sale', p99Ms: 10 });
const mix = mixes[config.mix];
const profile = spikeProfile(config);

// 429 and 503 are how Sluice refuses excess: they are expected, so http_req_failed counts only
// the rest (5xx other than 503, 4xx other than 429, timeouts, resets).
http.setResponseCallback(http.expectedStatuses(202, 207, 429, 503));

// Sub-metrics appear in the summary only when a threshold names them; `count>=0` always holds.
const shown = ['count>=0'];

export const options: Options = {
  scenarios: {
    flash_sale: {
      executor: 'ramping-arrival-rate',
      startRate: profile.startRate,
      timeUnit: '1s',
      stages: profile.stages,
      preAllocatedVUs: config.preAllocatedVus,
      maxVUs: config.maxVus,
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    sluice_refusals_without_retry_after: ['rate==0'],
    'sluice_requests_refused{phase:baseline}': ['count==0'],
    'sluice_admitted_duration{phase:baseline}': [`p(99)<${config.p99Ms}`],
    'sluice_admitted_duration{phase:spike}': [`p(99)<${config.spikeP99Ms}`],
    'sluice_admitted_duration{phase:recovery}': [`p(99)<${config.spikeP99Ms}`],
    sluice_events_rejected: ['count==0'],
    'sluice_events_accepted{priority:critical}': shown,
    'sluice_events_accepted{priority:normal}': shown,
    'sluice_events_accepted{priority:bulk}': shown,
    'sluice_requests_refused{priority:critical}': shown,
    'sluice_requests_refused{priority:normal}': shown,
    'sluice_requests_refused{priority:bulk}': shown,
    'sluice_requests_refused{status:429}': shown,
    'sluice_requests_refused{status:503}': shown,
  },
  summaryTrendStats,
};

export function setup(): RunData {
  return runData(config);
}

export default function (data: RunData): void {
  const phase = profile.phaseAt(Date.now() - exec.scenario.startTime);
  const { event, priority } = payloadFactory(config, data).fromMix(mix, currentSlot());
  postIngest(config, singleEventRequest(event, config.format), config.apiKeys[priority], {
    type: event.type,
    priority,
    phase,
  });
}
