import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { eventually, fixtureData, startReceiver, type TestReceiver } from '../delivery/delivery-fixture.js';
import { call, startReplayGateway, startStoreWorker } from '../replay/replay-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';
import { uniqueName } from '../support/stack-env.js';

// End to end on the real broker and Redis: a gateway, a delivery worker with its own subscription
// store, and real HTTP receivers. An endpoint that always fails is auto-disabled after a shortened
// SLUICE_AUTO_DISABLE_AFTER_MS; an operator subscribed to sluice.subscription.* hears of it, signed
// like any webhook; events published while it is disabled are not attempted; enabling it with
// recovery delivers them once; and the operator hears of that too.

interface ReceivedWebhook {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** The webhooks a receiver got, each verified with the subscription's secret. */
function verified(receiver: TestReceiver, secret: string): ReceivedWebhook[] {
  return receiver.received.map((request) => {
    const headers = {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    };
    const payload = new Webhook(secret).verify(request.body, headers) as Omit<ReceivedWebhook, 'id'>;
    return { id: headers['webhook-id'], type: payload.type, data: payload.data };
  });
}

type ReplayGateway = Awaited<ReturnType<typeof startReplayGateway>>;

/** A delivery worker on the gateway's topics with its own subscription store (it disables through it). */
async function startHealthWorker(gw: ReplayGateway, settings: Record<string, string>): Promise<Error[]> {
  const { fatal } = await startStoreWorker(gw, {
    name: 'health',
    env: {
      SLUICE_HEALTH_KEY_PREFIX: `${uniqueName('t')}:health:`,
      SLUICE_REDIS_TIMEOUT_MS: '2s',
      ...settings,
    },
    disableLikeDeliver: true,
  });
  return fatal;
}

/** Creates a subscription through the API; its id and secret. */
async function subscribe(gw: ReplayGateway, url: string, eventTypes: string[]) {
  const created = await call(gw.url, 'POST', '/v1/subscriptions', {
    key: gw.admin,
    body: { url, eventTypes },
  });
  expect(created.status, created.text).toBe(201);
  return created.json as { id: string; secret: string };
}

/** Sends one event through the gateway; its id. */
async function send(gw: ReplayGateway, type = 'order.created'): Promise<string> {
  const accepted = await call(gw.url, 'POST', '/v1/events', {
    key: gw.producer,
    body: { type, key: uniqueName('order'), data: fixtureData(type) },
  });
  expect(accepted.status, accepted.text).toBe(202);
  return accepted.json.id as string;
}

describe('endpoint health, end to end', () => {
  it('auto-disables an always-failing endpoint, tells the operator, and recovers the missed events once on enable', async () => {
    const gw = await startReplayGateway({
      SLUICE_SCHEMAS_TOPIC: await createRegistryTopic({ withExamples: true }),
    });
    const failing = await startReceiver();
    failing.respondWith((_req, res) => res.writeHead(500).end('down'));
    const operator = await startReceiver();
    const witness = await startReceiver();

    const endpoint = await subscribe(gw, failing.url, ['order.*']);
    const ops = await subscribe(gw, operator.url, ['sluice.subscription.*']);
    // A healthy subscriber of the same events: once it has an event, the worker has handled its record.
    await subscribe(gw, witness.url, ['order.*']);

    const fatal = await startHealthWorker(gw, {
      SLUICE_AUTO_DISABLE_AFTER_MS: '2s',
      // The breaker would park deliveries without attempts; this test is about attempts failing.
      SLUICE_BREAKER_MIN_ATTEMPTS: '10000',
    });

    const getEndpoint = async () =>
      (await call(gw.url, 'GET', `/v1/subscriptions/${endpoint.id}`, { key: gw.admin })).json;

    // 1. Every attempt fails: events keep coming (and retrying) until the streak is 2 s old.
    const disabled = await eventually(
      'the endpoint auto-disabled',
      async () => {
        const current = await getEndpoint();
        if (!current.enabled) return current;
        await send(gw);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return undefined;
      },
      60_000,
    );
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'failing' });
    const disabledAtMs = Date.parse(disabled.disabledAt);
    expect(disabledAtMs - Date.parse(disabled.failingSince)).toBeGreaterThanOrEqual(2000);
    expect(failing.received.length).toBeGreaterThan(0);

    // 2. The operator hears of it, signed like any webhook.
    const disabledEvent = await eventually('the disabled event at the operator', () =>
      verified(operator, ops.secret).find((w) => w.type === 'sluice.subscription.disabled'),
    );
    expect(disabledEvent.data).toMatchObject({
      subscriptionId: endpoint.id,
      reason: 'failing',
      disabledAt: disabled.disabledAt,
      failingSince: disabled.failingSince,
      lastStatus: 500,
    });
    expect(disabledEvent.id).toMatch(/^sop_/);
    // Nobody else may write Sluice's types: an operator's alerting cannot be fed a forged event.
    const forged = await call(gw.url, 'POST', '/v1/events', {
      key: gw.producer,
      body: { type: 'sluice.subscription.disabled', data: disabledEvent.data },
    });
    expect([forged.status, forged.json.code]).toEqual([403, 'SLUICE_EVENT_TYPE_FORBIDDEN']);

    // 3. While disabled, new events are not attempted, though the worker handles their records.
    failing.respondWith((_req, res) => res.writeHead(200).end('ok'));
    const answeredFrom = failing.received.length;
    const missed = [await send(gw), await send(gw), await send(gw)];
    await eventually('the witness got the missed events', () =>
      missed.every((id) => witness.received.some((r) => r.headers['webhook-id'] === id)),
    );
    expect(failing.received.filter((r) => missed.includes(String(r.headers['webhook-id'])))).toEqual([]);

    // Bad input on the new route changes nothing.
    const refused = await call(gw.url, 'POST', `/v1/subscriptions/${endpoint.id}/enable`, {
      key: gw.admin,
      body: { recover: 'please' },
    });
    expect([refused.status, refused.json.code]).toEqual([422, 'SLUICE_INVALID_SUBSCRIPTION']);
    expect(await getEndpoint()).toMatchObject({ enabled: false, disabledAt: disabled.disabledAt });

    // 4. Enable with recovery: the missed events are delivered, each once.
    const enabled = await call(gw.url, 'POST', `/v1/subscriptions/${endpoint.id}/enable`, {
      key: gw.admin,
      body: { recover: true },
    });
    expect(enabled.status, enabled.text).toBe(202);
    expect(enabled.json.subscription).toMatchObject({
      enabled: true,
      disabledReason: null,
      disabledAt: null,
    });
    expect(enabled.json.recovery).toMatchObject({ from: disabled.disabledAt, replayId: expect.any(String) });
    expect(enabled.json.recovery.queued).toBeGreaterThanOrEqual(missed.length);

    const deliveredIds = () =>
      verified(failing, endpoint.secret)
        .slice(answeredFrom)
        .map((w) => w.id);
    await eventually(
      'the missed events delivered',
      () => missed.every((id) => deliveredIds().includes(id)),
      60_000,
    );
    const marker = await send(gw);
    await eventually('the marker delivered', () => deliveredIds().includes(marker));

    // 5. The operator hears of the enable, with the recovery.
    const enabledEvent = await eventually('the enabled event at the operator', () =>
      verified(operator, ops.secret).find((w) => w.type === 'sluice.subscription.enabled'),
    );
    expect(enabledEvent.data).toMatchObject({
      subscriptionId: endpoint.id,
      previousReason: 'failing',
      disabledAt: disabled.disabledAt,
      recoveryReplayId: enabled.json.recovery.replayId,
      recoveryQueued: enabled.json.recovery.queued,
    });

    const ids = deliveredIds();
    expect(ids.filter((id) => missed.includes(id)).sort()).toEqual([...missed].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(verified(operator, ops.secret).map((w) => w.type)).toEqual([
      'sluice.subscription.disabled',
      'sluice.subscription.enabled',
    ]);
    expect(fatal).toEqual([]);
  });

  it('tells the operator when a worker’s breaker stays open, and when it closes again', async () => {
    const gw = await startReplayGateway({
      SLUICE_SCHEMAS_TOPIC: await createRegistryTopic({ withExamples: true }),
    });
    const receiver = await startReceiver();
    receiver.respondWith((_req, res) => res.writeHead(503).end('down'));
    const operator = await startReceiver();
    const endpoint = await subscribe(gw, receiver.url, ['order.*']);
    const ops = await subscribe(gw, operator.url, ['sluice.subscription.*']);
    const fatal = await startHealthWorker(gw, {
      SLUICE_AUTO_DISABLE_AFTER_MS: '0',
      SLUICE_BREAKER_MIN_ATTEMPTS: '2',
      SLUICE_BREAKER_RESET_MS: '1s',
      SLUICE_BREAKER_OPEN_EVENT_AFTER_MS: '1s',
    });
    const events = () => verified(operator, ops.secret);

    const unhealthy = await eventually(
      'the unhealthy event at the operator',
      async () => {
        const found = events().find((w) => w.type === 'sluice.subscription.unhealthy');
        if (found === undefined) await send(gw);
        return found;
      },
      60_000,
    );
    expect(unhealthy.data).toMatchObject({
      subscriptionId: endpoint.id,
      worker: expect.stringMatching(/\/\d+$/),
    });

    receiver.respondWith((_req, res) => res.writeHead(200).end('ok'));
    const recovered = await eventually(
      'the recovered event at the operator',
      async () => {
        const found = events().find((w) => w.type === 'sluice.subscription.recovered');
        if (found === undefined) await send(gw);
        return found;
      },
      60_000,
    );
    expect(recovered.data).toMatchObject({
      subscriptionId: endpoint.id,
      worker: unhealthy.data.worker,
      openedAt: unhealthy.data.openedAt,
    });
    expect(Date.parse(String(recovered.data.closedAt))).toBeGreaterThan(
      Date.parse(String(unhealthy.data.openedAt)),
    );
    expect(events().map((w) => w.type)).toEqual([
      'sluice.subscription.unhealthy',
      'sluice.subscription.recovered',
    ]);
    // Breaker events never disable: the subscription is still enabled.
    expect(
      (await call(gw.url, 'GET', `/v1/subscriptions/${endpoint.id}`, { key: gw.admin })).json.enabled,
    ).toBe(true);
    expect(fatal).toEqual([]);
  });
});
