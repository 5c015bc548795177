import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['15s', 15_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1d', 86_400_000],
    [' 2 M ', 120_000],
    ['42', 42],
  ])('reads %s as %d ms', (text, expected) => expect(parseDurationMs(text)).toBe(expected));

  it.each(['', 'soon', '-1s', '5 parsecs', '1m30s', '.5s', '5 s s'])('refuses %j', (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
});

describe('formatDurationMs', () => {
  it.each([
    [604_800_000, '7d'],
    [5_400_000, '90m'],
    [43_200_000, '12h'],
    [90_000, '90s'],
    [1500, '1500ms'],
  ])('writes %d ms as %s', (ms, text) => expect(formatDurationMs(ms)).toBe(text));

  it.each([5000, 120_000, 90_000, 1500, 86_400_000])('reads back what it writes: %d ms', (ms) =>
    expect(parseDurationMs(formatDurationMs(ms))).toBe(ms),
  );
});
