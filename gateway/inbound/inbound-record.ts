import { createHash } from 'node:crypto';
import type { SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { inboundWebhookSubject } from '../../schemas/inbound-webhook.js';
import { sluiceOwnedType } from '../../schemas/sluice-owned-types.js';

export { isSluiceOwnedSchema } from '../../schemas/sluice-owned-types.js';

export {
  inboundWebhookSchema,
  inboundWebhookSubject,
  type InboundWebhookData,
} from '../../schemas/inbound-webhook.js';

/**
 * Registers the inbound type on first need: at gateway start when sources exist, before the first
 * source is created, and before an inbound record is encoded by a gateway whose registry view does
 * not hold it yet. A registry with no sources never gets it, so a deployment that does not use
 * inbound webhooks keeps its subjects and ids as they were.
 */
export function inboundWebhookType(registry: SchemaRegistry): { ensure(): Promise<void> } {
  return sluiceOwnedType(registry, inboundWebhookSubject);
}

/**
 * The event id of an inbound record: the same for every repeat of one provider event, so the
 * idempotency store, the record's `ce_id` and the delivered `webhook-id` agree, and bounded in
 * length whatever the provider's ids look like.
 */
export function inboundEventId(sourceId: string, providerEventId: string): string {
  return `inb_${createHash('sha256').update(`${sourceId}\n${providerEventId}`).digest('hex').slice(0, 40)}`;
}
