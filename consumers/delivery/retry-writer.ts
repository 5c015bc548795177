import {
  createRecordWriter,
  eventsTopicMaxMessageBytes,
  type OutgoingRecord,
  type Producer,
  type WriteOutcome,
} from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { sleepMs } from './abortable.js';

export interface RetryWriter {
  /** Resolves once Kafka acknowledged every record (acks=all); rejects on failure or deadline. */
  write(records: readonly OutgoingRecord[]): Promise<void>;
  /**
   * Writes until it succeeds: a delivery is only resolved (and its offset committable) once its
   * retry record or dead letter is in Kafka, so a failed write is tried again with backoff until
   * it succeeds or `signal` aborts (shutdown, partition revoked), which rejects.
   */
  writeDurably(records: readonly OutgoingRecord[], signal: AbortSignal): Promise<void>;
  /** Stops accepting and waits for the writes already made to be answered. */
  close(): Promise<void>;
}

export interface RetryWriterOptions {
  producer: Pick<Producer, 'sendBatch'>;
  /** Deadline of a write; kafkajs' own timeout only bounds the broker's wait for replicas. */
  timeoutMs: number;
  logger: Logger;
  /** Records per produce request. Default 500. */
  maxBatchRecords?: number;
  /** Bytes per produce request. Default half the retry and dead-letter topics' max.message.bytes. */
  maxBatchBytes?: number;
  /** Produce requests in flight at once. Default 4. */
  maxInFlightSends?: number;
}

/**
 * Retry records and dead letters, group-committed by the record writer (common/kafka/record-writer.ts):
 * writes queued while requests are in flight go together in the next one, so a burst of failing
 * deliveries costs a few produce requests, not one each. The producer is not idempotent, so
 * requests pipeline; duplicates (a write answered at its deadline but written after all) are
 * harmless: deduplication suppresses a second success.
 */
export function createRetryWriter(options: RetryWriterOptions): RetryWriter {
  const writer = createRecordWriter({
    producers: [options.producer],
    sendsPerProducer: options.maxInFlightSends ?? 4,
    maxBatchRecords: options.maxBatchRecords ?? 500,
    maxBatchBytes: options.maxBatchBytes ?? eventsTopicMaxMessageBytes / 2,
    deadlineMs: options.timeoutMs,
  });
  let closed = false;

  function failure(outcome: WriteOutcome): unknown {
    if (!outcome.ok && outcome.reason === 'send-failed') {
      return outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
    }
    return new SluiceError(
      'SLUICE_KAFKA_UNAVAILABLE',
      `Kafka did not acknowledge within ${options.timeoutMs} ms`,
    );
  }

  function write(records: readonly OutgoingRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      writer.write(records, {
        answered: (outcome) => (outcome.ok ? resolve() : reject(failure(outcome))),
      });
    });
  }

  return {
    write,
    async writeDurably(records, signal) {
      let backoffMs = 200;
      for (;;) {
        signal.throwIfAborted();
        try {
          await write(records);
          return;
        } catch (error) {
          if (closed) throw error;
          options.logger.warn(
            { err: error, topics: [...new Set(records.map((record) => record.topic))], backoffMs },
            'writing to a retry tier or the dead-letter topic failed; trying again',
          );
          await sleepMs(backoffMs, signal);
          backoffMs = Math.min(backoffMs * 2, 5000);
        }
      }
    },
    async close() {
      closed = true;
      await writer.close();
    },
  };
}
