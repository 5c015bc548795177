import type { EnvReader } from '../config.js';

/**
 * One delivery attempt, or one decision that took the place of an attempt (filtered, disabled),
 * as the workers write it to the attempts topic and the log process stores it. Key = the event id
 * (a record's attempts stay in one partition, in order); value = this object as UTF-8 JSON.
 */
export interface AttemptRecord {
  /** Unique per attempt (a UUID): the log stores a record read twice once. */
  attemptId: string;
  eventId: string;
  eventType: string;
  producerId: string;
  subscriptionId: string;
  /** 1-based: the first delivery of an event to a subscription is attempt 1. */
  attempt: number;
  /** When the attempt started, ISO 8601 (UTC). The log partitions by it. */
  attemptedAt: string;
  /** Time from the start of the attempt to its outcome; null when nothing was sent. */
  latencyMs: number | null;
  /** The receiver's HTTP status; null when there was no answer. */
  statusCode: number | null;
  /** Why there was no usable answer (`timeout`, `connect`, `tls`, `network`, `ssrf`, `breaker-open`, …). */
  errorClass: string | null;
  /** The response headers worth keeping (`selectResponseHeaders`), names in lower case. */
  responseHeaders: Readonly<Record<string, string>>;
  /** The first bytes of the response body as UTF-8 (`responseBodySample`), null when there was none. */
  responseBody: string | null;
  /** Whether the body was longer than what `responseBody` keeps. */
  responseBodyTruncated: boolean;
  outcome: AttemptOutcome;
  /** When the next attempt is due (outcome `retry-scheduled`), ISO 8601; else null. */
  nextAttemptAt: string | null;
  /** The replay that made this attempt (a subscription replay), else null. */
  replayId: string | null;
  /**
   * Where the event's record sits in the events topic (for a retry-tier attempt, the origin its
   * retry record carries), so a resend can read the event back. Optional and additive within v1:
   * records written before these fields existed have none, and the log stores nulls for them.
   */
  sourceTopic?: string | null;
  sourcePartition?: number | null;
  sourceOffset?: string | null;
}

export const attemptOutcomes = [
  'delivered',
  'retry-scheduled',
  'dead-lettered',
  'filtered',
  'disabled',
] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

export const attemptRecordVersion = 1;
export const attemptRecordContentType = 'application/vnd.sluice.attempt.v1+json';

/** The record to write: key = event id, value = the versioned JSON. */
export interface EncodedAttemptRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export type DecodedAttemptRecord =
  | { ok: true; record: AttemptRecord }
  /** `problem` names the field and never quotes a value, so it is safe to log. */
  | { ok: false; problem: string };

/**
 * Longest id, type or class a record may carry: far above real ones, and low enough that an
 * indexed column stays within PostgreSQL's limit for one B-tree entry (≈ 2.7 kB) in any script.
 */
const maxTextChars = 512;
/** Far above any retry schedule; keeps the number within PostgreSQL's `integer`. */
const maxAttempt = 1_000_000;
/** Kafka partitions are int32; this keeps the number within PostgreSQL's `integer`. */
const maxPartition = 2_147_483_647;
/** A Kafka offset as kafkajs gives it (a decimal string, int64): within PostgreSQL's `bigint`. */
const offsetPattern = /^(0|[1-9][0-9]{0,17})$/;
/** Response bodies are samples; this bounds a record even if a writer's setting is huge. */
export const maxResponseBodyBytesLimit = 1024 * 1024;

/**
 * The record's value. Throws on a record whose types, ranges or sizes `decodeAttemptRecord` would
 * refuse: writing one is a fault in the writer, and the log would only drop it. The formats its
 * builder guarantees (UUID, ISO times, header names) are left to the reader: checking them here
 * cost more than the rest of the record.
 */
export function encodeAttemptRecord(record: AttemptRecord): EncodedAttemptRecord {
  const problem = writerProblem(record);
  if (problem !== undefined) throw new TypeError(`invalid attempt record: field ${problem} is out of bounds`);
  // One object literal of a fixed shape (no spreads), which JSON.stringify walks fastest.
  const fields = {
    v: attemptRecordVersion,
    attemptId: record.attemptId,
    eventId: record.eventId,
    eventType: record.eventType,
    producerId: record.producerId,
    subscriptionId: record.subscriptionId,
    attempt: record.attempt,
    attemptedAt: record.attemptedAt,
    latencyMs: record.latencyMs,
    statusCode: record.statusCode,
    errorClass: record.errorClass,
    responseHeaders: record.responseHeaders,
    responseBody: record.responseBody,
    responseBodyTruncated: record.responseBodyTruncated,
    outcome: record.outcome,
    nextAttemptAt: record.nextAttemptAt,
    replayId: record.replayId,
    // Optional in v1: left out when unknown (JSON.stringify drops undefined), so a reader of the
    // first v1 shape sees nothing new.
    sourceTopic: record.sourceTopic,
    sourcePartition: record.sourcePartition,
    sourceOffset: record.sourceOffset,
  };
  return {
    key: record.eventId,
    value: Buffer.from(JSON.stringify(fields), 'utf8'),
    headers: { 'content-type': attemptRecordContentType },
  };
}

