import { getHeapStatistics } from 'node:v8';
import { EnvReader, type Env } from '../../common/config.js';
import {
  defaultLoadShedderConfig,
  loadShedderConfigProblems,
  type LoadShedderConfig,
  type ShedderFieldNames,
} from './load-shedder.js';
import type { RateLimitMode } from './rate-limiter.js';

/** Rate limiting. Per-key rate and burst come from the API key file, not from here. */
export interface RateLimitConfig {
  /** `SLUICE_RATE_LIMIT_MODE`: `local` (per process, default) or `redis` (one budget for all gateways). */
  readonly mode: RateLimitMode;
  /** `SLUICE_REDIS_URL` or `REDIS_URL`; default `redis://127.0.0.1:6379`. Used in `redis` mode. */
  readonly redisUrl: string;
  /** `SLUICE_RATE_LIMIT_KEY_PREFIX`: prefix of bucket keys in Redis; default `sluice:ratelimit:`. */
  readonly redisKeyPrefix: string;
  /** `SLUICE_RATE_LIMIT_REDIS_TIMEOUT_MS`: deadline of one Redis call before deciding locally; default 50 ms. */
  readonly redisCommandTimeoutMs: number;
  /** `SLUICE_RATE_LIMIT_REDIS_PROBE_INTERVAL_MS`: while falling back, how often to try Redis again; default 1 s. */
  readonly redisProbeIntervalMs: number;
  /** `SLUICE_RATE_LIMIT_IDLE_EVICTION_MS`: local buckets idle this long (and full) are dropped; default 60 s. */
  readonly idleEvictionMs: number;
  /** `SLUICE_RATE_LIMIT_MAX_KEYS`: hard cap on local buckets; default 100 000. */
  readonly maxKeys: number;
}

/** Event-loop and heap sampling for the load shedder. */
export interface RuntimeSignalsConfig {
  /** `SLUICE_EVENT_LOOP_SAMPLE_INTERVAL_MS`: window over which delay is measured; default 1 s. */
  readonly sampleIntervalMs: number;
  /** `SLUICE_EVENT_LOOP_RESOLUTION_MS`: event-loop histogram timer period; default 10 ms. */
  readonly resolutionMs: number;
  /**
   * `SLUICE_EVENT_LOOP_PERCENTILE`: percentile of the window's delays compared with the limit;
   * default 50. The median says the loop is saturated (most ticks late); a high percentile would
   * also fire on one long task, such as parsing a 5 MiB batch, and shed a whole window for it.
   */
  readonly percentile: number;
}

export interface AdmissionConfig {
  readonly rateLimit: RateLimitConfig;
  /**
   * `SLUICE_SHED_MAX_PENDING_EVENTS` (default 20 000), `SLUICE_SHED_MAX_PENDING_BYTES` (64 MiB),
   * `SLUICE_SHED_MAX_QUEUE_DELAY_MS` (50 ms: the standing wait before the hand-off to Kafka, the
   * smallest over `SLUICE_SHED_QUEUE_DELAY_INTERVAL_MS`, 100 ms),
   * `SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS` (100 ms), `SLUICE_SHED_MAX_HEAP_USED_BYTES` (90 % of V8's
   * heap limit), 0 disables a signal; `SLUICE_SHED_FRACTION_BULK|NORMAL|CRITICAL` (0.5, 0.8, 1);
   * `SLUICE_SHED_ESCALATE_AFTER_MS` (500 ms), `SLUICE_SHED_RECOVER_AFTER_MS` (1 s);
   * `SLUICE_SUSTAINED_OVERLOAD_MS` (30 s), `SLUICE_OVERLOAD_RECOVERY_MS` (10 s);
   * `SLUICE_SHED_MIN_RETRY_AFTER_SECONDS` (1), `SLUICE_SHED_MAX_RETRY_AFTER_SECONDS` (30).
   */
  readonly loadShedding: LoadShedderConfig;
  readonly runtimeSignals: RuntimeSignalsConfig;
}

const shedderEnvNames: Record<Parameters<ShedderFieldNames>[0], string> = {
  maxPendingEvents: 'SLUICE_SHED_MAX_PENDING_EVENTS',
  maxPendingBytes: 'SLUICE_SHED_MAX_PENDING_BYTES',
  maxQueueDelayMs: 'SLUICE_SHED_MAX_QUEUE_DELAY_MS',
  queueDelayIntervalMs: 'SLUICE_SHED_QUEUE_DELAY_INTERVAL_MS',
  escalateAfterMs: 'SLUICE_SHED_ESCALATE_AFTER_MS',
  recoverAfterMs: 'SLUICE_SHED_RECOVER_AFTER_MS',
  maxEventLoopDelayMs: 'SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS',
  maxHeapUsedBytes: 'SLUICE_SHED_MAX_HEAP_USED_BYTES',
  'shedFractions.bulk': 'SLUICE_SHED_FRACTION_BULK',
  'shedFractions.normal': 'SLUICE_SHED_FRACTION_NORMAL',
  'shedFractions.critical': 'SLUICE_SHED_FRACTION_CRITICAL',
  sustainedOverloadMs: 'SLUICE_SUSTAINED_OVERLOAD_MS',
  overloadRecoveryMs: 'SLUICE_OVERLOAD_RECOVERY_MS',
  minRetryAfterSeconds: 'SLUICE_SHED_MIN_RETRY_AFTER_SECONDS',
  maxRetryAfterSeconds: 'SLUICE_SHED_MAX_RETRY_AFTER_SECONDS',
};
const shedderEnvName: ShedderFieldNames = (field) => shedderEnvNames[field];

