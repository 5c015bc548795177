import { formatDurationMs, parseDurationMs } from '../duration.js';
import { minAttemptTimeoutMs, type DeliveryBounds } from '../retry/delivery-bounds.js';
import type { FieldProblem } from './subscription-input.js';

/**
 * A subscription's own retry schedule, within the global one. Every retry tier is a topic of its
 * own (`sluice.retry.<delay>`), so a subscription picks among the global tiers rather than naming
 * new delays: `delaysMs` is an ascending subset of `SLUICE_RETRY_SCHEDULE`, and `maxAttempts`
 * counts the first attempt too (1: never retried).
 */
export interface RetryOverride {
  /** Undefined: the global schedule. */
  readonly delaysMs: readonly number[] | undefined;
  /** Undefined: one attempt per delay, plus the first. */
  readonly maxAttempts: number | undefined;
}

/** How the API shows a retry override: tier names as `SLUICE_RETRY_SCHEDULE` writes them. */
export interface RetryOverrideResource {
  schedule: string[] | null;
  maxAttempts: number | null;
}

/**
 * Checks `retry`: `{"schedule": ["5s", "2m"], "maxAttempts": 3}`, both optional (but not both
 * absent). Each schedule entry must be a tier of the global schedule, strictly ascending;
 * `maxAttempts` from 1 to the schedule's length + 1.
 */
export function parseRetryOverride(
  raw: unknown,
  bounds: DeliveryBounds,
  field = 'retry',
): { retry: RetryOverride } | { problems: FieldProblem[] } {
  const tiers = bounds.retryDelaysMs.map(formatDurationMs).join(', ');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      problems: [
        {
          field,
          message: `${field} must be an object such as {"schedule": ["5s", "2m"], "maxAttempts": 3}, or null`,
        },
      ],
    };
  }
  const { schedule, maxAttempts, ...rest } = raw as Record<string, unknown>;
  const problems: FieldProblem[] = Object.keys(rest).map((key) => ({
    field: `${field}.${key}`,
    message: `unknown field ${key}: retry holds schedule and maxAttempts`,
  }));
  if (
    (schedule ?? undefined) === undefined &&
    (maxAttempts ?? undefined) === undefined &&
    problems.length === 0
  ) {
    problems.push({
      field,
      message: `${field} must give schedule, maxAttempts or both; null uses the global schedule`,
    });
  }
  let delaysMs: number[] | undefined;
  if (schedule !== undefined && schedule !== null) {
    delaysMs = parseSchedule(schedule, bounds, tiers, `${field}.schedule`, problems);
  }
  const scheduleLength = (delaysMs ?? bounds.retryDelaysMs).length;
  if (
    maxAttempts !== undefined &&
    maxAttempts !== null &&
    (!Number.isSafeInteger(maxAttempts) ||
      (maxAttempts as number) < 1 ||
      (maxAttempts as number) > scheduleLength + 1)
  ) {
    problems.push({
      field: `${field}.maxAttempts`,
      message: `maxAttempts must be a whole number from 1 to ${scheduleLength + 1} (the first attempt and one per delay of ${delaysMs === undefined ? `SLUICE_RETRY_SCHEDULE, ${tiers}` : 'the schedule'}), got ${JSON.stringify(maxAttempts)}`,
    });
  }
  if (problems.length > 0) return { problems };
  return {
    retry: { delaysMs, maxAttempts: typeof maxAttempts === 'number' ? maxAttempts : undefined },
  };
}

function parseSchedule(
  schedule: unknown,
  bounds: DeliveryBounds,
  tiers: string,
  field: string,
  problems: FieldProblem[],
): number[] | undefined {
  if (!Array.isArray(schedule) || schedule.length === 0 || schedule.length > bounds.retryDelaysMs.length) {
    problems.push({
      field,
      message: `schedule must be an array of 1 to ${bounds.retryDelaysMs.length} retry tiers of SLUICE_RETRY_SCHEDULE (${tiers})`,
    });
    return undefined;
  }
  const before = problems.length;
  const delaysMs: number[] = [];
  schedule.forEach((entry: unknown, index) => {
    const delayMs = typeof entry === 'string' ? parseDurationMs(entry) : undefined;
    if (delayMs === undefined || !bounds.retryDelaysMs.includes(delayMs)) {
      problems.push({
        field: `${field}[${index}]`,
        message: `${JSON.stringify(entry)} is not a retry tier: each delay must be one of SLUICE_RETRY_SCHEDULE's (${tiers}), each tier being a topic of its own`,
      });
    } else {
      delaysMs.push(delayMs);
    }
  });
  if (problems.length > before) return undefined;
  if (delaysMs.some((delayMs, index) => index > 0 && delayMs <= delaysMs[index - 1]!)) {
    problems.push({ field, message: `schedule must be strictly ascending, got ${schedule.join(', ')}` });
    return undefined;
  }
  return delaysMs;
}

/** Checks `timeoutMs`: whole milliseconds from 100 to the global attempt timeout. */
export function parseTimeoutMs(
  raw: unknown,
  bounds: DeliveryBounds,
  field = 'timeoutMs',
): { timeoutMs: number } | { problems: FieldProblem[] } {
  if (
    !Number.isSafeInteger(raw) ||
    (raw as number) < minAttemptTimeoutMs ||
    (raw as number) > bounds.attemptTimeoutMs
  ) {
    return {
      problems: [
        {
          field,
          message: `timeoutMs must be whole milliseconds from ${minAttemptTimeoutMs} to ${bounds.attemptTimeoutMs} (SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS), or null for that, got ${JSON.stringify(raw) ?? 'nothing'}`,
        },
      ],
    };
  }
  return { timeoutMs: raw as number };
}

/**
 * The delays a subscription's deliveries wait between attempts: its schedule (or the global one)
 * cut to `maxAttempts - 1`. A delay that is no longer a tier (the operator changed
 * `SLUICE_RETRY_SCHEDULE` since it was saved) travels through the nearest tier above it, else the
 * last, so the number of attempts stays what the subscription asked for.
 */
export function effectiveRetryDelays(
  retry: RetryOverride | undefined,
  globalDelaysMs: readonly number[],
): readonly number[] {
  if (retry === undefined) return globalDelaysMs;
  const delays =
    retry.delaysMs === undefined
      ? globalDelaysMs
      : retry.delaysMs.map(
          (delayMs) => globalDelaysMs.find((tierMs) => tierMs >= delayMs) ?? globalDelaysMs.at(-1) ?? delayMs,
        );
  return retry.maxAttempts === undefined ? delays : delays.slice(0, Math.max(0, retry.maxAttempts - 1));
}

/** A subscription's attempt timeout, never above the global one (which the dedup lease is sized for). */
export function effectiveAttemptTimeoutMs(timeoutMs: number | undefined, globalTimeoutMs: number): number {
  return timeoutMs === undefined ? globalTimeoutMs : Math.min(timeoutMs, globalTimeoutMs);
}

export function retryOverrideResource(retry: RetryOverride | undefined): RetryOverrideResource | null {
  if (retry === undefined) return null;
  return {
    schedule: retry.delaysMs === undefined ? null : retry.delaysMs.map(formatDurationMs),
    maxAttempts: retry.maxAttempts ?? null,
  };
}
