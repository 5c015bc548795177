import { formatDurationMs, parseDurationMs } from '../duration.js';

/**
 * The delivery retry schedule as data: attempt n (1-based) that failed waits `delaysMs[n-1]`
 * before attempt n+1; after the last delay's attempt fails the delivery is dead-lettered.
 * Each distinct delay is one retry tier with its own topic (`<prefix><tierName>`).
 */
export const defaultRetrySchedule = '5s,30s,2m,10m,30m,1h,3h,6h,12h';

/** Parses `5s,30s,2m` into milliseconds; returns a problem message instead when it is not ascending. */
export function parseRetrySchedule(text: string): { delaysMs: number[] } | { problem: string } {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) return { problem: 'SLUICE_RETRY_SCHEDULE must list at least one delay' };
  const delaysMs: number[] = [];
  for (const part of parts) {
    const delayMs = parseDurationMs(part);
    if (delayMs === undefined || delayMs < 1000) {
      return { problem: `SLUICE_RETRY_SCHEDULE entries must be durations of at least 1s, got ${part}` };
    }
    delaysMs.push(delayMs);
  }
  for (let i = 1; i < delaysMs.length; i++) {
    if (delaysMs[i]! <= delaysMs[i - 1]!) {
      return { problem: `SLUICE_RETRY_SCHEDULE must be strictly ascending, got ${parts.join(',')}` };
    }
  }
  return { delaysMs };
}

/**
 * A tier's short name used in topic names and metric labels: 5000 → `5s`, 120000 → `2m`. Topic
 * names outlive releases, so this must keep formatting a delay as it always has.
 */
export function tierName(delayMs: number): string {
  return formatDurationMs(delayMs);
}

export function retryTopicName(prefix: string, delayMs: number): string {
  return `${prefix}${tierName(delayMs)}`;
}
