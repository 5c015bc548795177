// Settings of the k6 scripts, read from `__ENV`. Pure and import-free like payloads.ts (k6 loads it
// as-is), so vitest checks the parsing and the spike profile without k6.

import type { Priority } from '../../gateway/admission/priority.ts';
import type { BatchFormat, SingleFormat } from './ingest-request.ts';
import type { MixName } from './payloads.ts';

/** What a script may default differently; everything else has one default for all scripts. */
export interface RunDefaults {
  /** Requests (k6 iterations) per second; for the spike, the baseline. */
  ratePerSecond: number;
  duration: string;
  mix: MixName;
  /** p99 latency threshold of admitted requests, in ms. */
  p99Ms: number;
}

/** Every setting of a run, defaults applied. Durations are kept as k6 strings and in ms. */
export interface RunConfig {
  /** `SLUICE_URL`, without a trailing slash. Default `http://127.0.0.1:8080`. */
  sluiceUrl: string;
  /** `SLUICE_API_KEY` (required). */
  apiKey: string;
  /** `SLUICE_API_KEY_CRITICAL` / `_NORMAL` / `_BULK`: one key per priority class; default `apiKey`. */
  apiKeys: Readonly<Record<Priority, string>>;
  /** `RATE`: requests per second (a batch is one request). */
  ratePerSecond: number;
  /** `DURATION`, e.g. `60s`, `2m30s`. */
  duration: string;
  durationMs: number;
  /** `SEED`: the payloads' seed. Default 1. */
  seed: number;
  /** `RUN_ID`: part of every event id; default a fresh one per run (see README). */
  runId: string | undefined;
  /** `FORMAT`: `json` | `cloudevents` | `cloudevents-binary`, for single events. Default `json`. */
  format: SingleFormat;
  /** `MIX`: `catalog` (every type alike) | `flash-sale`. */
  mix: MixName;
  /** `BATCH_SIZE`: events per batch. Default 100. */
  batchSize: number;
  /** `BATCH_FORMAT`: `json` | `ndjson` | `cloudevents`. Default `json`. */
  batchFormat: BatchFormat;
  /** `VUS`: VUs allocated before the start. Default 20. */
  preAllocatedVus: number;
  /** `MAX_VUS`: most VUs k6 may start to hold the arrival rate. Default 200. */
  maxVus: number;
  /** `REQUEST_TIMEOUT`: per request. Default `10s`. */
  requestTimeout: string;
  /** `P99_MS`: p99 threshold of admitted requests (for the spike: at baseline). */
  p99Ms: number;
  /** `SPIKE_FACTOR`: spike rate ÷ baseline rate. Default 10. */
  spikeFactor: number;
  /** `BASELINE_DURATION`, `RAMP_DURATION`, `SPIKE_DURATION`, `RECOVERY_DURATION`. */
  baselineMs: number;
  rampMs: number;
  spikeMs: number;
  recoveryMs: number;
  /** `SPIKE_P99_MS`: p99 threshold of requests admitted during the spike. Default 2 × `P99_MS`. */
  spikeP99Ms: number;
}

const durationPattern = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a k6 (Go) duration such as `90s`, `1m30s` or `250ms` into ms; undefined if malformed.
 * Not common/duration.ts's parser: k6 loads this file as it is, so it may import only types, and
 * it reads what k6 itself accepts (compound `1m30s`, no days, no bare numbers).
 */
export function parseDurationMs(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  let total = 0;
  const parts = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  for (let match = parts.exec(text); match !== null; match = parts.exec(text)) {
    total += Number(match[1]) * unitMs[match[2]!]!;
  }
  return total;
}

/** A k6 duration string for a number of ms. */
export function formatDuration(ms: number): string {
  return `${Math.round(ms)}ms`;
}

export const mixNames: readonly MixName[] = ['catalog', 'flash-sale'];
const singleFormatNames: readonly SingleFormat[] = ['json', 'cloudevents', 'cloudevents-binary'];
const batchFormatNames: readonly BatchFormat[] = ['json', 'ndjson', 'cloudevents'];

/**
 * Reads the run's settings from `env` (k6's `__ENV`). Throws one error that lists every problem,
 * so a mistyped variable stops the run before any request is sent.
 */
