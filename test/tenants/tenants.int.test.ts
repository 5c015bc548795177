import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Admin } from '../../common/kafka/index.js';
import { spawnDeliver } from '../delivery/deliver-process-fixture.js';
import {
  eventually,
  prepareDelivery,
  startReceiver,
  type TestReceiver,
} from '../delivery/delivery-fixture.js';
import { fixtureData, send, type HttpAnswer } from '../gateway/ingest-client.js';
import { attempt, migratedDatabase, writeAttempts } from '../log-api/log-api-fixture.js';
import { call, type Answer } from '../replay/replay-fixture.js';
import { prepareGateway, spawnGateway, startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, readTopic } from '../support/kafka-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';

// Tenants (README.md#tenants) against the real broker, Redis and PostgreSQL: two tenants, one event
// type. Each tenant's subscriber, behind a real `sluice deliver`, receives exactly its tenant's
// events and a global subscriber all of them; a tenant key cannot read, create or change another
// tenant's subscriptions nor send its events; bad input on every new field is refused and changes
// nothing stored.

const gatewayEnv = {
  SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
  // One event loop runs the gateway and the test on a shared machine: this test is not about shedding.
  SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  SLUICE_SHED_MAX_QUEUE_DELAY_MS: '0',
  SLUICE_REDIS_TIMEOUT_MS: '2s',
};

function orderEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  return {
    type: 'order.created',
    id: `evt_${randomUUID()}`,
    key: `order-${randomUUID()}`,
    data: fixtureData('order.created'),
    ...overrides,
  } as Record<string, unknown> & { id: string };
}

function postEvent(url: string, key: string, event: unknown): Promise<HttpAnswer> {
  return send(url, { apiKey: key, contentType: 'application/json', body: event });
}

function postBatch(url: string, key: string, events: unknown[]): Promise<HttpAnswer> {
  return send(url, { path: '/v1/events/batch', apiKey: key, contentType: 'application/json', body: events });
}

/** The webhook-ids a receiver got, sorted (a repeat would show twice). */
function webhookIds(receiver: TestReceiver): string[] {
  return receiver.received.map((request) => String(request.headers['webhook-id'])).sort();
}

/**
 * True once the group committed every partition of `topics` up to its end: the worker commits a
 * record only when every delivery of it is resolved, so nothing of what was written is still
 * on its way to a receiver. A barrier of state, not of time.
 */
async function groupCaughtUp(admin: Admin, groupId: string, topics: string[]): Promise<boolean> {
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const { partition, high } of ends) {
      const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      if (BigInt(high) > 0n && BigInt(offset) < BigInt(high)) return false;
    }
  }
  return true;
}

function expectTenantRefusal(answer: Answer | HttpAnswer, what: string): void {
  expect(answer.status, `${what}: ${answer.text}`).toBe(403);
  expect(answer.headers['content-type'], what).toBe('application/problem+json');
  expect((answer.json as { code: string }).code, what).toBe('SLUICE_TENANT_FORBIDDEN');
}

