import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../common/errors.js';
import { loadAdmissionConfig } from './admission-config.js';

const heapLimitBytes = 2_000_000_000;

describe('loadAdmissionConfig', () => {
  it('fills every field with its default', () => {
    const config = loadAdmissionConfig({}, heapLimitBytes);
    expect(config.rateLimit).toEqual({
      mode: 'local',
      redisUrl: 'redis://127.0.0.1:6379',
      redisKeyPrefix: 'sluice:ratelimit:',
      redisCommandTimeoutMs: 50,
      redisProbeIntervalMs: 1000,
      idleEvictionMs: 60_000,
      maxKeys: 100_000,
    });
    expect(config.loadShedding).toMatchObject({
      maxPendingEvents: 20_000,
      maxPendingBytes: 64 * 1024 * 1024,
      maxEventLoopDelayMs: 100,
      maxHeapUsedBytes: 1_800_000_000,
      shedFractions: { bulk: 0.5, normal: 0.8, critical: 1 },
      minRetryAfterSeconds: 1,
      maxRetryAfterSeconds: 30,
    });
    expect(config.runtimeSignals).toEqual({ sampleIntervalMs: 1000, resolutionMs: 10, percentile: 50 });
    expect(Object.isFrozen(config.loadShedding.shedFractions)).toBe(true);
  });

  it('reads units and aliases from the environment', () => {
    const config = loadAdmissionConfig(
      {
        SLUICE_RATE_LIMIT_MODE: 'redis',
        REDIS_URL: 'redis://redis.internal:6380',
        SLUICE_RATE_LIMIT_REDIS_TIMEOUT_MS: '25ms',
        SLUICE_SHED_MAX_PENDING_BYTES: '16MiB',
        SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '200',
        SLUICE_SHED_MAX_HEAP_USED_BYTES: '0',
        SLUICE_SHED_FRACTION_BULK: '0.3',
      },
      heapLimitBytes,
    );
    expect(config.rateLimit).toMatchObject({
      mode: 'redis',
      redisUrl: 'redis://redis.internal:6380',
      redisCommandTimeoutMs: 25,
    });
    expect(config.loadShedding).toMatchObject({
      maxPendingBytes: 16 * 1024 * 1024,
      maxEventLoopDelayMs: 200,
      maxHeapUsedBytes: 0,
      shedFractions: { bulk: 0.3, normal: 0.8, critical: 1 },
    });
  });

  it('reports every problem at once, naming the variables', () => {
    let caught: unknown;
    try {
      loadAdmissionConfig(
        {
          SLUICE_RATE_LIMIT_MODE: 'cluster',
          SLUICE_SHED_FRACTION_NORMAL: '0.2',
          SLUICE_SHED_MAX_PENDING_EVENTS: 'lots',
          SLUICE_EVENT_LOOP_SAMPLE_INTERVAL_MS: '20ms',
          SLUICE_EVENT_LOOP_RESOLUTION_MS: '50ms',
        },
        heapLimitBytes,
      );
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'SLUICE_CONFIG_INVALID')).toBe(true);
    const problems = (caught as { details: { problems: string[] } }).details.problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/SLUICE_RATE_LIMIT_MODE must be one of local, redis, got "cluster"/);
    expect(problems.join('\n')).toMatch(/SLUICE_SHED_MAX_PENDING_EVENTS must be a whole number/);
    expect(problems.join('\n')).toMatch(
      /SLUICE_SHED_FRACTION_BULK ≤ SLUICE_SHED_FRACTION_NORMAL ≤ SLUICE_SHED_FRACTION_CRITICAL/,
    );
    expect(problems.join('\n')).toMatch(
      /SLUICE_EVENT_LOOP_SAMPLE_INTERVAL_MS \(20\) must be ≥ SLUICE_EVENT_LOOP_RESOLUTION_MS \(50\)/,
    );
  });
});