/**
 * Reads the admission settings into a fully defaulted object. Problems are recorded on `reader`,
 * so the gateway's config loader can report them together with its own; call `reader.finish()`.
 * `heapSizeLimitBytes` is V8's limit (from `--max-old-space-size` or the container), used for the
 * default heap threshold.
 */
export function readAdmissionConfig(
  reader: EnvReader,
  heapSizeLimitBytes = getHeapStatistics().heap_size_limit,
): AdmissionConfig {
  const shedDefaults = defaultLoadShedderConfig;
  const rateLimit: RateLimitConfig = {
    mode: reader.oneOf('SLUICE_RATE_LIMIT_MODE', ['local', 'redis'] as const, 'local'),
    redisUrl: reader.string(['SLUICE_REDIS_URL', 'REDIS_URL'], 'redis://127.0.0.1:6379'),
    redisKeyPrefix: reader.string('SLUICE_RATE_LIMIT_KEY_PREFIX', 'sluice:ratelimit:'),
    redisCommandTimeoutMs: reader.durationMs('SLUICE_RATE_LIMIT_REDIS_TIMEOUT_MS', 50, {
      min: 1,
      max: 10_000,
    }),
    redisProbeIntervalMs: reader.durationMs('SLUICE_RATE_LIMIT_REDIS_PROBE_INTERVAL_MS', 1000, { min: 10 }),
    idleEvictionMs: reader.durationMs('SLUICE_RATE_LIMIT_IDLE_EVICTION_MS', 60_000, { min: 1000 }),
    maxKeys: reader.integer('SLUICE_RATE_LIMIT_MAX_KEYS', 100_000, { min: 1 }),
  };
  const loadShedding: LoadShedderConfig = {
    maxPendingEvents: reader.integer('SLUICE_SHED_MAX_PENDING_EVENTS', shedDefaults.maxPendingEvents, {
      min: 0,
    }),
    maxPendingBytes: reader.bytes('SLUICE_SHED_MAX_PENDING_BYTES', shedDefaults.maxPendingBytes, { min: 0 }),
    maxQueueDelayMs: reader.durationMs('SLUICE_SHED_MAX_QUEUE_DELAY_MS', shedDefaults.maxQueueDelayMs, {
      min: 0,
    }),
    queueDelayIntervalMs: reader.durationMs(
      'SLUICE_SHED_QUEUE_DELAY_INTERVAL_MS',
      shedDefaults.queueDelayIntervalMs,
      { min: 1 },
    ),
    maxEventLoopDelayMs: reader.durationMs(
      'SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS',
      shedDefaults.maxEventLoopDelayMs,
      {
        min: 0,
      },
    ),
    maxHeapUsedBytes: reader.bytes('SLUICE_SHED_MAX_HEAP_USED_BYTES', Math.round(heapSizeLimitBytes * 0.9), {
      min: 0,
    }),
    shedFractions: {
      bulk: reader.number('SLUICE_SHED_FRACTION_BULK', shedDefaults.shedFractions.bulk),
      normal: reader.number('SLUICE_SHED_FRACTION_NORMAL', shedDefaults.shedFractions.normal),
      critical: reader.number('SLUICE_SHED_FRACTION_CRITICAL', shedDefaults.shedFractions.critical),
    },
    escalateAfterMs: reader.durationMs('SLUICE_SHED_ESCALATE_AFTER_MS', shedDefaults.escalateAfterMs, {
      min: 0,
    }),
    recoverAfterMs: reader.durationMs('SLUICE_SHED_RECOVER_AFTER_MS', shedDefaults.recoverAfterMs, {
      min: 0,
    }),
    sustainedOverloadMs: reader.durationMs('SLUICE_SUSTAINED_OVERLOAD_MS', shedDefaults.sustainedOverloadMs, {
      min: 0,
    }),
    overloadRecoveryMs: reader.durationMs('SLUICE_OVERLOAD_RECOVERY_MS', shedDefaults.overloadRecoveryMs, {
      min: 0,
    }),
    minRetryAfterSeconds: reader.integer(
      'SLUICE_SHED_MIN_RETRY_AFTER_SECONDS',
      shedDefaults.minRetryAfterSeconds,
    ),
    maxRetryAfterSeconds: reader.integer(
      'SLUICE_SHED_MAX_RETRY_AFTER_SECONDS',
      shedDefaults.maxRetryAfterSeconds,
    ),
  };
  for (const problem of loadShedderConfigProblems(loadShedding, shedderEnvName)) reader.problem(problem);
  const runtimeSignals: RuntimeSignalsConfig = {
    sampleIntervalMs: reader.durationMs('SLUICE_EVENT_LOOP_SAMPLE_INTERVAL_MS', 1000, { min: 10 }),
    resolutionMs: reader.durationMs('SLUICE_EVENT_LOOP_RESOLUTION_MS', 10, { min: 1, max: 1000 }),
    percentile: reader.number('SLUICE_EVENT_LOOP_PERCENTILE', 50, { min: 1, max: 100 }),
  };
  if (runtimeSignals.sampleIntervalMs < runtimeSignals.resolutionMs) {
    reader.problem(
      `SLUICE_EVENT_LOOP_SAMPLE_INTERVAL_MS (${runtimeSignals.sampleIntervalMs}) must be ≥ SLUICE_EVENT_LOOP_RESOLUTION_MS (${runtimeSignals.resolutionMs})`,
    );
  }
  return { rateLimit, loadShedding, runtimeSignals };
}

/** Standalone loader: the admission settings alone, frozen, or one error listing every problem. */
export function loadAdmissionConfig(env: Env, heapSizeLimitBytes?: number): Readonly<AdmissionConfig> {
  const reader = new EnvReader(env);
  return reader.finish(readAdmissionConfig(reader, heapSizeLimitBytes));
}
