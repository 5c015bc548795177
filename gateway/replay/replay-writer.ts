import {
  type Admin,
  createRecordWriter,
  type KafkaClient,
  KeyPartitioner,
  type OutgoingRecord,
  type WriteListener,
} from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { ReplayProgress } from './replay-failure.js';

export interface ReplayWriterOptions {
  kafka: Pick<KafkaClient, 'producer'>;
  /** Deadline of a write. */
  produceTimeoutMs: number;
  maxBatchBytes: number;
  maxBatchRecords: number;
  /** Counts `queued` and `unconfirmed` as Kafka answers. */
  progress: ReplayProgress;
}

export interface ReplayWriter {
  /** Queues one record; waits while a full batch is already waiting; throws once a write failed. */
  add(record: OutgoingRecord): Promise<void>;
  /** Sends what is queued and waits for every answer; throws the first failure. */
  finish(): Promise<void>;
  /** Drops what is still queued (never written), waits for the answers in flight, disconnects. */
  close(): Promise<void>;
}

/** Refuses a replay before it reads anything when the tier it writes to is missing. */
export async function requireRetryTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw new SluiceError(
      'SLUICE_KAFKA_UNAVAILABLE',
      `the retry topic ${topic} does not exist: run \`sluice topics ensure\` with the workers' SLUICE_RETRY_SCHEDULE`,
    );
  }
}

/**
 * Writes a replay's records to the retry tier through the group-commit record writer, with a
 * producer of its own, and counts what Kafka acknowledged and what it may have written.
 */
export async function openReplayWriter(options: ReplayWriterOptions): Promise<ReplayWriter> {
  const { progress } = options;
  const producer = options.kafka.producer({
    createPartitioner: KeyPartitioner,
    allowAutoTopicCreation: false,
    // A duplicate record is harmless: its replay id shares one dedup key, which stops a second success.
    retry: { retries: 3 },
  });
  await producer.connect();
  const writer = createRecordWriter({
    producers: [producer],
    // One produce request at a time keeps a key's records in the tier in the order they were read
    // (an `ordering: key` subscription is delivered in that order); the next batch gathers behind it.
    sendsPerProducer: 1,
    maxBatchRecords: options.maxBatchRecords,
    maxBatchBytes: options.maxBatchBytes,
    deadlineMs: options.produceTimeoutMs,
  });
  let failure: { error: unknown } | undefined;
  const counter: WriteListener = {
    answered(outcome) {
      if (outcome.ok) {
        progress.queued++;
        return;
      }
      // Dropped by close: the replay is stopping for a reason of its own.
      if (outcome.reason === 'dropped-unsent') return;
      if (outcome.reason !== 'deadline-unsent') progress.unconfirmed++;
      failure ??= {
        error:
          outcome.reason === 'send-failed'
            ? outcome.error
            : new SluiceError(
                'SLUICE_KAFKA_UNAVAILABLE',
                `Kafka did not acknowledge replay records within ${options.produceTimeoutMs} ms`,
              ),
      };
    },
  };

  return {
    async add(record) {
      if (failure !== undefined) throw failure.error;
      writer.write([record], counter);
      await writer.whenQueueHasRoom();
    },
    async finish() {
      await writer.close();
      if (failure !== undefined) throw failure.error;
    },
    async close() {
      await writer.close({ dropQueued: true });
      await producer.disconnect().catch(() => undefined);
    },
  };
}
