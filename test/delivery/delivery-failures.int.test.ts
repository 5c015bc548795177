import { describe, expect, it } from 'vitest';
import { readTopic } from '../support/kafka-fixture.js';
import { startOwnRedis } from '../support/own-redis.js';
import {
  deadPort,
  eventually,
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
} from './delivery-fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('delivery worker: failures, retries and dead letters', () => {
  it('retries a failing receiver through the schedule, then dead-letters with the reason', async () => {
    const setup = await prepareDelivery({ SLUICE_RETRY_SCHEDULE: '1s,2s' });
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => res.writeHead(500).end('boom'));
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    const [event] = await produceEvents(setup.eventsTopic, [{}]);

    const [deadLetter] = await readTopic(setup.dlqTopic, 1, { timeoutMs: 30_000 });
    expect(deadLetter).toBeDefined();
    expect(deadLetter!.headers).toMatchObject({
      sluice_dlq_reason: 'retries-exhausted',
      sluice_last_status: '500',
      sluice_attempts: '3',
      sluice_subscription_id: subscription.id,
      ce_id: event!.id,
      ce_type: 'order.created',
    });
    expect(deadLetter!.key).toBe(event!.key);
    // One first attempt and one per tier, all with the same webhook-id.
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([event!.id]));
    expect(await metric('sluice_delivery_retries_total', { tier: '1s' })).toBe(1);
    expect(await metric('sluice_delivery_retries_total', { tier: '2s' })).toBe(1);
    expect(await metric('sluice_dead_letters_total', { reason: 'retries-exhausted' })).toBe(1);
  });

  it('delivers on a later attempt once the receiver recovers', async () => {
    const setup = await prepareDelivery({ SLUICE_RETRY_SCHEDULE: '1s,2s' });
    const receiver = await startReceiver();
    receiver.respondWith((_req, res, index) => res.writeHead(index === 0 ? 503 : 200).end());
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the delivery on the second attempt', async () =>
      (await metric('sluice_deliveries_total', { outcome: 'delivered' })) === 1 ? true : undefined,
    );
    expect(receiver.received).toHaveLength(2);
    expect(await readTopic(setup.dlqTopic, 0, { timeoutMs: 1000, settleMs: 500 })).toEqual([]);
  });

  it('disables the subscription when the receiver answers 410, without retrying', async () => {
    const setup = await prepareDelivery();
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => res.writeHead(410).end());
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the subscription to be disabled', () => subscriptions.gone.includes(subscription.id));
    expect(subscriptions.get(subscription.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });
    await produceEvents(setup.eventsTopic, [{}]);
    await sleep(2000);
    expect(receiver.received).toHaveLength(1);
    expect(await metric('sluice_delivery_retries_total')).toBe(0);
    expect(await metric('sluice_deliveries_total', { outcome: 'disabled' })).toBe(1);
  });

  it('never follows a redirect: it is a failed attempt like any other', async () => {
    const setup = await prepareDelivery({ SLUICE_RETRY_SCHEDULE: '1s' });
    const elsewhere = await startReceiver();
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => res.writeHead(302, { location: elsewhere.url }).end());
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}]);
    const [deadLetter] = await readTopic(setup.dlqTopic, 1, { timeoutMs: 30_000 });
    expect(deadLetter!.headers).toMatchObject({
      sluice_dlq_reason: 'retries-exhausted',
      sluice_last_status: '302',
    });
    expect(receiver.received).toHaveLength(2);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('refuses a loopback receiver that the SSRF policy does not allow, before any connection', async () => {
    // Two attempts are enough to open the breaker here, if refusals counted against the endpoint.
    const setup = await prepareDelivery({
      SLUICE_RETRY_SCHEDULE: '1s',
      SLUICE_SSRF_ALLOWED_CIDRS: '',
      SLUICE_BREAKER_MIN_ATTEMPTS: '2',
    });
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}]);
    const [deadLetter] = await readTopic(setup.dlqTopic, 1, { timeoutMs: 30_000 });
    expect(deadLetter!.headers.sluice_dlq_reason).toBe('retries-exhausted');
    expect(deadLetter!.headers.sluice_last_error).toMatch(/^ssrf: /);
    expect(receiver.received).toHaveLength(0);
    expect(await metric('sluice_delivery_attempts_total', { result: 'ssrf' })).toBe(2);
    // A refusal by our own policy says nothing about the endpoint: the breaker stays closed.
    expect(await metric('sluice_delivery_breaker_state', { subscription_id: subscription.id })).toBe(0);
  });

  it('opens the breaker on a failing endpoint and parks deliveries without spending attempts', async () => {
    const setup = await prepareDelivery({
      SLUICE_RETRY_SCHEDULE: '1s,2s',
      SLUICE_BREAKER_MIN_ATTEMPTS: '2',
      SLUICE_BREAKER_RESET_MS: '60s',
    });
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => res.writeHead(500).end());
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url, maxConcurrency: 1 });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 6 }, () => ({})),
    );

    await eventually('the breaker to open and park the rest', async () =>
      (await metric('sluice_delivery_parked_total', { reason: 'breaker-open' })) >= 4 ? true : undefined,
    );
    expect(await metric('sluice_delivery_breaker_state', { subscription_id: subscription.id })).toBe(2);
    // Two attempts opened it; nothing reached the receiver since, not even the retries that came due.
    await sleep(2500);
    expect(receiver.received).toHaveLength(2);
    const tierRecords = await readTopic(setup.retryTopics[0]!, 6, { timeoutMs: 10_000 });
    const attempts = tierRecords.map((r) => r.headers.sluice_attempt).sort();
    expect(attempts).toEqual(['1', '1', '1', '1', '2', '2']);
  });

  it('closes the breaker again after a successful half-open probe and delivers everything', async () => {
    const setup = await prepareDelivery({
      SLUICE_RETRY_SCHEDULE: '1s,2s,3s',
      SLUICE_BREAKER_MIN_ATTEMPTS: '2',
      SLUICE_BREAKER_RESET_MS: '1s',
    });
    const receiver = await startReceiver();
    receiver.respondWith((_req, res, index) => res.writeHead(index < 2 ? 500 : 200).end());
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url, maxConcurrency: 1 });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    const events = await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 5 }, () => ({})),
    );
    // The two 500s open it; a probe after the reset then closes it.
    await eventually('the breaker to open', async () =>
      (await metric('sluice_delivery_parked_total', { reason: 'breaker-open' })) >= 1 ? true : undefined,
    );
    await eventually(
      'every event delivered',
      async () =>
        (await metric('sluice_deliveries_total', { outcome: 'delivered' })) === 5 ? true : undefined,
      40_000,
    );
    const delivered = receiver.received.slice(2).map((r) => r.headers['webhook-id']);
    expect(new Set(delivered)).toEqual(new Set(events.map((e) => e.id)));
    expect(delivered).toHaveLength(5);
    expect(await metric('sluice_delivery_breaker_state', { subscription_id: subscription.id })).toBe(0);
  });

  it('counts connection failures to a dead endpoint against its breaker', async () => {
    const setup = await prepareDelivery({ SLUICE_BREAKER_MIN_ATTEMPTS: '2', SLUICE_BREAKER_RESET_MS: '60s' });
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({
      url: `http://127.0.0.1:${await deadPort()}/hooks`,
      maxConcurrency: 1,
    });
    subscriptions.put(subscription);
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(
      setup.eventsTopic,
      Array.from({ length: 4 }, () => ({})),
    );
    await eventually('the breaker to open', async () =>
      (await metric('sluice_delivery_breaker_state', { subscription_id: subscription.id })) === 2
        ? true
        : undefined,
    );
    expect(await metric('sluice_delivery_attempts_total', { result: 'connect' })).toBe(2);
  });

  it('dead-letters poison records at once without blocking the partition', async () => {
    const setup = await prepareDelivery({}, 1);
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const { metric } = await startTestWorker(setup, subscriptions);
    const unknownSchema = Buffer.from([0, 0, 0, 0x27, 0x0f, 1, 2, 3]);
    const events = await produceEvents(setup.eventsTopic, [
      { key: 'k' },
      { key: 'k', rawValue: Buffer.from('{"not":"avro"}') },
      { key: 'k', rawValue: unknownSchema },
      { key: 'k' },
    ]);
    await eventually('both valid events', () => receiver.received.length >= 2);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([events[0]!.id, events[3]!.id]);
    const deadLetters = await readTopic(setup.dlqTopic, 2, { timeoutMs: 10_000 });
    expect(deadLetters.map((r) => [r.headers.ce_id, r.headers.sluice_dlq_reason])).toEqual(
      expect.arrayContaining([
        [events[1]!.id, 'bad-magic-byte'],
        [events[2]!.id, 'unknown-schema-id'],
      ]),
    );
    expect(deadLetters[0]!.headers.sluice_subscription_id).toBeUndefined();
    expect(await metric('sluice_dead_letters_total', { reason: 'unknown-schema-id' })).toBe(1);
  });
});

