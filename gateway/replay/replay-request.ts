import { formatDurationMs } from '../../common/duration.js';
import { SluiceError } from '../../common/errors.js';
import { describeValue } from '../../common/json-values.js';

/** A checked `POST /v1/subscriptions/{id}/replay` body: the window in ms, `from` inclusive, `to` exclusive. */
export interface ReplayRequest {
  fromMs: number;
  toMs: number;
  dryRun: boolean;
  /**
   * The replayed deliveries are due no earlier than this (ms): a recovery right after enabling
   * gives the workers time to see the subscription enabled. Default: due at once.
   */
  notBeforeMs?: number | undefined;
}

export interface ReplayWindowLimits {
  nowMs: number;
  /** How far back `from` may reach: the events topic's retention (older events are gone). */
  maxAgeMs: number;
}

interface FieldProblem {
  field: string;
  message: string;
}

const fields = new Set(['from', 'to', 'dryRun']);
const rfc3339Pattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Checks a replay body `{"from", "to"?, "dryRun"?}` and reports every problem at once (422
 * SLUICE_INVALID_REPLAY with `errors: [{field, message}]`). `to` defaults to now and a later `to`
 * is cut to now: a replay reads what Kafka holds when it starts. The window must be non-empty and
 * start within the events topic's retention, which also bounds its length.
 */
export function validateReplayRequest(raw: unknown, limits: ReplayWindowLimits): ReplayRequest | SluiceError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return rejection([{ field: '', message: 'the request body must be a JSON object such as {"from":"…"}' }]);
  }
  const body = raw as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const field of Object.keys(body)) {
    if (!fields.has(field)) problems.push({ field, message: `unknown field ${field}` });
  }
  const fromMs = body.from === undefined ? undefined : timeField(body.from, 'from', problems);
  if (body.from === undefined) {
    problems.push({ field: 'from', message: 'from is required: the RFC 3339 time the window starts at' });
  }
  // Absent: now. Invalid: undefined (reported). Later than now: now.
  const toMs =
    body.to === undefined || body.to === null
      ? limits.nowMs
      : mapDefined(timeField(body.to, 'to', problems), (ms) => Math.min(ms, limits.nowMs));
  let dryRun = false;
  if (body.dryRun !== undefined) {
    if (typeof body.dryRun === 'boolean') dryRun = body.dryRun;
    else
      problems.push({
        field: 'dryRun',
        message: `dryRun must be true or false, got ${describeValue(body.dryRun)}`,
      });
  }
  if (fromMs !== undefined && toMs !== undefined) {
    const earliestMs = limits.nowMs - limits.maxAgeMs;
    if (fromMs >= limits.nowMs) {
      problems.push({ field: 'from', message: `from must be in the past, got ${iso(fromMs)}` });
    } else if (fromMs >= toMs) {
      problems.push({
        field: 'from',
        message: `from must be earlier than to, got from ${iso(fromMs)} and to ${iso(toMs)}`,
      });
    } else if (fromMs < earliestMs) {
      problems.push({
        field: 'from',
        message: `from must lie within the events topic's retention (${formatDurationMs(limits.maxAgeMs)}): no earlier than ${iso(earliestMs)}, got ${iso(fromMs)}`,
      });
    }
  }
  if (problems.length > 0 || fromMs === undefined || toMs === undefined) return rejection(problems);
  return { fromMs, toMs, dryRun };
}

/**
 * Milliseconds since the epoch of an RFC 3339 date-time with an explicit offset
 * (`2024-11-05T14:00:00Z`, `2024-11-05T15:00:00.250+01:00`); undefined for anything else,
 * including dates that do not exist (Feb 30) and leap seconds. Digits past milliseconds are cut.
 */
export function parseRfc3339(text: string): number | undefined {
  const match = rfc3339Pattern.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fractionMs = match[7] === undefined ? 0 : Math.floor(Number(`0${match[7]}`) * 1000);
  const offsetSign = match[8] === '-' ? -1 : 1;
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const dayMs = Date.UTC(year, month - 1, day);
  if (day < 1 || new Date(dayMs).getUTCDate() !== day) return undefined;
  const offsetMs = offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return dayMs + ((hour * 60 + minute) * 60 + second) * 1000 + fractionMs - offsetMs;
}

function timeField(value: unknown, field: string, problems: FieldProblem[]): number | undefined {
  const ms = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (ms === undefined) {
    problems.push({
      field,
      message: `${field} must be an RFC 3339 time with an offset such as 2024-11-05T14:00:00Z, got ${describeValue(value)}`,
    });
  }
  return ms;
}

function rejection(problems: FieldProblem[]): SluiceError {
  const summary = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  return new SluiceError('SLUICE_INVALID_REPLAY', `invalid replay request: ${summary}`, {
    details: { errors: problems },
  });
}

function mapDefined<T, U>(value: T | undefined, map: (value: T) => U): U | undefined {
  return value === undefined ? undefined : map(value);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
