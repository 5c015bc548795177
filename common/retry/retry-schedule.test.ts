import { describe, expect, it } from 'vitest';
import { defaultRetrySchedule, parseRetrySchedule, retryTopicName, tierName } from './retry-schedule.js';

describe('retry schedule', () => {
  it('parses the default schedule into nine ascending delays totalling about 23 hours', () => {
    const parsed = parseRetrySchedule(defaultRetrySchedule);
    if ('problem' in parsed) throw new Error(parsed.problem);
    expect(parsed.delaysMs).toHaveLength(9);
    expect(parsed.delaysMs[0]).toBe(5000);
    const totalHours = parsed.delaysMs.reduce((sum, ms) => sum + ms, 0) / 3_600_000;
    expect(totalHours).toBeGreaterThan(22);
    expect(totalHours).toBeLessThan(24);
  });

  it('refuses a schedule that is not ascending, naming it', () => {
    expect(parseRetrySchedule('5s,1s')).toEqual({
      problem: 'SLUICE_RETRY_SCHEDULE must be strictly ascending, got 5s,1s',
    });
  });

  it('refuses delays under a second and words that are not durations', () => {
    expect(parseRetrySchedule('500ms')).toHaveProperty('problem');
    expect(parseRetrySchedule('5s,later')).toHaveProperty('problem');
  });

  it('names tiers by their largest whole unit', () => {
    expect(tierName(5000)).toBe('5s');
    expect(tierName(120_000)).toBe('2m');
    expect(tierName(90_000)).toBe('90s');
    expect(tierName(43_200_000)).toBe('12h');
    expect(retryTopicName('sluice.retry.', 1_800_000)).toBe('sluice.retry.30m');
  });
});