describe('delivery worker: deduplication', () => {
  it('does not deliver a record twice when it is read again (a consumer that did not commit)', async () => {
    const setup = await prepareDelivery();
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    const subscription = testSubscription({ url: receiver.url });
    subscriptions.put(subscription);
    const first = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}, {}, {}]);
    await eventually('3 webhooks', () => receiver.received.length >= 3);
    await first.worker.shutdown();

    // A fresh group reads the topic from the beginning, as a member without commits would.
    const second = await startTestWorker(setup, subscriptions, {
      SLUICE_DELIVERY_GROUP_ID: `${setup.env.SLUICE_DELIVERY_GROUP_ID}-again`,
    });
    const label = { subscription_id: subscription.id };
    const outcomes = async () => ({
      duplicate: await second.metric('sluice_deliveries_total', { ...label, outcome: 'duplicate' }),
      delivered: await second.metric('sluice_deliveries_total', { ...label, outcome: 'delivered' }),
      dedupHits: await second.metric('sluice_dedup_hits_total', label),
      groupJoins: await second.metric('sluice_delivery_group_joins_total'),
    });
    await eventually('the 3 records handled again', async () => {
      const seen = await outcomes();
      return seen.duplicate + seen.delivered >= 3 ? true : undefined;
    });
    // Every record read again is stopped by its marker, and nothing reaches the receiver again
    // (group joins are there for the failure message: a restart would read records again).
    expect(await outcomes()).toMatchObject({ duplicate: 3, delivered: 0, dedupHits: 3 });
    expect(receiver.received).toHaveLength(3);
  });

  it('still delivers when Redis is down (fail-open), counting the unchecked deliveries', async () => {
    const port = await deadPort();
    const redis = await startOwnRedis(port);
    const setup = await prepareDelivery({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      SLUICE_REDIS_TIMEOUT_MS: '200ms',
    });
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const { metric } = await startTestWorker(setup, subscriptions);
    await redis.kill();
    await produceEvents(setup.eventsTopic, [{}, {}]);
    await eventually('2 webhooks', () => receiver.received.length >= 2);
    expect(await metric('sluice_dedup_unavailable_total')).toBe(2);
    expect(await metric('sluice_deliveries_total', { outcome: 'delivered' })).toBe(2);
  });

  it('parks deliveries instead when Redis is down and the failure mode is closed', async () => {
    const port = await deadPort();
    const setup = await prepareDelivery({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      SLUICE_REDIS_TIMEOUT_MS: '200ms',
      SLUICE_DEDUP_FAILURE_MODE: 'closed',
    });
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: receiver.url }));
    const { metric } = await startTestWorker(setup, subscriptions);
    await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the delivery parked', async () =>
      (await metric('sluice_delivery_parked_total', { reason: 'dedup-unavailable' })) >= 1 ? true : undefined,
    );
    expect(receiver.received).toHaveLength(0);
  });
});
