import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAdmission, type AdmissionKey, type AdmissionOutcome, type Refused } from './admission.js';
import { createAdmissionMetrics } from './admission-metrics.js';
import type { AdmitDecision, LoadShedder } from './load-shedder.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import type { TakeResult } from './token-bucket.js';

async function sampleValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([label, expected]) => String(value.labels[label]) === expected),
  );
  return sample?.value;
}

/** Rate-limit decisions observed: each one adds to the fill-ratio histogram's count. */
async function fillObservations(registry: Registry) {
  const text = await registry.getSingleMetricAsString('sluice_rate_limit_bucket_fill_ratio');
  const count = /^sluice_rate_limit_bucket_fill_ratio_count (\d+)$/m.exec(text)?.[1];
  return count === undefined ? undefined : Number(count);
}

/** A shedder whose decision the test sets; it counts how often it was asked. */
function fakeShedder() {
  const state = { decision: { admit: true } as AdmitDecision, asked: 0 };
  const shedder: LoadShedder = {
    admit() {
      state.asked++;
      return state.decision;
    },
    isShedding: () => !state.decision.admit,
    sustainedOverload: () => false,
  };
  return { shedder, state };
}

/**
 * The admission room over a local limiter on an injected clock (so refill and Retry-After are
 * exact), a fake shedder, real metrics on a fresh registry and a logger that keeps its lines.
 */
function setup(options: { rateLimiter?: RateLimiter } = {}) {
  let now = 0;
  const clock = { nowMs: () => now, advance: (ms: number) => void (now += ms) };
  const { shedder, state: shedding } = fakeShedder();
  const rateLimiter = options.rateLimiter ?? createRateLimiter({ mode: 'local', nowMs: clock.nowMs });
  const registry = new Registry();
  const logs: Array<{ fields: object; message: string | undefined }> = [];
  const admission = createAdmission({
    shedder,
    rateLimiter,
    metrics: createAdmissionMetrics(registry),
    logger: { debug: (fields: object, message?: string) => void logs.push({ fields, message }) } as never,
  });
  return { admission, clock, shedding, registry, logs };
}

const key: AdmissionKey = { id: 'shop-eu', priority: 'normal', ratePerSecond: 10, burst: 5 };

function settled(outcome: AdmissionOutcome | Promise<AdmissionOutcome>): AdmissionOutcome {
  if (outcome instanceof Promise) throw new Error('expected a synchronous decision');
  return outcome;
}

function refused(outcome: AdmissionOutcome | Promise<AdmissionOutcome>): Refused {
  const decided = settled(outcome);
  if (decided.admitted) throw new Error('expected a refusal');
  return decided;
}

