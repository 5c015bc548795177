import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from './subscription-index.js';
import type { Subscription } from './subscription.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

function subscription(id: string, overrides: Partial<Subscription> = {}): Subscription {
  return sampleSubscription({ id, url: `https://hooks.example.com/${id}`, maxConcurrency: 16, ...overrides });
}

const ids = (subscriptions: readonly Subscription[]) => subscriptions.map((s) => s.id);

describe('SubscriptionIndex.matching with tenants', () => {
  function indexOf(...subscriptions: Subscription[]): SubscriptionIndex {
    const index = new SubscriptionIndex(() => 0);
    for (const s of subscriptions) index.upsert(s);
    return index;
  }

  // Creation times interleave tenants and global ones, so the stable order is a real merge.
  const acme1 = subscription('sub_a1', { tenant: 'acme', createdAt: '2024-01-01T00:00:01.000Z' });
  const global1 = subscription('sub_g1', { createdAt: '2024-01-01T00:00:02.000Z' });
  const globex1 = subscription('sub_b1', { tenant: 'globex', createdAt: '2024-01-01T00:00:03.000Z' });
  const acme2 = subscription('sub_a2', { tenant: 'acme', createdAt: '2024-01-01T00:00:04.000Z' });
  const global2 = subscription('sub_g2', { createdAt: '2024-01-01T00:00:05.000Z' });

  it("matches a tenant's event to that tenant's and the global subscriptions, in creation order", () => {
    const index = indexOf(global2, acme2, globex1, global1, acme1);
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual([
      'sub_a1',
      'sub_g1',
      'sub_a2',
      'sub_g2',
    ]);
    expect(ids(index.matching('order.created', 'shop', 'globex'))).toEqual(['sub_g1', 'sub_b1', 'sub_g2']);
  });

  it('matches an event without a tenant, or of a tenant without subscriptions, to the global ones only', () => {
    const index = indexOf(acme1, global1, globex1, acme2, global2);
    expect(ids(index.matching('order.created', 'shop', undefined))).toEqual(['sub_g1', 'sub_g2']);
    expect(ids(index.matching('order.created', 'shop', 'initech'))).toEqual(['sub_g1', 'sub_g2']);
  });

  it('caches per tenant: an answer for one tenant is never served to another', () => {
    const index = indexOf(acme1, globex1);
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual(['sub_a1']);
    expect(ids(index.matching('order.created', 'shop', 'globex'))).toEqual(['sub_b1']);
    expect(ids(index.matching('order.created', 'shop', undefined))).toEqual([]);
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual(['sub_a1']);
  });

  it('follows a subscription moved to another tenant or made global', () => {
    const index = indexOf(acme1);
    expect(ids(index.matching('order.created', 'shop', 'globex'))).toEqual([]);
    index.upsert({ ...acme1, tenant: 'globex' });
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual([]);
    expect(ids(index.matching('order.created', 'shop', 'globex'))).toEqual(['sub_a1']);
    index.upsert({ ...acme1, tenant: undefined });
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual(['sub_a1']);
    expect(ids(index.matching('order.created', 'shop', undefined))).toEqual(['sub_a1']);
  });

  it("leaves out a tenant's disabled subscriptions and those of other types", () => {
    const index = indexOf(
      acme1,
      subscription('sub_a3', { tenant: 'acme', enabled: false, disabledReason: 'manual' }),
      subscription('sub_a4', { tenant: 'acme', eventTypes: ['payment.*'] }),
    );
    expect(ids(index.matching('order.created', 'shop', 'acme'))).toEqual(['sub_a1']);
    expect(ids(index.matching('payment.succeeded', 'shop', 'acme'))).toEqual(['sub_a4']);
  });
});
