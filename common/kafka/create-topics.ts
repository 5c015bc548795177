import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig } from 'kafkajs';

const pollIntervalMs = 100;
const defaultTimeoutMs = 30_000;

/**
 * Creates topics (those that exist already are left alone) and waits until every partition of
 * every one of them has a leader. Returns whether any topic was created.
 *
 * Instead of kafkajs's `waitForLeaders`: right after CreateTopics a KRaft broker whose metadata
 * has not caught up yet answers UNKNOWN_TOPIC_OR_PARTITION, for longer on a busy broker, and
 * kafkajs retries only LEADER_NOT_AVAILABLE there, so the creation fails although it succeeded.
 * (A produce in the next moments may still meet NOT_LEADER_OR_FOLLOWER while the broker takes
 * up leadership; producers retry that on their own.)
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = defaultTimeoutMs,
): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  await awaitPartitionLeaders(
    admin,
    new Map(topics.map((topic) => [topic.topic, topic.numPartitions ?? 1])),
    timeoutMs,
  );
  return created;
}

/**
 * Waits until each topic's metadata shows at least its expected partition count, each with a
 * leader: after a creation or a CreatePartitions call, brokers learn of the change a moment later.
 * Every error kafkajs marks retriable is waited through, until `timeoutMs`.
 */
export async function awaitPartitionLeaders(
  admin: Admin,
  expectedPartitions: ReadonlyMap<string, number>,
  timeoutMs = defaultTimeoutMs,
): Promise<void> {
  const names = [...expectedPartitions.keys()];
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const ready = names.every((name) => {
        const partitions = metadata.topics.find((topic) => topic.name === name)?.partitions ?? [];
        return (
          partitions.length >= expectedPartitions.get(name)! &&
          partitions.every((partition) => partition.leader >= 0)
        );
      });
      if (ready) return;
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true) throw error;
    }
    if (performance.now() > deadlineMs) {
      throw new Error(`topics ${names.join(', ')} still lack partitions or leaders after ${timeoutMs} ms`);
    }
    await sleep(pollIntervalMs);
  }
}
