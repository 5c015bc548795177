import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { latencyBucketsSeconds } from '../../common/metrics.js';

export interface PublisherMetrics {
  pendingEvents: Gauge;
  pendingBytes: Gauge;
  batchEvents: Histogram;
  produceDuration: Histogram;
  produceErrors: Counter<'reason'>;
}

export function createPublisherMetrics(registry: Registry): PublisherMetrics {
  return {
    pendingEvents: new Gauge({
      name: 'sluice_producer_pending_events',
      help: 'Events accepted for publishing and not yet acknowledged by Kafka.',
      registers: [registry],
    }),
    pendingBytes: new Gauge({
      name: 'sluice_producer_pending_bytes',
      help: 'Bytes of records accepted for publishing and not yet acknowledged by Kafka.',
      registers: [registry],
    }),
    batchEvents: new Histogram({
      name: 'sluice_produce_batch_events',
      help: 'Events per produce request (group commit: many HTTP requests share one).',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    produceDuration: new Histogram({
      name: 'sluice_produce_duration_seconds',
      help: 'Time from sending a produce request to its acks=all acknowledgement.',
      buckets: latencyBucketsSeconds,
      registers: [registry],
    }),
    produceErrors: new Counter({
      name: 'sluice_produce_errors_total',
      help: 'Produce failures by reason: send-failed, deadline-unsent (never written), deadline-in-flight (outcome unknown at answer time).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
