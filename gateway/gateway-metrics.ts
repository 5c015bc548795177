import { Counter, Histogram, type Registry } from 'prom-client';
import { latencyBucketsSeconds } from '../common/metrics.js';

/** Metrics of the ingest path (admission and publisher metrics live beside their code). */
export interface GatewayMetrics {
  requests: Counter<'route' | 'status'>;
  requestDuration: Histogram<'route'>;
  eventsAccepted: Counter<'type'>;
  eventsRejected: Counter<'code'>;
  /** Requests refused with SLUICE_TENANT_FORBIDDEN, by route (a batch counts once). */
  tenantRefusals: Counter<'route'>;
  idempotencyDuplicates: Counter;
  idempotencyUnavailable: Counter;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    requests: new Counter({
      name: 'sluice_http_requests_total',
      help: 'HTTP requests answered by the gateway, by route pattern and status.',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being written, by route pattern.',
      labelNames: ['route'],
      buckets: latencyBucketsSeconds,
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'sluice_events_accepted_total',
      help: 'Events acknowledged by Kafka and answered 202, by registered event type.',
      labelNames: ['type'],
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'sluice_events_rejected_total',
      help: 'Events refused, by error code (schema invalid, unknown type, forbidden, Kafka unavailable…).',
      labelNames: ['code'],
      registers: [registry],
    }),
    tenantRefusals: new Counter({
      name: 'sluice_tenant_refusals_total',
      help: "Requests refused because a tenant key named another tenant or reached for another tenant's subscription (SLUICE_TENANT_FORBIDDEN), by route pattern; a batch counts once.",
      labelNames: ['route'],
      registers: [registry],
    }),
    idempotencyDuplicates: new Counter({
      name: 'sluice_idempotency_duplicates_total',
      help: 'Events whose id was already accepted within the idempotency window: answered, not written again.',
      registers: [registry],
    }),
    idempotencyUnavailable: new Counter({
      name: 'sluice_idempotency_unavailable_total',
      help: 'Idempotency checks that Redis could not answer; those events were written without deduplication (fail-open).',
      registers: [registry],
    }),
  };
}
