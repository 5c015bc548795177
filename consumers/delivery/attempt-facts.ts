import { randomUUID } from 'node:crypto';
import {
  responseBodySample,
  sourcePosition,
  type AttemptOutcome,
  type AttemptRecord,
} from '../../common/attempts/attempt-record.js';
import type { Routed } from './retry-router.js';
import type { AttemptResult } from './webhook-sender.js';

/** The delivery an attempt belongs to, as the delivery service knows it. */
export interface AttemptedDelivery {
  event: { id: string; type: string; producerId: string; replayId: string | undefined };
  subscription: { id: string };
  /** 1-based; a retry record's attempt count, unchanged by parking. */
  attempt: number;
  /** `topic/partition/offset` of the events-topic record (a retry record's `sluice_origin`). */
  origin: string;
}

/**
 * What came of the attempt: the receiver's answer or failure, or nothing sent (breaker open, or
 * the subscription's payload filter turned the event away).
 */
export type AttemptHappening =
  { kind: 'sent'; result: AttemptResult } | { kind: 'breaker-open' } | { kind: 'filtered' };

/** What followed it: delivered, disabled (410), filtered, or what the retry router did. */
export type AttemptFollowUp = 'delivered' | 'disabled' | 'filtered' | Routed;

/**
 * The attempt record of one attempt (or of a decision that took an attempt's place: a parking by
 * an open breaker, a filtered event). Carries nothing of the request: its headers hold the
 * signature and a subscription's custom headers, and its body is the event, which the source
 * position points to. Response headers are the allow list's only.
 */
export function buildAttemptRecord(input: {
  delivery: AttemptedDelivery;
  attemptedAtMs: number;
  happening: AttemptHappening;
  followUp: AttemptFollowUp;
  responseBodyMaxBytes: number;
}): AttemptRecord {
  const { delivery, happening, followUp } = input;
  const result = happening.kind === 'sent' ? happening.result : undefined;
  const answered = result !== undefined && !('error' in result) ? result : undefined;
  const sample =
    answered?.responseBody === undefined || input.responseBodyMaxBytes === 0
      ? { responseBody: null, responseBodyTruncated: answered?.responseBodyTruncated ?? false }
      : responseBodySample(answered.responseBody, input.responseBodyMaxBytes);
  let outcome: AttemptOutcome;
  let nextAttemptAt: string | null = null;
  if (followUp === 'delivered' || followUp === 'disabled' || followUp === 'filtered') outcome = followUp;
  else if (followUp.resolution === 'pending') {
    outcome = 'retry-scheduled';
    nextAttemptAt = new Date(followUp.nextAttemptAtMs).toISOString();
  } else outcome = 'dead-lettered';
  return {
    attemptId: randomUUID(),
    eventId: delivery.event.id,
    eventType: delivery.event.type,
    // The gateway always sets sluice_producer; a record written by another producer may lack it.
    producerId: delivery.event.producerId || 'unknown',
    subscriptionId: delivery.subscription.id,
    attempt: delivery.attempt,
    attemptedAt: new Date(input.attemptedAtMs).toISOString(),
    latencyMs: result === undefined ? null : Math.round(result.durationMs * 1000) / 1000,
    statusCode: answered === undefined ? null : answered.status,
    errorClass:
      happening.kind === 'breaker-open'
        ? 'breaker-open'
        : result !== undefined && 'error' in result
          ? result.errorClass
          : null,
    responseHeaders: answered?.responseHeaders ?? {},
    responseBody: sample.responseBody === '' ? null : sample.responseBody,
    responseBodyTruncated: sample.responseBodyTruncated || (answered?.responseBodyTruncated ?? false),
    outcome,
    nextAttemptAt,
    replayId: delivery.event.replayId ?? null,
    ...sourcePosition(delivery.origin),
  };
}
