import { createHash } from 'node:crypto';
import type { SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { parseSchema } from '../../schemas/registry/schema-text.js';
import { inboundWebhookSchema, inboundWebhookSubject } from '../../schemas/inbound-webhook.js';

export {
  inboundWebhookSchema,
  inboundWebhookSubject,
  type InboundWebhookData,
} from '../../schemas/inbound-webhook.js';

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
