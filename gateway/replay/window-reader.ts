import {
  type Admin,
  type ConsumedRecord,
  fromKafkaMessage,
  type KafkaClient,
} from '../../common/kafka/index.js';
import { throwIfAborted } from './replay-failure.js';
import type { PartitionRange } from './replay-window.js';

/**
 * The replay shares the gateway's event loop with ingest: it yields after this many records so a
 * large fetch (megabytes of records) never holds the loop for long.
 */
const recordsBetweenYields = 256;

export interface WindowRead {
  kafka: KafkaClient;
  /** Deletes the consumer group afterwards. */
  admin: Admin;
  topic: string;
  ranges: readonly PartitionRange[];
  /** A group of its own, never committed to. */
  groupId: string;
  signal: AbortSignal;
  onRecord: (record: ConsumedRecord) => void | Promise<void>;
}

/**
 * Reads each range once with a consumer of its own group: `fromBeginning: false` keeps partitions
 * outside the window at their end, the window's partitions are sought to their start, and each is
 * paused once its end is reached. Nothing is committed; the group is deleted afterwards. Resolves
 * once every range is read; rejects with the first error of `onRecord`, or the signal's reason.
 */
export async function readWindow(read: WindowRead): Promise<void> {
  const { kafka, admin, topic, ranges, groupId, signal, onRecord } = read;
  if (ranges.length === 0) return;
  throwIfAborted(signal);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const remaining = new Map(ranges.map((range) => [range.partition, range]));
  let sinceYield = 0;
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // It may fail before it is awaited (an abort while connecting); it is awaited below.
  done.catch(() => undefined);
  const onAbort = () => fail(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await consumer.connect();
    consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, pause, isRunning, isStale }) => {
        const range = remaining.get(batch.partition);
        if (range === undefined) {
          pause();
          return;
        }
        let reachedEnd = BigInt(batch.lastOffset()) >= range.end - 1n;
        for (const message of batch.messages) {
          if (signal.aborted || !isRunning() || isStale()) return;
          const offset = BigInt(message.offset);
          if (offset >= range.end) {
            reachedEnd = true;
            break;
          }
          if (offset < range.start) continue;
          if (++sinceYield >= recordsBetweenYields) {
            sinceYield = 0;
            await new Promise<void>((resolve) => setImmediate(resolve));
            await heartbeat();
          }
          try {
            await onRecord(fromKafkaMessage(batch.topic, batch.partition, message));
          } catch (error) {
            // Not thrown to kafkajs: it would retry the batch and write its records again.
            fail(error);
            return;
          }
        }
        await heartbeat();
        if (reachedEnd) {
          remaining.delete(batch.partition);
          pause();
          if (remaining.size === 0) finish();
        }
      },
    });
    // Kept until the partition is assigned (kafkajs applies seeks on assignment).
    for (const range of ranges) {
      consumer.seek({ topic, partition: range.partition, offset: String(range.start) });
    }
    await done;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}