describe('createAdmission', () => {
  it('admits a request head with no headers, the same value every time, counting nothing yet', async () => {
    const { admission, shedding, registry, logs } = setup();
    const first = admission.admitHead(key);
    expect(first).toEqual({ admitted: true, headers: {} });
    expect(admission.admitHead(key)).toBe(first);
    expect(await sampleValue(registry, 'sluice_admission_admitted_total', { priority: 'normal' })).toBe(0);
    expect(await fillObservations(registry)).toBe(0);
    expect(logs).toEqual([]);
    // Admitting a head took nothing: the whole burst is still there.
    expect(settled(admission.admitEvents(key, 5)).admitted).toBe(true);
    // Shedding is decided once per request, on its head.
    expect(shedding.asked).toBe(2);
  });

  it('refuses a shed request head with 503 SLUICE_OVERLOADED, its Retry-After and reason', async () => {
    const { admission, shedding, registry, logs } = setup();
    shedding.decision = { admit: false, reason: 'queue-delay', retryAfterSeconds: 7 };
    const outcome = refused(admission.admitHead({ ...key, priority: 'bulk' }));
    expect(outcome.error.code).toBe('SLUICE_OVERLOADED');
    expect(outcome.error.status).toBe(503);
    expect(outcome.error.retryAfterSeconds).toBe(7);
    expect(outcome.error.details).toEqual({ reason: 'queue-delay' });
    expect(outcome.error.message).toBe('the gateway is shedding bulk traffic (queue-delay)');
    expect(outcome.headers).toEqual({});
    expect(
      await sampleValue(registry, 'sluice_load_shed_total', { priority: 'bulk', reason: 'queue-delay' }),
    ).toBe(1);
    // Shed before the rate limit: the key's budget is neither checked nor observed.
    expect(await fillObservations(registry)).toBe(0);
    expect(logs).toEqual([
      { fields: { producer: 'shop-eu', priority: 'bulk', reason: 'queue-delay' }, message: 'request shed' },
    ]);
  });

  it('takes events synchronously from a local limiter and returns the RateLimit headers', async () => {
    const { admission, registry } = setup();
    const outcome = settled(admission.admitEvents(key, 1));
    expect(outcome).toEqual({
      admitted: true,
      headers: { 'ratelimit-policy': '"default";q=5;w=1', ratelimit: '"default";r=4;t=1' },
    });
    expect(await sampleValue(registry, 'sluice_admission_admitted_total', { priority: 'normal' })).toBe(1);
    expect(await fillObservations(registry)).toBe(1);
  });

  it('refuses events over the rate with 429 SLUICE_RATE_LIMITED and a matching Retry-After', async () => {
    const { admission, clock, registry, logs } = setup();
    const slow: AdmissionKey = { id: 'slow', priority: 'critical', ratePerSecond: 0.5, burst: 2 };
    expect(settled(admission.admitEvents(slow, 2)).admitted).toBe(true);
    const outcome = refused(admission.admitEvents(slow, 1));
    expect(outcome.error.code).toBe('SLUICE_RATE_LIMITED');
    expect(outcome.error.status).toBe(429);
    expect(outcome.error.message).toBe('rate limit of 0.5 events/s exceeded');
    expect(outcome.error.retryAfterSeconds).toBe(2);
    expect(outcome.headers).toEqual({
      'ratelimit-policy': '"default";q=2;w=4',
      ratelimit: '"default";r=0;t=2',
      'retry-after': '2',
    });
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', { priority: 'critical', reason: 'rate' }),
    ).toBe(1);
    expect(await sampleValue(registry, 'sluice_admission_admitted_total', { priority: 'critical' })).toBe(1);
    expect(logs).toEqual([{ fields: { producer: 'slow', reason: 'rate' }, message: 'request rate limited' }]);

    clock.advance(2000);
    expect(settled(admission.admitEvents(slow, 1)).admitted).toBe(true);
  });

  it('refuses a batch larger than the burst with 413 SLUICE_BATCH_TOO_LARGE and no Retry-After', async () => {
    const { admission, registry } = setup();
    const outcome = refused(admission.admitEvents(key, 6));
    expect(outcome.error.code).toBe('SLUICE_BATCH_TOO_LARGE');
    expect(outcome.error.status).toBe(413);
    expect(outcome.error.details).toEqual({ burst: 5 });
    expect(outcome.error.retryAfterSeconds).toBeUndefined();
    expect(outcome.headers).not.toHaveProperty('retry-after');
    expect(outcome.headers['ratelimit-policy']).toBe('"default";q=5;w=1');
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', {
        priority: 'normal',
        reason: 'burst-exceeded',
      }),
    ).toBe(1);
    // The refused batch took nothing: the whole burst is still there.
    expect(settled(admission.admitEvents(key, 5)).admitted).toBe(true);
  });

  it('refuses a head whose key is certainly over its limit with 429, consuming nothing', async () => {
    const { admission, clock, registry } = setup();
    expect(settled(admission.admitEvents(key, 5)).admitted).toBe(true);
    const outcome = refused(admission.admitHead(key));
    expect(outcome.error.code).toBe('SLUICE_RATE_LIMITED');
    expect(outcome.headers['retry-after']).toBe('1');
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', { priority: 'normal', reason: 'rate' }),
    ).toBe(1);
    // The refusal took nothing: the one token that refills in 100 ms is there to take.
    clock.advance(100);
    expect(admission.admitHead(key).admitted).toBe(true);
    expect(settled(admission.admitEvents(key, 1)).admitted).toBe(true);
  });

  it('answers with a promise only when the limiter must wait for Redis, counting it once', async () => {
    const answers: TakeResult[] = [
      { allowed: true, remaining: 3, resetMs: 100 },
      { allowed: false, reason: 'rate', remaining: 0, resetMs: 100, retryAfterMs: 1500 },
    ];
    const remote: RateLimiter = {
      precheck: () => undefined,
      takeSync: () => undefined,
      take: async () => answers.shift()!,
      ready: async () => 'redis',
      backend: () => 'redis',
      close: async () => {},
    };
    const { admission, registry } = setup({ rateLimiter: remote });
    const pending = admission.admitEvents(key, 2);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual({
      admitted: true,
      headers: { 'ratelimit-policy': '"default";q=5;w=1', ratelimit: '"default";r=3;t=1' },
    });
    const refusal = await admission.admitEvents(key, 2);
    expect(refusal.admitted).toBe(false);
    expect(refusal.headers['retry-after']).toBe('2');
    expect(await sampleValue(registry, 'sluice_admission_admitted_total', { priority: 'normal' })).toBe(1);
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', { priority: 'normal', reason: 'rate' }),
    ).toBe(1);
    expect(await fillObservations(registry)).toBe(2);
  });
});
