import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { startDeliveryWorker } from '../../consumers/delivery-worker.js';
import { catalog, eventually, fixtureData, startReceiver } from '../delivery/delivery-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import { testRedisUrl, uniqueName } from '../support/stack-env.js';
import {
  call,
  produceAt,
  recordCount,
  startReplayGateway,
  startStoreWorker,
  workerStore,
} from './replay-fixture.js';

const minuteMs = 60_000;

describe('POST /v1/subscriptions/{id}/replay (in-process gateway, real Kafka)', () => {
  it('counts exactly the window’s matching events on a dry run, then queues exactly those in the first retry tier', async () => {
    const gw = await startReplayGateway();
    const created = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'], producerIds: ['tenant-a'] },
    });
    expect(created.status).toBe(201);
    const id: string = created.json.id;

    const base = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;
    const events = await produceAt(gw.setup.eventsTopic, [
      { type: 'order.created', producer: 'tenant-a', timestampMs: base - 10 * minuteMs }, // before
      { type: 'order.created', producer: 'tenant-a', timestampMs: base, key: 'k1' }, // from is inclusive
      // Written after the one above to the same partition, but stamped before the window: inside the
      // offsets the time index gives, outside the window.
      { type: 'order.created', producer: 'tenant-a', timestampMs: base - 20 * minuteMs, key: 'k1' },
      { type: 'payment.succeeded', producer: 'tenant-a', timestampMs: base + 2 * minuteMs }, // other type
      { type: 'order.cancelled', producer: 'tenant-a', timestampMs: base + 3 * minuteMs },
      { type: 'order.created', producer: 'tenant-b', timestampMs: base + 4 * minuteMs }, // other producer
      { type: 'order.created', producer: 'tenant-a', timestampMs: base + 5 * minuteMs },
      { type: 'order.created', producer: 'tenant-a', timestampMs: base + 30 * minuteMs - 1 },
      { type: 'order.created', producer: 'tenant-a', timestampMs: base + 30 * minuteMs }, // to is exclusive
      { type: 'order.created', producer: 'tenant-a', timestampMs: base + 40 * minuteMs }, // after
    ]);
    const expected = [events[1]!, events[4]!, events[6]!, events[7]!];
    const window = {
      from: new Date(base).toISOString(),
      to: new Date(base + 30 * minuteMs).toISOString(),
    };

    const dryRun = await call(gw.url, 'POST', `/v1/subscriptions/${id}/replay`, {
      key: gw.admin,
      body: { ...window, dryRun: true },
    });
    expect(dryRun.status).toBe(200);
    expect(dryRun.json).toEqual({ matched: 4, scanned: 7, ...window });
    expect(await recordCount(gw.retryTopics[0]!)).toBe(0);

    const startedMs = Date.now();
    const replay = await call(gw.url, 'POST', `/v1/subscriptions/${id}/replay`, {
      key: gw.admin,
      body: window,
    });
    expect(replay.status).toBe(202);
    expect(replay.json).toEqual({
      replayId: expect.stringMatching(/^rpl_[a-z2-7]{26}$/),
      queued: 4,
      scanned: 7,
      ...window,
    });
    // Acknowledged before the answer: the records are there already.
    expect(await recordCount(gw.retryTopics[0]!)).toBe(4);
    expect(await recordCount(gw.retryTopics[1]!)).toBe(0);

    const queued = await readTopic(gw.retryTopics[0]!, 4, { settleMs: 200 });
    expect(queued.map((r) => r.headers.ce_id).sort()).toEqual(expected.map((e) => e.id).sort());
    for (const record of queued) {
      const event = expected.find((e) => e.id === record.headers.ce_id)!;
      expect(record.key).toBe(event.key);
      expect(record.headers).toMatchObject({
        ce_type: event.type,
        sluice_producer: 'tenant-a',
        sluice_subscription_id: id,
        sluice_attempt: '1',
        sluice_replay_id: replay.json.replayId,
        sluice_origin: expect.stringMatching(new RegExp(`^${gw.setup.eventsTopic}/\\d+/\\d+$`)),
      });
      const dueAtMs = Number(record.headers.sluice_due_at_ms);
      expect(dueAtMs).toBeGreaterThanOrEqual(startedMs);
      expect(dueAtMs).toBeLessThanOrEqual(Date.now());
      expect(record.headers.sluice_first_attempt_at_ms).toBe(record.headers.sluice_due_at_ms);
      expect(record.headers.sluice_last_status).toBeUndefined();
    }
    // The same bytes as the original events.
    const originals = await readTopic(gw.setup.eventsTopic, events.length, { settleMs: 200 });
    for (const record of queued) {
      const original = originals.find((o) => o.headers.ce_id === record.headers.ce_id)!;
      expect(record.value!.equals(original.value!)).toBe(true);
      expect(record.headers.sluice_origin).toBe(
        `${gw.setup.eventsTopic}/${original.partition}/${original.offset}`,
      );
    }
  });

  it('answers 401, 403, 404, 400 and 422 like the other subscription routes, and writes nothing', async () => {
    const gw = await startReplayGateway({ SLUICE_EVENTS_RETENTION_MS: '1d' });
    const { json } = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'] },
    });
    const path = `/v1/subscriptions/${json.id}/replay`;
    const body = { from: new Date(Date.now() - 3_600_000).toISOString() };

    const anonymous = await call(gw.url, 'POST', path, { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe('SLUICE_UNAUTHENTICATED');
    const forbidden = await call(gw.url, 'POST', path, { key: gw.producer, body });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.code).toBe('SLUICE_FORBIDDEN');
    for (const missing of ['sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'nonsense']) {
      const answer = await call(gw.url, 'POST', `/v1/subscriptions/${missing}/replay`, {
        key: gw.admin,
        body,
      });
      expect(answer.status).toBe(404);
      expect(answer.json.code).toBe('SLUICE_NOT_FOUND');
    }
    expect((await call(gw.url, 'GET', path, { key: gw.admin })).status).toBe(405);
    expect((await call(gw.url, 'POST', path, { key: gw.admin })).status).toBe(400);
    expect((await call(gw.url, 'POST', path, { key: gw.admin, body: '{"from":' })).status).toBe(400);

    const invalid: Array<[unknown, string[]]> = [
      [{}, ['from']],
      [{ from: '2024-11-05', dryRun: 'yes', force: true }, ['force', 'from', 'dryRun']],
      [
        {
          from: new Date(Date.now() - 60_000).toISOString(),
          to: new Date(Date.now() - 120_000).toISOString(),
        },
        ['from'],
      ],
      [{ from: new Date(Date.now() + 60_000).toISOString() }, ['from']],
      [{ from: new Date(Date.now() - 2 * 86_400_000).toISOString() }, ['from']],
    ];
    for (const [request, fields] of invalid) {
      const answer = await call(gw.url, 'POST', path, { key: gw.admin, body: request });
      expect(answer.status, JSON.stringify(request)).toBe(422);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.json.code).toBe('SLUICE_INVALID_REPLAY');
      expect(answer.json.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    }
    const tooOld = await call(gw.url, 'POST', path, {
      key: gw.admin,
      body: { from: new Date(Date.now() - 2 * 86_400_000).toISOString() },
    });
    expect(tooOld.json.detail).toMatch(/within the events topic's retention \(1d\)/);

    // A disabled subscription can be counted, not replayed.
    await call(gw.url, 'PATCH', `/v1/subscriptions/${json.id}`, { key: gw.admin, body: { enabled: false } });
    expect(
      (await call(gw.url, 'POST', path, { key: gw.admin, body: { ...body, dryRun: true } })).status,
    ).toBe(200);
    const disabled = await call(gw.url, 'POST', path, { key: gw.admin, body });
    expect(disabled.status).toBe(422);
    expect(disabled.json.detail).toMatch(/is disabled/);
    expect(await recordCount(gw.retryTopics[0]!)).toBe(0);
  });

  it('refuses with 422 and the count a window holding more events than SLUICE_REPLAY_MAX_EVENTS, writing nothing', async () => {
    const gw = await startReplayGateway({ SLUICE_REPLAY_MAX_EVENTS: '2' });
    const { json } = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: 'https://hooks.example.com/orders', eventTypes: ['order.created'] },
    });
    const path = `/v1/subscriptions/${json.id}/replay`;
    const base = Date.now() - 3_600_000;
    await produceAt(gw.setup.eventsTopic, [
      ...[1, 2, 3].map((i) => ({ type: 'order.created', producer: 'shop', timestampMs: base + i * 1000 })),
      { type: 'order.cancelled', producer: 'shop', timestampMs: base + 4000 },
    ]);
    const from = new Date(base).toISOString();

    const tooLarge = await call(gw.url, 'POST', path, { key: gw.admin, body: { from } });
    expect(tooLarge.status).toBe(422);
    expect(tooLarge.json).toMatchObject({
      code: 'SLUICE_REPLAY_TOO_LARGE',
      matched: 3,
      scanned: 4,
      maxEvents: 2,
    });
    expect(await recordCount(gw.retryTopics[0]!)).toBe(0);
    // A dry run still counts it.
    const dryRun = await call(gw.url, 'POST', path, { key: gw.admin, body: { from, dryRun: true } });
    expect(dryRun.json).toMatchObject({ matched: 3, scanned: 4 });
    // Filtering is what counts, not the offsets in the window: two matching events are allowed.
    const narrower = await call(gw.url, 'POST', path, {
      key: gw.admin,
      body: { from: new Date(base + 2000).toISOString() },
    });
    expect(narrower.status).toBe(202);
    expect(narrower.json).toMatchObject({ queued: 2, scanned: 3 });
    expect(await recordCount(gw.retryTopics[0]!)).toBe(2);
  });

  it('answers 503 at its deadline, reporting what it had queued, and frees its slot', async () => {
    const gw = await startReplayGateway({ SLUICE_REPLAY_TIMEOUT_MS: '1s' });
    const { json } = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'] },
    });
    const path = `/v1/subscriptions/${json.id}/replay`;
    // About 4 s of replay work on the two-core CI machine: far past a 1 s deadline.
    const total = 100_000;
    const base = Date.now() - 3_600_000;
    for (let i = 0; i < total; i += 10_000) {
      await produceAt(
        gw.setup.eventsTopic,
        Array.from({ length: 10_000 }, (_, j) => ({
          type: 'order.created',
          producer: 'shop',
          timestampMs: base + i + j,
        })),
      );
    }

    const answer = await call(gw.url, 'POST', path, {
      key: gw.admin,
      body: { from: new Date(base).toISOString() },
    });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
    expect(answer.json).toMatchObject({
      code: 'SLUICE_REPLAY_TIMED_OUT',
      replayId: expect.stringMatching(/^rpl_/),
      queued: expect.any(Number),
      unconfirmed: expect.any(Number),
    });
    const { queued, unconfirmed } = answer.json as { queued: number; unconfirmed: number };
    expect(queued).toBeLessThan(total);
    // Nothing written is hidden: the tier holds what was reported (plus sends never acknowledged).
    const written = await recordCount(gw.retryTopics[0]!);
    expect(written).toBeGreaterThanOrEqual(queued);
    expect(written).toBeLessThanOrEqual(queued + unconfirmed);
    if (queued > 0) expect(answer.json.detail).toContain(`${queued} events were queued`);

    // The replay's slot is free again.
    const small = await call(gw.url, 'POST', path, {
      key: gw.admin,
      body: { from: new Date(base + total).toISOString(), dryRun: true },
    });
    expect(small.status).toBe(200);
    expect(small.json).toMatchObject({ matched: 0, scanned: 0 });
  });

  it('delivers already-delivered events again through a delivery worker, with the same webhook-id', async () => {
    const gw = await startReplayGateway();
    const receiver = await startReceiver();
    const created = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: receiver.url, eventTypes: ['order.*'], maxConcurrency: 2, rateLimitPerSecond: 50 },
    });
    expect(created.status).toBe(201);
    const { id, secret } = created.json as { id: string; secret: string };

    const dedupPrefix = `${uniqueName('t')}:dedup:`;
    const { fatal } = await startStoreWorker(gw, {
      name: 'replay',
      env: { SLUICE_DEDUP_KEY_PREFIX: dedupPrefix },
      catalog,
    });

    const from = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (const type of ['order.created', 'order.cancelled', 'payment.succeeded', 'order.created']) {
      const accepted = await call(gw.url, 'POST', '/v1/events', {
        key: gw.producer,
        body: { type, key: uniqueName('order'), data: fixtureData(type) },
      });
      expect(accepted.status).toBe(202);
      if (type.startsWith('order.')) ids.push(accepted.json.id);
    }
    await eventually('the first deliveries', () => receiver.received.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const webhookIds = () => receiver.received.map((r) => String(r.headers['webhook-id']));
    expect(webhookIds().sort()).toEqual([...ids].sort());

    const replay = await call(gw.url, 'POST', `/v1/subscriptions/${id}/replay`, {
      key: gw.admin,
      body: { from },
    });
    expect(replay.status).toBe(202);
    expect(replay.json).toMatchObject({ queued: 3, scanned: 4 });

    await eventually('the replayed deliveries', () => receiver.received.length >= 6);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received).toHaveLength(6);
    const replayed = receiver.received.slice(3);
    expect(replayed.map((r) => String(r.headers['webhook-id'])).sort()).toEqual([...ids].sort());
    for (const request of replayed) {
      const verified = new Webhook(secret).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ type: expect.stringMatching(/^order\./) });
    }
    // Each delivery left its own completion marker: the original's and the replay's.
    const redis = new Redis(testRedisUrl);
    onTestFinished(() => void redis.disconnect());
    for (const eventId of ids) {
      expect(await redis.get(`${dedupPrefix}${id}:shop:${eventId}`)).toBe('done');
      expect(await redis.get(`${dedupPrefix}${id}@${replay.json.replayId}:shop:${eventId}`)).toBe('done');
    }
    expect(fatal).toEqual([]);
  });

  it('replays a key’s events in order to an ordering: key subscription', async () => {
    const gw = await startReplayGateway();
    const receiver = await startReceiver();
    const created = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: receiver.url, eventTypes: ['order.*'], maxConcurrency: 10, ordering: 'key' },
    });
    expect(created.status).toBe(201);
    const { id } = created.json as { id: string };
    const store = await workerStore(gw.setup);
    const env = {
      ...gw.setup.env,
      SLUICE_ADMIN_PORT: '0',
      SLUICE_DELIVERY_GROUP_ID: uniqueName('replay-group'),
      SLUICE_DEDUP_KEY_PREFIX: `${uniqueName('t')}:dedup:`,
      SLUICE_DEDUP_LEASE_MS: '5s',
      SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '2s',
      SLUICE_SHUTDOWN_GRACE_MS: '5s',
      SLUICE_KAFKA_SESSION_TIMEOUT_MS: '10s',
      SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
      SLUICE_DELIVERY_COMMIT_INTERVAL_MS: '200ms',
      SLUICE_LOG_LEVEL: 'error',
    };
    const worker = await startDeliveryWorker(loadDeliveryConfig(env), createLogger('test-deliver', 'error'), {
      subscriptions: store,
      subscriptionsReady: () => store.isCaughtUp(),
      onGone: async (subscriptionId) => void (await store.disable(subscriptionId, 'gone')),
      onFatal: () => undefined,
      catalog,
    });
    onTestFinished(() => worker.shutdown());

    const from = new Date(Date.now() - 1000).toISOString();
    const key = uniqueName('customer');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const accepted = await call(gw.url, 'POST', '/v1/events', {
        key: gw.producer,
        body: { type: 'order.created', key, data: fixtureData('order.created') },
      });
      expect(accepted.status).toBe(202);
      ids.push(accepted.json.id);
    }
    await eventually('the first deliveries', () => receiver.received.length >= 6);
    // The first two replayed events are answered slowly. With ordering: key the next one is not
    // sent before the answer; without it, all six would arrive within a few milliseconds.
    const arrivals: Array<{ id: string; atMs: number }> = [];
    receiver.respondWith((req, res) => {
      arrivals.push({ id: String(req.headers['webhook-id']), atMs: Date.now() });
      setTimeout(() => res.writeHead(200).end(), arrivals.length <= 2 ? 300 : 0);
    });
    const replay = await call(gw.url, 'POST', `/v1/subscriptions/${id}/replay`, {
      key: gw.admin,
      body: { from },
    });
    expect(replay.status).toBe(202);
    expect(replay.json).toMatchObject({ queued: 6 });
    await eventually('the replayed deliveries', () => arrivals.length >= 6);
    expect(arrivals.map((arrival) => arrival.id)).toEqual(ids);
    expect(arrivals[1]!.atMs - arrivals[0]!.atMs).toBeGreaterThanOrEqual(250);
    expect(arrivals[2]!.atMs - arrivals[1]!.atMs).toBeGreaterThanOrEqual(250);
  });
});
