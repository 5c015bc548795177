import { parseRetryAfter } from '../../common/retry/retry-policy.js';
import type { AttemptResult } from './webhook-sender.js';

/** Why an attempt will be retried; a closed list so it can label a metric and a dead letter. */
export type RetryReason =
  | 'server-error'
  | 'unavailable'
  | 'rate-limited'
  | 'client-error'
  | 'redirect'
  | 'unexpected-status'
  | 'timeout'
  | 'connect'
  | 'network'
  | 'ssrf';

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  /** 410 Gone: the receiver asked us to stop, so the subscription is disabled. */
  | { kind: 'disable'; reason: 'gone'; status: number }
  | {
      kind: 'retry';
      reason: RetryReason;
      /** The answer's status, absent when there was no answer. */
      status?: number;
      /** A parsed `Retry-After`, only for 429 and 503; the retry policy clamps it. */
      retryAfterMs?: number;
    };

/**
 * Maps one attempt to what happens next. `nowMs` anchors a `Retry-After` given as an HTTP-date.
 * A 3xx is a failure like any other: following it would let a receiver point us anywhere,
 * including past the SSRF guard.
 */
export function classifyOutcome(result: AttemptResult, nowMs: number): DeliveryOutcome {
  if ('error' in result) return { kind: 'retry', reason: result.error };
  const { status } = result;
  if (status >= 200 && status <= 299) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'disable', reason: 'gone', status };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs);
    const reason = status === 429 ? 'rate-limited' : 'unavailable';
    return retryAfterMs === undefined
      ? { kind: 'retry', reason, status }
      : { kind: 'retry', reason, status, retryAfterMs };
  }
  if (status >= 300 && status <= 399) return { kind: 'retry', reason: 'redirect', status };
  if (status >= 400 && status <= 499) return { kind: 'retry', reason: 'client-error', status };
  if (status >= 500 && status <= 599) return { kind: 'retry', reason: 'server-error', status };
  return { kind: 'retry', reason: 'unexpected-status', status };
}

/**
 * Whether an outcome says the endpoint is unhealthy, for the per-subscription circuit breaker
 * (opossum's `errorFilter` returns the negation). A 4xx other than 408/429, a redirect or a 410
 * is the receiver answering promptly about this request; an SSRF refusal is our policy and
 * involves no connection. Counting those would open the breaker and park deliveries that can
 * only ever fail, instead of letting them run down the schedule to the dead-letter topic.
 */
export function countsAgainstEndpointHealth(outcome: DeliveryOutcome): boolean {
  if (outcome.kind !== 'retry') return false;
  switch (outcome.reason) {
    case 'server-error':
    case 'unavailable':
    case 'rate-limited':
    case 'unexpected-status':
    case 'timeout':
    case 'connect':
    case 'network':
      return true;
    case 'client-error':
      return outcome.status === 408;
    case 'redirect':
    case 'ssrf':
      return false;
  }
}
