import { compileEventTypeMatcher, type EventTypeMatcher } from '../event-type-matcher.js';
import { activeSecrets } from './subscription-secrets.js';
import type { Subscription, SubscriptionView } from './subscription.js';

interface Entry {
  /** As stored, including rotated-out secrets that may have expired since. */
  readonly stored: Subscription;
  /** What readers get: frozen, expired secrets removed. */
  readonly view: Subscription;
  readonly matches: EventTypeMatcher;
  readonly producers: ReadonlySet<string> | undefined;
}

/** Distinct (event type, producer) answers cached by `matching` before the cache starts over. */
const maxMatchCacheEntries = 10_000;

/**
 * The read side of the subscriptions: what `matching`, `get` and `all` answer from, kept apart
 * from how changes arrive. Subscriptions are frozen, event-type globs compiled once, answers of
 * `matching` cached per (type, producer), and secrets whose overlap ended are dropped from what
 * readers see as reads pass their expiry.
 */
export class SubscriptionIndex implements SubscriptionView {
  private readonly entries = new Map<string, Entry>();
  /** Entries in a stable order (creation time, then id); rebuilt lazily after a change. */
  private ordered: Entry[] | undefined;
  private allViews: readonly Subscription[] | undefined;
  private matchCache = new Map<string, Map<string, readonly Subscription[]>>();
  private matchCacheSize = 0;
  /** Earliest expiry of a secret still shown; reads past it prune. */
  private nextExpiryMs = Infinity;

  constructor(private readonly nowMs: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Enabled subscriptions for this event type and producer, in a stable order. Cached per pair. */
  matching(eventType: string, producerId: string): readonly Subscription[] {
    this.pruneIfDue();
    let byProducer = this.matchCache.get(eventType);
    const cached = byProducer?.get(producerId);
    if (cached !== undefined) return cached;
    const found: Subscription[] = [];
    for (const entry of this.orderedEntries()) {
      if (!entry.view.enabled || !entry.matches(eventType)) continue;
      if (entry.producers !== undefined && !entry.producers.has(producerId)) continue;
      found.push(entry.view);
    }
    const result = Object.freeze(found);
    if (this.matchCacheSize >= maxMatchCacheEntries) {
      this.clearMatchCache();
      byProducer = undefined;
    }
    if (byProducer === undefined) {
      byProducer = new Map();
      this.matchCache.set(eventType, byProducer);
    }
    byProducer.set(producerId, result);
    this.matchCacheSize += 1;
    return result;
  }

  get(id: string): Subscription | undefined {
    this.pruneIfDue();
    return this.entries.get(id)?.view;
  }

  /** Like `get`, without pruning first: what writers read before they change a subscription. */
  current(id: string): Subscription | undefined {
    return this.entries.get(id)?.view;
  }

  all(): readonly Subscription[] {
    this.pruneIfDue();
    this.allViews ??= Object.freeze(this.orderedEntries().map((entry) => entry.view));
    return this.allViews;
  }

  upsert(subscription: Subscription): void {
    const nowMs = this.nowMs();
    this.entries.set(subscription.id, makeEntry(subscription, nowMs));
    this.noteExpiry(subscription, nowMs);
    this.invalidate();
  }

  delete(id: string): void {
    if (this.entries.delete(id)) this.invalidate();
  }

  private invalidate(): void {
    this.ordered = undefined;
    this.allViews = undefined;
    this.clearMatchCache();
  }

  private clearMatchCache(): void {
    this.matchCache = new Map();
    this.matchCacheSize = 0;
  }

  private orderedEntries(): Entry[] {
    this.ordered ??= [...this.entries.values()].sort((a, b) =>
      a.view.createdAt === b.view.createdAt
        ? compareStrings(a.view.id, b.view.id)
        : compareStrings(a.view.createdAt, b.view.createdAt),
    );
    return this.ordered;
  }

  private noteExpiry(subscription: Subscription, nowMs: number): void {
    for (const { expiresAtMs } of subscription.secrets) {
      if (expiresAtMs !== undefined && expiresAtMs > nowMs && expiresAtMs < this.nextExpiryMs) {
        this.nextExpiryMs = expiresAtMs;
      }
    }
  }

  /** Drops secrets whose overlap ended from the view (the topic keeps them until the next write). */
  private pruneIfDue(): void {
    const nowMs = this.nowMs();
    if (nowMs < this.nextExpiryMs) return;
    this.nextExpiryMs = Infinity;
    for (const [id, entry] of this.entries) {
      if (entry.view.secrets.some((s) => s.expiresAtMs !== undefined && s.expiresAtMs <= nowMs)) {
        this.entries.set(id, makeEntry(entry.stored, nowMs));
      }
      this.noteExpiry(entry.stored, nowMs);
    }
    this.invalidate();
  }
}

/** A frozen copy of `subscription`, as readers get it. */
export function freezeSubscription(subscription: Subscription): Subscription {
  const { filter, headers, retry } = subscription;
  return Object.freeze({
    ...subscription,
    eventTypes: Object.freeze([...subscription.eventTypes]),
    secrets: Object.freeze(subscription.secrets.map((s) => Object.freeze({ ...s }))),
    producerIds:
      subscription.producerIds === undefined ? undefined : Object.freeze([...subscription.producerIds]),
    ...(filter === undefined ? {} : { filter: deepFreeze(structuredClone(filter)) }),
    ...(headers === undefined ? {} : { headers: Object.freeze(headers.map((h) => Object.freeze({ ...h }))) }),
    ...(retry === undefined
      ? {}
      : {
          retry: Object.freeze({
            ...retry,
            delaysMs: retry.delaysMs === undefined ? undefined : Object.freeze([...retry.delaysMs]),
          }),
        }),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function makeEntry(stored: Subscription, nowMs: number): Entry {
  const view = freezeSubscription({ ...stored, secrets: activeSecrets(stored.secrets, nowMs) });
  return {
    stored,
    view,
    matches: compileEventTypeMatcher(view.eventTypes),
    producers: view.producerIds === undefined ? undefined : new Set(view.producerIds),
  };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
