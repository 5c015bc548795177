import { createHash } from 'node:crypto';
import type { SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { parseSchema } from '../../schemas/registry/schema-text.js';

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

/**
 * Registers the inbound type on first need: at gateway start when sources exist, before the first
 * source is created, and before an inbound record is encoded by a gateway whose registry view does
 * not hold it yet. A registry with no sources never gets it, so a deployment that does not use
 * inbound webhooks keeps its subjects and ids as they were. Registering what is already there
 * writes nothing; a failed attempt is tried again on the next need.
 */
export function inboundWebhookType(registry: SchemaRegistry): { ensure(): Promise<void> } {
  let done: Promise<void> | undefined;
  return {
    ensure() {
      if (registry.state.latest(inboundWebhookSubject) !== undefined) return Promise.resolve();
      done ??= registry
        .register({
          subject: inboundWebhookSubject,
          schema: inboundWebhookSchema,
          description: inboundWebhookSchema.doc,
          internal: true,
        })
        .then(
          () => undefined,
          (error: unknown) => {
            done = undefined;
            throw error;
          },
        );
      return done;
    },
  };
}

/**
 * The event id of an inbound record: the same for every repeat of one provider event, so the
 * idempotency store, the record's `ce_id` and the delivered `webhook-id` agree, and bounded in
 * length whatever the provider's ids look like.
 */
export function inboundEventId(sourceId: string, providerEventId: string): string {
  return `inb_${createHash('sha256').update(`${sourceId}\n${providerEventId}`).digest('hex').slice(0, 40)}`;
}

/**
 * Whether `schema` is exactly Sluice's own schema of the reserved `subject`: what another Sluice
 * gateway registers through this one's /registry. Anything else under `sluice.` stays refused.
 */
export function isSluiceOwnedSchema(subject: string, schema: unknown): boolean {
  if (subject !== inboundWebhookSubject) return false;
  try {
    return parseSchema(schema, { allowBytes: true }).canonical === ownCanonical;
  } catch {
    return false;
  }
}

const ownCanonical = parseSchema(inboundWebhookSchema, { allowBytes: true }).canonical;
