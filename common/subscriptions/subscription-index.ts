import { compileSubscriptionMatcher, type SubscriptionMatcher } from './subscription-matcher.js';
import { activeSecrets } from './subscription-secrets.js';
import type { Subscription, SubscriptionView } from './subscription.js';

interface Entry {
  /** As stored, including rotated-out secrets that may have expired since. */
  readonly stored: Subscription;
  /** What readers get: frozen, expired secrets removed. */
  readonly view: Subscription;
  readonly matches: SubscriptionMatcher;
}

/** The cache's key for an event without a tenant (a tenant id is never empty). */
const noTenant = '';

/** Distinct (event type, producer, tenant) answers cached by `matching` before the cache starts over. */
const maxMatchCacheEntries = 10_000;

/**
 * The read side of the subscriptions: what `matching`, `get` and `all` answer from, kept apart
 * from how changes arrive. Subscriptions are frozen, their matching rules compiled once, answers
 * of `matching` cached per (type, producer, tenant), and secrets whose overlap ended are dropped
 * from what readers see as reads pass their expiry. An event is matched against the global
 * subscriptions and its own tenant's only, so a cache miss costs the same with ten tenants or ten
 * thousand.
 */
export class SubscriptionIndex implements SubscriptionView {
  private readonly entries = new Map<string, Entry>();
  /** Entries in a stable order (creation time, then id); rebuilt lazily after a change. */
  private ordered: Entry[] | undefined;
  /** The same order, grouped by tenant (`noTenant`: the global subscriptions); rebuilt lazily. */
  private orderedByTenant: Map<string, Entry[]> | undefined;
  private allViews: readonly Subscription[] | undefined;
  /** type → producer → tenant (or `noTenant`) → answer. */
  private matchCache = new Map<string, Map<string, Map<string, readonly Subscription[]>>>();
  private matchCacheSize = 0;
  /** Earliest expiry of a secret still shown; reads past it prune. */
  private nextExpiryMs = Infinity;

  constructor(private readonly nowMs: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Enabled subscriptions for this event type, producer and tenant, in a stable order. Cached per triple. */
  matching(eventType: string, producerId: string, tenant: string | undefined): readonly Subscription[] {
    this.pruneIfDue();
    const tenantKey = tenant ?? noTenant;
    let byProducer = this.matchCache.get(eventType);
    let byTenant = byProducer?.get(producerId);
    const cached = byTenant?.get(tenantKey);
    if (cached !== undefined) return cached;
    const found: Subscription[] = [];
    for (const entry of this.candidates(tenantKey)) {
      if (entry.view.enabled && entry.matches(eventType, producerId, tenant)) found.push(entry.view);
    }
    const result = Object.freeze(found);
    if (this.matchCacheSize >= maxMatchCacheEntries) {
      this.clearMatchCache();
      byProducer = undefined;
      byTenant = undefined;
    }
    if (byProducer === undefined) {
      byProducer = new Map();
      this.matchCache.set(eventType, byProducer);
    }
    if (byTenant === undefined) {
      byTenant = new Map();
      byProducer.set(producerId, byTenant);
    }
    byTenant.set(tenantKey, result);
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
    this.orderedByTenant = undefined;
    this.allViews = undefined;
    this.clearMatchCache();
  }

  private clearMatchCache(): void {
    this.matchCache = new Map();
    this.matchCacheSize = 0;
  }

  private orderedEntries(): Entry[] {
    this.ordered ??= [...this.entries.values()].sort(compareEntries);
    return this.ordered;
  }

  /** The subscriptions an event of this tenant can match: the global ones and the tenant's, in order. */
  private candidates(tenantKey: string): readonly Entry[] {
    if (this.orderedByTenant === undefined) {
      this.orderedByTenant = new Map();
      for (const entry of this.orderedEntries()) {
        const key = entry.view.tenant ?? noTenant;
        const group = this.orderedByTenant.get(key);
        if (group === undefined) this.orderedByTenant.set(key, [entry]);
        else group.push(entry);
      }
    }
    const global = this.orderedByTenant.get(noTenant) ?? [];
    const own = tenantKey === noTenant ? undefined : this.orderedByTenant.get(tenantKey);
    return own === undefined ? global : mergeOrdered(global, own);
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
  return { stored, view, matches: compileSubscriptionMatcher(view) };
}

function compareEntries(a: Entry, b: Entry): number {
  return a.view.createdAt === b.view.createdAt
    ? compareStrings(a.view.id, b.view.id)
    : compareStrings(a.view.createdAt, b.view.createdAt);
}

/** Two lists, each in `compareEntries` order, as one list in that order. */
function mergeOrdered(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const merged: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) merged.push(compareEntries(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  while (i < a.length) merged.push(a[i++]!);
  while (j < b.length) merged.push(b[j++]!);
  return merged;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
