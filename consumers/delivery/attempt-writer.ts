import { Counter, Gauge, type Registry } from 'prom-client';
import { encodeAttemptRecord, type AttemptRecord } from '../../common/attempts/attempt-record.js';
import {
  createRecordWriter,
  eventsTopicMaxMessageBytes,
  type Producer,
  type RecordWriter,
  type WriteListener,
  type WriteOutcome,
} from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';

/** Why an attempt record was not written; labels `sluice_attempt_records_dropped_total`. */
const dropReasons = [
  /** `SLUICE_ATTEMPTS_MAX_PENDING` records were already waiting: dropped instead of waiting. */
  'buffer-full',
  /** The produce request failed. */
  'send-failed',
  /** Not acknowledged by its deadline. */
  'deadline',
  /** Written after the writer closed (an attempt finishing during shutdown). */
  'shutting-down',
  /** The record did not fit the format (a writer bug): never sent. */
  'invalid',
] as const;
export type AttemptDropReason = (typeof dropReasons)[number];

export interface AttemptWriterMetrics {
  written: Counter;
  dropped: Counter<'reason'>;
  pending: Gauge;
}

export function createAttemptWriterMetrics(registry: Registry): AttemptWriterMetrics {
  const registers = [registry];
  const metrics: AttemptWriterMetrics = {
    written: new Counter({
      name: 'sluice_attempt_records_written_total',
      help: 'Attempt records Kafka acknowledged in the attempts topic.',
      registers,
    }),
    dropped: new Counter({
      name: 'sluice_attempt_records_dropped_total',
      help: 'Attempt records never written, by reason (buffer-full, send-failed, deadline, shutting-down, invalid).',
      labelNames: ['reason'],
      registers,
    }),
    pending: new Gauge({
      name: 'sluice_attempt_records_pending',
      help: 'Attempt records handed to the writer and not yet acknowledged or dropped.',
      registers,
    }),
  };
  // Every reason at zero from the start, so dashboards and alerts see the series before a drop.
  for (const reason of dropReasons) metrics.dropped.inc({ reason }, 0);
  return metrics;
}

export interface AttemptWriter {
  /**
   * Hands one record to Kafka and returns at once: never waits, never throws. A record that cannot
   * be queued (buffer full, closing) or written is counted and logged (rate-limited), not retried.
   */
  record(record: AttemptRecord): void;
  /** Sends what is queued and waits for it to be answered. */
  close(): Promise<void>;
}

export interface AttemptWriterOptions {
  producer: Pick<Producer, 'sendBatch'>;
  topic: string;
  /** Records queued or in flight at most (`SLUICE_ATTEMPTS_MAX_PENDING`); more are dropped. */
  maxPendingRecords: number;
  /** Deadline of one write. */
  timeoutMs: number;
  metrics: AttemptWriterMetrics;
  logger: Logger;
  /** Minimum time between two log lines about dropped records. Default 10 s. */
  dropLogIntervalMs?: number;
  nowMs?: () => number;
}

/**
 * Attempt records to the attempts topic through the group-commit record writer, on a producer of
 * their own so the log never shares a request queue with retry records. Delivery never waits on
 * it: the log is an account of deliveries, not part of them, so losing a record under Kafka
 * trouble is preferred to slowing or holding a delivery (its offset, its partition).
 */
export function createAttemptWriter(options: AttemptWriterOptions): AttemptWriter {
  const { metrics, logger } = options;
  const nowMs = options.nowMs ?? Date.now;
  const dropLogIntervalMs = options.dropLogIntervalMs ?? 10_000;
  const writer: RecordWriter = createRecordWriter({
    producers: [options.producer],
    // One request in flight: records queue during its round trip and leave together, so the log
    // costs few, larger produce requests (four in flight made many tiny ones across partitions).
    sendsPerProducer: 1,
    // Attempts finish one by one; without a linger most requests would carry one or two records.
    lingerMs: 20,
    maxBatchRecords: 1000,
    maxBatchBytes: eventsTopicMaxMessageBytes / 2,
    deadlineMs: options.timeoutMs,
    hooks: { pendingChanged: (records) => metrics.pending.set(records) },
  });
  let closed = false;
  let lastDropLogMs = Number.NEGATIVE_INFINITY;
  let droppedSinceLog = 0;

  function drop(reason: AttemptDropReason, count: number, error?: unknown): void {
    metrics.dropped.inc({ reason }, count);
    droppedSinceLog += count;
    const now = nowMs();
    if (now - lastDropLogMs < dropLogIntervalMs) return;
    lastDropLogMs = now;
    logger.warn(
      { reason, dropped: droppedSinceLog, err: error },
      'attempt records dropped: the delivery log misses these attempts',
    );
    droppedSinceLog = 0;
  }

  // One listener for every write: settled once with the final outcome of its one record.
  const listener: WriteListener = {
    answered() {},
    settled(outcome: WriteOutcome) {
      if (outcome.ok) metrics.written.inc();
      else drop(outcome.reason === 'send-failed' ? 'send-failed' : dropReasonOf(outcome), 1, outcome.error);
    },
  };

  return {
    record(record) {
      if (closed) {
        drop('shutting-down', 1);
        return;
      }
      if (writer.pendingRecords() >= options.maxPendingRecords) {
        drop('buffer-full', 1);
        return;
      }
      let encoded;
      try {
        encoded = encodeAttemptRecord(record);
      } catch (error) {
        drop('invalid', 1, error);
        return;
      }
      writer.write([{ topic: options.topic, ...encoded }], listener);
    },
    async close() {
      closed = true;
      await writer.close();
    },
  };
}

function dropReasonOf(outcome: Extract<WriteOutcome, { ok: false }>): AttemptDropReason {
  return outcome.reason === 'dropped-unsent' ? 'shutting-down' : 'deadline';
}
