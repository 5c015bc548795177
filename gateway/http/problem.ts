import { errorCatalog, isSluiceError, SluiceError, type ErrorCode } from '../../common/errors.js';
import type { HttpExchange, ResponseHeaders } from './http-exchange.js';

export const problemContentType = 'application/problem+json';
/** Every problem `type` is this URI followed by the code's slug (see problemTypeFor). */
export const problemTypeBase = 'https://sluice.dev/problems/';

/** An RFC 9457 problem document with Sluice's stable `code` and the error's structured details. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [detail: string]: unknown;
}

export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The error actually reported (unknown errors become SLUICE_INTERNAL). */
  error: SluiceError;
}

export interface ProblemOptions {
  /** A URI reference for this occurrence (RFC 9457 `instance`), e.g. a request id. */
  instance?: string;
  /** Extra headers, e.g. `allow` for 405 or the `ratelimit` headers for 429. */
  headers?: ResponseHeaders;
}

/** Clients are told to wait at least this long on 503 (and 409/429) when the error gives no figure. */
const defaultRetryAfterSeconds = 1;
/**
 * Statuses that promise a `Retry-After` to a retryable code (README.md#ingest-api: 409 in flight,
 * 429, 503 always). A 409 no retry can fix (an incompatible schema) gets none.
 */
const statusesWithRetryAfter = new Set([409, 429, 503]);
/** Members the problem document owns; details cannot overwrite them. */
const reservedMembers = new Set(['type', 'title', 'status', 'detail', 'code', 'instance']);

/**
 * The error a client may see. Anything that is not a SluiceError, and any 500-class Sluice error
 * (internal faults, configuration, local stack), becomes SLUICE_INTERNAL with a generic message:
 * internal messages can carry hostnames, stack details or user data and never leave the process.
 */
export function toClientError(error: unknown): SluiceError {
  if (isSluiceError(error) && errorCatalog[error.code].status !== 500) return error;
  return new SluiceError('SLUICE_INTERNAL', 'An internal error occurred; it has been logged.', {
    cause: error,
  });
}

/** `SLUICE_BODY_TOO_LARGE` → `https://sluice.dev/problems/body-too-large`. */
export function problemTypeFor(code: ErrorCode): string {
  return (
    problemTypeBase +
    code
      .replace(/^SLUICE_/, '')
      .toLowerCase()
      .replaceAll('_', '-')
  );
}

/** Builds the status, headers and JSON body of a problem response for any thrown value. */
export function problemResponse(thrown: unknown, options: ProblemOptions = {}): ProblemResponse {
  const error = toClientError(thrown);
  const { status, title } = errorCatalog[error.code];
  const document: ProblemDocument = {
    type: problemTypeFor(error.code),
    title,
    status,
    detail: error.message,
    code: error.code,
  };
  if (options.instance !== undefined) document.instance = options.instance;
  for (const [name, value] of Object.entries(error.details)) {
    if (!reservedMembers.has(name)) document[name] = value;
  }

  const headers: Record<string, string> = { ...options.headers, 'content-type': problemContentType };
  const retryAfterSeconds = retryAfterFor(error, status);
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  // RFC 9110 §15.5.2: a 401 must say which scheme would be accepted.
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="sluice"';
  return { status, headers, body: JSON.stringify(document), error };
}

/** Answers the exchange with a problem document; false when it can no longer be answered. */
export function respondProblem(
  exchange: HttpExchange,
  thrown: unknown,
  options: ProblemOptions = {},
): boolean {
  const problem = problemResponse(thrown, options);
  return exchange.respond(problem.status, problem.headers, problem.body);
}

/**
 * Whole seconds (Retry-After has no fractions), rounded up so clients never come back early, and at
 * least 1: `Retry-After: 0` during an overload would invite an immediate retry storm.
 */
function retryAfterFor(error: SluiceError, status: number): number | undefined {
  const seconds = error.retryAfterSeconds;
  if (seconds !== undefined && Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  return error.retryable && statusesWithRetryAfter.has(status) ? defaultRetryAfterSeconds : undefined;
}
