import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryOutcome } from './classify-outcome.js';
import { createEndpointBreakers, type BreakerState } from './endpoint-breakers.js';

const settings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 2,
  rollingWindowMs: 10_000,
  resetTimeoutMs: 5000,
};

const serverError: DeliveryOutcome = { kind: 'retry', reason: 'server-error', status: 500 };
const badRequest: DeliveryOutcome = { kind: 'retry', reason: 'client-error', status: 400 };
const delivered: DeliveryOutcome = { kind: 'delivered', status: 200 };

afterEach(() => {
  vi.useRealTimers();
});

function setup() {
  const changes: Array<[string, BreakerState]> = [];
  const breakers = createEndpointBreakers(settings, (id, state) => changes.push([id, state]));
  let calls = 0;
  const attempt = (outcome: DeliveryOutcome) => () => {
    calls++;
    return Promise.resolve({ outcome });
  };
  return { breakers, changes, attempt, calls: () => calls };
}

describe('endpoint breakers', () => {
  it('opens on failures that say the endpoint is unhealthy, then refuses without calling', async () => {
    const { breakers, changes, attempt, calls } = setup();
    expect(await breakers.run('sub_a', attempt(serverError))).toEqual({
      kind: 'ran',
      value: { outcome: serverError },
    });
    await breakers.run('sub_a', attempt(serverError));
    expect(breakers.state('sub_a')).toBe('open');
    expect(changes).toEqual([['sub_a', 'open']]);
    expect(await breakers.run('sub_a', attempt(delivered))).toEqual({ kind: 'open' });
    expect(calls()).toBe(2);
    breakers.shutdown();
  });

  it('does not open on answers that say nothing about the endpoint’s health (400)', async () => {
    const { breakers, attempt } = setup();
    for (let i = 0; i < 5; i++) await breakers.run('sub_a', attempt(badRequest));
    expect(breakers.state('sub_a')).toBe('closed');
    breakers.shutdown();
  });

  it('keeps one breaker per subscription', async () => {
    const { breakers, attempt } = setup();
    await breakers.run('sub_a', attempt(serverError));
    await breakers.run('sub_a', attempt(serverError));
    expect(breakers.state('sub_a')).toBe('open');
    expect(breakers.state('sub_b')).toBe('closed');
    expect((await breakers.run('sub_b', attempt(delivered))).kind).toBe('ran');
    breakers.shutdown();
  });

  it('lets one probe through when half-open, and closes on its success', async () => {
    vi.useFakeTimers();
    const { breakers, changes, attempt } = setup();
    await breakers.run('sub_a', attempt(serverError));
    await breakers.run('sub_a', attempt(serverError));
    vi.advanceTimersByTime(settings.resetTimeoutMs + 1);
    expect(breakers.state('sub_a')).toBe('half-open');
    let finishProbe!: () => void;
    const probe = breakers.run(
      'sub_a',
      () =>
        new Promise<{ outcome: DeliveryOutcome }>(
          (resolve) => (finishProbe = () => resolve({ outcome: delivered })),
        ),
    );
    expect(await breakers.run('sub_a', attempt(delivered))).toEqual({ kind: 'open' });
    finishProbe();
    expect((await probe).kind).toBe('ran');
    expect(breakers.state('sub_a')).toBe('closed');
    expect(changes.map(([, state]) => state)).toEqual(['open', 'half-open', 'closed']);
    breakers.shutdown();
  });
});
