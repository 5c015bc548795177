import kafkajs, { type Admin } from 'kafkajs';
import { onTestFinished } from 'vitest';
import { testKafkaBrokers, uniqueName } from './stack-env.js';

export function testKafka(clientId = uniqueName('test')) {
  return new kafkajs.Kafka({ brokers: testKafkaBrokers, clientId, logLevel: kafkajs.logLevel.NOTHING });
}

/** Creates a topic with a unique name and deletes it when the test finishes. */
export async function createTestTopic(admin: Admin, numPartitions: number, prefix = 'test'): Promise<string> {
  const topic = uniqueName(prefix);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions, replicationFactor: 1 }],
  });
  onTestFinished(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  });
  return topic;
}

export async function connectedAdmin(): Promise<Admin> {
  const admin = testKafka().admin();
  await admin.connect();
  onTestFinished(() => admin.disconnect());
  return admin;
}
