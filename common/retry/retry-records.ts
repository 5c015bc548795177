import { recordPosition, type ConsumedRecord, type OutgoingRecord } from '../kafka/index.js';

// The record formats of the retry path (docs/architecture.md#kafka-layout, consumers/README.md):
// retry-tier records and dead letters. In common/ because the gateway writes retry records too
// (subscription replay), and both sides must agree on every header.

/** Header names the delivery worker adds; the event's own headers (`ce_*`, `sluice_producer`) pass through. */
export const deliveryHeaders = {
  subscriptionId: 'sluice_subscription_id',
  /** Retry records: the number of the attempt to make when the record is due (2 = first retry). */
  attempt: 'sluice_attempt',
  /** Retry records: when the next attempt may start (ms since the epoch). */
  dueAtMs: 'sluice_due_at_ms',
  /** When the delivery was first tried (ms): bounds how long breaker parking may go on. */
  firstAttemptAtMs: 'sluice_first_attempt_at_ms',
  lastStatus: 'sluice_last_status',
  lastError: 'sluice_last_error',
  /** `topic/partition/offset` of the events-topic record this delivery started from. */
  origin: 'sluice_origin',
  /** Dead letters: why (a closed list, see DeadLetterReason). */
  dlqReason: 'sluice_dlq_reason',
  /** Dead letters: attempts made. */
  attempts: 'sluice_attempts',
  deadLetteredAtMs: 'sluice_dead_lettered_at_ms',
} as const;

const ownHeaderNames: ReadonlySet<string> = new Set(Object.values(deliveryHeaders));

/**
 * Marks the deliveries of one subscription replay (`POST /v1/subscriptions/{id}/replay`). Unlike the
 * state headers above it travels with the event, through every retry tier and into a dead letter,
 * so all attempts of a replayed delivery share one deduplication key, distinct from the original
 * delivery's: the replay is not suppressed by the original's completion marker.
 */
export const replayIdHeader = 'sluice_replay_id';

/** Why a record went to the dead-letter topic; labels `sluice_dead_letters_total`. */
export type DeadLetterReason =
  /** The retry schedule is spent. */
  | 'retries-exhausted'
  /** Parked (breaker open, Redis down) past SLUICE_DELIVERY_MAX_AGE_MS. */
  | 'expired'
  /**
   * Due while its subscription was disabled (410, auto-disabled, or by an operator): kept so it can
   * be replayed once the subscription is enabled again.
   */
  | 'subscription-disabled'
  /** Poison events: they can never be decoded, so no subscription ever sees them. */
  | 'missing-headers'
  | 'bad-magic-byte'
  | 'unknown-schema-id'
  | 'invalid-avro'
  /** A retry-tier record without the headers the worker writes. */
  | 'invalid-retry-record';

/** The state a retry record carries between attempts. */
export interface RetryState {
  readonly subscriptionId: string;
  readonly attempt: number;
  readonly dueAtMs: number;
  readonly firstAttemptAtMs: number;
  readonly origin: string;
  readonly lastStatus: number | undefined;
  readonly lastError: string | undefined;
}

const maxErrorChars = 300;

/** The event's own headers: the worker's state headers of an earlier hop are dropped. */
function eventHeaders(record: ConsumedRecord): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!ownHeaderNames.has(name)) headers[name] = value;
  }
  return headers;
}

/** A retry record: the original event (value, key, headers) plus the delivery's state. */
export function buildRetryRecord(topic: string, source: ConsumedRecord, state: RetryState): OutgoingRecord {
  const headers = eventHeaders(source);
  headers[deliveryHeaders.subscriptionId] = state.subscriptionId;
  headers[deliveryHeaders.attempt] = String(state.attempt);
  headers[deliveryHeaders.dueAtMs] = String(Math.round(state.dueAtMs));
  headers[deliveryHeaders.firstAttemptAtMs] = String(Math.round(state.firstAttemptAtMs));
  headers[deliveryHeaders.origin] = state.origin;
  if (state.lastStatus !== undefined) headers[deliveryHeaders.lastStatus] = String(state.lastStatus);
  if (state.lastError !== undefined) headers[deliveryHeaders.lastError] = truncate(state.lastError);
  return { topic, key: source.key, value: source.value, headers };
}

export interface ReplayRecordInput {
  subscriptionId: string;
  replayId: string;
  nowMs: number;
  /** When it is due; default `nowMs`. */
  dueAtMs?: number | undefined;
}

/**
 * A replayed event as a first-tier retry record: due now (or at `dueAtMs`), attempt 1 (a failure starts the whole
 * schedule again), its origin the events-topic record, plus the replay id.
 */
