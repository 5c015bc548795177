import type { CustomHeader } from './custom-headers.js';
import type { RetryOverride } from './delivery-overrides.js';
import type { PayloadFilter } from './payload-filter.js';

/**
 * A webhook subscription (docs/architecture.md#subscriptions), as every Sluice process holds it in
 * memory. It is stored in the compacted topic `sluice.subscriptions` keyed by id, with signing
 * secrets encrypted; here the secrets are plain, so this object must never be logged or returned
 * whole by an API.
 */
/** Why a subscription is disabled. */
export type DisabledReason = 'manual' | 'gone' | 'failing';
export const disabledReasons: readonly DisabledReason[] = ['manual', 'gone', 'failing'];

export interface Subscription {
  /** `sub_` + random id; the Kafka record key. */
  readonly id: string;
  readonly url: string;
  /** Exact types or globs (`order.*`, `*`), matched with common/event-type-matcher.ts. */
  readonly eventTypes: readonly string[];
  readonly description: string;
  readonly enabled: boolean;
  /**
   * Why a disabled subscription was disabled: by an operator (`manual`), by the receiver answering
   * 410 (`gone`), or by a worker because every attempt failed for SLUICE_AUTO_DISABLE_AFTER_MS or
   * SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS dead letters in a row (`failing`).
   */
  readonly disabledReason: DisabledReason | undefined;
  /**
   * When it was disabled (RFC 3339); undefined while enabled, and for subscriptions disabled before
   * this field existed. Recovery (`POST /v1/subscriptions/{id}/enable` with `recover`) replays from here.
   */
  readonly disabledAt?: string | undefined;
  /** `failing` only: since when every attempt failed (RFC 3339), as the workers' health record says. */
  readonly failingSince?: string | undefined;
  /**
   * Active signing secrets (`whsec_…`), newest first. During a rotation the old one keeps
   * signing beside the new one until `expiresAtMs`.
   */
  readonly secrets: ReadonlyArray<{ readonly secret: string; readonly expiresAtMs: number | undefined }>;
  /** Deliveries per second to this endpoint; undefined = unlimited. */
  readonly rateLimitPerSecond: number | undefined;
  /** Deliveries in flight at once to this endpoint. */
  readonly maxConcurrency: number;
  /** `key`: one subscription's events with the same partition key are delivered in order. */
  readonly ordering: 'none' | 'key';
  /** Only events from these producers (tenant isolation); undefined = every producer. */
  readonly producerIds: readonly string[] | undefined;
  /**
   * The tenant whose events alone this subscription receives (README.md#tenants); undefined = a
   * global subscription, which receives events of every tenant and events without one.
   */
  readonly tenant: string | undefined;
  /** Only events this MongoDB-style query matches (payload-filter.ts); absent: every event. */
  readonly filter?: PayloadFilter | undefined;
  /**
   * Static headers sent with every attempt (custom-headers.ts); the values of secret ones are
   * plain here and encrypted on the topic. Absent: none.
   */
  readonly headers?: readonly CustomHeader[] | undefined;
  /** Its own retry schedule within `SLUICE_RETRY_SCHEDULE` (delivery-overrides.ts); absent: that one. */
  readonly retry?: RetryOverride | undefined;
  /** Its own attempt timeout, at most `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`; absent: that one. */
  readonly timeoutMs?: number | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The read side every delivery worker uses: an in-memory view kept current from the topic. */
export interface SubscriptionView {
  /**
   * Enabled subscriptions whose event types, producer filter and tenant match, in a stable order.
   * `tenant` is the event's (its `ce_tenantid` header), undefined for an event without one.
   */
  matching(eventType: string, producerId: string, tenant: string | undefined): readonly Subscription[];
  get(id: string): Subscription | undefined;
  all(): readonly Subscription[];
}
