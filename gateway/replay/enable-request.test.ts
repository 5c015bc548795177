import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { recoveryWindow, validateEnableRequest } from './enable-request.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

const nowMs = Date.parse('2024-03-08T12:00:00.000Z');
const weekMs = 7 * 86_400_000;

function subscription(overrides: Partial<Subscription>): Subscription {
  return sampleSubscription({
    id: 'sub_enable',
    enabled: false,
    disabledReason: 'failing',
    disabledAt: '2024-03-06T12:00:00.000Z',
    updatedAt: '2024-03-06T12:00:00.000Z',
    ...overrides,
  });
}

function errors(result: unknown): unknown {
  expect(result).toBeInstanceOf(SluiceError);
  return { code: (result as SluiceError).code, errors: (result as SluiceError).details.errors };
}

describe('enable request', () => {
  it('takes no body, {} or {"recover": boolean}', () => {
    expect(validateEnableRequest(undefined)).toEqual({ recover: false });
    expect(validateEnableRequest({})).toEqual({ recover: false });
    expect(validateEnableRequest({ recover: true })).toEqual({ recover: true });
  });

  it('names every bad field at once', () => {
    expect(errors(validateEnableRequest({ recover: 'yes', from: 'x' }))).toEqual({
      code: 'SLUICE_INVALID_SUBSCRIPTION',
      errors: [
        { field: 'from', message: 'unknown field from' },
        { field: 'recover', message: 'recover must be true or false, got "yes"' },
      ],
    });
    expect(errors(validateEnableRequest([true]))).toMatchObject({ code: 'SLUICE_INVALID_SUBSCRIPTION' });
  });
});

describe('recovery window', () => {
  it('is [disabledAt, now) for a disabled subscription within retention', () => {
    expect(recoveryWindow(subscription({}), nowMs, weekMs)).toEqual({
      fromMs: Date.parse('2024-03-06T12:00:00.000Z'),
      toMs: nowMs,
    });
  });

  it('is refused for an enabled subscription, one without disabledAt, and one disabled past retention', () => {
    const refusals = [
      subscription({ enabled: true, disabledReason: undefined, disabledAt: undefined }),
      subscription({ disabledReason: 'gone', disabledAt: undefined }),
      subscription({ disabledAt: '2024-02-28T12:00:00.000Z' }),
    ].map((s) => recoveryWindow(s, nowMs, weekMs));
    for (const refusal of refusals)
      expect(errors(refusal)).toMatchObject({ code: 'SLUICE_RECOVERY_REFUSED' });
    expect((refusals[0] as SluiceError).message).toContain('is not disabled');
    expect((refusals[1] as SluiceError).message).toContain('has no disabledAt');
    expect((refusals[2] as SluiceError).message).toContain("past the events topic's retention (7d)");
  });
});
