import { Counter, type Registry } from 'prom-client';

/** Why an inbound request was not written; a closed list (metric label, log field). */
export type InboundRefusal =
  | 'unknown-source'
  | 'disabled'
  | 'missing-signature'
  | 'malformed-signature'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'body-too-large'
  | 'invalid-body'
  | 'shed'
  | 'rate-limited'
  | 'in-flight'
  | 'kafka-unavailable'
  | 'other';

/**
 * Per-source inbound metrics. The `source` label is a source id: bounded, since only admins create
 * sources; requests for ids that name no source count under `source="unknown"`.
 */
export interface InboundMetrics {
  received: Counter<'source'>;
  verified: Counter<'source'>;
  refused: Counter<'source' | 'reason'>;
  duplicates: Counter<'source'>;
  accepted: Counter<'source'>;
}

export function createInboundMetrics(registry: Registry): InboundMetrics {
  return {
    received: new Counter({
      name: 'sluice_inbound_received_total',
      help: 'Inbound webhook requests for a known source, before verification.',
      labelNames: ['source'],
      registers: [registry],
    }),
    verified: new Counter({
      name: 'sluice_inbound_verified_total',
      help: 'Inbound webhook requests whose signature or credentials verified.',
      labelNames: ['source'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'sluice_inbound_refused_total',
      help: 'Inbound webhook requests not written, by source and reason (bad-signature, stale-timestamp, shed…).',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'sluice_inbound_duplicates_total',
      help: 'Verified inbound webhooks whose provider event id was already written within the idempotency window.',
      labelNames: ['source'],
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'sluice_inbound_accepted_total',
      help: 'Inbound webhooks written to Kafka and acknowledged.',
      labelNames: ['source'],
      registers: [registry],
    }),
  };
}
