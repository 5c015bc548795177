import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { kafkajsReplacementCalls, kafkajsReplacementsInstalled } from '../../common/kafka/index.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, createTestTopic, readTopic } from '../support/kafka-fixture.js';
import { testKafkaBrokers } from '../support/stack-env.js';

const fixture = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
);

// Every process that reaches Kafka does it through common/kafka/index.ts, which installs Sluice's
// kafkajs replacements when imported: these show that the path kafkajs then runs is Sluice's, in a
// gateway inside the test process and in a fresh Node process that imports nothing else first.
describe('the door to Kafka (common/kafka/index.ts) on the real broker', () => {
  it('an in-process test gateway produces through Sluice’s grouping and produce request', async () => {
    const setup = await prepareGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);
    expect(kafkajsReplacementsInstalled()).toEqual({
      messageGrouping: true,
      recordEncoder: true,
      produceRequest: true,
      recordDecoder: true,
      pendingCheck: true,
    });
    const before = kafkajsReplacementCalls();
    const response = await request(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${setup.keys['shop-eu']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'order.created', key: 'order-1001', id: 'evt-door', data: fixture }),
    });
    expect(response.statusCode).toBe(202);
    await response.body.dump();
    // A 202 waits for Kafka's acknowledgement, so the produce has gone through by now.
    const after = kafkajsReplacementCalls();
    expect(after.messageGrouping).toBeGreaterThan(before.messageGrouping);
    expect(after.produceRequest).toBeGreaterThan(before.produceRequest);
    const records = await readTopic(setup.eventsTopic, 1);
    expect(records.map((record) => record.headers.ce_id)).toEqual(['evt-door']);
  });

  it('a fresh Node process that imports only the door produces through Sluice’s path', async () => {
    const topic = await createTestTopic(await connectedAdmin(), 2, 'door');
    const script = `
      const { Kafka, KeyPartitioner, logLevel, kafkajsReplacementCalls } = await import('./common/kafka/index.ts');
      const kafka = new Kafka({ brokers: ${JSON.stringify(testKafkaBrokers)}, logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ createPartitioner: KeyPartitioner, idempotent: true });
      await producer.connect();
      await producer.send({ topic: ${JSON.stringify(topic)}, acks: -1, messages: [{ key: 'k', value: 'door' }] });
      await producer.disconnect();
      console.log(JSON.stringify(kafkajsReplacementCalls()));
    `;
    const run = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ messageGrouping: 1, produceRequest: 1 });
    const records = await readTopic(topic, 1);
    expect(records.map((record) => record.value?.toString())).toEqual(['door']);
  });
});
