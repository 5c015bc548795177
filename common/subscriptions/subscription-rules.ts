import type { ResolvedSubscriptionPatch, ValidSubscriptionCreate } from './subscription-input.js';
import { newSubscriptionId } from './subscription-input.js';
import type { DisabledReason, Subscription } from './subscription.js';

// What create, update and disable mean for a subscription, apart from validation (done before,
// by subscription-input.ts) and storage (done after, by the store). Pure: nowMs is given.

/** A new subscription from a validated create request; disabled at birth means `manual`. */
export function newSubscription(
  valid: ValidSubscriptionCreate,
  secrets: Subscription['secrets'],
  nowMs: number,
): Subscription {
  const now = new Date(nowMs).toISOString();
  return {
    id: newSubscriptionId(),
    url: valid.url,
    eventTypes: valid.eventTypes,
    description: valid.description,
    enabled: valid.enabled,
    disabledReason: valid.enabled ? undefined : 'manual',
    disabledAt: valid.enabled ? undefined : now,
    failingSince: undefined,
    secrets,
    rateLimitPerSecond: valid.rateLimitPerSecond,
    maxConcurrency: valid.maxConcurrency,
    ordering: valid.ordering,
    producerIds: valid.producerIds,
    tenant: valid.tenant,
    ...optionalFields({
      filter: valid.filter,
      headers: valid.headers.length > 0 ? valid.headers : undefined,
      retry: valid.retry,
      timeoutMs: valid.timeoutMs,
    }),
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * `current` with the given fields changed. Enabling clears `disabledReason`, `disabledAt` and
 * `failingSince`; disabling an enabled one sets them as `disabledSubscription(…, 'manual')` does;
 * null clears `rateLimitPerSecond`, `producerIds`, `tenant`, `filter`, `headers`, `retry` and
 * `timeoutMs`.
 */
export function patchedSubscription(
  current: Subscription,
  valid: ResolvedSubscriptionPatch,
  nowMs: number,
): Subscription {
  let disabled = disabledFields(current);
  if (valid.enabled === true) {
    disabled = { disabledReason: undefined, disabledAt: undefined, failingSince: undefined };
  } else if (valid.enabled === false && current.enabled) {
    disabled = {
      disabledReason: 'manual',
      disabledAt: new Date(nowMs).toISOString(),
      failingSince: undefined,
    };
  }
  // The optional fields are rebuilt below, so a cleared one is dropped rather than kept.
  const { filter, headers, retry, timeoutMs, ...rest } = current;
  return {
    ...rest,
    ...disabled,
    url: valid.url ?? current.url,
    eventTypes: valid.eventTypes ?? current.eventTypes,
    description: valid.description ?? current.description,
    enabled: valid.enabled ?? current.enabled,
    rateLimitPerSecond:
      valid.rateLimitPerSecond === undefined
        ? current.rateLimitPerSecond
        : (valid.rateLimitPerSecond ?? undefined),
    maxConcurrency: valid.maxConcurrency ?? current.maxConcurrency,
    ordering: valid.ordering ?? current.ordering,
    producerIds: valid.producerIds === undefined ? current.producerIds : (valid.producerIds ?? undefined),
    tenant: valid.tenant === undefined ? current.tenant : (valid.tenant ?? undefined),
    ...optionalFields({
      filter: valid.filter === undefined ? filter : (valid.filter ?? undefined),
      headers: valid.headers === undefined ? headers : valid.headers?.length ? valid.headers : undefined,
      retry: valid.retry === undefined ? retry : (valid.retry ?? undefined),
      timeoutMs: valid.timeoutMs === undefined ? timeoutMs : (valid.timeoutMs ?? undefined),
    }),
    updatedAt: new Date(nowMs).toISOString(),
  };
}

/** The optional fields that are set: an unset one is absent, not undefined, so records and answers stay lean. */
function optionalFields(fields: Pick<Subscription, 'filter' | 'headers' | 'retry' | 'timeoutMs'>) {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Pick<
    Subscription,
    'filter' | 'headers' | 'retry' | 'timeoutMs'
  >;
}

/** What a worker knows of a disable it decides on. */
export interface DisableDetails {
  /** `failing`: since when every attempt failed (ms since the epoch). */
  failingSinceMs?: number | undefined;
}

/**
 * `current` disabled for `reason` at `nowMs`, or undefined when it already is disabled (for any
 * reason: nothing to write, and the first reason and time stay, so recovery starts where delivery
 * stopped). `failingSince` is kept only for `failing`.
 */
export function disabledSubscription(
  current: Subscription,
  reason: DisabledReason,
  nowMs: number,
  details: DisableDetails = {},
): Subscription | undefined {
  if (!current.enabled) return undefined;
  const now = new Date(nowMs).toISOString();
  const failingSinceMs = reason === 'failing' ? details.failingSinceMs : undefined;
  return {
    ...current,
    enabled: false,
    disabledReason: reason,
    disabledAt: now,
    failingSince: failingSinceMs === undefined ? undefined : new Date(failingSinceMs).toISOString(),
    updatedAt: now,
  };
}

/** `current` enabled again, or undefined when it already is (nothing to write). */
export function enabledSubscription(current: Subscription, nowMs: number): Subscription | undefined {
  if (current.enabled) return undefined;
  return {
    ...current,
    enabled: true,
    disabledReason: undefined,
    disabledAt: undefined,
    failingSince: undefined,
    updatedAt: new Date(nowMs).toISOString(),
  };
}

function disabledFields(
  subscription: Subscription,
): Pick<Subscription, 'disabledReason' | 'disabledAt' | 'failingSince'> {
  return {
    disabledReason: subscription.disabledReason,
    disabledAt: subscription.disabledAt,
    failingSince: subscription.failingSince,
  };
}
