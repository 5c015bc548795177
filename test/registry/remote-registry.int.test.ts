import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { decodeEvent } from '../../schemas/event-codec.js';
import { RemoteSchemaRegistry } from '../../schemas/registry/remote-schema-registry.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';
import { uniqueName } from '../support/stack-env.js';

const logger = createLogger('test-remote-registry', 'warn');
const registryContentType = 'application/vnd.schemaregistry.v1+json';

function shipmentSchema(extraField = false): string {
  return JSON.stringify({
    type: 'record',
    name: 'ShipmentDelayed',
    namespace: 'dev.sluice.test',
    fields: [
      { name: 'shipmentId', type: 'string' },
      { name: 'delayMinutes', type: 'int' },
      ...(extraField ? [{ name: 'reason', type: 'string', default: 'unknown' }] : []),
    ],
  });
}

/** Gateway A serves Sluice's own registry (a topic of this test, examples imported); B uses A's /registry. */
async function twoGateways() {
  const schemasTopic = await createRegistryTopic({ withExamples: true });
  const setupA = await prepareGateway([{ producerId: 'ops', role: 'admin' }], {
    SLUICE_SCHEMAS_TOPIC: schemasTopic,
  });
  const a = await startTestGateway(setupA);
  const adminKey = setupA.keys.ops!;
  const setupB = await prepareGateway([{ producerId: 'shop', role: 'admin' }], {
    SLUICE_SCHEMA_REGISTRY_URL: `${a.url}/registry`,
    SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: `sluice:${adminKey}`,
    SLUICE_SCHEMA_REGISTRY_POLL_INTERVAL_MS: '200ms',
  });
  const b = await startTestGateway(setupB);
  return { a, b, adminKey, setupA, setupB, schemasTopic };
}

async function registerOnA(url: string, key: string, subject: string, schema: string): Promise<number> {
  const response = await request(`${url}/registry/subjects/${subject}/versions`, {
    method: 'POST',
    headers: {
      'content-type': registryContentType,
      authorization: `Basic ${Buffer.from(`u:${key}`).toString('base64')}`,
    },
    body: JSON.stringify({ schema }),
  });
  const body = (await response.body.json()) as { id: number };
  expect(response.statusCode).toBe(200);
  return body.id;
}

async function post(url: string, key: string, event: Record<string, unknown>): Promise<number> {
  const response = await request(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(event),
  });
  await response.body.dump();
  return response.statusCode;
}

describe('SLUICE_SCHEMA_REGISTRY_URL: another Sluice’s registry instead of our own', () => {
  it('takes the types and ids of that registry, and a type registered there within seconds', async () => {
    const { a, b, adminKey, setupB } = await twoGateways();
    // The examples, with the ids the other registry gave them.
    const types = (await (
      await request(`${b.url}/v1/event-types`, { headers: { authorization: `Bearer ${setupB.keys.shop}` } })
    ).body.json()) as {
      eventTypes: Array<{ type: string; schemaId: number }>;
    };
    expect(types.eventTypes.map((t) => t.type)).toContain('order.created');

    const id = await registerOnA(a.url, adminKey, 'shipment.delayed', shipmentSchema());
    const event = {
      type: 'shipment.delayed',
      id: uniqueName('evt'),
      data: { shipmentId: 's-1', delayMinutes: 45 },
    };
    const startedMs = Date.now();
    let status = await post(b.url, setupB.keys.shop!, event);
    while (status === 422 && Date.now() - startedMs < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await post(b.url, setupB.keys.shop!, { ...event, id: uniqueName('evt') });
    }
    expect(status).toBe(202);
    logger.warn({ ms: Date.now() - startedMs }, 'a type registered on the other registry was accepted');

    const [record] = await readTopic(setupB.eventsTopic, 1);
    const remote = new RemoteSchemaRegistry({
      settings: {
        url: `${a.url}/registry`,
        basicAuthUserInfo: `u:${adminKey}`,
        bearerToken: undefined,
        pollIntervalMs: 60_000,
        requestTimeoutMs: 5000,
      },
      logger,
    });
    onTestFinished(() => remote.stop());
    await remote.start();
    const decoded = decodeEvent(remote.state, record!.value!);
    expect(decoded.ok && decoded.schema.id).toBe(id);
    expect(decoded.ok && decoded.data).toEqual({ shipmentId: 's-1', delayMinutes: 45 });
  });

  it('resolves an id registered after its last poll when a record names it', async () => {
    const { a, adminKey } = await twoGateways();
    const remote = new RemoteSchemaRegistry({
      settings: {
        url: `${a.url}/registry`,
        basicAuthUserInfo: `u:${adminKey}`,
        bearerToken: undefined,
        pollIntervalMs: 600_000,
        requestTimeoutMs: 5000,
      },
      logger,
    });
    onTestFinished(() => remote.stop());
    await remote.start();
    const id = await registerOnA(a.url, adminKey, 'shipment.delayed', shipmentSchema());
    expect(remote.state.byId(id)).toBeUndefined();
    expect((await remote.resolveId(id))?.type).toBe('shipment.delayed');
  });

  it('registers through the other registry: it decides the id, and refuses an incompatible version there', async () => {
    const { a, adminKey } = await twoGateways();
    const remote = new RemoteSchemaRegistry({
      settings: {
        url: `${a.url}/registry`,
        basicAuthUserInfo: `u:${adminKey}`,
        bearerToken: undefined,
        pollIntervalMs: 600_000,
        requestTimeoutMs: 5000,
      },
      logger,
    });
    onTestFinished(() => remote.stop());
    await remote.start();
    const first = await remote.register({ subject: 'shipment.delayed', schema: shipmentSchema() });
    expect(first).toMatchObject({ version: 1, created: true });
    expect(await remote.register({ subject: 'shipment.delayed', schema: shipmentSchema() })).toMatchObject({
      id: first.id,
      created: false,
    });
    const second = await remote.register({ subject: 'shipment.delayed', schema: shipmentSchema(true) });
    expect(second).toMatchObject({ version: 2, created: true });
    const incompatible = JSON.stringify({
      type: 'record',
      name: 'ShipmentDelayed',
      namespace: 'dev.sluice.test',
      fields: [{ name: 'shipmentId', type: 'long' }],
    });
    await expect(
      remote.register({ subject: 'shipment.delayed', schema: incompatible }),
    ).rejects.toMatchObject({ errorCode: 409 });
  });
});
