import { describe, expect, it } from 'vitest';
import { disabledSubscription, enabledSubscription, patchedSubscription } from './subscription-rules.js';
import type { Subscription } from './subscription.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

const t0 = Date.parse('2024-03-01T10:00:00.000Z');

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return sampleSubscription({ id: 'sub_rules', ...overrides });
}

describe('subscription rules: disable and enable', () => {
  it('disables for failing with disabledAt now and failingSince from the health record', () => {
    const next = disabledSubscription(subscription(), 'failing', t0, { failingSinceMs: t0 - 5000 });
    expect(next).toMatchObject({
      enabled: false,
      disabledReason: 'failing',
      disabledAt: '2024-03-01T10:00:00.000Z',
      failingSince: '2024-03-01T09:59:55.000Z',
      updatedAt: '2024-03-01T10:00:00.000Z',
    });
  });

  it('keeps failingSince for failing only', () => {
    expect(
      disabledSubscription(subscription(), 'gone', t0, { failingSinceMs: t0 })?.failingSince,
    ).toBeUndefined();
  });

  it('writes nothing when the subscription is already disabled, whatever the reason', () => {
    const manual = subscription({
      enabled: false,
      disabledReason: 'manual',
      disabledAt: '2024-02-01T00:00:00.000Z',
    });
    expect(disabledSubscription(manual, 'failing', t0)).toBeUndefined();
    expect(disabledSubscription(manual, 'gone', t0)).toBeUndefined();
  });

  it('enables by clearing the reason, disabledAt and failingSince; nothing to write when enabled', () => {
    const failing = subscription({
      enabled: false,
      disabledReason: 'failing',
      disabledAt: '2024-02-01T00:00:00.000Z',
      failingSince: '2024-01-27T00:00:00.000Z',
    });
    expect(enabledSubscription(failing, t0)).toMatchObject({
      enabled: true,
      disabledReason: undefined,
      disabledAt: undefined,
      failingSince: undefined,
      updatedAt: '2024-03-01T10:00:00.000Z',
    });
    expect(enabledSubscription(subscription(), t0)).toBeUndefined();
  });

  it('a PATCH that disables sets manual and disabledAt; one that enables clears them', () => {
    const disabled = patchedSubscription(subscription(), { enabled: false }, t0);
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: 'manual',
      disabledAt: '2024-03-01T10:00:00.000Z',
    });
    const again = patchedSubscription(disabled, { enabled: false }, t0 + 1000);
    expect(again.disabledAt).toBe('2024-03-01T10:00:00.000Z');
    expect(patchedSubscription(disabled, { enabled: true }, t0 + 2000)).toMatchObject({
      enabled: true,
      disabledReason: undefined,
      disabledAt: undefined,
    });
  });
});
