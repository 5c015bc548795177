import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { shedReasons, type ShedReason } from './load-shedder.js';
import { priorities, type Priority } from './priority.js';
import type { RateLimitReason, RateLimits, TakeResult } from './token-bucket.js';

const rateLimitReasons: readonly RateLimitReason[] = ['rate', 'burst-exceeded'];

export interface AdmissionMetrics {
  /** A request passed admission (shedding and rate limit). */
  admitted(priority: Priority): void;
  rateLimited(priority: Priority, reason: RateLimitReason): void;
  shed(priority: Priority, reason: ShedReason): void;
  /** A rate-limit decision was made locally because Redis was unavailable. */
  rateLimitFallback(): void;
  /** Records a rate-limit decision: counts a refusal and observes the bucket's fill ratio. */
  recordRateLimit(priority: Priority, result: TakeResult, limits: RateLimits): void;
}

export interface AdmissionMetricsOptions {
  /** Read at scrape time for `sluice_load_shedding_active` (normally `loadShedder.isShedding`). */
  readonly isShedding?: (priority: Priority) => boolean;
}

/**
 * Admission metrics, registered on the given registry (never the global one, so tests and several
 * gateways in one process do not collide). Every label value comes from a closed list, and every
 * series is created at zero so that `rate()` and absent-series alerts work before the first event.
 *
 * Bucket levels are a histogram, `sluice_rate_limit_bucket_fill_ratio`, observed at every rate-limit
 * decision with the bucket's fill ratio (remaining / burst) after the decision, and no key label.
 * Each decision is one observation, so the busiest keys dominate it without being named, and it
 * costs nothing at scrape time. It also works unchanged in Redis mode, where this process only
 * sees the level the script returns; a "top 10 buckets" gauge would need every key's current
 * level, which in Redis mode lives in Redis. Example: the share of admitted traffic running on
 * nearly empty buckets is `bucket{le="0.1"} / count`.
 */
export function createAdmissionMetrics(
  registry: Registry,
  options: AdmissionMetricsOptions = {},
): AdmissionMetrics {
  const admittedTotal = new Counter({
    name: 'sluice_admission_admitted_total',
    help: 'Requests that passed admission control (load shedding and rate limit), by priority class.',
    labelNames: ['priority'] as const,
    registers: [registry],
  });
  const rateLimitedTotal = new Counter({
    name: 'sluice_rate_limited_total',
    help: 'Requests refused by the per-key rate limit, by priority class and reason (rate: 429, burst-exceeded: 413).',
    labelNames: ['priority', 'reason'] as const,
    registers: [registry],
  });
  const loadShedTotal = new Counter({
    name: 'sluice_load_shed_total',
    help: 'Requests refused with 503 by load shedding, by priority class and the signal over its limit.',
    labelNames: ['priority', 'reason'] as const,
    registers: [registry],
  });
  const isShedding = options.isShedding;
  const sheddingActive = new Gauge({
    name: 'sluice_load_shedding_active',
    help: 'Whether requests of this priority class are being shed now (1) or admitted (0).',
    labelNames: ['priority'] as const,
    registers: [registry],
    collect() {
      if (isShedding === undefined) return;
      for (const priority of priorities) this.set({ priority }, isShedding(priority) ? 1 : 0);
    },
  });
  const fallbackTotal = new Counter({
    name: 'sluice_rate_limit_fallback_total',
    help: 'Rate-limit decisions made by the local limiter because Redis was unavailable or too slow.',
    registers: [registry],
  });
  const bucketFill = new Histogram({
    name: 'sluice_rate_limit_bucket_fill_ratio',
    help: 'Fill ratio (remaining / burst) of the key bucket after each rate-limit decision; 0 is empty.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1],
    registers: [registry],
  });

  for (const priority of priorities) {
    admittedTotal.inc({ priority }, 0);
    sheddingActive.set({ priority }, 0);
    for (const reason of rateLimitReasons) rateLimitedTotal.inc({ priority, reason }, 0);
    for (const reason of shedReasons) loadShedTotal.inc({ priority, reason }, 0);
  }

  return {
    admitted: (priority) => admittedTotal.inc({ priority }),
    rateLimited: (priority, reason) => rateLimitedTotal.inc({ priority, reason }),
    shed: (priority, reason) => loadShedTotal.inc({ priority, reason }),
    rateLimitFallback: () => fallbackTotal.inc(),
    recordRateLimit(priority, result, limits) {
      if (!result.allowed) rateLimitedTotal.inc({ priority, reason: result.reason });
      bucketFill.observe(Math.min(1, result.remaining / limits.burst));
    },
  };
}
