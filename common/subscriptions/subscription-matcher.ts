import { compileEventTypeMatcher } from '../event-type-matcher.js';
import type { Subscription } from './subscription.js';

/** Whether an event of this type, from this producer, of this tenant (if any) is for the subscription. */
export type SubscriptionMatcher = (
  eventType: string,
  producerId: string,
  tenant: string | undefined,
) => boolean;

/**
 * Whether a subscription of `subscriptionTenant` may receive an event of `eventTenant`: a global
 * subscription (no tenant) receives every event; a tenant's subscription only that tenant's, never
 * an event without a tenant. This is the isolation between tenants: every path that hands an event
 * to a subscription asks it.
 */
export function tenantMatches(
  subscriptionTenant: string | undefined,
  eventTenant: string | undefined,
): boolean {
  return subscriptionTenant === undefined || subscriptionTenant === eventTenant;
}

/**
 * A subscription's matching rules compiled once: its event type globs, its producer filter when it
 * has one, and its tenant (the same rules as `SubscriptionView.matching`). Whether it is enabled is
 * the caller's concern.
 */
export function compileSubscriptionMatcher(
  subscription: Pick<Subscription, 'eventTypes' | 'producerIds' | 'tenant'>,
): SubscriptionMatcher {
  const matchesType = compileEventTypeMatcher(subscription.eventTypes);
  const producers = subscription.producerIds === undefined ? undefined : new Set(subscription.producerIds);
  const { tenant } = subscription;
  return (eventType, producerId, eventTenant) =>
    tenantMatches(tenant, eventTenant) &&
    matchesType(eventType) &&
    (producers === undefined || producers.has(producerId));
}
