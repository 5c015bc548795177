import { describe, expect, it } from 'vitest';
import { dayStartMs, partitionDay, partitionName, planPartitions } from './partitions.js';

const dayMs = 86_400_000;
const now = Date.parse('2026-03-15T10:30:00Z');
const policy = { retentionMs: 14 * dayMs, daysAhead: 2 };

describe('partitions', () => {
  it('names a partition after its UTC day, and reads the day back', () => {
    const day = dayStartMs(now);
    expect(new Date(day).toISOString()).toBe('2026-03-15T00:00:00.000Z');
    expect(partitionName(day)).toBe('attempts_p20260315');
    expect(partitionDay('attempts_p20260315')).toBe(day);
    expect(partitionDay('attempts')).toBeUndefined();
    expect(partitionDay('attempts_default')).toBeUndefined();
    expect(partitionDay('attempts_p20260230')).toBeUndefined();
  });

  it('plans today and the days ahead that are missing', () => {
    expect(planPartitions(['attempts_p20260315'], now, policy)).toEqual({
      create: [Date.parse('2026-03-16T00:00:00Z'), Date.parse('2026-03-17T00:00:00Z')],
      drop: [],
    });
  });

  it('drops a day only once all of it is past retention, and never a table that is not ours', () => {
    const existing = [
      'attempts_p20260228',
      'attempts_p20260230',
      'attempts_p20260301',
      'attempts_p20260302',
      'other',
    ];
    // Cutoff 2026-03-01T10:30Z: 28 Feb ends before it; 1 March still holds rows younger than 14 days.
    expect(planPartitions(existing, now, policy).drop).toEqual(['attempts_p20260228']);
  });
});
