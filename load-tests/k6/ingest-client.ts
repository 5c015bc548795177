// What every k6 script here shares: posting one ingest request and turning its answer into metrics.
// Imports use `.ts` paths because k6 resolves them literally (see load-tests/README.md).
import { check } from 'k6';
import exec from 'k6/execution';
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { ConstantArrivalRateScenario } from 'k6/options';
import type { IngestRequest } from '../lib/ingest-request.ts';
import { createPayloadFactory, loadFixtures, type PayloadFactory, type Slot } from '../lib/payloads.ts';
import type { RunConfig } from '../lib/run-config.ts';

// The schema fixtures every payload starts from, read in the init context (the only place k6 lets
// `open` run); import.meta.resolve makes the path relative to this file, not to the working directory.
const fixtures = loadFixtures((path) => JSON.parse(open(import.meta.resolve(`../../${path}`))));

/** Events the gateway accepted (a 202 batch of 100 counts 100; duplicates included). */
export const eventsAccepted = new Counter('sluice_events_accepted');
/** Events a 207 answer refused one by one (schema-invalid…): the builders should cause none. */
export const eventsRejected = new Counter('sluice_events_rejected');
/** Accepted answers marked `duplicate`: ids repeated within the idempotency window (see RUN_ID). */
export const eventsDuplicate = new Counter('sluice_events_duplicate');
/** Requests refused for now, 429 (rate limit) or 503 (shed), tagged with `status`. */
export const requestsRefused = new Counter('sluice_requests_refused');
/** 429/503 answers without `Retry-After`: the contract says there must be none. */
export const refusalsWithoutRetryAfter = new Rate('sluice_refusals_without_retry_after');
/** Latency of admitted requests only (202/207): what load shedding must keep low. */
export const admittedDuration = new Trend('sluice_admitted_duration', true);

/** Data every VU gets from `setup()`. */
export interface RunData {
  runId: string;
}

/** One run id for all VUs, so ids never repeat a previous run's (the gateway would dedupe them). */
export function runData(config: RunConfig): RunData {
  return { runId: config.runId ?? `k6-${Date.now().toString(36)}` };
}

let factory: PayloadFactory | undefined;

/** The payload factory of this VU, created on its first iteration (it needs setup()'s run id). */
export function payloadFactory(config: RunConfig, data: RunData): PayloadFactory {
  if (factory === undefined)
    factory = createPayloadFactory({ fixtures, seed: config.seed, runId: data.runId });
  return factory;
}

/** (VU, iteration) of the running iteration: unique within a k6 run. */
export function currentSlot(): Slot {
  return { vu: exec.vu.idInTest, iteration: exec.vu.iterationInInstance };
}

/** Requests at the run's RATE for its DURATION, whatever the server does (open loop). */
export function constantArrivalScenario(config: RunConfig): ConstantArrivalRateScenario {
  return {
    executor: 'constant-arrival-rate',
    rate: config.ratePerSecond,
    timeUnit: '1s',
    duration: config.duration,
    preAllocatedVUs: config.preAllocatedVus,
    maxVUs: config.maxVus,
  };
}

type Tags = Record<string, string>;

/** Posts `request` with `apiKey` and records what the answer means for Sluice's contract. */
export function postIngest(
  config: RunConfig,
  request: IngestRequest,
  apiKey: string,
  tags: Tags,
): RefinedResponse<ResponseType> {
  const response = http.post(`${config.sluiceUrl}${request.path}`, request.body, {
    headers: { ...request.headers, authorization: `Bearer ${apiKey}` },
    tags,
    timeout: config.requestTimeout,
  });
  const { status } = response;
  if (status === 202 || status === 207) {
    admittedDuration.add(response.timings.duration, tags);
    countEvents(request, response, tags);
  } else if (status === 429 || status === 503) {
    requestsRefused.add(1, { ...tags, status: String(status) });
    refusalsWithoutRetryAfter.add(!response.headers['Retry-After'], tags);
  }
  check(response, {
    'admitted (202/207) or refused for now (429/503)': (r) => [202, 207, 429, 503].includes(r.status),
    'no event rejected': (r) => r.status !== 207,
  });
  return response;
}

function countEvents(request: IngestRequest, response: RefinedResponse<ResponseType>, tags: Tags): void {
  const body = typeof response.body === 'string' ? response.body : '';
  if (request.path === '/v1/events') {
    // Parsing every single-event answer would cost the generator CPU it needs to send.
    eventsAccepted.add(1, tags);
    if (body.indexOf('"duplicate":true') !== -1) eventsDuplicate.add(1, tags);
    return;
  }
  let answer: { accepted?: unknown; rejected?: unknown; results?: unknown } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    // A 202/207 without a JSON body breaks the API contract; the checks above make it visible.
  }
  eventsAccepted.add(typeof answer.accepted === 'number' ? answer.accepted : 0, tags);
  eventsRejected.add(typeof answer.rejected === 'number' ? answer.rejected : 0, tags);
  if (Array.isArray(answer.results)) {
    const duplicates = answer.results.filter(
      (result: unknown) => typeof result === 'object' && result !== null && 'duplicate' in result,
    ).length;
    if (duplicates > 0) eventsDuplicate.add(duplicates, tags);
  }
}

/** Trend statistics every script prints. */
export const summaryTrendStats = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];