/**
 * The writer's check: the bounds its builder does not guarantee by construction (texts that come
 * from an event, numbers, the body sample's size). The reader checks everything
 * (`attemptRecordProblem`); a record that fails here would only be dropped by the log.
 */
function writerProblem(record: AttemptRecord): string | undefined {
  if (!isText(record.eventId)) return 'eventId';
  if (!isText(record.eventType)) return 'eventType';
  if (!isText(record.producerId)) return 'producerId';
  if (!isText(record.subscriptionId)) return 'subscriptionId';
  if (!isCount(record.attempt, 1, maxAttempt)) return 'attempt';
  if (record.statusCode !== null && !isCount(record.statusCode, 100, 599)) return 'statusCode';
  if (record.errorClass !== null && !isText(record.errorClass)) return 'errorClass';
  if (record.replayId !== null && !isText(record.replayId)) return 'replayId';
  if (!(attemptOutcomes as readonly string[]).includes(record.outcome)) return 'outcome';
  const body = record.responseBody;
  // Three bytes at most per UTF-16 unit: a short sample needs no byte count.
  if (
    body !== null &&
    body.length * 3 > maxResponseBodyBytesLimit &&
    Buffer.byteLength(body, 'utf8') > maxResponseBodyBytesLimit
  ) {
    return 'responseBody';
  }
  return undefined;
}

