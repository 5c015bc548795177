import { createTopicsWithLeaders, Partitioners } from '../../common/kafka/index.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectedAdmin, testKafka } from '../support/kafka-fixture.js';
import { uniqueName } from '../support/stack-env.js';

describe('createTopicsWithLeaders', () => {
  it('returns only once every partition of every new topic has a leader, and leaves existing topics alone', async () => {
    const admin = await connectedAdmin();
    // Several creations at once, as parallel test files or a fresh install's Job do: the broker's
    // metadata lags behind more than for one topic alone.
    const batches = Array.from({ length: 4 }, (_, batch) =>
      Array.from({ length: 3 }, (_, index) => uniqueName(`led-${batch}-${index}`)),
    );
    onTestFinished(async () => {
      await admin.deleteTopics({ topics: batches.flat() }).catch(() => undefined);
    });
    const created = await Promise.all(
      batches.map((names) =>
        createTopicsWithLeaders(
          admin,
          names.map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })),
        ),
      ),
    );
    expect(created).toEqual([true, true, true, true]);

    const metadata = await admin.fetchTopicMetadata({ topics: batches.flat() });
    for (const topic of metadata.topics) {
      expect(topic.partitions).toHaveLength(6);
      for (const partition of topic.partitions) expect(partition.leader).toBeGreaterThanOrEqual(0);
    }
    // Every partition takes an acks=all write.
    const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    await producer.sendBatch({
      acks: -1,
      topicMessages: batches.flat().map((topic) => ({
        topic,
        messages: Array.from({ length: 6 }, (_, partition) => ({ partition, value: 'x' })),
      })),
    });

    expect(
      await createTopicsWithLeaders(admin, [
        { topic: batches[0]![0]!, numPartitions: 6, replicationFactor: 1 },
      ]),
    ).toBe(false);
  });
});
