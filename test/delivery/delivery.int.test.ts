import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { connectedAdmin } from '../support/kafka-fixture.js';
import {
  eventually,
  fixtureData,
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
} from './delivery-fixture.js';

describe('delivery worker: events to webhooks', () => {
  it('delivers every matching event once, signed so a Standard Webhooks library verifies it', async () => {
    const setup = await prepareDelivery();
    const orders = await startReceiver();
    const payments = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    const orderSub = testSubscription({ url: orders.url, eventTypes: ['order.*'] });
    const paymentSub = testSubscription({ url: payments.url, eventTypes: ['payment.succeeded'] });
    subscriptions.put(orderSub);
    subscriptions.put(paymentSub);
    const { metric } = await startTestWorker(setup, subscriptions);

    const events = await produceEvents(setup.eventsTopic, [
      { type: 'order.created' },
      { type: 'order.cancelled' },
      { type: 'payment.succeeded' },
      { type: 'refund.created' },
      { type: 'order.created' },
    ]);

    await eventually('4 webhooks', () => orders.received.length + payments.received.length >= 4);
    const orderEvents = events.filter((e) => e.type.startsWith('order.'));
    expect(orders.received.map((r) => r.headers['webhook-id']).sort()).toEqual(
      orderEvents.map((e) => e.id).sort(),
    );
    expect(payments.received.map((r) => r.headers['webhook-id'])).toEqual([events[2]!.id]);

    const first = orders.received.find((r) => r.headers['webhook-id'] === events[0]!.id)!;
    const verified = new Webhook(orderSub.secrets[0]!.secret).verify(first.body, {
      'webhook-id': String(first.headers['webhook-id']),
      'webhook-timestamp': String(first.headers['webhook-timestamp']),
      'webhook-signature': String(first.headers['webhook-signature']),
    });
    // Fields left out by the producer arrive with their schema defaults (null), hence toMatchObject.
    expect(verified).toMatchObject({
      type: 'order.created',
      timestamp: events[0]!.time,
      data: fixtureData('order.created'),
    });
    expect(first.headers['content-type']).toBe('application/json');
    expect(() =>
      new Webhook(paymentSub.secrets[0]!.secret).verify(first.body, {
        'webhook-id': String(first.headers['webhook-id']),
        'webhook-timestamp': String(first.headers['webhook-timestamp']),
        'webhook-signature': String(first.headers['webhook-signature']),
      }),
    ).toThrow();

    // Offsets are committed once every delivery of a record is resolved.
    const admin = await connectedAdmin();
    await eventually('committed offsets up to the end of the topic', async () => {
      const [committed] = await admin.fetchOffsets({
        groupId: setup.env.SLUICE_DELIVERY_GROUP_ID!,
        topics: [setup.eventsTopic],
      });
      const high = await admin.fetchTopicOffsets(setup.eventsTopic);
      return high.every(
        (p) =>
          p.high === '0' || committed!.partitions.find((c) => c.partition === p.partition)?.offset === p.high,
      );
    });
    expect(await metric('sluice_deliveries_total', { outcome: 'delivered' })).toBe(4);
    expect(await metric('sluice_delivery_end_to_end_seconds_count')).toBe(4);
    // Nothing is delivered twice, even after the commit settled.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(orders.received).toHaveLength(3);
  });

  it('only shows a subscription with a producer filter the events of those producers', async () => {
    const setup = await prepareDelivery();
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url, producerIds: ['tenant-a'] }));
    await startTestWorker(setup, subscriptions);
    const events = await produceEvents(setup.eventsTopic, [
      { producer: 'tenant-b' },
      { producer: 'tenant-a' },
      { producer: 'tenant-b' },
    ]);
    await eventually('the tenant-a event', () => receiver.received.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([events[1]!.id]);
  });

  it('keeps one subscription’s events for a key in order with ordering: key', async () => {
    const setup = await prepareDelivery({}, 1);
    const receiver = await startReceiver();
    // Slow answers for the first events. With ordering: key the next one is not sent before the
    // answer; without it, all eight would be sent at once (and arrive in order all the same).
    const arrivedAtMs: number[] = [];
    receiver.respondWith((_req, res, index) => {
      arrivedAtMs.push(Date.now());
      setTimeout(() => res.writeHead(200).end(), index < 3 ? 300 : 0);
    });
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url, ordering: 'key', maxConcurrency: 10 }));
    await startTestWorker(setup, subscriptions);
    const events = await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 8 }, () => ({ key: 'customer-1' })),
    );
    await eventually('8 webhooks', () => receiver.received.length >= 8);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(events.map((e) => e.id));
    for (const next of [1, 2, 3])
      expect(arrivedAtMs[next]! - arrivedAtMs[next - 1]!).toBeGreaterThanOrEqual(250);
  });

  it('keeps a key’s order with ordering: key while its first event is retried, and lets other keys go', async () => {
    const setup = await prepareDelivery({ SLUICE_RETRY_SCHEDULE: '1s,2s,3s' }, 2);
    const receiver = await startReceiver();
    let firstId = '';
    let firstFailures = 0;
    const answeredOk: string[] = [];
    receiver.respondWith((req, res) => {
      const id = String(req.headers['webhook-id']);
      if (id === firstId && firstFailures < 2) {
        firstFailures += 1;
        res.writeHead(500).end();
        return;
      }
      answeredOk.push(id);
      res.writeHead(200).end();
    });
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url, ordering: 'key', maxConcurrency: 10 }));
    const { metric } = await startTestWorker(setup, subscriptions);
    const keyed = Array.from({ length: 5 }, () => ({ key: 'customer-1' }));
    const [first, ...rest] = await produceEvents(setup.eventsTopic, keyed.slice(0, 1));
    firstId = first!.id;
    await eventually('the first event failing once', () => firstFailures >= 1);
    const later = await produceEvents(setup.eventsTopic, [...keyed.slice(1), { key: 'customer-2' }]);
    const others = later.slice(-1);
    const sameKey = [...rest, ...later.slice(0, -1)];

    await eventually('6 events delivered', () => answeredOk.length >= 6, 60_000);
    // The other key did not wait for customer-1's retries.
    expect(answeredOk.indexOf(others[0]!.id)).toBeLessThan(answeredOk.indexOf(firstId));
    expect(answeredOk.filter((id) => id !== others[0]!.id)).toEqual([firstId, ...sameKey.map((e) => e.id)]);
    expect(firstFailures).toBe(2);
    expect(await metric('sluice_delivery_parked_total', { reason: 'key-blocked' })).toBeGreaterThanOrEqual(4);
    // Nothing later is delivered twice or out of turn.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(answeredOk).toHaveLength(6);
  });
});
