import { compileEventTypeMatcher } from '../event-type-matcher.js';
import type { Subscription } from './subscription.js';

/** Whether an event of this type from this producer is for the subscription. */
export type SubscriptionMatcher = (eventType: string, producerId: string) => boolean;

/**
 * A subscription's matching rules compiled once: its event type globs and, when it has one, its
 * producer filter (the same rules as `SubscriptionView.matching`). Whether it is enabled is the
 * caller's concern.
 */
export function compileSubscriptionMatcher(
  subscription: Pick<Subscription, 'eventTypes' | 'producerIds'>,
): SubscriptionMatcher {
  const matchesType = compileEventTypeMatcher(subscription.eventTypes);
  const producers = subscription.producerIds === undefined ? undefined : new Set(subscription.producerIds);
  return (eventType, producerId) =>
    matchesType(eventType) && (producers === undefined || producers.has(producerId));
}
