import { describe, expect, it } from 'vitest';
import { connectedAdmin } from '../support/kafka-fixture.js';
import {
  eventually,
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
  type DeliverySetup,
} from './delivery-fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function committedToEnd(setup: DeliverySetup, groupId = setup.env.SLUICE_DELIVERY_GROUP_ID!) {
  const admin = await connectedAdmin();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [setup.eventsTopic] });
  const high = await admin.fetchTopicOffsets(setup.eventsTopic);
  return high.every(
    (p) =>
      p.high === '0' || committed!.partitions.find((c) => c.partition === p.partition)?.offset === p.high,
  );
}

describe('delivery worker: consumer group behaviour', () => {
  it('pauses a partition whose in-flight work exceeds the bound and still delivers everything', async () => {
    const setup = await prepareDelivery({ SLUICE_DELIVERY_MAX_IN_FLIGHT_PER_PARTITION: '2' }, 1);
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end(), 100));
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url, maxConcurrency: 1 }));
    const { metric, fatalErrors } = await startTestWorker(setup, subscriptions);
    const events = await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 12 }, () => ({ key: 'same' })),
    );
    await eventually('12 webhooks', () => receiver.received.length >= 12);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set(events.map((e) => e.id)),
    );
    expect(
      await metric('sluice_delivery_partition_pauses_total', { reason: 'backpressure' }),
    ).toBeGreaterThan(0);
    await eventually('offsets committed to the end', () => committedToEnd(setup));
    expect(fatalErrors).toEqual([]);
  });

  it('hands partitions over on a rebalance without losing or repeating a delivery', async () => {
    const setup = await prepareDelivery({}, 4);
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end(), 300));
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url, maxConcurrency: 4 }));
    await startTestWorker(setup, subscriptions);
    const events = await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 60 }, () => ({})),
    );
    await eventually('the first deliveries', () => receiver.received.length >= 5);
    // A second member joins mid-stream: partitions move while deliveries are in flight.
    const second = await startTestWorker(setup, subscriptions);
    await eventually(
      'every event',
      () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size >= 60,
      60_000,
    );
    await eventually('offsets committed to the end', () => committedToEnd(setup));
    await sleep(1000);
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
    expect(ids).toHaveLength(60);
    // The second member did take partitions over (it delivered, or found deliveries already done).
    const secondWork =
      (await second.metric('sluice_deliveries_total')) + (await second.metric('sluice_dedup_hits_total'));
    expect(secondWork).toBeGreaterThan(0);
  });

  it('on shutdown lets in-flight deliveries finish, commits them, and a successor starts after them', async () => {
    const setup = await prepareDelivery({}, 1);
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end(), 1000));
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const first = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}, {}, {}]);
    await eventually('3 requests in flight', () => receiver.received.length >= 3);
    await first.worker.shutdown();
    expect(await committedToEnd(setup)).toBe(true);

    receiver.respondWith((_req, res) => res.writeHead(200).end());
    const second = await startTestWorker(setup, subscriptions);
    const [later] = await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the later event', () => receiver.received.length >= 4);
    await sleep(500);
    expect(receiver.received.map((r) => r.headers['webhook-id'])[3]).toBe(later!.id);
    expect(receiver.received).toHaveLength(4);
    expect(await second.metric('sluice_dedup_hits_total')).toBe(0);
  });
});

describe('delivery worker: heartbeats', () => {
  it('stays in its group while a receiver takes longer than the session timeout to answer', async () => {
    const setup = await prepareDelivery(
      {
        SLUICE_KAFKA_SESSION_TIMEOUT_MS: '6s',
        SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
        SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '15s',
        SLUICE_DEDUP_LEASE_MS: '30s',
      },
      1,
    );
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end(), 8000));
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const { metric } = await startTestWorker(setup, subscriptions);
    await eventually('the events consumer to join', async () =>
      (await metric('sluice_delivery_group_joins_total', { consumer: 'events' })) >= 1 ? true : undefined,
    );
    // The member id says whether the worker stayed in the group: a member whose session expired
    // (missed heartbeats) rejoins under a new id. Counting joins would also count the rebalances
    // kafkajs starts itself while KRaft's metadata for a new topic settles, which keep the id.
    const groupId = setup.env.SLUICE_DELIVERY_GROUP_ID!;
    const memberIdOf = async () => {
      const { groups } = await (await connectedAdmin()).describeGroups([groupId]);
      return groups[0]?.members.map((member) => member.memberId);
    };
    const membersBefore = await memberIdOf();
    expect(membersBefore).toHaveLength(1);
    await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the slow delivery', async () =>
      (await metric('sluice_deliveries_total', { outcome: 'delivered' })) === 1 ? true : undefined,
    );
    expect(await memberIdOf()).toEqual(membersBefore);
    expect(receiver.received).toHaveLength(1);
  });
});
