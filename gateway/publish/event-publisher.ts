import {
  createRecordWriter,
  type OutgoingRecord,
  type Producer,
  type WriteListener,
  type WriteOutcome,
} from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { PublisherMetrics } from './publisher-metrics.js';
import { createStandingQueue } from './standing-queue.js';

/** What finally happened to a request's records, reported once, possibly after the caller's deadline. */
export type PublishOutcome = 'acked' | 'failed' | 'expired-unsent';

export interface EventPublisherOptions {
  /**
   * One or more idempotent producers. kafkajs keeps one produce request in flight per producer and
   * broker, so N producers let N group-commit batches travel at once (each its own idempotent
   * sequence). A request's records always go together in one batch, so per-request order holds.
   */
  producers: ReadonlyArray<Pick<Producer, 'sendBatch'>>;
  /** A send groups queued requests up to this many bytes (kept under the topic's max.message.bytes). */
  maxBatchBytes: number;
  /** …and up to this many records. */
  maxBatchRecords: number;
  /** A request not acknowledged within this time is answered 503; unsent ones are never written. */
  sendTimeoutMs: number;
  /** Window of the queueing-delay signal: its smallest sojourn sample over this long (see standing-queue.ts). */
  queueDelayIntervalMs: number;
  metrics: PublisherMetrics;
  logger: Logger;
  nowMs?: () => number;
}

export interface EventPublisher {
  /**
   * Resolves when Kafka acknowledged every record (acks=all), rejects with
   * SLUICE_KAFKA_UNAVAILABLE when that did not happen before the deadline. `onOutcome` learns
   * the final truth even when it arrives after the deadline (for the idempotency record).
   */
  publish(records: OutgoingRecord[], onOutcome?: (outcome: PublishOutcome) => void): Promise<void>;
  /** Events and bytes accepted for publishing and not yet acknowledged (load-shedding signals). */
  pendingEvents(): number;
  pendingBytes(): number;
  /**
   * Queueing delay in ms: the smallest wait, over the last interval, of requests before their
   * records were handed to Kafka (0 unless a backlog stands). A produce's own duration is not in it.
   */
  queueDelayMs(): number;
  /** Acknowledged events per second, smoothed: how fast the backlog drains. */
  ackedEventsPerSecond(): number;
  /**
   * False while a produce request has been waiting longer than the send deadline: Kafka is not
   * acknowledging, so readiness should steer traffic elsewhere until it does.
   */
  kafkaAcknowledging(): boolean;
  /** Waits until everything queued so far is settled. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The ingest side of the group-commit record writer (common/kafka/record-writer.ts): one write per
 * HTTP request, answered as a promise (202 or 503), its final outcome reported for the idempotency
 * record, and the writer's progress turned into the publisher's metrics and load-shedding signals.
 */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const nowMs = options.nowMs ?? Date.now;
  const { metrics, logger } = options;
  const standingQueue = createStandingQueue(options.queueDelayIntervalMs);
  let closed = false;
  let ackRatePerSecond = 0;
  let ackWindowStartMs = nowMs();
  let ackWindowEvents = 0;

  function noteAcked(events: number): void {
    ackWindowEvents += events;
    const now = nowMs();
    const elapsedMs = now - ackWindowStartMs;
    if (elapsedMs >= 250) {
      const rate = (ackWindowEvents * 1000) / elapsedMs;
      // EWMA over ~1 s of 250 ms windows: reacts to a drain within a second, ignores one slow send.
      ackRatePerSecond = ackRatePerSecond === 0 ? rate : 0.7 * ackRatePerSecond + 0.3 * rate;
      ackWindowStartMs = now;
      ackWindowEvents = 0;
    }
  }

  const writer = createRecordWriter({
    producers: options.producers,
    sendsPerProducer: 1,
    maxBatchRecords: options.maxBatchRecords,
    maxBatchBytes: options.maxBatchBytes,
    deadlineMs: options.sendTimeoutMs,
    nowMs,
    hooks: {
      pendingChanged(records, bytes) {
        metrics.pendingEvents.set(records);
        metrics.pendingBytes.set(bytes);
      },
      handedOff(youngestEnqueuedMs, queueEmptyAfter, now) {
        standingQueue.handOff(youngestEnqueuedMs, queueEmptyAfter, now);
      },
      sendAcked(records, durationMs) {
        metrics.batchEvents.observe(records);
        metrics.produceDuration.observe(durationMs / 1000);
        noteAcked(records);
      },
      sendFailed(records, error) {
        metrics.produceErrors.inc({ reason: 'send-failed' });
        logger.error({ err: error, events: records }, 'produce request failed');
      },
      deadlinePassed(reason) {
        metrics.produceErrors.inc({ reason });
      },
    },
  });

  function errorFor(outcome: WriteOutcome): SluiceError {
    if (!outcome.ok && outcome.reason === 'send-failed') {
      return new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'Kafka did not accept the events', {
        retryAfterSeconds: 1,
      });
    }
    return new SluiceError(
      'SLUICE_KAFKA_UNAVAILABLE',
      `Kafka did not acknowledge within ${options.sendTimeoutMs} ms`,
      { retryAfterSeconds: Math.max(1, Math.ceil(options.sendTimeoutMs / 1000)) },
    );
  }

  /** One HTTP request's write: settles the caller's promise and reports the final outcome. */
  class PublishRequest implements WriteListener {
    constructor(
      private readonly resolve: () => void,
      private readonly reject: (error: SluiceError) => void,
      private readonly onOutcome: ((outcome: PublishOutcome) => void) | undefined,
    ) {}

    answered(outcome: WriteOutcome): void {
      if (outcome.ok) this.resolve();
      else this.reject(errorFor(outcome));
    }

    settled(outcome: WriteOutcome): void {
      this.onOutcome?.(outcome.ok ? 'acked' : outcome.reason === 'send-failed' ? 'failed' : 'expired-unsent');
    }
  }

  return {
    publish(records, onOutcome) {
      if (closed) {
        return Promise.reject(
          new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
        );
      }
      return new Promise<void>((resolve, reject) => {
        writer.write(records, new PublishRequest(resolve, reject, onOutcome));
      });
    },
    pendingEvents: () => writer.pendingRecords(),
    pendingBytes: () => writer.pendingBytes(),
    queueDelayMs: () => standingQueue.delayMs(nowMs()),
    ackedEventsPerSecond() {
      // Without acks the EWMA is never updated; decay it per silent window so a stalled broker
      // reads as a falling drain rate (and a longer Retry-After), not as the last healthy one.
      const silentWindows = Math.floor((nowMs() - ackWindowStartMs) / 250) - 1;
      return silentWindows > 0 ? ackRatePerSecond * 0.7 ** silentWindows : ackRatePerSecond;
    },
    kafkaAcknowledging() {
      const oldestMs = writer.oldestSendStartedMs();
      return oldestMs === undefined || nowMs() - oldestMs <= options.sendTimeoutMs;
    },
    flush: () => writer.flush(),
    async close() {
      closed = true;
      await writer.close();
      await writer.flush();
    },
  };
}