export function loadRunConfig(
  env: Readonly<Record<string, string | undefined>>,
  defaults: RunDefaults,
): RunConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const number = (name: string, fallback: number, check: (value: number) => boolean, rule: string) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || !check(value)) {
      problems.push(`${name} must be ${rule}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  const positive = (name: string, fallback: number) =>
    number(name, fallback, (value) => value > 0, 'a positive number');
  const count = (name: string, fallback: number) =>
    number(name, fallback, (value) => Number.isInteger(value) && value >= 1, 'a positive integer');
  const duration = (name: string, fallback: string): [string, number] => {
    const raw = text(name) ?? fallback;
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`${name} must be a duration such as 30s, 2m or 1m30s, got ${JSON.stringify(raw)}`);
      return [fallback, parseDurationMs(fallback) ?? 1000];
    }
    return [raw, ms];
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return raw as T;
  };

  const sluiceUrl = (text('SLUICE_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(sluiceUrl)) {
    problems.push(`SLUICE_URL must be an http(s) URL such as http://127.0.0.1:8080, got ${sluiceUrl}`);
  }
  const apiKey = text('SLUICE_API_KEY');
  if (apiKey === undefined) {
    problems.push('SLUICE_API_KEY is required (create one with: npx sluice keys create --producer loadtest)');
  }
  const runId = text('RUN_ID');
  if (runId !== undefined && !/^[A-Za-z0-9-]{1,24}$/.test(runId)) {
    problems.push(`RUN_ID must be 1 to 24 letters, digits or dashes, got ${JSON.stringify(runId)}`);
  }
  const [durationText, durationMs] = duration('DURATION', defaults.duration);
  const [, baselineMs] = duration('BASELINE_DURATION', '60s');
  const [, rampMs] = duration('RAMP_DURATION', '5s');
  const [, spikeMs] = duration('SPIKE_DURATION', '60s');
  const [, recoveryMs] = duration('RECOVERY_DURATION', '60s');
  const [requestTimeout] = duration('REQUEST_TIMEOUT', '10s');
  const preAllocatedVus = count('VUS', 20);
  const maxVus = count('MAX_VUS', 200);
  if (maxVus < preAllocatedVus)
    problems.push(`MAX_VUS (${maxVus}) must be at least VUS (${preAllocatedVus})`);
  const p99Ms = positive('P99_MS', defaults.p99Ms);
  const spikeFactor = number('SPIKE_FACTOR', 10, (value) => value >= 1, 'a number of at least 1');
  const batchSize = count('BATCH_SIZE', 100);
  const config: RunConfig = {
    sluiceUrl,
    apiKey: apiKey ?? '',
    apiKeys: {
      critical: text('SLUICE_API_KEY_CRITICAL') ?? apiKey ?? '',
      normal: text('SLUICE_API_KEY_NORMAL') ?? apiKey ?? '',
      bulk: text('SLUICE_API_KEY_BULK') ?? apiKey ?? '',
    },
    ratePerSecond: positive('RATE', defaults.ratePerSecond),
    duration: durationText,
    durationMs,
    seed: number('SEED', 1, Number.isSafeInteger, 'an integer'),
    runId,
    format: oneOf('FORMAT', singleFormatNames, 'json'),
    mix: oneOf('MIX', mixNames, defaults.mix),
    batchSize,
    batchFormat: oneOf('BATCH_FORMAT', batchFormatNames, 'json'),
    preAllocatedVus,
    maxVus,
    requestTimeout,
    p99Ms,
    spikeFactor,
    baselineMs,
    rampMs,
    spikeMs,
    recoveryMs,
    spikeP99Ms: positive('SPIKE_P99_MS', 2 * p99Ms),
  };
  if (problems.length > 0) {
    throw new Error(`invalid load-test settings:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(config);
}

export type SpikePhase = 'baseline' | 'spike' | 'recovery';

export interface SpikeProfile {
  startRate: number;
  /** Stages of k6's `ramping-arrival-rate` executor (rates per second). */
  stages: { target: number; duration: string }[];
  totalMs: number;
  /** The phase a request belongs to, from the ms elapsed since the scenario started. */
  phaseAt(elapsedMs: number): SpikePhase;
}

/**
 * Baseline → ramp → `spikeFactor` × baseline for `spikeMs` → ramp down → baseline again. Ramps
 * count as spike: the gateway is already above baseline then, and refusals are allowed.
 */
export function spikeProfile(config: RunConfig): SpikeProfile {
  const base = config.ratePerSecond;
  const peak = Math.round(base * config.spikeFactor);
  const spikeStartMs = config.baselineMs;
  const spikeEndMs = config.baselineMs + 2 * config.rampMs + config.spikeMs;
  return {
    startRate: base,
    stages: [
      { target: base, duration: formatDuration(config.baselineMs) },
      { target: peak, duration: formatDuration(config.rampMs) },
      { target: peak, duration: formatDuration(config.spikeMs) },
      { target: base, duration: formatDuration(config.rampMs) },
      { target: base, duration: formatDuration(config.recoveryMs) },
    ],
    totalMs: spikeEndMs + config.recoveryMs,
    phaseAt: (elapsedMs) =>
      elapsedMs < spikeStartMs ? 'baseline' : elapsedMs < spikeEndMs ? 'spike' : 'recovery',
  };
}
