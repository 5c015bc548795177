import { describe, expect, it } from 'vitest';
import {
  effectiveAttemptTimeoutMs,
  effectiveRetryDelays,
  parseRetryOverride,
  parseTimeoutMs,
  retryOverrideResource,
} from './delivery-overrides.js';

const bounds = { retryDelaysMs: [5000, 30_000, 120_000, 600_000], attemptTimeoutMs: 15_000 };

function problemsOf(result: object) {
  return 'problems' in result ? (result.problems as Array<{ field: string; message: string }>) : [];
}

describe('parseRetryOverride', () => {
  it('takes an ascending subset of the global tiers and a number of attempts within it', () => {
    expect(parseRetryOverride({ schedule: ['30s', '10m'], maxAttempts: 2 }, bounds)).toEqual({
      retry: { delaysMs: [30_000, 600_000], maxAttempts: 2 },
    });
    expect(parseRetryOverride({ maxAttempts: 1 }, bounds)).toEqual({
      retry: { delaysMs: undefined, maxAttempts: 1 },
    });
    expect(parseRetryOverride({ schedule: ['5s', '30000ms', '2m'] }, bounds)).toEqual({
      retry: { delaysMs: [5000, 30_000, 120_000], maxAttempts: undefined },
    });
  });

  it('refuses delays that are not tiers, a schedule out of order, and attempts past the schedule', () => {
    expect(problemsOf(parseRetryOverride({ schedule: ['5s', '45s'] }, bounds))).toEqual([
      {
        field: 'retry.schedule[1]',
        message: expect.stringContaining(
          '"45s" is not a retry tier: each delay must be one of SLUICE_RETRY_SCHEDULE\'s (5s, 30s, 2m, 10m)',
        ),
      },
    ]);
    expect(problemsOf(parseRetryOverride({ schedule: ['2m', '30s'] }, bounds))[0]!.message).toContain(
      'strictly ascending',
    );
    expect(problemsOf(parseRetryOverride({ schedule: ['2m', '2m'] }, bounds))[0]!.message).toContain(
      'strictly ascending',
    );
    expect(problemsOf(parseRetryOverride({ schedule: ['30s'], maxAttempts: 3 }, bounds))).toEqual([
      {
        field: 'retry.maxAttempts',
        message: expect.stringContaining('maxAttempts must be a whole number from 1 to 2'),
      },
    ]);
    expect(problemsOf(parseRetryOverride({ maxAttempts: 6 }, bounds))[0]!.message).toContain('from 1 to 5');
    expect(problemsOf(parseRetryOverride({ maxAttempts: 0 }, bounds))).toHaveLength(1);
    expect(problemsOf(parseRetryOverride({ maxAttempts: 1.5 }, bounds))).toHaveLength(1);
  });

  it('refuses an empty or unknown shape', () => {
    expect(problemsOf(parseRetryOverride({}, bounds))[0]!.message).toContain(
      'must give schedule, maxAttempts',
    );
    expect(problemsOf(parseRetryOverride({ schedule: [] }, bounds))[0]!.field).toBe('retry.schedule');
    expect(problemsOf(parseRetryOverride({ delays: ['5s'] }, bounds))[0]!.field).toBe('retry.delays');
    expect(problemsOf(parseRetryOverride('5s,30s', bounds))[0]!.field).toBe('retry');
  });
});

describe('parseTimeoutMs', () => {
  it('takes whole milliseconds from 100 to the global attempt timeout', () => {
    expect(parseTimeoutMs(100, bounds)).toEqual({ timeoutMs: 100 });
    expect(parseTimeoutMs(15_000, bounds)).toEqual({ timeoutMs: 15_000 });
    for (const bad of [99, 15_001, 1.5, '5s', true]) {
      expect(problemsOf(parseTimeoutMs(bad, bounds)), String(bad)).toEqual([
        {
          field: 'timeoutMs',
          message: expect.stringContaining('from 100 to 15000 (SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS)'),
        },
      ]);
    }
  });
});

describe('effective settings', () => {
  it('cuts the schedule to maxAttempts - 1 and moves a delay that is no longer a tier to the next one', () => {
    const global = [5000, 30_000, 120_000];
    expect(effectiveRetryDelays(undefined, global)).toBe(global);
    expect(effectiveRetryDelays({ delaysMs: undefined, maxAttempts: 2 }, global)).toEqual([5000]);
    expect(effectiveRetryDelays({ delaysMs: undefined, maxAttempts: 1 }, global)).toEqual([]);
    expect(effectiveRetryDelays({ delaysMs: [30_000, 120_000], maxAttempts: undefined }, global)).toEqual([
      30_000, 120_000,
    ]);
    // 10m was a tier when saved; the schedule changed since: it travels through the last tier.
    expect(effectiveRetryDelays({ delaysMs: [20_000, 600_000], maxAttempts: undefined }, global)).toEqual([
      30_000, 120_000,
    ]);
  });

  it('never lets a subscription’s timeout exceed the global one', () => {
    expect(effectiveAttemptTimeoutMs(undefined, 15_000)).toBe(15_000);
    expect(effectiveAttemptTimeoutMs(2000, 15_000)).toBe(2000);
    expect(effectiveAttemptTimeoutMs(20_000, 15_000)).toBe(15_000);
  });

  it('shows the schedule as tier names', () => {
    expect(retryOverrideResource({ delaysMs: [30_000, 600_000], maxAttempts: 2 })).toEqual({
      schedule: ['30s', '10m'],
      maxAttempts: 2,
    });
    expect(retryOverrideResource({ delaysMs: undefined, maxAttempts: 1 })).toEqual({
      schedule: null,
      maxAttempts: 1,
    });
    expect(retryOverrideResource(undefined)).toBeNull();
  });
});
