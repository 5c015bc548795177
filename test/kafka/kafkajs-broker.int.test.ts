import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Partitioners } from '../../common/kafka/index.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { kafkaVersion } from '../../cli/stack/kafka-broker.js';
import { stackPaths } from '../../cli/stack/paths.js';
import { connectedAdmin, createTestTopic, testKafka } from '../support/kafka-fixture.js';
import { uniqueName } from '../support/stack-env.js';

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` with `what` in the message. */
async function eventually(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe(`kafkajs against Apache Kafka ${kafkaVersion}`, () => {
  it('talks to a broker of the pinned version', async (context) => {
    const admin = await connectedAdmin();
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThan(0);
    // The Kafka protocol does not carry the broker's version; the local stack's log does.
    const serverLog = join(stackPaths().stateDir, 'kafka', 'logs', 'server.log');
    if (!existsSync(serverLog)) {
      context.skip('no local broker log: an external cluster is not ours to check');
    }
    const versionLine = readFileSync(serverLog, 'utf8')
      .split('\n')
      .findLast((line) => line.includes('Kafka version:'));
    console.log(`broker log: ${versionLine}`);
    expect(versionLine).toContain(`Kafka version: ${kafkaVersion}`);
  });

  it('writes with an idempotent acks=all producer and reads every record back once, in order per key', async () => {
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 3);
    const kafka = testKafka();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    const sent: Array<{ key: string; value: string }> = [];
    for (let i = 0; i < 300; i++) sent.push({ key: `key-${i % 7}`, value: `value-${i}` });
    const results = await producer.send({ topic, acks: -1, messages: sent });
    expect(results.every((result) => result.errorCode === 0)).toBe(true);

    const consumer = kafka.consumer({ groupId: uniqueName('group') });
    await consumer.connect();
    onTestFinished(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: message.key!.toString(), value: message.value!.toString() });
      },
    });
    await eventually('300 records', () => received.length >= 300);
    expect(received).toHaveLength(300);
    for (let k = 0; k < 7; k++) {
      const key = `key-${k}`;
      expect(received.filter((r) => r.key === key).map((r) => r.value)).toEqual(
        sent.filter((s) => s.key === key).map((s) => s.value),
      );
    }
  });

  it('commits consumer-group offsets that a later member of the group resumes from', async () => {
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 1);
    const kafka = testKafka();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `first-${i}` })),
    });

    const groupId = uniqueName('group');
    const first = kafka.consumer({ groupId });
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    let firstCount = 0;
    await first.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        firstCount++;
        await first.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
    await eventually('the first 10 records', () => firstCount >= 10);
    await first.disconnect();

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]!.partitions[0]!.offset).toBe('10');

    await producer.send({ topic, acks: -1, messages: [{ value: 'second-0' }] });
    const second = kafka.consumer({ groupId });
    await second.connect();
    onTestFinished(() => second.disconnect());
    await second.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await second.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await eventually('the record after the commit', () => seen.length >= 1);
    expect(seen).toEqual(['second-0']);
  });

  it('rebalances partitions when a second member joins the group', async () => {
    const admin = await connectedAdmin();
    const topic = await createTestTopic(admin, 4);
    const kafka = testKafka();
    const groupId = uniqueName('group');
    const assignments = new Map<string, number[]>();
    const member = async (name: string) => {
      const consumer = kafka.consumer({
        groupId,
        heartbeatInterval: 500,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
      });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assignments.set(name, event.payload.memberAssignment[topic] ?? []);
      });
      await consumer.connect();
      onTestFinished(() => consumer.disconnect());
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => undefined });
      return consumer;
    };
    await member('a');
    await eventually('member a to own all 4 partitions', () => (assignments.get('a') ?? []).length === 4);
    await member('b');
    await eventually(
      'the partitions to be split between a and b',
      () => (assignments.get('a') ?? []).length === 2 && (assignments.get('b') ?? []).length === 2,
    );
    const all = [...(assignments.get('a') ?? []), ...(assignments.get('b') ?? [])].sort();
    expect(all).toEqual([0, 1, 2, 3]);
  });
});
