import {
  type Admin,
  createTopicsWithLeaders,
  Kafka,
  logLevel,
  Partitioners,
} from '../../common/kafka/index.js';
import { onTestFinished } from 'vitest';
import { testKafkaBrokers, uniqueName } from './stack-env.js';

export function testKafka(clientId = uniqueName('test')) {
  return new Kafka({ brokers: testKafkaBrokers, clientId, logLevel: logLevel.NOTHING });
}

/**
 * A producer for a test's own records: idempotent. When one partition of a produce request answers
 * "not the leader" (a new topic settling), kafkajs sends the whole request again, and a plain
 * producer then writes the other partitions' records twice; twice in CI that turned 3 events into 5.
 */
export function testProducer() {
  return testKafka().producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
}

/** Creates a topic with a unique name and deletes it when the test finishes. */
export async function createTestTopic(admin: Admin, numPartitions: number, prefix = 'test'): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopicsWithLeaders(admin, [{ topic, numPartitions, replicationFactor: 1 }]);
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

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with an independent consumer until `expected` records arrived
 * and then `settleMs` passed with nothing new (so a test also sees records that should not be there).
 */
export async function readTopic(
  topic: string,
  expected: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ReadRecord[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const records: ReadRecord[] = [];
    let lastArrivalMs = Date.now();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        lastArrivalMs = Date.now();
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined)
            headers[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
        }
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers,
        });
      },
    });
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const settleMs = options.settleMs ?? 1000;
    while (Date.now() < deadline) {
      if (records.length >= expected && Date.now() - lastArrivalMs >= settleMs) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return records;
  } finally {
    await consumer.disconnect();
  }
}
