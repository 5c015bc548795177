/**
 * The one Avro type of every inbound webhook record, registered by the gateway itself at start
 * under a reserved subject (`sluice.` subjects: only Sluice registers them, and only they may use
 * `bytes`; schemas/avro-policy.ts). The body is kept as the exact bytes received, so whoever
 * reads the record can verify the provider's signature again or hand the payload on unchanged.
 * The record's `ce_type` header is the derived type (`stripe.payment_intent.succeeded`), so
 * subscriptions match it like any other type.
 */
export const inboundWebhookSubject = 'sluice.inbound_webhook';

export const inboundWebhookSchema = {
  type: 'record',
  name: 'InboundWebhook',
  namespace: 'dev.sluice.inbound',
  doc: 'A third-party webhook received on POST /in/{sourceId}, verified by its source scheme.',
  fields: [
    { name: 'sourceId', type: 'string', doc: 'The source (src_…) that received it.' },
    { name: 'sourceName', type: 'string', doc: 'The source name, the prefix of eventType.' },
    { name: 'providerEventId', type: 'string', doc: "The provider's event id, or the body's SHA-256." },
    { name: 'eventType', type: 'string', doc: 'The derived type, prefixed with the source name.' },
    {
      name: 'receivedAt',
      type: { type: 'string', logicalType: 'rfc3339-timestamp' },
      doc: 'When the gateway received it.',
    },
    { name: 'contentType', type: 'string', doc: 'The request Content-Type, empty when absent.' },
    {
      name: 'headers',
      type: { type: 'map', values: 'string' },
      doc: "The provider's headers kept with the body (never credentials), names in lower case.",
    },
    { name: 'body', type: 'bytes', doc: 'The request body, byte for byte.' },
  ],
} as const;

export interface InboundWebhookData {
  sourceId: string;
  sourceName: string;
  providerEventId: string;
  eventType: string;
  receivedAt: string;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
}
