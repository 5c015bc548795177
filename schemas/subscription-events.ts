/**
 * Sluice's operational events: one Avro type per change of a subscription's state, published on the
 * events topic like any event, so operators subscribe to `sluice.subscription.*` and route them to
 * their own alerting. Each type is registered by Sluice itself on first need under its reserved
 * subject, which is also the event type (`ce_type`). Producer `sluice`, source `/sluice`.
 */
const timestamp = { type: 'string', logicalType: 'rfc3339-timestamp' } as const;
const optionalTimestamp = { type: ['null', timestamp], default: null } as const;
const subscriptionId = { name: 'subscriptionId', type: 'string', doc: 'The subscription (sub_…).' } as const;

export const subscriptionDisabledType = 'sluice.subscription.disabled';
export const subscriptionEnabledType = 'sluice.subscription.enabled';
export const subscriptionUnhealthyType = 'sluice.subscription.unhealthy';
export const subscriptionRecoveredType = 'sluice.subscription.recovered';

export const subscriptionDisabledSchema = {
  type: 'record',
  name: 'SubscriptionDisabled',
  namespace: 'dev.sluice.subscription',
  doc: 'A subscription was disabled: no new event is attempted until it is enabled again.',
  fields: [
    subscriptionId,
    {
      name: 'reason',
      type: 'string',
      doc: 'gone (the receiver answered 410), failing (every attempt failed for too long) or manual (the API).',
    },
    { name: 'disabledAt', type: timestamp, doc: 'When it was disabled; recovery replays from here.' },
    { name: 'failingSince', ...optionalTimestamp, doc: 'failing: since when every attempt failed.' },
    {
      name: 'deadLetters',
      type: ['null', 'int'],
      default: null,
      doc: 'failing: dead letters in a row when it was disabled.',
    },
    { name: 'lastStatus', type: ['null', 'int'], default: null, doc: 'The last HTTP status, when known.' },
    { name: 'lastError', type: ['null', 'string'], default: null, doc: 'The last error class, when known.' },
  ],
} as const;

export const subscriptionEnabledSchema = {
  type: 'record',
  name: 'SubscriptionEnabled',
  namespace: 'dev.sluice.subscription',
  doc: 'A disabled subscription was enabled again, with the recovery replay when one ran.',
  fields: [
    subscriptionId,
    { name: 'enabledAt', type: timestamp },
    { name: 'previousReason', type: ['null', 'string'], default: null, doc: 'Why it had been disabled.' },
    { name: 'disabledAt', ...optionalTimestamp, doc: 'When it had been disabled.' },
    {
      name: 'recoveryReplayId',
      type: ['null', 'string'],
      default: null,
      doc: 'The replay of [disabledAt, enabledAt), when recovery was asked for and queued.',
    },
    { name: 'recoveryQueued', type: ['null', 'int'], default: null, doc: 'Events the recovery queued.' },
  ],
} as const;

const breakerFields = [
  subscriptionId,
  { name: 'worker', type: 'string', doc: 'The delivery worker whose breaker it is (host name and pid).' },
  { name: 'openedAt', type: timestamp, doc: 'When the breaker opened.' },
] as const;

export const subscriptionUnhealthySchema = {
  type: 'record',
  name: 'SubscriptionUnhealthy',
  namespace: 'dev.sluice.subscription',
  doc: "A worker's circuit breaker for the subscription has been open longer than SLUICE_BREAKER_OPEN_EVENT_AFTER_MS.",
  fields: [...breakerFields],
} as const;

export const subscriptionRecoveredSchema = {
  type: 'record',
  name: 'SubscriptionRecovered',
  namespace: 'dev.sluice.subscription',
  doc: 'The circuit breaker of an earlier sluice.subscription.unhealthy closed again.',
  fields: [...breakerFields, { name: 'closedAt', type: timestamp }],
} as const;

export interface SubscriptionDisabledData {
  subscriptionId: string;
  reason: 'gone' | 'failing' | 'manual';
  disabledAt: string;
  failingSince: string | null;
  deadLetters: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

export interface SubscriptionEnabledData {
  subscriptionId: string;
  enabledAt: string;
  previousReason: string | null;
  disabledAt: string | null;
  recoveryReplayId: string | null;
  recoveryQueued: number | null;
}

export interface SubscriptionBreakerData {
  subscriptionId: string;
  worker: string;
  openedAt: string;
}

export interface SubscriptionRecoveredData extends SubscriptionBreakerData {
  closedAt: string;
}

/** One operational event: its type (the subject it is registered under) and its data. */
export type SubscriptionEvent =
  | { type: typeof subscriptionDisabledType; data: SubscriptionDisabledData }
  | { type: typeof subscriptionEnabledType; data: SubscriptionEnabledData }
  | { type: typeof subscriptionUnhealthyType; data: SubscriptionBreakerData }
  | { type: typeof subscriptionRecoveredType; data: SubscriptionRecoveredData };

export type SubscriptionEventType = SubscriptionEvent['type'];

/** Each operational event type and its schema, by subject. */
export const subscriptionEventSchemas: Readonly<Record<SubscriptionEventType, { doc: string }>> = {
  [subscriptionDisabledType]: subscriptionDisabledSchema,
  [subscriptionEnabledType]: subscriptionEnabledSchema,
  [subscriptionUnhealthyType]: subscriptionUnhealthySchema,
  [subscriptionRecoveredType]: subscriptionRecoveredSchema,
};
