import {
  compilePayloadFilter,
  type FilterMatcher,
} from '../../common/subscriptions/payload-filter-matcher.js';
import type { FilterDocument, PayloadFilter } from '../../common/subscriptions/payload-filter.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';

/** What a filter reads of a decoded event. */
export interface FilterableEvent {
  readonly type: string;
  readonly producerId: string;
  /** The tenant the event names (`ce_tenantid`), if any. */
  readonly tenant: string | undefined;
  readonly data: unknown;
}

export interface EventFilter {
  /** Whether the subscription's payload filter lets the event through; true without a filter. */
  admits(subscription: Pick<Subscription, 'filter'>, event: FilterableEvent): boolean;
}

/**
 * Evaluates subscriptions' payload filters on decoded events. Each filter is compiled once, kept
 * per filter object (a subscription's view holds one frozen filter until it changes); the document
 * a filter reads is built once per event, and only when some subscription of it has a filter.
 */
export function createEventFilter(): EventFilter {
  const compiled = new WeakMap<PayloadFilter, FilterMatcher>();
  const documents = new WeakMap<FilterableEvent, FilterDocument>();

  function documentOf(event: FilterableEvent): FilterDocument {
    let document = documents.get(event);
    if (document === undefined) {
      document = {
        type: event.type,
        producer: event.producerId,
        // Left out rather than undefined, so `{"tenant": {"$exists": false}}` holds.
        ...(event.tenant === undefined ? {} : { tenant: event.tenant }),
        data: event.data,
      };
      documents.set(event, document);
    }
    return document;
  }

  return {
    admits(subscription, event) {
      const { filter } = subscription;
      if (filter === undefined) return true;
      let matches = compiled.get(filter);
      if (matches === undefined) {
        matches = compilePayloadFilter(filter);
        compiled.set(filter, matches);
      }
      return matches(documentOf(event));
    },
  };
}
