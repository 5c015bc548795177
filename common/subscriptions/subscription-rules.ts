import type { ResolvedSubscriptionPatch, ValidSubscriptionCreate } from './subscription-input.js';
import { newSubscriptionId } from './subscription-input.js';
import type { Subscription } from './subscription.js';

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
 * `current` with the given fields changed. Enabling clears `disabledReason`; disabling sets it to
 * `manual`; null clears `rateLimitPerSecond`, `producerIds`, `tenant`, `filter`, `headers`,
 * `retry` and `timeoutMs`.
 */
export function patchedSubscription(
  current: Subscription,
  valid: ResolvedSubscriptionPatch,
  nowMs: number,
): Subscription {
  let disabledReason = current.disabledReason;
  if (valid.enabled === true) {
    disabledReason = undefined;
  } else if (valid.enabled === false && current.enabled) {
    disabledReason = 'manual';
  }
  // The optional fields are rebuilt below, so a cleared one is dropped rather than kept.
  const { filter, headers, retry, timeoutMs, ...rest } = current;
  return {
    ...rest,
    url: valid.url ?? current.url,
    eventTypes: valid.eventTypes ?? current.eventTypes,
    description: valid.description ?? current.description,
    enabled: valid.enabled ?? current.enabled,
    disabledReason,
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

/** `current` disabled for `reason`, or undefined when it already is (nothing to write). */
export function disabledSubscription(
  current: Subscription,
  reason: 'manual' | 'gone',
  nowMs: number,
): Subscription | undefined {
  if (!current.enabled && current.disabledReason === reason) return undefined;
  return { ...current, enabled: false, disabledReason: reason, updatedAt: new Date(nowMs).toISOString() };
}
