import { describe, expect, it } from 'vitest';
import { compileSubscriptionMatcher } from './subscription-matcher.js';

describe('subscription matcher', () => {
  it('matches event types by glob, for every producer when there is no filter', () => {
    const matches = compileSubscriptionMatcher({
      eventTypes: ['order.*', 'refund.created'],
      producerIds: undefined,
    });
    expect(matches('order.created', 'shop')).toBe(true);
    expect(matches('order.line.added', 'other')).toBe(true);
    expect(matches('refund.created', 'shop')).toBe(true);
    expect(matches('payment.succeeded', 'shop')).toBe(false);
  });

  it('only matches the listed producers when there is a producer filter', () => {
    const matches = compileSubscriptionMatcher({ eventTypes: ['*'], producerIds: ['tenant-a'] });
    expect(matches('order.created', 'tenant-a')).toBe(true);
    expect(matches('order.created', 'tenant-b')).toBe(false);
    expect(matches('order.created', '')).toBe(false);
  });
});
