import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAdmissionMetrics } from './admission-metrics.js';
import type { Priority } from './priority.js';

async function sampleValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([label, expected]) => String(value.labels[label]) === expected),
  );
  return sample?.value;
}

describe('createAdmissionMetrics', () => {
  it('registers on the given registry only, with every series present at zero', async () => {
    const registry = new Registry();
    createAdmissionMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('sluice_admission_admitted_total{priority="bulk"} 0');
    expect(text).toContain('sluice_rate_limited_total{priority="critical",reason="burst-exceeded"} 0');
    expect(text).toContain('sluice_load_shed_total{priority="normal",reason="event-loop-delay"} 0');
    expect(text).toContain('sluice_rate_limit_fallback_total 0');
    expect(text).toContain('sluice_rate_limit_bucket_fill_ratio_count 0');
    expect(globalRegistry.getSingleMetric('sluice_admission_admitted_total')).toBeUndefined();
  });

  it('can be created twice on separate registries', () => {
    expect(() => {
      createAdmissionMetrics(new Registry());
      createAdmissionMetrics(new Registry());
    }).not.toThrow();
  });

  it('counts admissions, refusals, shedding and fallbacks by bounded labels', async () => {
    const registry = new Registry();
    const metrics = createAdmissionMetrics(registry);
    metrics.admitted('normal');
    metrics.admitted('normal');
    metrics.rateLimited('bulk', 'rate');
    metrics.shed('bulk', 'pending-bytes');
    metrics.rateLimitFallback();
    expect(await sampleValue(registry, 'sluice_admission_admitted_total', { priority: 'normal' })).toBe(2);
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', { priority: 'bulk', reason: 'rate' }),
    ).toBe(1);
    expect(
      await sampleValue(registry, 'sluice_load_shed_total', { priority: 'bulk', reason: 'pending-bytes' }),
    ).toBe(1);
    expect(await sampleValue(registry, 'sluice_rate_limit_fallback_total')).toBe(1);
  });

  it('records a rate-limit decision as a refusal and a fill-ratio observation', async () => {
    const registry = new Registry();
    const metrics = createAdmissionMetrics(registry);
    const limits = { ratePerSecond: 10, burst: 100 };
    metrics.recordRateLimit('normal', { allowed: true, remaining: 95, resetMs: 100 }, limits);
    metrics.recordRateLimit(
      'normal',
      { allowed: false, reason: 'rate', retryAfterMs: 50, remaining: 0, resetMs: 50 },
      limits,
    );
    expect(
      await sampleValue(registry, 'sluice_rate_limited_total', { priority: 'normal', reason: 'rate' }),
    ).toBe(1);
    expect(await sampleValue(registry, 'sluice_rate_limit_bucket_fill_ratio', { le: '0.01' })).toBe(1);
    expect(await sampleValue(registry, 'sluice_rate_limit_bucket_fill_ratio', { le: '0.9' })).toBe(1);
    expect(await sampleValue(registry, 'sluice_rate_limit_bucket_fill_ratio', { le: '1' })).toBe(2);
  });

  it('reads the shedding gauge from the shedder at scrape time', async () => {
    const registry = new Registry();
    const shedding = new Set<Priority>(['bulk']);
    createAdmissionMetrics(registry, { isShedding: (priority) => shedding.has(priority) });
    expect(await sampleValue(registry, 'sluice_load_shedding_active', { priority: 'bulk' })).toBe(1);
    expect(await sampleValue(registry, 'sluice_load_shedding_active', { priority: 'normal' })).toBe(0);
    shedding.clear();
    expect(await sampleValue(registry, 'sluice_load_shedding_active', { priority: 'bulk' })).toBe(0);
  });
});
