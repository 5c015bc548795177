import { decodeAttemptRecord, type AttemptRecord } from '../common/attempts/attempt-record.js';
import { fromKafkaMessage, type Consumer, type EachBatchPayload } from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { isPostgresUnavailable } from '../common/postgres/index.js';
import type { DatabaseHealth } from './database-health.js';
import { deadLetterRow, type DeadLetterRow } from './dead-letter-rows.js';
import type { LogMetrics } from './log-metrics.js';
import type { LogWriter, WriteResult } from './log-writer.js';

type Batch = EachBatchPayload['batch'];

/** How the records of one topic are stored: decoded once per fetched batch, written until stored. */
export interface LogTopicSink {
  /** Decodes `batch` (unreadable records are counted and skipped) into the write to repeat. */
  prepare(batch: Batch): () => Promise<WriteResult>;
}

/** The attempts topic: versioned JSON attempt records into `attempts`. */
export function attemptsSink(writer: LogWriter, metrics: LogMetrics, logger: Logger): LogTopicSink {
  return {
    prepare(batch) {
      const records: AttemptRecord[] = [];
      for (const message of batch.messages) {
        const decoded = decodeAttemptRecord(message.value);
        if (decoded.ok) {
          records.push(decoded.record);
        } else {
          metrics.skipped.inc({ reason: 'invalid' });
          logger.warn(
            { partition: batch.partition, offset: message.offset, problem: decoded.problem },
            'unreadable attempt record; skipped',
          );
        }
      }
      return () => writer.write(records);
    },
  };
}

/** The dead-letter topic: every record (poison ones too) into `dead_letters`. */
export function deadLettersSink(writer: LogWriter<DeadLetterRow>): LogTopicSink {
  return {
    prepare(batch) {
      const rows = batch.messages.map((message) =>
        deadLetterRow(fromKafkaMessage(batch.topic, batch.partition, message)),
      );
      return () => writer.write(rows);
    },
  };
}

export interface LogConsumerOptions {
  consumer: Consumer;
  /** The topics to consume and how each is stored. */
  sinks: ReadonlyMap<string, LogTopicSink>;
  health: DatabaseHealth;
  /** Longest wait between two tries of a batch; the first wait is 100 ms, doubling. */
  retryMaxBackoffMs: number;
  heartbeatIntervalMs: number;
  /** Batches of as many partitions stored at once: one pooled connection each. */
  partitionsConcurrently: number;
  /** A crash kafkajs will not recover from: the process should exit so it is restarted. */
  onFatal: (error: Error) => void;
  metrics: LogMetrics;
  logger: Logger;
  nowMs: () => number;
}

export interface LogConsumer {
  start(): Promise<void>;
  /** A member of its group, consuming. */
  joined(): boolean;
  /** Stops retrying, lets a batch being written finish (up to `graceMs`), leaves the group. */
  stop(graceMs: number): Promise<void>;
}

const firstBackoffMs = 100;

/**
 * Consumes the log's topics (attempts, dead letters) and stores each fetched batch before committing it. A batch that
 * cannot be stored is tried again, with backoff, until it is: the partition stays on that batch
 * (nothing after it is read, nothing is committed past it) while heartbeats keep the membership.
 * So an outage of PostgreSQL pauses the log and the log resumes where it stopped; a batch whose
 * rows were stored but whose commit was lost is read again and its rows skipped by their key.
 */
export function createLogConsumer(options: LogConsumerOptions): LogConsumer {
  const { consumer, health, metrics, logger } = options;
  const stopping = new AbortController();
  let joined = false;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    logger.info(
      { groupId: payload.groupId, assignment: payload.memberAssignment },
      'joined the consumer group',
    );
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    if (payload.restart) {
      logger.error({ err: payload.error }, 'the Kafka consumer crashed; kafkajs restarts it');
      return;
    }
    logger.fatal({ err: payload.error }, 'the Kafka consumer crashed and will not restart');
    options.onFatal(payload.error);
  });

  /** Resolves true once the batch is stored, false when it was given up (stop, rebalance). */
  async function storeUntilDone(
    write: () => Promise<WriteResult>,
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
  ): Promise<boolean> {
    let lostMembership = false;
    // Writes and waits can outlast a session timeout together: heartbeat beside them.
    const heartbeats = setInterval(() => {
      payload.heartbeat().catch(() => {
        lostMembership = true;
      });
    }, options.heartbeatIntervalMs);
    let backoffMs = firstBackoffMs;
    try {
      for (;;) {
        if (stopping.signal.aborted || lostMembership || !payload.isRunning() || payload.isStale())
          return false;
        const startedMs = options.nowMs();
        try {
          const result = await write();
          metrics.writeDuration.observe((options.nowMs() - startedMs) / 1000);
          metrics.batches.inc({ result: 'written' });
          metrics.rowsWritten.inc(result.written);
          metrics.duplicates.inc(result.duplicates);
          for (const [reason, count] of Object.entries(result.skipped))
            metrics.skipped.inc({ reason }, count);
          health.succeeded();
          return true;
        } catch (error) {
          metrics.batches.inc({ result: isPostgresUnavailable(error) ? 'unavailable' : 'failed' });
          health.failed(error, 'storing a batch of the log');
        }
        // ±20 % jitter, so partitions retrying together do not hit a recovering server at once.
        await sleepUnlessStopping(backoffMs * (0.8 + Math.random() * 0.4));
        backoffMs = Math.min(backoffMs * 2, options.retryMaxBackoffMs);
      }
    } finally {
      clearInterval(heartbeats);
    }
  }

  function sleepUnlessStopping(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    const sink = options.sinks.get(batch.topic);
    if (last === undefined || sink === undefined) return;
    if (!(await storeUntilDone(sink.prepare(batch), payload))) return;
    payload.resolveOffset(last.offset);
    try {
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
    } catch (error) {
      // The rows are stored: a later commit covers them, or they are read again and skipped.
      logger.warn({ err: error, partition: batch.partition }, 'committing the attempts offset failed');
    }
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.sinks.keys()], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConcurrently,
        eachBatch,
      });
    },
    joined: () => joined,
    async stop(graceMs) {
      stopping.abort();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([consumer.disconnect(), timeout]);
      clearTimeout(timer);
    },
  };
}