/** Reads one record of the attempts topic. Never throws: a record that cannot be read is a problem value. */
export function decodeAttemptRecord(value: Buffer | string | null): DecodedAttemptRecord {
  if (value === null) return { ok: false, problem: 'the record has no value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return { ok: false, problem: 'the record value is not JSON' };
  }
  if (!isObject(parsed)) return { ok: false, problem: 'the record value is not a JSON object' };
  if (parsed.v !== attemptRecordVersion) {
    return {
      ok: false,
      problem: `record format version ${typeof parsed.v === 'number' ? parsed.v : typeof parsed.v} is not supported`,
    };
  }
  const problem = attemptRecordProblem(parsed);
  if (problem !== undefined) return { ok: false, problem };
  const { v: _v, ...fields } = parsed;
  const record = fields as unknown as AttemptRecord;
  return { ok: true, record: { ...record, responseHeaders: { ...record.responseHeaders } } };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO 8601 with a date, a time and a zone, as `Date.prototype.toISOString` writes it (zone may be an offset). */
const isoTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isIsoTime(value: unknown): boolean {
  return typeof value === 'string' && isoTimePattern.test(value) && Number.isFinite(Date.parse(value));
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && value !== '' && value.length <= maxTextChars;
}

function isHeaderMap(value: unknown): boolean {
  if (!isObject(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= 64 &&
    entries.every(
      ([name, text]) =>
        /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) && typeof text === 'string' && text.length <= 8192,
    )
  );
}

type FieldCheck = readonly [field: string, ok: (record: Record<string, unknown>) => boolean];

const isCount = (value: unknown, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

const isNullOr = (value: unknown, ok: (value: unknown) => boolean): boolean => value === null || ok(value);

const isAbsentOr = (value: unknown, ok: (value: unknown) => boolean): boolean =>
  value === undefined || value === null || ok(value);

/** What the reader requires of every field of a v1 record, whoever wrote it. */
const fieldChecks: readonly FieldCheck[] = [
  ['attemptId', (r) => typeof r.attemptId === 'string' && uuidPattern.test(r.attemptId)],
  ['eventId', (r) => isText(r.eventId)],
  ['eventType', (r) => isText(r.eventType)],
  ['producerId', (r) => isText(r.producerId)],
  ['subscriptionId', (r) => isText(r.subscriptionId)],
  ['attempt', (r) => isCount(r.attempt, 1, maxAttempt)],
  ['attemptedAt', (r) => isIsoTime(r.attemptedAt)],
  ['latencyMs', (r) => isNullOr(r.latencyMs, (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)],
  ['statusCode', (r) => isNullOr(r.statusCode, (v) => isCount(v, 100, 599))],
  ['errorClass', (r) => isNullOr(r.errorClass, isText)],
  ['responseHeaders', (r) => isHeaderMap(r.responseHeaders)],
  [
    'responseBody',
    (r) =>
      isNullOr(
        r.responseBody,
        (v) => typeof v === 'string' && Buffer.byteLength(v, 'utf8') <= maxResponseBodyBytesLimit,
      ),
  ],
  ['responseBodyTruncated', (r) => typeof r.responseBodyTruncated === 'boolean'],
  ['outcome', (r) => (attemptOutcomes as readonly unknown[]).includes(r.outcome)],
  ['nextAttemptAt', (r) => isNullOr(r.nextAttemptAt, isIsoTime)],
  ['replayId', (r) => isNullOr(r.replayId, isText)],
  ['sourceTopic', (r) => isAbsentOr(r.sourceTopic, isText)],
  ['sourcePartition', (r) => isAbsentOr(r.sourcePartition, (v) => isCount(v, 0, maxPartition))],
  ['sourceOffset', (r) => isAbsentOr(r.sourceOffset, (v) => typeof v === 'string' && offsetPattern.test(v))],
];

/** The first field of `record` that departs from the v1 shape. */
function attemptRecordProblem(record: Record<string, unknown>): string | undefined {
  const failed = fieldChecks.find(([, ok]) => !ok(record));
  return failed === undefined ? undefined : `field ${failed[0]} is missing or has the wrong type`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The source position from a delivery's origin, `topic/partition/offset` (`recordPosition`); all
 * null when it does not have that shape (an origin written by an older worker, say).
 */
export function sourcePosition(origin: string | undefined): {
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
} {
  // Split at the last two slashes (a topic name has none): cheaper than a pattern, on every attempt.
  const offsetAt = origin === undefined ? -1 : origin.lastIndexOf('/');
  const partitionAt = offsetAt <= 0 ? -1 : origin!.lastIndexOf('/', offsetAt - 1);
  if (partitionAt > 0 && partitionAt <= maxTextChars) {
    const partitionText = origin!.slice(partitionAt + 1, offsetAt);
    const offset = origin!.slice(offsetAt + 1);
    const partition = Number(partitionText);
    if (/^\d{1,10}$/.test(partitionText) && partition <= maxPartition && offsetPattern.test(offset)) {
      return { sourceTopic: origin!.slice(0, partitionAt), sourcePartition: partition, sourceOffset: offset };
    }
  }
  return { sourceTopic: null, sourcePartition: null, sourceOffset: null };
}

/**
 * The first `maxBytes` bytes of a response body as text: UTF-8, lossy (invalid sequences become
 * U+FFFD), cut back to a whole character rather than ending in half of one. Null for no body.
 */
export function responseBodySample(
  body: Uint8Array | null,
  maxBytes: number,
): { responseBody: string | null; responseBodyTruncated: boolean } {
  if (body === null || body.byteLength === 0) return { responseBody: null, responseBodyTruncated: false };
  if (body.byteLength <= maxBytes) {
    return { responseBody: Buffer.from(body).toString('utf8'), responseBodyTruncated: false };
  }
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character the cut splits,
  // unless that character fits whole.
  let start = end;
  while (start > 0 && start > end - 4 && ((body[start] ?? 0) & 0xc0) === 0x80) start -= 1;
  if (start < end && ((body[start] ?? 0) & 0xc0) !== 0x80) end = start;
  return {
    responseBody: Buffer.from(body.subarray(0, end)).toString('utf8'),
    responseBodyTruncated: true,
  };
}

/**
 * Response headers that say something about an attempt and never carry a credential. An allow
 * list, not a deny list: a receiver's custom header may hold a token, so unknown names are dropped.
 */
export const keptResponseHeaders: readonly string[] = [
  'content-type',
  'content-length',
  'content-encoding',
  'date',
  'retry-after',
  'server',
  'via',
  'x-request-id',
  'x-correlation-id',
  'request-id',
  'traceparent',
  'ratelimit',
  'ratelimit-policy',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'cf-ray',
];

export const keptResponseHeaderSet: ReadonlySet<string> = new Set(keptResponseHeaders);

/** The kept headers of a response, names in lower case, each value at most 1 KiB. */
export function selectResponseHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || !keptResponseHeaders.includes(lower)) continue;
    kept[lower] = (Array.isArray(value) ? value.join(', ') : value).slice(0, 1024);
  }
  return kept;
}

/** What a writer of attempt records reads from its environment. */
export interface AttemptRecordSettings {
  /**
   * `SLUICE_ATTEMPT_RECORDS`, default true: write a record per attempt. Off, workers write none
   * (the delivery log stays empty) and save the record's cost, for deployments with no log.
   */
  enabled: boolean;
  /** `SLUICE_LOG_RESPONSE_BODY_BYTES`, default 4 KiB: bytes of a response body kept in its attempt record. */
  responseBodyMaxBytes: number;
  /**
   * `SLUICE_ATTEMPTS_MAX_PENDING`, default 10 000: records queued or in flight to Kafka at most;
   * past it a record is dropped and counted, so delivery never waits on the log.
   */
  maxPendingRecords: number;
}

export function readAttemptRecordSettings(reader: EnvReader): AttemptRecordSettings {
  return {
    enabled: reader.boolean('SLUICE_ATTEMPT_RECORDS', true),
    responseBodyMaxBytes: reader.bytes('SLUICE_LOG_RESPONSE_BODY_BYTES', 4096, {
      min: 0,
      max: maxResponseBodyBytesLimit,
    }),
    maxPendingRecords: reader.integer('SLUICE_ATTEMPTS_MAX_PENDING', 10_000, { min: 1, max: 10_000_000 }),
  };
}
