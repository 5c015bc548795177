import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per process (never prom-client's global one, so tests can build many).
 * Node's default metrics — heap, GC, event-loop lag, handles — come with every registry.
 */
export function createMetricsRegistry(service: string, collectDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (collectDefaults) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/**
 * Latency buckets in seconds from 0.5 ms to 30 s. Ingest p99 targets sit near 10 ms, so the buckets
 * are finest there: a p99 between 5 and 10 ms is read within 2.5 ms, not anywhere in the range.
 */
export const latencyBucketsSeconds = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
