import type { Message, Producer, TopicMessages } from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { sleepMs } from './abortable.js';
import type { OutgoingRecord } from '../../common/kafka/index.js';
import { withTimeout } from '../../common/with-timeout.js';

export interface RecordWriter {
  /** Resolves once Kafka acknowledged every record (acks=all); rejects on failure or deadline. */
  write(records: readonly OutgoingRecord[]): Promise<void>;
  /**
   * Writes until it succeeds: a delivery is only resolved (and its offset committable) once its
   * retry record or dead letter is in Kafka, so a failed write is tried again with backoff until
   * it succeeds or `signal` aborts (shutdown, partition revoked), which rejects.
   */
  writeDurably(records: readonly OutgoingRecord[], signal: AbortSignal): Promise<void>;
  /** Waits for queued writes, then stops accepting. */
  close(): Promise<void>;
}

export interface RecordWriterOptions {
  producer: Pick<Producer, 'sendBatch'>;
  /** Deadline of one produce request; kafkajs' own timeout only bounds the broker's wait for replicas. */
  timeoutMs: number;
  logger: Logger;
  /** Records per produce request. Default 500. */
  maxBatchRecords?: number;
  /** Produce requests in flight at once. Default 4. */
  maxInFlightSends?: number;
}

interface Pending {
  records: readonly OutgoingRecord[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Group commit for retry records and dead letters: writes queued while a request is in flight go
 * together in the next one, so a burst of failing deliveries costs a few produce requests, not
 * one each. Duplicates (a send that timed out here but succeeded at the broker) are harmless:
 * deduplication suppresses a second success.
 */
export function createRecordWriter(options: RecordWriterOptions): RecordWriter {
  const maxBatchRecords = options.maxBatchRecords ?? 500;
  const maxInFlight = options.maxInFlightSends ?? 4;
  const queue: Pending[] = [];
  let inFlight = 0;
  let closed = false;
  const idleWaiters: Array<() => void> = [];

  function pump(): void {
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch: Pending[] = [];
      let count = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || count + queue[0]!.records.length <= maxBatchRecords)
      ) {
        const next = queue.shift()!;
        batch.push(next);
        count += next.records.length;
      }
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        pump();
        if (inFlight === 0 && queue.length === 0) for (const wake of idleWaiters.splice(0)) wake();
      });
    }
  }

  async function send(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const pending of batch) {
      for (const record of pending.records) {
        let messages = byTopic.get(record.topic);
        if (messages === undefined) byTopic.set(record.topic, (messages = []));
        messages.push({ key: record.key, value: record.value, headers: record.headers });
      }
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await withTimeout(
        options.producer.sendBatch({ topicMessages, acks: -1, timeout: options.timeoutMs }),
        options.timeoutMs,
        () =>
          new SluiceError(
            'SLUICE_KAFKA_UNAVAILABLE',
            `Kafka did not acknowledge within ${options.timeoutMs} ms`,
          ),
      );
      for (const pending of batch) pending.resolve();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const pending of batch) pending.reject(failure);
    }
  }

  function write(records: readonly OutgoingRecord[]): Promise<void> {
    if (closed) return Promise.reject(new SluiceError('SLUICE_SHUTTING_DOWN', 'the record writer is closed'));
    if (records.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      queue.push({ records, resolve, reject });
      pump();
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
      if (inFlight > 0 || queue.length > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      closed = true;
    },
  };
}
