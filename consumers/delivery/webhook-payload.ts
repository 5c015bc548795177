import type { Subscription } from '../../common/subscriptions/subscription.js';
import { webhookHeaders } from '../../common/webhook-signer.js';

/** The event as a webhook carries it, decoded from its Kafka record. */
export interface WebhookEvent {
  /** `ce_id`: becomes `webhook-id`, the same on every attempt, so receivers can deduplicate. */
  readonly id: string;
  readonly type: string;
  /** RFC 3339 time the event happened (`ce_time`). */
  readonly time: string;
  /** The Avro data, decoded to plain JSON values. */
  readonly data: unknown;
}

/**
 * The body of every attempt of one event, the same bytes for every subscription:
 * `{"type","timestamp","data"}` as Standard Webhooks suggests. Bytes, encoded once: each attempt
 * signs them and writes them to a socket, and a string would be encoded to UTF-8 for each.
 */
export function buildWebhookBody(event: WebhookEvent): Buffer {
  return Buffer.from(JSON.stringify({ type: event.type, timestamp: event.time, data: event.data }));
}

/** The secrets that sign now: every one without an expiry, or whose rotation window is still open. */
export function activeSecrets(subscription: Pick<Subscription, 'secrets'>, nowMs: number): string[] {
  return subscription.secrets
    .filter((entry) => entry.expiresAtMs === undefined || entry.expiresAtMs > nowMs)
    .map((entry) => entry.secret);
}

export interface AttemptHeadersInput {
  eventId: string;
  body: string | Uint8Array;
  subscription: Pick<Subscription, 'secrets'>;
  nowMs: number;
}

/**
 * Headers of one attempt: a fresh `webhook-timestamp` (receivers reject old ones) signed with every
 * active secret, so during a rotation either the old or the new secret verifies.
 */
export function buildAttemptHeaders({
  eventId,
  body,
  subscription,
  nowMs,
}: AttemptHeadersInput): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Sluice-Webhooks/1',
    ...webhookHeaders({
      msgId: eventId,
      timestampSeconds: Math.floor(nowMs / 1000),
      body,
      secrets: activeSecrets(subscription, nowMs),
    }),
  };
}
