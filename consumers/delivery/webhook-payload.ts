import type { CustomHeader } from '../../common/subscriptions/custom-headers.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { webhookHeaders } from '../../common/webhook-signer.js';
import { inboundWebhookSubject, type InboundWebhookData } from '../../schemas/inbound-webhook.js';

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

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});
const headerObjects = new WeakMap<readonly CustomHeader[], Readonly<Record<string, string>>>();

/** A subscription's static headers as one object, built once per stored list. */
function customHeaders(headers: readonly CustomHeader[] | undefined): Readonly<Record<string, string>> {
  if (headers === undefined || headers.length === 0) return noHeaders;
  let object = headerObjects.get(headers);
  if (object === undefined) {
    object = Object.freeze(Object.fromEntries(headers.map(({ name, value }) => [name, value])));
    headerObjects.set(headers, object);
  }
  return object;
}

/** What one event sends to every subscription: the body bytes and the headers beside them. */
export interface WebhookPayload {
  body: Buffer;
  /** `application/json` for Sluice's own body; a received webhook's own content type otherwise. */
  contentType: string;
  /** Where a received (inbound) webhook came from; empty for events a producer sent. */
  provenance: Readonly<Record<string, string>>;
}

const noProvenance: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The payload of a decoded event. A third-party webhook received on /in/{sourceId} (the
 * `sluice.inbound_webhook` type) goes on as it came, byte for byte, with its content type, and its
 * provenance in `sluice-*` headers; every other event becomes Sluice's JSON body.
 */
export function buildWebhookPayload(event: WebhookEvent, recordType: string): WebhookPayload {
  if (recordType !== inboundWebhookSubject) {
    return { body: buildWebhookBody(event), contentType: 'application/json', provenance: noProvenance };
  }
  const inbound = event.data as InboundWebhookData;
  return {
    body: inbound.body,
    contentType: inbound.contentType === '' ? 'application/octet-stream' : inbound.contentType,
    provenance: {
      'sluice-source-id': inbound.sourceId,
      'sluice-source-name': inbound.sourceName,
      'sluice-provider-event-id': inbound.providerEventId,
      'sluice-event-type': inbound.eventType,
      'sluice-received-at': inbound.receivedAt,
    },
  };
}

export interface AttemptHeadersInput {
  eventId: string;
  body: string | Uint8Array;
  subscription: Pick<Subscription, 'secrets' | 'headers'>;
  nowMs: number;
  /** Default `application/json`. */
  contentType?: string;
  provenance?: Readonly<Record<string, string>>;
}

/**
 * Headers of one attempt: the subscription's own static headers, then Sluice's: a fresh
 * `webhook-timestamp` (receivers reject old ones) signed with every active secret, so during a
 * rotation either the old or the new secret verifies. Sluice's come last, so none of its headers
 * can be replaced (a subscription cannot save a reserved name either).
 */
export function buildAttemptHeaders({
  eventId,
  body,
  subscription,
  nowMs,
  contentType = 'application/json',
  provenance = noProvenance,
}: AttemptHeadersInput): Record<string, string> {
  return {
    ...customHeaders(subscription.headers),
    'content-type': contentType,
    'user-agent': 'Sluice-Webhooks/1',
    ...provenance,
    ...webhookHeaders({
      msgId: eventId,
      timestampSeconds: Math.floor(nowMs / 1000),
      body,
      secrets: activeSecrets(subscription, nowMs),
    }),
  };
}