describe('tenants', () => {
  it("delivers each tenant's events to that tenant's subscriber only and every event to a global one, replays included", async () => {
    const gatewaySetup = await prepareGateway(
      [
        { producerId: 'ops', role: 'admin' },
        { producerId: 'acme-app', tenant: 'acme' },
        { producerId: 'globex-app', tenant: 'globex' },
        { producerId: 'platform' },
      ],
      gatewayEnv,
    );
    const deliverySetup = await prepareDelivery({
      SLUICE_SUBSCRIPTIONS_TOPIC: gatewaySetup.subscriptionsTopic,
      SLUICE_SECRETS_KEYS: gatewaySetup.env.SLUICE_SECRETS_KEYS!,
    });
    // The gateway writes where the worker reads, and replays into the worker's first retry tier.
    for (const name of [
      'SLUICE_EVENTS_TOPIC',
      'SLUICE_RETRY_SCHEDULE',
      'SLUICE_RETRY_TOPIC_PREFIX',
      'SLUICE_DLQ_TOPIC',
    ]) {
      gatewaySetup.env[name] = deliverySetup.env[name]!;
    }
    const { url } = await startTestGateway(gatewaySetup);
    const { ops: admin, 'acme-app': acmeKey, 'globex-app': globexKey, platform } = gatewaySetup.keys;
    const [acmeReceiver, globexReceiver, globalReceiver] = await Promise.all([
      startReceiver(),
      startReceiver(),
      startReceiver(),
    ]);

    // A tenant key's subscription is its tenant's, named or not; the admin's without a tenant is global.
    const acmeSub = await call(url, 'POST', '/v1/subscriptions', {
      key: acmeKey,
      body: { url: acmeReceiver.url, eventTypes: ['order.*'] },
    });
    expect(acmeSub.status, acmeSub.text).toBe(201);
    expect(acmeSub.json.tenant).toBe('acme');
    const globexSub = await call(url, 'POST', '/v1/subscriptions', {
      key: globexKey,
      body: { url: globexReceiver.url, eventTypes: ['order.*'], tenant: 'globex' },
    });
    expect(globexSub.status, globexSub.text).toBe(201);
    expect(globexSub.json.tenant).toBe('globex');
    const globalSub = await call(url, 'POST', '/v1/subscriptions', {
      key: admin,
      body: { url: globalReceiver.url, eventTypes: ['order.*'] },
    });
    expect(globalSub.status, globalSub.text).toBe(201);
    expect(globalSub.json.tenant).toBeNull();

    // Started once the subscriptions exist: a worker reads the whole subscriptions topic first.
    const deliver = await spawnDeliver(deliverySetup);
    await eventually(
      'worker readiness',
      async () => (await fetch(`${deliver.adminUrl}/readyz`)).status === 200,
      60_000,
    );
    const windowFrom = new Date(Date.now() - 60_000).toISOString();

    const acmeIds: string[] = [];
    const globexIds: string[] = [];
    const untenantedIds: string[] = [];
    const accepted = (answer: HttpAnswer) => {
      expect(answer.status, answer.text).toBe(202);
      return (answer.json as { id: string }).id;
    };
    // acme's key: single events without a tenant (they get the key's), and a JSON-array batch.
    for (let i = 0; i < 2; i++) acmeIds.push(accepted(await postEvent(url, acmeKey!, orderEvent())));
    const acmeBatch = [orderEvent(), orderEvent({ tenant: 'acme' }), orderEvent({ tenant: null })];
    expect((await postBatch(url, acmeKey!, acmeBatch)).status).toBe(202);
    acmeIds.push(...acmeBatch.map((event) => event.id));
    // globex's key: the Sluice envelope naming its tenant, CloudEvents structured and binary mode
    // with the tenantid extension, and NDJSON without a tenant.
    globexIds.push(accepted(await postEvent(url, globexKey!, orderEvent({ tenant: 'globex' }))));
    const structured = {
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: '/globex',
      type: 'order.created',
      tenantid: 'globex',
      data: fixtureData('order.created'),
    };
    globexIds.push(
      accepted(
        await send(url, { apiKey: globexKey, contentType: 'application/cloudevents+json', body: structured }),
      ),
    );
    const binaryId = `evt_${randomUUID()}`;
    globexIds.push(
      accepted(
        await send(url, {
          apiKey: globexKey,
          contentType: 'application/json',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': binaryId,
            'ce-type': 'order.created',
            'ce-source': '/globex',
            'ce-tenantid': 'globex',
          },
          body: fixtureData('order.created'),
        }),
      ),
    );
    const ndjsonEvent = orderEvent();
    const ndjson = await send(url, {
      path: '/v1/events/batch',
      apiKey: globexKey,
      contentType: 'application/x-ndjson',
      body: `${JSON.stringify(ndjsonEvent)}\n`,
    });
    expect(ndjson.status, ndjson.text).toBe(202);
    globexIds.push(ndjsonEvent.id);
    // A producer key bound to no tenant: an event naming acme is acme's, one naming none is nobody's.
    acmeIds.push(accepted(await postEvent(url, platform!, orderEvent({ tenant: 'acme' }))));
    untenantedIds.push(accepted(await postEvent(url, platform!, orderEvent())));

    const everyId = [...acmeIds, ...globexIds, ...untenantedIds];
    await eventually('every delivery', () => globalReceiver.received.length >= everyId.length, 60_000);
    await eventually('acme’s deliveries', () => acmeReceiver.received.length >= acmeIds.length, 60_000);
    await eventually('globex’s deliveries', () => globexReceiver.received.length >= globexIds.length, 60_000);
    const kafkaAdmin = await connectedAdmin();
    const groupId = deliverySetup.env.SLUICE_DELIVERY_GROUP_ID!;
    await eventually(
      'the worker resolved every record',
      () => groupCaughtUp(kafkaAdmin, groupId, [deliverySetup.eventsTopic]),
      60_000,
    );
    expect(webhookIds(acmeReceiver)).toEqual([...acmeIds].sort());
    expect(webhookIds(globexReceiver)).toEqual([...globexIds].sort());
    expect(webhookIds(globalReceiver)).toEqual([...everyId].sort());

    // The tenant travels as the ce_tenantid header of each record.
    const records = await readTopic(deliverySetup.eventsTopic, everyId.length);
    const tenantById = Object.fromEntries(
      records.map((r) => [r.headers.ce_id, r.headers.ce_tenantid ?? null]),
    );
    expect(Object.keys(tenantById).sort()).toEqual([...everyId].sort());
    for (const id of acmeIds) expect(tenantById[id], id).toBe('acme');
    for (const id of globexIds) expect(tenantById[id], id).toBe('globex');
    for (const id of untenantedIds) expect(tenantById[id], id).toBeNull();

    // A replay keeps the tenant: acme's subscription gets acme's events of the window again, and
    // only those; the global one would get everything.
    const dryRun = await call(url, 'POST', `/v1/subscriptions/${acmeSub.json.id}/replay`, {
      key: acmeKey,
      body: { from: windowFrom, dryRun: true },
    });
    expect(dryRun.status, dryRun.text).toBe(200);
    expect(dryRun.json.matched).toBe(acmeIds.length);
    const globalDryRun = await call(url, 'POST', `/v1/subscriptions/${globalSub.json.id}/replay`, {
      key: admin,
      body: { from: windowFrom, dryRun: true },
    });
    expect(globalDryRun.json.matched).toBe(everyId.length);
    const replay = await call(url, 'POST', `/v1/subscriptions/${acmeSub.json.id}/replay`, {
      key: acmeKey,
      body: { from: windowFrom },
    });
    expect(replay.status, replay.text).toBe(202);
    expect(replay.json.queued).toBe(acmeIds.length);
    await eventually(
      'the replayed deliveries',
      () => acmeReceiver.received.length >= 2 * acmeIds.length,
      60_000,
    );
    await eventually(
      'the worker resolved every replayed record',
      () =>
        groupCaughtUp(
          kafkaAdmin,
          deliverySetup.env.SLUICE_RETRY_GROUP_ID ?? `${groupId}-retry`,
          deliverySetup.retryTopics,
        ),
      60_000,
    );
    expect(webhookIds(acmeReceiver)).toEqual([...acmeIds, ...acmeIds].sort());
    expect(webhookIds(globexReceiver)).toEqual([...globexIds].sort());
    expect(webhookIds(globalReceiver)).toEqual([...everyId].sort());
    // A worker start, two rounds of deliveries and a replay on a shared two-core machine.
  }, 180_000);

  it("keeps a tenant key to its tenant: other tenants' subscriptions, events and delivery log are refused or hidden", async () => {
    const database = await migratedDatabase();
    const setup = await prepareGateway(
      [
        { producerId: 'ops', role: 'admin' },
        { producerId: 'acme-app', tenant: 'acme' },
        { producerId: 'globex-app', tenant: 'globex' },
        { producerId: 'shop' },
      ],
      { ...gatewayEnv, SLUICE_LOG_DATABASE_URL: database },
    );
    // Its own process, so its log lines can be read.
    const gateway = await spawnGateway(setup);
    const { url, adminUrl } = gateway;
    const { ops: admin, 'acme-app': acmeKey, 'globex-app': globexKey, shop } = setup.keys;
    const create = async (key: string, body: Record<string, unknown>) => {
      const answer = await call(url, 'POST', '/v1/subscriptions', {
        key,
        body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.*'], ...body },
      });
      expect(answer.status, answer.text).toBe(201);
      return answer.json.id as string;
    };
    const acmeSub = await create(acmeKey!, {});
    const globexSub = await create(globexKey!, {});
    const globalSub = await create(admin!, {});
    const stored = async () =>
      (await call(url, 'GET', '/v1/subscriptions', { key: admin })).json.subscriptions;
    const before = await stored();
    expect(before).toHaveLength(3);

    let adminRouteRefusals = 0;
    const refused = (answer: Answer | HttpAnswer, what: string) => {
      expectTenantRefusal(answer, what);
      adminRouteRefusals++;
    };

    // Its list holds its tenant's subscriptions only.
    const listed = await call(url, 'GET', '/v1/subscriptions', { key: acmeKey });
    expect(listed.status).toBe(200);
    expect(listed.json.subscriptions.map((s: { id: string }) => s.id)).toEqual([acmeSub]);

    // Another tenant's subscription, or a global one: 403 on every route, read or write.
    for (const other of [globexSub, globalSub]) {
      const item = `/v1/subscriptions/${other}`;
      refused(await call(url, 'GET', item, { key: acmeKey }), `GET ${other}`);
      refused(
        await call(url, 'PATCH', item, { key: acmeKey, body: { description: 'mine' } }),
        `PATCH ${other}`,
      );
      refused(await call(url, 'PATCH', item, { key: acmeKey, body: { tenant: 'acme' } }), `take ${other}`);
      refused(await call(url, 'DELETE', item, { key: acmeKey }), `DELETE ${other}`);
      refused(await call(url, 'POST', `${item}/rotate-secret`, { key: acmeKey }), `rotate ${other}`);
      refused(
        await call(url, 'POST', `${item}/replay`, {
          key: acmeKey,
          body: { from: new Date(Date.now() - 60_000).toISOString(), dryRun: true },
        }),
        `replay ${other}`,
      );
      refused(await call(url, 'GET', `${item}/attempts`, { key: acmeKey }), `attempts ${other}`);
      refused(await call(url, 'GET', `${item}/stats`, { key: acmeKey }), `stats ${other}`);
      refused(await call(url, 'POST', `${item}/events/evt_x/resend`, { key: acmeKey }), `resend ${other}`);
      refused(await call(url, 'POST', `${item}/enable`, { key: acmeKey }), `enable ${other}`);
    }
    // Creating for another tenant, or a global subscription; moving its own away.
    refused(
      await call(url, 'POST', '/v1/subscriptions', {
        key: acmeKey,
        body: { url: 'http://127.0.0.1:9/x', eventTypes: ['*'], tenant: 'globex' },
      }),
      'create for globex',
    );
    refused(
      await call(url, 'POST', '/v1/subscriptions', {
        key: acmeKey,
        body: { url: 'http://127.0.0.1:9/x', eventTypes: ['*'], tenant: null },
      }),
      'create a global one',
    );
    refused(
      await call(url, 'PATCH', `/v1/subscriptions/${acmeSub}`, { key: acmeKey, body: { tenant: 'globex' } }),
      'give its own away',
    );
    refused(
      await call(url, 'PATCH', `/v1/subscriptions/${acmeSub}`, { key: acmeKey, body: { tenant: null } }),
      'make its own global',
    );
    // Its own: readable and manageable.
    expect((await call(url, 'GET', `/v1/subscriptions/${acmeSub}`, { key: acmeKey })).json.tenant).toBe(
      'acme',
    );
    expect((await call(url, 'GET', `/v1/subscriptions/${acmeSub}/attempts`, { key: acmeKey })).status).toBe(
      200,
    );
    expect((await call(url, 'GET', `/v1/subscriptions/${acmeSub}/stats`, { key: acmeKey })).status).toBe(200);
    // A producer key bound to no tenant still manages none.
    const plain = await call(url, 'GET', '/v1/subscriptions', { key: shop });
    expect([plain.status, plain.json.code]).toEqual([403, 'SLUICE_FORBIDDEN']);

    // Events naming another tenant: refused alone, and per event in a batch.
    const foreign = orderEvent({ tenant: 'globex' });
    expectTenantRefusal(await postEvent(url, acmeKey!, foreign), 'an event naming globex');
    const own = orderEvent();
    const foreignInBatch = orderEvent({ tenant: 'globex' });
    const batch = await postBatch(url, acmeKey!, [own, foreignInBatch]);
    expect(batch.status, batch.text).toBe(207);
    const results = (
      batch.json as { results: Array<{ status: number; error?: { code: string; field: string } }> }
    ).results;
    expect(results.map((result) => result.status)).toEqual([202, 403]);
    expect(results[1]!.error).toMatchObject({ code: 'SLUICE_TENANT_FORBIDDEN', field: 'tenant' });

    // Nothing stored changed, and only the one accepted event reached Kafka, with acme's tenant.
    expect(await stored()).toEqual(before);
    const written = await readTopic(setup.eventsTopic, 1);
    expect(written.map((record) => [record.headers.ce_id, record.headers.ce_tenantid])).toEqual([
      [own.id, 'acme'],
    ]);

    // Every refusal is counted and logged.
    expect(await scrapeMetric(adminUrl, 'sluice_tenant_refusals_total', { route: '/v1/events' })).toBe(1);
    expect(await scrapeMetric(adminUrl, 'sluice_tenant_refusals_total', { route: '/v1/events/batch' })).toBe(
      1,
    );
    expect(await scrapeMetric(adminUrl, 'sluice_tenant_refusals_total')).toBe(adminRouteRefusals + 2);
    const logged = (msg: string) =>
      gateway.logLines.filter((line) => line.startsWith('{') && JSON.parse(line).msg === msg).length;
    await eventually(
      'the refusals logged',
      () =>
        logged("refused: another tenant's subscription or tenant") === adminRouteRefusals &&
        logged('events naming another tenant refused') === 2,
      10_000,
    );

    // The delivery log: a tenant key sees the attempts to its tenant's subscriptions only.
    const shared = `evt_${randomUUID()}`;
    const globexOnly = `evt_${randomUUID()}`;
    await writeAttempts(database, [
      attempt({ eventId: shared, subscriptionId: acmeSub }),
      attempt({ eventId: shared, subscriptionId: globexSub }),
      attempt({ eventId: shared, subscriptionId: globalSub }),
      attempt({ eventId: globexOnly, subscriptionId: globexSub }),
    ]);
    const status = await call(url, 'GET', `/v1/events/${shared}`, { key: acmeKey });
    expect(status.status, status.text).toBe(200);
    expect(status.json.subscriptions.map((s: { subscriptionId: string }) => s.subscriptionId)).toEqual([
      acmeSub,
    ]);
    const attempts = await call(url, 'GET', `/v1/events/${shared}/attempts`, { key: acmeKey });
    expect(attempts.json.attempts.map((a: { subscriptionId: string }) => a.subscriptionId)).toEqual([
      acmeSub,
    ]);
    expect((await call(url, 'GET', `/v1/events/${globexOnly}`, { key: acmeKey })).status).toBe(404);
    expect((await call(url, 'GET', `/v1/events/${globexOnly}/attempts`, { key: acmeKey })).status).toBe(404);
    const own404 = await call(url, 'GET', `/v1/subscriptions/${acmeSub}/attempts`, { key: acmeKey });
    expect(own404.json.attempts.map((a: { eventId: string }) => a.eventId)).toEqual([shared]);
    // Resending another tenant's event to its own subscription: not found, as an unknown event
    // (an admin learns it exists elsewhere: 422).
    const resend = await call(url, 'POST', `/v1/subscriptions/${acmeSub}/events/${globexOnly}/resend`, {
      key: acmeKey,
    });
    expect([resend.status, resend.json.code]).toEqual([404, 'SLUICE_NOT_FOUND']);
    const adminResend = await call(url, 'POST', `/v1/subscriptions/${acmeSub}/events/${globexOnly}/resend`, {
      key: admin,
    });
    expect([adminResend.status, adminResend.json.code]).toEqual([422, 'SLUICE_RESEND_REFUSED']);
    // An admin key sees every subscription's attempts.
    const all = await call(url, 'GET', `/v1/events/${shared}`, { key: admin });
    expect(all.json.subscriptions.map((s: { subscriptionId: string }) => s.subscriptionId).sort()).toEqual(
      [acmeSub, globexSub, globalSub].sort(),
    );
  });

  it('answers bad input on every new field with a problem naming it, and changes nothing stored', async () => {
    const setup = await prepareGateway(
      [
        { producerId: 'ops', role: 'admin' },
        { producerId: 'acme-app', tenant: 'acme' },
        { producerId: 'shop' },
      ],
      gatewayEnv,
    );
    const { url } = await startTestGateway(setup);
    const { ops: admin, 'acme-app': acmeKey, shop } = setup.keys;
    const baseline = await call(url, 'POST', '/v1/subscriptions', {
      key: admin,
      body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.*'], tenant: 'acme' },
    });
    expect(baseline.status, baseline.text).toBe(201);
    const stored = async () =>
      (await call(url, 'GET', '/v1/subscriptions', { key: admin })).json.subscriptions;
    const before = await stored();

    const badTenants = ['acme corp', '', '-acme', 'a'.repeat(65), 42, ['acme'], { id: 'acme' }];
    const invalidSubscription = (answer: Answer, what: string) => {
      expect(answer.status, `${what}: ${answer.text}`).toBe(422);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.json.code).toBe('SLUICE_INVALID_SUBSCRIPTION');
      expect(answer.json.errors).toEqual([expect.objectContaining({ field: 'tenant' })]);
      expect(answer.json.errors[0].message).toMatch(/^tenant must be a tenant id/);
    };
    for (const tenant of badTenants) {
      const what = JSON.stringify(tenant);
      invalidSubscription(
        await call(url, 'POST', '/v1/subscriptions', {
          key: admin,
          body: { url: 'http://127.0.0.1:9/x', eventTypes: ['*'], tenant },
        }),
        `create ${what}`,
      );
      invalidSubscription(
        await call(url, 'PATCH', `/v1/subscriptions/${baseline.json.id}`, { key: admin, body: { tenant } }),
        `patch ${what}`,
      );
      // Malformed before forbidden: a tenant key gets the same 422, naming the field.
      invalidSubscription(
        await call(url, 'POST', '/v1/subscriptions', {
          key: acmeKey,
          body: { url: 'http://127.0.0.1:9/x', eventTypes: ['*'], tenant },
        }),
        `tenant key create ${what}`,
      );
    }
    expect(await stored()).toEqual(before);

    const malformedEvent = (answer: HttpAnswer, what: string) => {
      expect(answer.status, `${what}: ${answer.text}`).toBe(400);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.json).toMatchObject({ code: 'SLUICE_MALFORMED_REQUEST', field: 'tenant' });
    };
    for (const tenant of badTenants) {
      for (const key of [shop!, acmeKey!]) {
        malformedEvent(
          await postEvent(url, key, orderEvent({ tenant })),
          `envelope ${JSON.stringify(tenant)}`,
        );
      }
    }
    malformedEvent(
      await send(url, {
        apiKey: shop,
        contentType: 'application/cloudevents+json',
        body: {
          specversion: '1.0',
          id: `evt_${randomUUID()}`,
          source: '/s',
          type: 'order.created',
          tenantid: 'no spaces',
          data: fixtureData('order.created'),
        },
      }),
      'CloudEvents tenantid',
    );
    malformedEvent(
      await send(url, {
        apiKey: shop,
        contentType: 'application/json',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `evt_${randomUUID()}`,
          'ce-type': 'order.created',
          'ce-source': '/s',
          'ce-tenantid': 'acme%20corp',
        },
        body: fixtureData('order.created'),
      }),
      'ce-tenantid',
    );
    const good = orderEvent({ tenant: 'acme' });
    const batch = await postBatch(url, shop!, [good, orderEvent({ tenant: 'bad tenant' })]);
    expect(batch.status, batch.text).toBe(207);
    expect((batch.json as { results: unknown[] }).results[1]).toMatchObject({
      status: 400,
      error: { code: 'SLUICE_MALFORMED_REQUEST', field: 'tenant' },
    });

    // Only the one valid event was written.
    const written = await readTopic(setup.eventsTopic, 1);
    expect(written.map((record) => [record.headers.ce_id, record.headers.ce_tenantid])).toEqual([
      [good.id, 'acme'],
    ]);
    expect(await stored()).toEqual(before);
  });
});
