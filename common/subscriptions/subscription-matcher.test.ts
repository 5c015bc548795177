import { describe, expect, it } from 'vitest';
import { compileSubscriptionMatcher, tenantMatches } from './subscription-matcher.js';

describe('subscription matcher', () => {
  it('matches event types by glob, for every producer when there is no filter', () => {
    const matches = compileSubscriptionMatcher({
      eventTypes: ['order.*', 'refund.created'],
      producerIds: undefined,
      tenant: undefined,
    });
    expect(matches('order.created', 'shop', undefined)).toBe(true);
    expect(matches('order.line.added', 'other', undefined)).toBe(true);
    expect(matches('refund.created', 'shop', undefined)).toBe(true);
    expect(matches('payment.succeeded', 'shop', undefined)).toBe(false);
  });

  it('only matches the listed producers when there is a producer filter', () => {
    const matches = compileSubscriptionMatcher({
      eventTypes: ['*'],
      producerIds: ['tenant-a'],
      tenant: undefined,
    });
    expect(matches('order.created', 'tenant-a', undefined)).toBe(true);
    expect(matches('order.created', 'tenant-b', undefined)).toBe(false);
    expect(matches('order.created', '', undefined)).toBe(false);
  });

  it("gives a tenant's subscription only that tenant's events, never one without a tenant", () => {
    const matches = compileSubscriptionMatcher({
      eventTypes: ['order.*'],
      producerIds: undefined,
      tenant: 'acme',
    });
    expect(matches('order.created', 'shop', 'acme')).toBe(true);
    expect(matches('order.created', 'shop', 'globex')).toBe(false);
    expect(matches('order.created', 'shop', undefined)).toBe(false);
    // Tenant ids are compared exactly: no case folding, no prefix.
    expect(matches('order.created', 'shop', 'ACME')).toBe(false);
    expect(matches('order.created', 'shop', 'acme2')).toBe(false);
    // The tenant narrows the other rules; it does not replace them.
    expect(matches('payment.succeeded', 'shop', 'acme')).toBe(false);
  });

  it('gives a global subscription the events of every tenant and those without one', () => {
    const matches = compileSubscriptionMatcher({
      eventTypes: ['order.*'],
      producerIds: undefined,
      tenant: undefined,
    });
    expect(matches('order.created', 'shop', 'acme')).toBe(true);
    expect(matches('order.created', 'shop', 'globex')).toBe(true);
    expect(matches('order.created', 'shop', undefined)).toBe(true);
  });

  it('combines the tenant with the producer filter', () => {
    const matches = compileSubscriptionMatcher({ eventTypes: ['*'], producerIds: ['saas'], tenant: 'acme' });
    expect(matches('order.created', 'saas', 'acme')).toBe(true);
    expect(matches('order.created', 'other', 'acme')).toBe(false);
    expect(matches('order.created', 'saas', 'globex')).toBe(false);
  });

  it('tenantMatches: global takes all, a tenant only its own', () => {
    expect(tenantMatches(undefined, undefined)).toBe(true);
    expect(tenantMatches(undefined, 'acme')).toBe(true);
    expect(tenantMatches('acme', 'acme')).toBe(true);
    expect(tenantMatches('acme', undefined)).toBe(false);
    expect(tenantMatches('acme', 'globex')).toBe(false);
  });
});
