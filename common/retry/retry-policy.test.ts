import { describe, expect, it } from 'vitest';
import { defaultRetrySchedule, parseRetrySchedule } from './retry-schedule.js';
import { nextParking, nextRetry, parseRetryAfter } from './retry-policy.js';

const parsed = parseRetrySchedule(defaultRetrySchedule);
if (!('delaysMs' in parsed)) throw new Error(parsed.problem);
const delaysMs = parsed.delaysMs;
const lowest = () => 0;
const middle = () => 0.5;
const highest = () => 0.999_999_999;

describe('nextRetry', () => {
  it('waits the scheduled delay of the failed attempt when jitter lands in the middle', () => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, random: middle })).toEqual({
      kind: 'retry',
      nextAttempt: 2,
      tierDelayMs: 5_000,
      delayMs: 5_000,
    });
    expect(nextRetry({ delaysMs, failedAttempt: 3, random: middle })).toMatchObject({
      nextAttempt: 4,
      tierDelayMs: 120_000,
      delayMs: 120_000,
    });
  });

  it.each([
    ['lowest', lowest, 4_000],
    ['highest', highest, 6_000],
  ])('keeps jitter within ±20%% (%s draw)', (_label, random, expectedMs) => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, random })).toMatchObject({ delayMs: expectedMs });
  });

  it('spreads many draws across the whole ±20% band and never outside it', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const delays = Array.from({ length: 2_000 }, () => {
      const decision = nextRetry({ delaysMs, failedAttempt: 2, random });
      return decision.kind === 'retry' ? decision.delayMs : Number.NaN;
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(24_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(36_000);
    expect(Math.min(...delays)).toBeLessThan(25_000);
    expect(Math.max(...delays)).toBeGreaterThan(35_000);
  });

  it('dead-letters once the attempt after the last delay has failed', () => {
    const attempts = delaysMs.length + 1;
    expect(nextRetry({ delaysMs, failedAttempt: delaysMs.length, random: middle })).toMatchObject({
      kind: 'retry',
      nextAttempt: attempts,
      tierDelayMs: 12 * 3_600_000,
    });
    expect(nextRetry({ delaysMs, failedAttempt: attempts, random: middle })).toEqual({
      kind: 'dead-letter',
      attempts,
    });
  });

  it('honours a Retry-After between one and two scheduled delays', () => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: 8_000, random: middle })).toMatchObject({
      delayMs: 8_000,
      tierDelayMs: 5_000,
    });
  });

  it('clamps a Retry-After longer than twice the scheduled delay', () => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: 3_600_000, random: highest })).toMatchObject(
      {
        delayMs: 10_000,
      },
    );
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: Infinity, random: middle })).toMatchObject({
      delayMs: 10_000,
    });
  });

  it('never retries sooner than the schedule when Retry-After is shorter', () => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: 0, random: lowest })).toMatchObject({
      delayMs: 5_000,
    });
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: 1_000, random: highest })).toMatchObject({
      delayMs: 6_000,
    });
  });

  it('never jitters below a Retry-After it honours', () => {
    expect(nextRetry({ delaysMs, failedAttempt: 1, retryAfterMs: 5_500, random: lowest })).toMatchObject({
      delayMs: 5_500,
    });
  });

  it('throws on an attempt number that is not a whole number from 1', () => {
    expect(() => nextRetry({ delaysMs, failedAttempt: 0 })).toThrow(/failedAttempt/);
    expect(() => nextRetry({ delaysMs, failedAttempt: 1.5 })).toThrow(/failedAttempt/);
  });
});

describe('nextParking', () => {
  const young = { delaysMs, ageMs: 1_000, maxAgeMs: 60_000 };

  it('parks a delivery from the events topic in the first tier', () => {
    expect(nextParking({ ...young, fromTierIndex: -1, random: middle })).toEqual({
      kind: 'park',
      tierDelayMs: 5_000,
      delayMs: 5_000,
    });
  });

  it('moves a parked delivery one tier on and keeps it in the last tier at the end', () => {
    expect(nextParking({ ...young, fromTierIndex: 2, random: middle })).toMatchObject({
      tierDelayMs: 10 * 60_000,
    });
    const last = delaysMs.length - 1;
    expect(nextParking({ ...young, fromTierIndex: last, random: middle })).toMatchObject({
      tierDelayMs: 12 * 3_600_000,
    });
  });

  it.each([
    ['lowest', lowest, 4_000],
    ['highest', highest, 6_000],
  ])('keeps jitter within ±20%% (%s draw)', (_label, random, expectedMs) => {
    expect(nextParking({ ...young, fromTierIndex: -1, random })).toMatchObject({ delayMs: expectedMs });
  });

  it('expires a delivery parked longer than maxAgeMs since its first attempt', () => {
    expect(nextParking({ delaysMs, fromTierIndex: 0, ageMs: 60_001, maxAgeMs: 60_000 })).toEqual({
      kind: 'expire',
    });
    expect(
      nextParking({ delaysMs, fromTierIndex: 0, ageMs: 60_000, maxAgeMs: 60_000, random: middle }),
    ).toMatchObject({ kind: 'park' });
  });
});

describe('parseRetryAfter', () => {
  const nowMs = Date.parse('2024-05-01T12:00:00Z');

  it.each([
    ['delay-seconds', '120', 120_000],
    ['zero seconds', '0', 0],
    ['seconds with surrounding space', ' 7 ', 7_000],
    ['IMF-fixdate in the future', 'Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['IMF-fixdate in the past', 'Wed, 01 May 2024 11:00:00 GMT', 0],
    ['obsolete RFC 850 date', 'Wednesday, 01-May-24 12:01:00 GMT', 60_000],
    ['asctime date', 'Wed May  1 12:00:10 2024', 10_000],
  ])('reads %s', (_label, value, expectedMs) => {
    expect(parseRetryAfter(value, nowMs)).toBe(expectedMs);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['negative seconds', '-5'],
    ['fractional seconds', '1.5'],
    ['a word', 'soon'],
    ['an ISO date (not an HTTP-date)', '2024-05-01T12:00:30Z'],
    ['a day name with garbage', 'Wed, not a date'],
  ])('ignores %s', (_label, value) => {
    expect(parseRetryAfter(value, nowMs)).toBeUndefined();
  });
});
