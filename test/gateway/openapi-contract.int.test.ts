import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
import { openApiDocument } from '../../gateway/openapi/openapi-document.js';
import { registryPrefix } from '../../gateway/registry/registry-routes.js';
import { startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { createOpenApiValidator } from '../support/openapi-validator.js';
import { createRegistryTopic } from '../support/registry-topic.js';
import {
  prepareIngestGateway,
  send,
  validEvent,
  type HttpAnswer,
  type SendOptions,
} from './ingest-client.js';

/**
 * Real answers of a real gateway (in-process, shared Kafka and Redis), each checked against the
 * OpenAPI document: its operation by method and path, its status, content type, required headers
 * and body. Every documented operation must be seen answering a success at least once.
 */
describe('the OpenAPI document describes real answers', () => {
  it('matches every route: successes and problems', async () => {
    const validator = createOpenApiValidator(openApiDocument);
    const base = `openapi-${randomUUID().slice(0, 8)}`;
    const retryTopic = `${base}.retry.1s`;
    // The event type API changes the registry: a topic of this test's own, with the examples.
    const registryTopic = await createRegistryTopic({ withExamples: true });
    const setup = await prepareIngestGateway(
      [
        { producerId: 'ops', role: 'admin' },
        { producerId: 'shop', allowedEventTypes: ['order.*'] },
        { producerId: 'slow', ratePerSecond: 1, burst: 2 },
        { producerId: 'batchy', priority: 'bulk' },
      ],
      {
        SLUICE_MAX_REQUEST_BYTES: '4096',
        SLUICE_RETRY_SCHEDULE: '1s',
        SLUICE_RETRY_TOPIC_PREFIX: `${base}.retry.`,
        SLUICE_DLQ_TOPIC: `${base}.dlq`,
        SLUICE_SCHEMAS_TOPIC: registryTopic,
        // Sheds `bulk` keys at once (the heap is always above this share of its limit), so a 503
        // SLUICE_OVERLOADED can be observed; normal and critical keys keep their defaults.
        SLUICE_SHED_FRACTION_BULK: '0.000001',
      },
    );
    const admin = await connectedAdmin();
    await createTopicsWithLeaders(admin, [{ topic: retryTopic, numPartitions: 1, replicationFactor: 1 }]);
    onTestFinished(async () => {
      await admin.deleteTopics({ topics: [retryTopic] }).catch(() => undefined);
    });
    const { url, adminUrl } = await startTestGateway(setup);
    const keys = setup.keys as Record<'ops' | 'shop' | 'slow' | 'batchy', string>;

    /** Sends a request and expects `status` and an answer the document describes. */
    async function expectDocumented(
      status: number,
      options: SendOptions,
      baseUrl = url,
    ): Promise<HttpAnswer> {
      const answer = await send(baseUrl, options);
      const errors = validator.check({
        method: options.method ?? 'POST',
        path: options.path ?? '/v1/events',
        status: answer.status,
        headers: answer.headers,
        body: answer.text,
      });
      expect({ status: answer.status, errors }, answer.text).toEqual({ status, errors: [] });
      return answer;
    }
    const code = (answer: HttpAnswer) => (answer.json as { code?: string }).code;
    const json = { contentType: 'application/json' };

    // The document itself, without an API key, byte for byte what the module holds.
    const served = await expectDocumented(200, { method: 'GET', path: '/openapi.json' });
    expect(served.headers['content-type']).toBe('application/json');
    expect(served.json).toEqual(JSON.parse(JSON.stringify(openApiDocument)));

    // ---- POST /v1/events
    const event = validEvent();
    await expectDocumented(202, { ...json, apiKey: keys.shop, body: event });
    const repeat = await expectDocumented(202, { ...json, apiKey: keys.shop, body: event });
    expect(repeat.json).toMatchObject({ duplicate: true });
    const { type, id, key, time, data } = validEvent();
    await expectDocumented(202, {
      apiKey: keys.shop,
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', type, id, source: '/shop', time, partitionkey: key, data },
    });
    await expectDocumented(202, {
      ...json,
      apiKey: keys.shop,
      headers: {
        'ce-specversion': '1.0',
        'ce-type': type as string,
        'ce-id': `${id as string}-binary`,
        'ce-source': '/shop',
      },
      body: data,
    });
    await expectDocumented(400, { ...json, apiKey: keys.shop, body: '{"type":' });
    await expectDocumented(400, { ...json, apiKey: keys.shop, body: validEvent({ id: 'has spaces' }) });
    await expectDocumented(401, { ...json, body: validEvent() });
    await expectDocumented(401, { ...json, authorization: 'Basic abc', body: validEvent() });
    await expectDocumented(403, {
      ...json,
      apiKey: keys.shop,
      body: validEvent({ type: 'account.created' }),
    });
    expect(code(await expectDocumented(413, { ...json, apiKey: keys.shop, body: 'x'.repeat(5000) }))).toBe(
      'SLUICE_BODY_TOO_LARGE',
    );
    await expectDocumented(415, { apiKey: keys.shop, contentType: 'text/plain', body: 'hello' });
    await expectDocumented(422, { ...json, apiKey: keys.ops, body: validEvent({ type: 'no.such.type' }) });
    await expectDocumented(422, { ...json, apiKey: keys.ops, body: validEvent({ data: { nothing: true } }) });
    // Burst 2 at 1 event/s: within a few requests one finds the bucket empty.
    let limited: HttpAnswer | undefined;
    for (let attempt = 0; attempt < 10 && limited === undefined; attempt++) {
      const answer = await send(url, { ...json, apiKey: keys.slow, body: validEvent() });
      if (answer.status === 429) limited = answer;
    }
    expect(limited?.status).toBe(429);
    expect(
      validator.check({
        method: 'POST',
        path: '/v1/events',
        status: 429,
        headers: limited!.headers,
        body: limited!.text,
      }),
    ).toEqual([]);
    expect(code(await expectDocumented(503, { ...json, apiKey: keys.batchy, body: validEvent() }))).toBe(
      'SLUICE_OVERLOADED',
    );

    // ---- POST /v1/events/batch
    const batch = { method: 'POST' as const, path: '/v1/events/batch' };
    await expectDocumented(202, { ...batch, ...json, apiKey: keys.ops, body: [validEvent(), validEvent()] });
    const partial = await expectDocumented(207, {
      ...batch,
      ...json,
      apiKey: keys.ops,
      body: [validEvent(), validEvent({ type: 'no.such.type' }), 'not an event', validEvent({ data: {} })],
    });
    expect(partial.json).toMatchObject({ accepted: 1, rejected: 3 });
    await expectDocumented(202, {
      ...batch,
      apiKey: keys.ops,
      contentType: 'application/x-ndjson',
      body: `${JSON.stringify(validEvent())}\n${JSON.stringify(validEvent())}\n`,
    });
    await expectDocumented(202, {
      ...batch,
      apiKey: keys.ops,
      contentType: 'application/cloudevents-batch+json',
      body: [{ specversion: '1.0', type, id: `${id as string}-ce-batch`, source: '/shop', data }],
    });
    await expectDocumented(400, { ...batch, ...json, apiKey: keys.ops, body: [] });
    await expectDocumented(401, { ...batch, ...json, body: [validEvent()] });
    await expectDocumented(415, { ...batch, apiKey: keys.ops, contentType: 'text/csv', body: 'a,b' });
    const overBurst = await send(url, {
      ...batch,
      ...json,
      apiKey: keys.slow,
      body: [validEvent(), validEvent(), validEvent()],
    });
    expect(
      validator.check({
        ...batch,
        status: overBurst.status,
        headers: overBurst.headers,
        body: overBurst.text,
      }),
    ).toEqual([]);
    expect([413, 429]).toContain(overBurst.status);

    // ---- GET /v1/event-types
    const types = await expectDocumented(200, { method: 'GET', path: '/v1/event-types', apiKey: keys.shop });
    expect((types.json as { eventTypes: unknown[] }).eventTypes.length).toBeGreaterThan(0);
    await expectDocumented(401, { method: 'GET', path: '/v1/event-types' });

    // ---- the event type API
    const eventTypes = '/v1/event-types';
    const schema = {
      type: 'record',
      name: 'ShipmentDelayed',
      namespace: 'dev.sluice.test',
      fields: [{ name: 'id', type: 'string' }],
    };
    const shipment = { type: 'shipment.delayed', schema, description: 'Late.', example: { id: 's-1' } };
    const asOps = { ...json, apiKey: keys.ops };
    await expectDocumented(201, { ...asOps, path: eventTypes, body: shipment });
    await expectDocumented(200, { ...asOps, path: eventTypes, body: shipment });
    await expectDocumented(400, { ...asOps, path: eventTypes, body: '{' });
    await expectDocumented(401, { ...json, path: eventTypes, body: shipment });
    await expectDocumented(403, { ...json, apiKey: keys.shop, path: eventTypes, body: shipment });
    const breaking = { ...schema, fields: [...schema.fields, { name: 'total', type: 'long' }] };
    await expectDocumented(409, {
      ...asOps,
      path: eventTypes,
      body: { type: shipment.type, schema: breaking },
    });
    await expectDocumented(413, { ...asOps, path: eventTypes, body: `"${'x'.repeat(520 * 1024)}"` });
    await expectDocumented(415, { apiKey: keys.ops, contentType: 'text/plain', path: eventTypes, body: 'x' });
    await expectDocumented(422, { ...asOps, path: eventTypes, body: { ...shipment, type: 'Shipment' } });
    await expectDocumented(422, {
      ...asOps,
      path: eventTypes,
      body: { ...shipment, schema: { type: 'int' } },
    });
    const shipmentPath = `${eventTypes}/shipment.delayed`;
    await expectDocumented(200, { method: 'GET', path: shipmentPath, apiKey: keys.shop });
    await expectDocumented(401, { method: 'GET', path: shipmentPath });
    await expectDocumented(404, { method: 'GET', path: `${eventTypes}/no.such.type`, apiKey: keys.shop });
    await expectDocumented(405, { method: 'PATCH', path: shipmentPath, apiKey: keys.ops });
    const compatibility = { ...asOps, method: 'PUT' as const, path: `${shipmentPath}/compatibility` };
    await expectDocumented(200, { ...compatibility, body: { compatibility: 'FULL' } });
    await expectDocumented(400, { ...compatibility, body: '{' });
    await expectDocumented(403, { ...compatibility, apiKey: keys.shop, body: { compatibility: 'FULL' } });
    await expectDocumented(404, {
      ...compatibility,
      path: `${eventTypes}/no.such.type/compatibility`,
      body: { compatibility: 'FULL' },
    });
    await expectDocumented(422, { ...compatibility, body: { compatibility: 'SOMETIMES' } });
    await expectDocumented(200, { method: 'DELETE', path: shipmentPath, apiKey: keys.ops });
    await expectDocumented(200, { method: 'DELETE', path: shipmentPath, apiKey: keys.ops });
    await expectDocumented(404, { method: 'DELETE', path: `${eventTypes}/no.such.type`, apiKey: keys.ops });
    const deprecated = await expectDocumented(422, {
      ...json,
      apiKey: keys.ops,
      body: { type: 'shipment.delayed', data: { id: 's-2' } },
    });
    expect(code(deprecated)).toBe('SLUICE_EVENT_TYPE_DEPRECATED');
    await expectDocumented(200, { method: 'GET', path: eventTypes, apiKey: keys.shop });

    // ---- what the router answers itself
    await expectDocumented(404, { method: 'GET', path: '/v2/nothing', apiKey: keys.ops });
    await expectDocumented(405, { method: 'DELETE', path: '/v1/events', apiKey: keys.ops });
    // No log database in this gateway: the delivery-log routes say so (test/log-api/ sees them succeed).
    await expectDocumented(501, { method: 'GET', path: '/v1/events/evt_1', apiKey: keys.shop });
    await expectDocumented(405, { method: 'PUT', path: '/v1/subscriptions/sub_abc', apiKey: keys.ops });

    // ---- subscriptions
    const subscriptions = '/v1/subscriptions';
    const asAdmin = { ...json, apiKey: keys.ops };
    const created = await expectDocumented(201, {
      ...asAdmin,
      path: subscriptions,
      body: { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'] },
    });
    const item = `${subscriptions}/${(created.json as { id: string }).id}`;
    await expectDocumented(400, { ...asAdmin, path: subscriptions, body: '{' });
    await expectDocumented(401, {
      ...json,
      path: subscriptions,
      body: { url: 'https://a.example', eventTypes: ['x'] },
    });
    await expectDocumented(403, { ...json, apiKey: keys.shop, method: 'GET', path: subscriptions });
    await expectDocumented(413, { ...asAdmin, path: subscriptions, body: `"${'x'.repeat(70 * 1024)}"` });
    await expectDocumented(415, {
      apiKey: keys.ops,
      contentType: 'text/plain',
      path: subscriptions,
      body: 'x',
    });
    await expectDocumented(422, { ...asAdmin, path: subscriptions, body: { url: 'https://a.example' } });
    const ssrf = await expectDocumented(422, {
      ...asAdmin,
      path: subscriptions,
      body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.*'] },
    });
    expect(code(ssrf)).toBe('SLUICE_URL_FORBIDDEN');
    await expectDocumented(200, { apiKey: keys.ops, method: 'GET', path: subscriptions });
    await expectDocumented(200, { apiKey: keys.ops, method: 'GET', path: item });
    await expectDocumented(404, {
      apiKey: keys.ops,
      method: 'GET',
      path: `${subscriptions}/sub_nosuchsubscription0000000`,
    });
    await expectDocumented(200, {
      ...asAdmin,
      method: 'PATCH',
      path: item,
      body: {
        description: 'ERP',
        maxConcurrency: 4,
        filter: { 'data.totalMinor': { $gt: 500 } },
        headers: { 'X-Api-Key': 'k', Authorization: { value: 'Bearer t', secret: true } },
        retry: { schedule: ['1s'], maxAttempts: 2 },
        timeoutMs: 5000,
      },
    });
    await expectDocumented(422, { ...asAdmin, method: 'PATCH', path: item, body: { ordering: 'random' } });
    await expectDocumented(200, { apiKey: keys.ops, path: `${item}/rotate-secret` });
    const rotated = await expectDocumented(200, { ...asAdmin, path: `${item}/rotate-secret`, body: {} });
    expect((rotated.json as { signingSecrets: { active: number } }).signingSecrets.active).toBeGreaterThan(1);
    await expectDocumented(422, { ...asAdmin, path: `${item}/rotate-secret`, body: { secret: 'plain' } });

    // ---- replay: the events sent above lie in the window
    const replay = `${item}/replay`;
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const dryRun = await expectDocumented(200, { ...asAdmin, path: replay, body: { from, dryRun: true } });
    expect((dryRun.json as { matched: number }).matched).toBeGreaterThan(0);
    await expectDocumented(202, { ...asAdmin, path: replay, body: { from } });
    await expectDocumented(422, { ...asAdmin, path: replay, body: { from: 'yesterday' } });
    await expectDocumented(400, { apiKey: keys.ops, path: replay });

    // ---- enable, with and without recovery
    const enable = `${item}/enable`;
    await expectDocumented(200, { apiKey: keys.ops, path: enable });
    const notDisabled = await expectDocumented(422, { ...asAdmin, path: enable, body: { recover: true } });
    expect(code(notDisabled)).toBe('SLUICE_RECOVERY_REFUSED');
    await expectDocumented(422, { ...asAdmin, path: enable, body: { recover: 'yes' } });
    await expectDocumented(200, { ...asAdmin, method: 'PATCH', path: item, body: { enabled: false } });
    await expectDocumented(202, { ...asAdmin, path: enable, body: { recover: true } });

    await expectDocumented(204, { apiKey: keys.ops, method: 'DELETE', path: item });
    await expectDocumented(404, { apiKey: keys.ops, method: 'DELETE', path: item });

    // ---- inbound sources and POST /in/{id}
    const sources = '/v1/sources';
    const github = await expectDocumented(201, {
      ...asAdmin,
      path: sources,
      body: { name: 'github', verification: { scheme: 'github' }, secret: 'contract-secret' },
    });
    const source = `${sources}/${(github.json as { id: string }).id}`;
    await expectDocumented(200, { apiKey: keys.ops, method: 'GET', path: sources });
    await expectDocumented(200, { apiKey: keys.ops, method: 'GET', path: source });
    await expectDocumented(404, {
      apiKey: keys.ops,
      method: 'GET',
      path: `${sources}/src_nosuchsource00000000000`,
    });
    await expectDocumented(422, { ...asAdmin, path: sources, body: { name: 'Bad Name' } });
    await expectDocumented(403, { apiKey: keys.shop, method: 'GET', path: sources });
    await expectDocumented(200, {
      ...asAdmin,
      method: 'PATCH',
      path: source,
      body: { priority: 'critical' },
    });
    await expectDocumented(200, {
      ...asAdmin,
      path: `${source}/rotate-secret`,
      body: { secret: 'contract-secret', previousSecretSeconds: 60 },
    });
    const inbound = `/in/${(github.json as { id: string }).id}`;
    const payload = '{"zen":"Keep it logically awesome."}';
    const signature = `sha256=${createHmac('sha256', 'contract-secret').update(payload).digest('hex')}`;
    const githubHeaders = { 'x-github-event': 'ping', 'x-github-delivery': randomUUID() };
    await expectDocumented(202, {
      ...json,
      path: inbound,
      headers: { ...githubHeaders, 'x-hub-signature-256': signature },
      body: payload,
    });
    await expectDocumented(401, { ...json, path: inbound, headers: githubHeaders, body: payload });
    await expectDocumented(404, { ...json, path: '/in/src_nosuchsource00000000000', body: payload });
    await expectDocumented(204, { apiKey: keys.ops, method: 'DELETE', path: source });

    // ---- the admin port's probes
    await expectDocumented(200, { method: 'GET', path: '/healthz' }, adminUrl);
    await expectDocumented(200, { method: 'GET', path: '/readyz' }, adminUrl);
    await expectDocumented(200, { method: 'GET', path: '/metrics' }, adminUrl);

    // The /registry operations change the registry, so they run against a registry topic of their
    // own: test/registry/registry-api.int.test.ts checks each of their answers against this
    // document and sees every one of them succeed. The delivery-log operations need a log
    // database: test/log-api/log-api.int.test.ts does the same for them.
    const logPaths = Object.entries(openApiDocument.paths ?? {})
      .filter(([, item]) =>
        Object.values(item).some((op: { tags?: string[] }) => op.tags?.includes('delivery log')),
      )
      .map(([path]) => path);
    const withoutSuccess = validator.operations.filter(
      (operation) =>
        !operation.includes(` ${registryPrefix}/`) &&
        !logPaths.some((path) => operation.endsWith(` ${path}`)) &&
        ![...validator.seen].some((seen) => seen.startsWith(`${operation} 2`)),
    );
    expect(withoutSuccess).toEqual([]);
  });
});
