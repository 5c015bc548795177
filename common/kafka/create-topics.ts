import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig } from 'kafkajs';

const pollIntervalMs = 100;

/**
 * Creates topics (those that exist already are left alone) and waits until every partition of
 * every one of them has a leader. Returns whether any topic was created.
 *
 * Instead of kafkajs's `waitForLeaders`: right after CreateTopics a KRaft broker whose metadata
 * has not caught up yet answers UNKNOWN_TOPIC_OR_PARTITION, for longer on a busy broker, and
 * kafkajs retries only LEADER_NOT_AVAILABLE there, so the creation fails although it succeeded.
 * Here every error kafkajs marks retriable is waited through, until `timeoutMs`.
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = 30_000,
): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((topic) => topic.topic);
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const led = metadata.topics.every(
        (topic) =>
          topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0),
      );
      if (led && metadata.topics.length === names.length) return created;
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true) throw error;
    }
    if (performance.now() > deadlineMs) {
      throw new Error(
        `topics ${names.join(', ')} still have partitions without a leader after ${timeoutMs} ms`,
      );
    }
    await sleep(pollIntervalMs);
  }
}
