import type { Priority } from '../admission/priority.js';
import type { VerificationConfig } from '../inbound/schemes/verification.js';

/** Where the event type of an inbound request comes from; the source's name is always put before it. */
export type EventTypeRule =
  | { readonly from: 'fixed'; readonly value: string }
  /** A dotted path into the JSON body (`type`, `data.kind`). */
  | { readonly from: 'body'; readonly path: string }
  /** A header, lower case (`x-github-event`). */
  | { readonly from: 'header'; readonly name: string };

/** Where the provider's own event id comes from (deduplication); `hash`: SHA-256 of the body. */
export type EventIdRule =
  | { readonly from: 'body'; readonly path: string }
  | { readonly from: 'header'; readonly name: string }
  | { readonly from: 'hash' };

/**
 * An inbound source (README.md#inbound-webhooks): a third party that posts webhooks to
 * `POST /in/{id}`, verified by its scheme. Stored in the compacted topic `sluice.sources` with its
 * secrets encrypted; here they are plain, so this object must never be logged or returned whole.
 */
export interface Source {
  /** `src_` + random id; the Kafka record key and the path segment of `/in/{id}`. */
  readonly id: string;
  /** Prefix of every event type it produces (`stripe` → `stripe.payment_intent.succeeded`). */
  readonly name: string;
  readonly description: string;
  readonly verification: VerificationConfig;
  /** Active secrets, newest first; during a rotation the previous one verifies until `expiresAtMs`. */
  readonly secrets: ReadonlyArray<{ readonly secret: string; readonly expiresAtMs: number | undefined }>;
  readonly eventType: EventTypeRule;
  readonly eventId: EventIdRule;
  /** Token bucket like an API key's, counted in requests. */
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly priority: Priority;
  /** Largest request body; a larger one is refused with 413 before it is buffered. */
  readonly maxBodyBytes: number;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The secrets that verify at `nowMs`, newest first. */
export function activeSourceSecrets(source: Source, nowMs: number): string[] {
  return source.secrets
    .filter((entry) => entry.expiresAtMs === undefined || entry.expiresAtMs > nowMs)
    .map((entry) => entry.secret);
}
