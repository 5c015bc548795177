import { createHash } from 'node:crypto';
import type { OutgoingRecord } from '../kafka/index.js';
import { SluiceError } from '../errors.js';
import { tenantHeader } from '../tenant-id.js';
import type { Subscription } from '../subscriptions/subscription.js';
import { encodeEvent, type RegisteredSchema } from '../../schemas/index.js';
import {
  subscriptionDisabledType,
  subscriptionEnabledType,
  subscriptionRecoveredType,
  type SubscriptionEvent,
} from '../../schemas/subscription-events.js';

/** The producer id (`sluice_producer`) of every operational event: a subscription may filter on it. */
export const sluiceProducerId = 'sluice';
/** The CloudEvents source of every operational event. */
export const sluiceEventSource = '/sluice';

/**
 * The event id of an operational event: derived from what changed (type, subscription, and the time
 * of the change), so a publish retried, or the same change seen by two workers, carries the same id
 * and is deduplicated downstream (Sluice's own delivery dedup key and the receiver's `webhook-id`).
 */
export function subscriptionEventId(event: SubscriptionEvent): string {
  return `sop_${createHash('sha256')
    .update(`${event.type}\n${event.data.subscriptionId}\n${changeStamp(event)}`)
    .digest('hex')
    .slice(0, 40)}`;
}

/** When the change happened: the event's `ce_time`, and part of its id. */
function changeTime(event: SubscriptionEvent): string {
  switch (event.type) {
    case subscriptionDisabledType:
      return event.data.disabledAt;
    case subscriptionEnabledType:
      return event.data.enabledAt;
    case subscriptionRecoveredType:
      return event.data.closedAt;
    default:
      return event.data.openedAt;
  }
}

function changeStamp(event: SubscriptionEvent): string {
  // A breaker is per worker: each worker's opening is its own change; one opening has one recovery.
  if (event.type === subscriptionEnabledType || event.type === subscriptionDisabledType)
    return changeTime(event);
  return `${event.data.worker}\n${event.data.openedAt}`;
}

/** An operational event and the tenant of its subscription (undefined: a global subscription). */
export type OperationalEvent = SubscriptionEvent & { tenant?: string | undefined };

/**
 * The events-topic record of an operational event, as the gateway writes any event (Avro in the
 * Confluent wire format, CloudEvents binary-mode headers), keyed by subscription id so one
 * subscription's changes keep their order. Throws SLUICE_INTERNAL when the data does not fit the
 * schema: the data is Sluice's own, so that is a bug.
 */
export function buildSubscriptionEventRecord(
  event: OperationalEvent,
  schema: RegisteredSchema,
  topic: string,
): OutgoingRecord {
  const encoded = encodeEvent(schema, event.data);
  if (!encoded.ok) {
    throw new SluiceError(
      'SLUICE_INTERNAL',
      `${event.type} does not fit its schema: ${encoded.path} ${encoded.message}`,
    );
  }
  return {
    topic,
    key: event.data.subscriptionId,
    value: encoded.value,
    headers: {
      ce_specversion: '1.0',
      ce_id: subscriptionEventId(event),
      ce_type: event.type,
      ce_source: sluiceEventSource,
      ce_time: changeTime(event),
      ce_subject: event.data.subscriptionId,
      'content-type': 'application/avro',
      sluice_producer: sluiceProducerId,
      // A tenant's subscription's events name its tenant: that tenant's own subscriptions to
      // sluice.subscription.* hear of them, global ones too, other tenants' never.
      ...(event.tenant === undefined ? {} : { [tenantHeader]: event.tenant }),
    },
  };
}

/** What a worker knows of the failures behind a disable. */
export interface DisableFacts {
  deadLetters?: number | undefined;
  lastStatus?: number | undefined;
  lastError?: string | undefined;
}

/** `sluice.subscription.disabled` for a subscription as stored once disabled. */
export function disabledEvent(subscription: Subscription, facts: DisableFacts = {}): OperationalEvent {
  return {
    type: subscriptionDisabledType,
    tenant: subscription.tenant,
    data: {
      subscriptionId: subscription.id,
      reason: subscription.disabledReason ?? 'manual',
      disabledAt: subscription.disabledAt ?? subscription.updatedAt,
      failingSince: subscription.failingSince ?? null,
      deadLetters: facts.deadLetters ?? null,
      lastStatus: facts.lastStatus ?? null,
      lastError: facts.lastError ?? null,
    },
  };
}

/** `sluice.subscription.enabled` from the subscription before and after, with the recovery replay if one ran. */
export function enabledEvent(
  before: Subscription,
  after: Subscription,
  recovery?: { replayId: string; queued: number } | undefined,
): OperationalEvent {
  return {
    type: subscriptionEnabledType,
    tenant: after.tenant,
    data: {
      subscriptionId: after.id,
      enabledAt: after.updatedAt,
      previousReason: before.disabledReason ?? null,
      disabledAt: before.disabledAt ?? null,
      recoveryReplayId: recovery?.replayId ?? null,
      recoveryQueued: recovery?.queued ?? null,
    },
  };
}
