import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, createTopicsWithLeaders } from '../../common/kafka/index.js';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, readTopic } from '../support/kafka-fixture.js';
import {
  expectProblem,
  expectRetryAfter,
  expectStillAccepting,
  postEvent,
  prepareIngestGateway,
  recordsByEventId,
  send,
  uniqueEventId,
  validEvent,
  type HttpAnswer,
} from './ingest-client.js';

// README.md#ingest-api: 503 when Kafka is unavailable, always with Retry-After; the process stays up.
//
// How Kafka is made unavailable, honestly: the gateway starts against a healthy broker and writes
// one event; then the events topic is deleted under it (the test broker runs with
// auto.create.topics.enable=false). Every produce request now fails with UNKNOWN_TOPIC_OR_PARTITION,
// which the idempotent kafkajs producer retries without end, so the request meets the publisher's
// send deadline (SLUICE_PRODUCE_TIMEOUT_MS) exactly as it would against a broker that cannot take
// the write. Recreating the topic brings Kafka back, and the same process must recover.
// (Raising min.insync.replicas above the replication factor does not work for this: Kafka 4 caps
// the effective minimum at the replica count and keeps acknowledging.)

const producer = 'shop-eu';
const produceTimeoutMs = 1500;

async function createEventsTopic(admin: Admin, topic: string): Promise<void> {
  await createTopicsWithLeaders(admin, [
    {
      topic,
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
    },
  ]);
}

async function waitFor<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('gateway ingest: Kafka unavailable', () => {
  it('answers 503 SLUICE_KAFKA_UNAVAILABLE with Retry-After when Kafka cannot take the write, stays up and recovers', async () => {
    const setup = await prepareIngestGateway([{ producerId: producer }], {
      SLUICE_PRODUCE_TIMEOUT_MS: String(produceTimeoutMs),
    });
    const { url, adminUrl } = await startTestGateway(setup);
    const apiKey = setup.keys[producer]!;
    const admin = await connectedAdmin();
    const topic = setup.eventsTopic;

    // Healthy first: the producer knows the topic and its partition leaders.
    await expectStillAccepting(url, apiKey);

    await admin.deleteTopics({ topics: [topic] });
    await waitFor('the topic deletion', async () =>
      (await admin.listTopics()).includes(topic) ? undefined : true,
    );
    const refused = validEvent({ id: uniqueEventId('outage') });
    let during: HttpAnswer;
    let retriedAtOnce: HttpAnswer;
    try {
      during = await postEvent(url, apiKey, refused);
      // A producer that retries its own 503 at once, while the first attempt is still being written,
      // must not cause a second write: the id is still claimed.
      retriedAtOnce = await postEvent(url, apiKey, refused);

      // Everything that does not need Kafka still works during the outage.
      const invalid = await postEvent(url, apiKey, validEvent({ type: 'order.teleported' }));
      expectProblem(invalid, 422, 'SLUICE_UNKNOWN_EVENT_TYPE');
      const eventTypes = await send(url, { method: 'GET', path: '/v1/event-types', apiKey });
      expect(eventTypes.status).toBe(200);
      const health = await send(adminUrl, { method: 'GET', path: '/healthz' });
      expect(health.status).toBe(200);
    } finally {
      // Kafka comes back (also when an assertion above failed: the gateway's shutdown flushes).
      await createEventsTopic(admin, topic);
    }

    const problem = expectProblem(during, 503, 'SLUICE_KAFKA_UNAVAILABLE');
    expect(problem.detail).toContain(String(produceTimeoutMs));
    expect(expectRetryAfter(during)).toBe(Math.ceil(produceTimeoutMs / 1000));
    expectProblem(retriedAtOnce, 409, 'SLUICE_IDEMPOTENCY_IN_FLIGHT');
    expectRetryAfter(retriedAtOnce);

    // The same process serves again once the producer found the new topic: a fresh event gets 202
    // (503 or 409 only while the producer's retries catch up).
    const fresh = await waitFor('a 202 after Kafka came back', async () => {
      const event = validEvent({ id: uniqueEventId('after') });
      const answer = await postEvent(url, apiKey, event);
      if (answer.status === 202) return event.id as string;
      expect([409, 503]).toContain(answer.status);
      expectRetryAfter(answer);
      return undefined;
    });
    // The event refused with 503, retried with its id, ends up accepted: either written now or
    // recognised as the write that finished after its deadline.
    const retried = await waitFor('the refused event to be accepted on retry', async () => {
      const answer = await postEvent(url, apiKey, refused);
      if (answer.status === 202) return answer;
      expect([409, 503]).toContain(answer.status);
      return undefined;
    });
    expect(retried.json).toMatchObject({ id: refused.id, status: 'accepted' });
    const stillOk = await expectStillAccepting(url, apiKey);

    const records = await readTopic(topic, 3, { settleMs: 2000 });
    const byId = recordsByEventId(records);
    expect(byId.get(refused.id as string), 'the refused event, retried').toHaveLength(1);
    expect(byId.get(fresh)).toHaveLength(1);
    expect(byId.get(stillOk)).toHaveLength(1);
  });
});
