import { attemptOutcomes, type AttemptOutcome } from '../../common/attempts/attempt-record.js';
import { SluiceError } from '../../common/errors.js';

/** A page position: the last row of the previous page in the list's order (time, then id). */
export interface LogCursor {
  /** The row's time as PostgreSQL prints it, to the microsecond (`2026-03-01T12:00:00.123456Z`). */
  at: string;
  id: string;
}

export const statusClasses = ['2xx', '3xx', '4xx', '5xx', 'error'] as const;
export type StatusClass = (typeof statusClasses)[number];

export interface Page {
  limit: number;
  cursor: LogCursor | undefined;
  sinceMs: number | undefined;
  untilMs: number | undefined;
}

export interface AttemptsQuery extends Page {
  status: StatusClass | undefined;
  outcome: AttemptOutcome | undefined;
}

export interface DeadLettersQuery extends Page {
  subscriptionId: string | undefined;
  reason: string | undefined;
}

export const defaultPageLimit = 50;
export const maxPageLimit = 100;
const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Opaque to clients: base64url of `time|id`. */
export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(`${cursor.at}|${cursor.id}`, 'utf8').toString('base64url');
}

function invalid(field: string, message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_QUERY', `${field}: ${message}`, { details: { field } });
}

export function decodeCursor(text: string, idPattern: RegExp): LogCursor {
  const decoded = /^[A-Za-z0-9_-]{1,400}$/.test(text) ? Buffer.from(text, 'base64url').toString('utf8') : '';
  const bar = decoded.indexOf('|');
  const at = decoded.slice(0, bar);
  const id = decoded.slice(bar + 1);
  if (bar < 0 || !microTime.test(at) || Number.isNaN(Date.parse(at)) || !idPattern.test(id)) {
    throw invalid('cursor', 'not a cursor this API handed out (use `nextCursor` as it is)');
  }
  return { at, id };
}

function parseTime(field: string, text: string): number {
  const ms = rfc3339.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw invalid(field, `must be an RFC 3339 time such as 2026-03-01T12:00:00Z, got ${text}`);
  return ms;
}

/** The query string as single values; a repeated or unknown parameter is refused, naming it. */
export function queryParams(query: string, known: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (!known.includes(name)) throw invalid(name, `unknown parameter; this route takes ${known.join(', ')}`);
    if (params.has(name)) throw invalid(name, 'given more than once');
    params.set(name, value);
  }
  return params;
}

function readPage(params: Map<string, string>, idPattern: RegExp): Page {
  const limitText = params.get('limit');
  let limit = defaultPageLimit;
  if (limitText !== undefined) {
    limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= maxPageLimit)) {
      throw invalid('limit', `must be a whole number from 1 to ${maxPageLimit}, got ${limitText}`);
    }
  }
  const cursorText = params.get('cursor');
  const sinceText = params.get('since');
  const untilText = params.get('until');
  const sinceMs = sinceText === undefined ? undefined : parseTime('since', sinceText);
  const untilMs = untilText === undefined ? undefined : parseTime('until', untilText);
  if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs) {
    throw invalid('until', `must be later than since (${sinceText}), got ${untilText}`);
  }
  return {
    limit,
    cursor: cursorText === undefined ? undefined : decodeCursor(cursorText, idPattern),
    sinceMs,
    untilMs,
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const deadLetterIdPattern = /^[A-Za-z0-9._-]{1,300}$/;

/** `GET /v1/subscriptions/{id}/attempts`: `status`, `outcome`, `since`, `until`, `limit`, `cursor`. */
export function parseAttemptsQuery(query: string): AttemptsQuery {
  const params = queryParams(query, ['status', 'outcome', 'since', 'until', 'limit', 'cursor']);
  const status = params.get('status');
  if (status !== undefined && !(statusClasses as readonly string[]).includes(status)) {
    throw invalid('status', `must be one of ${statusClasses.join(', ')}, got ${status}`);
  }
  const outcome = params.get('outcome');
  if (outcome !== undefined && !(attemptOutcomes as readonly string[]).includes(outcome)) {
    throw invalid('outcome', `must be one of ${attemptOutcomes.join(', ')}, got ${outcome}`);
  }
  return {
    ...readPage(params, uuidPattern),
    status: status as StatusClass | undefined,
    outcome: outcome as AttemptOutcome | undefined,
  };
}

/** `GET /v1/dead-letters`: `subscription`, `reason`, `since`, `until`, `limit`, `cursor`. */
export function parseDeadLettersQuery(query: string): DeadLettersQuery {
  const params = queryParams(query, ['subscription', 'reason', 'since', 'until', 'limit', 'cursor']);
  return {
    ...readPage(params, deadLetterIdPattern),
    subscriptionId: params.get('subscription'),
    reason: params.get('reason'),
  };
}

export function isDeadLetterId(id: string): boolean {
  return deadLetterIdPattern.test(id);
}