export function buildReplayRecord(
  topic: string,
  source: ConsumedRecord,
  input: ReplayRecordInput,
): OutgoingRecord {
  const record = buildRetryRecord(topic, source, {
    subscriptionId: input.subscriptionId,
    attempt: 1,
    dueAtMs: Math.max(input.nowMs, input.dueAtMs ?? input.nowMs),
    firstAttemptAtMs: input.nowMs,
    origin: recordPosition(source),
    lastStatus: undefined,
    lastError: undefined,
  });
  record.headers[replayIdHeader] = input.replayId;
  return record;
}

export type ParsedRetryRecord = { ok: true; state: RetryState } | { ok: false; problem: string };

/** Reads the state back from a retry-tier record. */
export function parseRetryRecord(record: ConsumedRecord): ParsedRetryRecord {
  const headers = record.headers;
  const subscriptionId = headers[deliveryHeaders.subscriptionId];
  const attempt = Number(headers[deliveryHeaders.attempt]);
  const dueAtMs = Number(headers[deliveryHeaders.dueAtMs]);
  const firstAttemptAtMs = Number(headers[deliveryHeaders.firstAttemptAtMs] ?? record.timestampMs);
  if (!subscriptionId) return { ok: false, problem: `${deliveryHeaders.subscriptionId} is missing` };
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    return { ok: false, problem: `${deliveryHeaders.attempt} must be a whole number ≥ 1` };
  }
  if (!Number.isFinite(dueAtMs)) return { ok: false, problem: `${deliveryHeaders.dueAtMs} is missing` };
  const lastStatusText = headers[deliveryHeaders.lastStatus];
  return {
    ok: true,
    state: {
      subscriptionId,
      attempt,
      dueAtMs,
      firstAttemptAtMs: Number.isFinite(firstAttemptAtMs) ? firstAttemptAtMs : record.timestampMs,
      origin: headers[deliveryHeaders.origin] ?? recordPosition(record),
      lastStatus: lastStatusText === undefined ? undefined : Number(lastStatusText),
      lastError: headers[deliveryHeaders.lastError],
    },
  };
}

/** When a retry-tier record is due; undefined when it carries no due time (it is then handled at once). */
export function retryDueAtMs(record: ConsumedRecord): number | undefined {
  const dueAtMs = Number(record.headers[deliveryHeaders.dueAtMs]);
  return Number.isFinite(dueAtMs) ? dueAtMs : undefined;
}

export interface DeadLetterInput {
  reason: DeadLetterReason;
  subscriptionId: string | undefined;
  attempts: number;
  lastStatus: number | undefined;
  lastError: string | undefined;
  origin: string;
  nowMs: number;
}

/** A dead letter: the original event untouched plus why it died, so `sluice dlq replay` can resend it. */
export function buildDeadLetter(
  topic: string,
  source: ConsumedRecord,
  input: DeadLetterInput,
): OutgoingRecord {
  const headers = eventHeaders(source);
  headers[deliveryHeaders.dlqReason] = input.reason;
  headers[deliveryHeaders.attempts] = String(input.attempts);
  headers[deliveryHeaders.origin] = input.origin;
  headers[deliveryHeaders.deadLetteredAtMs] = String(input.nowMs);
  if (input.subscriptionId !== undefined) headers[deliveryHeaders.subscriptionId] = input.subscriptionId;
  if (input.lastStatus !== undefined) headers[deliveryHeaders.lastStatus] = String(input.lastStatus);
  if (input.lastError !== undefined) headers[deliveryHeaders.lastError] = truncate(input.lastError);
  return { topic, key: source.key, value: source.value, headers };
}

/**
 * A dead letter back on the retry path: a first-tier retry record, due now, attempt 1 (a failure
 * starts the whole schedule again), without the dead-letter headers (they would confuse the next
 * dead letter). Undefined for a poison record: it names no subscription to deliver to.
 */
export function buildDeadLetterReplayRecord(
  topic: string,
  letter: ConsumedRecord,
  nowMs: number,
): OutgoingRecord | undefined {
  const subscriptionId = letter.headers[deliveryHeaders.subscriptionId];
  if (!subscriptionId) return undefined;
  const lastStatus = letter.headers[deliveryHeaders.lastStatus];
  const record = buildRetryRecord(topic, letter, {
    subscriptionId,
    attempt: 1,
    dueAtMs: nowMs,
    firstAttemptAtMs: nowMs,
    origin: letter.headers[deliveryHeaders.origin] ?? recordPosition(letter),
    lastStatus: lastStatus === undefined ? undefined : Number(lastStatus),
    lastError: letter.headers[deliveryHeaders.lastError],
  });
  delete record.headers[deliveryHeaders.dlqReason];
  delete record.headers[deliveryHeaders.attempts];
  delete record.headers[deliveryHeaders.deadLetteredAtMs];
  return record;
}

function truncate(text: string): string {
  return text.length <= maxErrorChars ? text : `${text.slice(0, maxErrorChars - 1)}…`;
}
