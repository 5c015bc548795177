import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { startDeliveryWorker } from '../../consumers/delivery-worker.js';
import { decodeEvent } from '../../schemas/event-codec.js';
import { readWireHeader } from '../../schemas/wire-format.js';
import {
  eventually,
  MemorySubscriptions,
  prepareDelivery,
  startReceiver,
  testSubscription,
} from '../delivery/delivery-fixture.js';
import {
  expectProblem,
  expectStillAccepting,
  prepareIngestGateway,
  send,
  type HttpAnswer,
} from '../gateway/ingest-client.js';
import { startTestGateway } from '../support/gateway-fixture.js';
import { readTopic, type ReadRecord } from '../support/kafka-fixture.js';
import { createRegistryTopic, readRegistry } from '../support/registry-topic.js';
import {
  expectRegistered,
  getType,
  postTypedEvent,
  registerType,
  shipmentSchema,
} from './event-type-client.js';

// README.md#event-types-api over real sockets against the real broker: each test gives its
// gateway a registry topic of its own, so what it registers is seen by no other suite.

async function gatewayWithRegistry(
  options: { withExamples?: boolean; registryTopic?: string; env?: Record<string, string> } = {},
) {
  const registryTopic =
    options.registryTopic ?? (await createRegistryTopic({ withExamples: options.withExamples }));
  const setup = await prepareIngestGateway(
    [
      { producerId: 'ops', role: 'admin' },
      { producerId: 'shop', role: 'producer' },
    ],
    { SLUICE_SCHEMAS_TOPIC: registryTopic, ...options.env },
  );
  const { url } = await startTestGateway(setup);
  return { setup, url, registryTopic, admin: setup.keys.ops!, producer: setup.keys.shop! };
}

/** Decodes a record with a registry read afresh from the topic: what any other process would do. */
async function decodeWithRegistry(registryTopic: string, records: readonly ReadRecord[]) {
  const registry = await readRegistry(registryTopic);
  return records.map((record) => {
    const header = readWireHeader(record.value!);
    const decoded = decodeEvent(registry.state, record.value!);
    if (!header.ok || !decoded.ok) throw new Error(`record ${record.offset} does not decode`);
    return {
      schemaId: header.schemaId,
      type: decoded.schema.type,
      version: decoded.schema.version,
      data: decoded.data,
    };
  });
}

describe('the event type API', () => {
  it('registers a new type; its events are accepted and their records carry its new schema id', async () => {
    const { setup, url, registryTopic, admin, producer } = await gatewayWithRegistry();
    const example = { id: 'shp-1', carrier: 'DHL' };
    const body = {
      type: 'shipment.delayed',
      schema: shipmentSchema('ShipmentDelayed'),
      description: 'A shipment will arrive late.',
      example,
    };
    const before = await postTypedEvent(url, producer, 'shipment.delayed', example);
    expectProblem(before, 422, 'SLUICE_UNKNOWN_EVENT_TYPE');

    const created = await registerType(url, admin, body);
    const schemaId = expectRegistered(created, 'shipment.delayed', 1);
    expect(created.json).toMatchObject({ compatibility: 'BACKWARD' });
    expect(created.headers.location).toBe('/v1/event-types/shipment.delayed');
    // The same schema again, as JSON text this time: the same id, nothing written.
    const again = await registerType(url, admin, { ...body, schema: JSON.stringify(body.schema) });
    expect(expectRegistered(again, 'shipment.delayed', 1, 200)).toBe(schemaId);

    const accepted = await postTypedEvent(url, producer, 'shipment.delayed', example, 'shp-evt-1');
    expect({ status: accepted.status, body: accepted.json }).toEqual({
      status: 202,
      body: { id: 'shp-evt-1', status: 'accepted' },
    });
    const records = await readTopic(setup.eventsTopic, 1, { settleMs: 300 });
    expect(records).toHaveLength(1);
    expect(records[0]!.headers.ce_type).toBe('shipment.delayed');
    expect(await decodeWithRegistry(registryTopic, records)).toEqual([
      { schemaId, type: 'shipment.delayed', version: 1, data: example },
    ]);

    // Any key reads it.
    const read = await getType(url, producer, 'shipment.delayed');
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      type: 'shipment.delayed',
      description: 'A shipment will arrive late.',
      example,
      compatibility: 'BACKWARD',
      deprecated: false,
      deprecatedAt: null,
      version: 1,
      schemaId,
      avroSchema: body.schema,
      jsonSchema: { type: 'object', required: ['id', 'carrier'] },
      versions: [{ version: 1, schemaId, registeredAt: expect.any(String), deleted: false }],
    });
    const list = await send(url, { method: 'GET', path: '/v1/event-types', apiKey: producer });
    expect((list.json as { eventTypes: unknown[] }).eventTypes).toEqual([
      expect.objectContaining({
        type: 'shipment.delayed',
        description: 'A shipment will arrive late.',
        deprecated: false,
        schemaId,
        versions: [{ version: 1, schemaId }],
      }),
    ]);
  });

  it('refuses a BACKWARD-incompatible version with 409 naming the field, accepts a compatible one; events of both decode', async () => {
    const { setup, url, registryTopic, admin, producer } = await gatewayWithRegistry();
    const type = 'parcel.scanned';
    const v1Id = expectRegistered(
      await registerType(url, admin, { type, schema: shipmentSchema('ParcelScanned') }),
      type,
      1,
    );
    expect((await postTypedEvent(url, producer, type, { id: 'p-1', carrier: 'UPS' }, 'p-evt-1')).status).toBe(
      202,
    );

    // A new required field without a default: v2 could not read what v1 wrote.
    const breaking = shipmentSchema('ParcelScanned', [{ name: 'total', type: 'long' }]);
    const refused = await registerType(url, admin, { type, schema: breaking });
    const problem = expectProblem(refused, 409, 'SLUICE_SCHEMA_INCOMPATIBLE');
    expect(problem).toMatchObject({ field: 'data.total', eventType: type, compatibility: 'BACKWARD' });
    expect(problem.detail).toContain('data.total');
    expect(problem.errors).toEqual([{ field: 'data.total', message: expect.stringContaining('data.total') }]);
    expect(refused.headers['retry-after']).toBeUndefined();
    // Asking for a stricter level with it stores neither the level nor the schema.
    const stricter = await registerType(url, admin, { type, schema: breaking, compatibility: 'FULL' });
    expect(expectProblem(stricter, 409, 'SLUICE_SCHEMA_INCOMPATIBLE')).toMatchObject({
      compatibility: 'FULL',
    });
    expect((await getType(url, admin, type)).json).toMatchObject({ compatibility: 'BACKWARD', version: 1 });

    const compatible = shipmentSchema('ParcelScanned', [{ name: 'note', type: 'string', default: '' }]);
    const v2Id = expectRegistered(await registerType(url, admin, { type, schema: compatible }), type, 2);
    expect(v2Id).not.toBe(v1Id);
    const v2Data = { id: 'p-2', carrier: 'UPS', note: 'left at the door' };
    expect((await postTypedEvent(url, producer, type, v2Data, 'p-evt-2')).status).toBe(202);

    const records = await readTopic(setup.eventsTopic, 2, { settleMs: 300 });
    const decoded = await decodeWithRegistry(registryTopic, records);
    expect(decoded.sort((a, b) => a.version - b.version)).toEqual([
      { schemaId: v1Id, type, version: 1, data: { id: 'p-1', carrier: 'UPS' } },
      { schemaId: v2Id, type, version: 2, data: v2Data },
    ]);

    // The level per type: FULL through PUT, then the breaking schema under NONE given with it.
    const full = await send(url, {
      method: 'PUT',
      path: `/v1/event-types/${type}/compatibility`,
      apiKey: admin,
      contentType: 'application/json',
      body: { compatibility: 'FULL' },
    });
    expect({ status: full.status, body: full.json }).toEqual({
      status: 200,
      body: { type, compatibility: 'FULL' },
    });
    const none = await registerType(url, admin, { type, schema: breaking, compatibility: 'NONE' });
    expectRegistered(none, type, 3);
    expect((await getType(url, producer, type)).json).toMatchObject({ compatibility: 'NONE', version: 3 });
    const inherit = await send(url, {
      method: 'PUT',
      path: `/v1/event-types/${type}/compatibility`,
      apiKey: admin,
      contentType: 'application/json',
      body: { compatibility: null },
    });
    expect(inherit.json).toEqual({ type, compatibility: 'BACKWARD' });
  });

  it('deprecates a type: new events 422, the record written before is still delivered; a new version brings it back', async () => {
    const registryTopic = await createRegistryTopic();
    const delivery = await prepareDelivery({ SLUICE_SCHEMAS_TOPIC: registryTopic });
    const { url, admin, producer } = await gatewayWithRegistry({
      registryTopic,
      env: { SLUICE_EVENTS_TOPIC: delivery.eventsTopic },
    });
    const type = 'courier.assigned';
    const schema = shipmentSchema('CourierAssigned');
    const schemaId = expectRegistered(await registerType(url, admin, { type, schema }), type, 1);
    const data = { id: 'c-1', carrier: 'GLS' };
    expect((await postTypedEvent(url, producer, type, data, 'c-evt-1')).status).toBe(202);

    const deprecated = await send(url, { method: 'DELETE', path: `/v1/event-types/${type}`, apiKey: admin });
    expect({ status: deprecated.status, body: deprecated.json }).toEqual({
      status: 200,
      body: { type, deprecated: true, deprecatedAt: expect.any(String), versions: [1] },
    });
    const refused = await postTypedEvent(url, producer, type, data, 'c-evt-2');
    expect(expectProblem(refused, 422, 'SLUICE_EVENT_TYPE_DEPRECATED').detail).toContain('deprecated');
    const repeat = await send(url, { method: 'DELETE', path: `/v1/event-types/${type}`, apiKey: admin });
    expect(repeat.json).toMatchObject({ deprecated: true, versions: [] });
    expect((await getType(url, producer, type)).json).toMatchObject({
      deprecated: true,
      deprecatedAt: expect.any(String),
      versions: [{ version: 1, schemaId, deleted: true }],
    });
    const list = await send(url, { method: 'GET', path: '/v1/event-types', apiKey: producer });
    expect((list.json as { eventTypes: unknown[] }).eventTypes).toEqual([
      expect.objectContaining({ type, deprecated: true, schemaId }),
    ]);

    // A worker started after the deprecation still resolves the id and delivers the old record.
    const receiver = await startReceiver();
    const subscriptions = new MemorySubscriptions();
    subscriptions.put(testSubscription({ url: `${receiver.url}/hook`, eventTypes: [type] }));
    const worker = await startDeliveryWorker(
      loadDeliveryConfig(delivery.env),
      createLogger('test-deliver', delivery.env.SLUICE_LOG_LEVEL),
      { subscriptions, onGone: () => undefined, onFatal: () => undefined },
    );
    try {
      const webhook = await eventually(
        'the webhook of the record written before',
        () => receiver.received[0],
      );
      expect(webhook.headers['webhook-id']).toBe('c-evt-1');
      expect(JSON.parse(webhook.body)).toMatchObject({ type, data });
    } finally {
      await worker.shutdown();
    }

    // Registering again brings the type back, as a new version with the same schema id.
    const back = await registerType(url, admin, { type, schema });
    expect(expectRegistered(back, type, 2)).toBe(schemaId);
    expect((await postTypedEvent(url, producer, type, data, 'c-evt-3')).status).toBe(202);
    expect((await getType(url, producer, type)).json).toMatchObject({ deprecated: false, version: 2 });
  });

  it('refuses bad input with a clear error, stores nothing and keeps serving', async () => {
    const { url, registryTopic, admin, producer } = await gatewayWithRegistry({ withExamples: true });
    const owned = shipmentSchema('ShipmentLost');
    expectRegistered(
      await registerType(url, admin, { type: 'shipment.lost', schema: owned }),
      'shipment.lost',
      1,
    );
    const topicBefore = await readTopic(registryTopic, 1, { settleMs: 500 });
    const listBefore = (await send(url, { method: 'GET', path: '/v1/event-types', apiKey: producer })).text;

    const refusal = async (answer: HttpAnswer, status: number, code: string, field?: string) => {
      const problem = expectProblem(answer, status, code);
      if (field !== undefined) expect(problem.field, answer.text).toBe(field);
      return problem;
    };
    const valid = { type: 'shipment.found', schema: shipmentSchema('ShipmentFound') };

    // Invalid Avro, not JSON, not a record.
    const unknownType = shipmentSchema('ShipmentFound', [{ name: 'weight', type: 'kilograms' }]);
    const notAvro = await refusal(
      await registerType(url, admin, { ...valid, schema: unknownType }),
      422,
      'SLUICE_SCHEMA_REFUSED',
      'schema',
    );
    expect(notAvro.detail).toContain('kilograms');
    await refusal(
      await registerType(url, admin, { ...valid, schema: '{"type": "record", ' }),
      422,
      'SLUICE_SCHEMA_REFUSED',
    );
    const notRecord = await refusal(
      await registerType(url, admin, { ...valid, schema: { type: 'string' } }),
      422,
      'SLUICE_SCHEMA_REFUSED',
    );
    expect(notRecord.detail).toContain('record');
    // Against the policy: float rounds JSON numbers.
    await refusal(
      await registerType(url, admin, {
        ...valid,
        schema: shipmentSchema('ShipmentFound', [{ name: 'kg', type: 'float' }]),
      }),
      422,
      'SLUICE_SCHEMA_REFUSED',
    );
    // The record name of another type.
    const clash = await refusal(
      await registerType(url, admin, { type: 'shipment.stolen', schema: owned }),
      422,
      'SLUICE_SCHEMA_REFUSED',
      'schema.name',
    );
    expect(clash.detail).toContain('shipment.lost');
    // Larger than 256 KiB, within the 512-KiB body.
    const oversized = { ...valid.schema, doc: 'x'.repeat(300 * 1024) };
    expect(
      (
        await refusal(
          await registerType(url, admin, { ...valid, schema: oversized }),
          422,
          'SLUICE_SCHEMA_REFUSED',
        )
      ).detail,
    ).toContain('larger than');
    await refusal(
      await registerType(url, admin, { ...valid, description: 'x'.repeat(600 * 1024) }),
      413,
      'SLUICE_BODY_TOO_LARGE',
    );
    // Bad fields: every one named.
    const fields = await refusal(
      await registerType(url, admin, {
        type: 'Shipment Found',
        schema: 42,
        compatibility: 'SOMETIMES',
        colour: 'red',
      }),
      422,
      'SLUICE_INVALID_EVENT_TYPE',
    );
    expect((fields.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
      'colour',
      'compatibility',
      'schema',
      'type',
    ]);
    await refusal(
      await registerType(url, admin, { ...valid, example: { id: 'f-1' } }),
      422,
      'SLUICE_INVALID_EVENT_TYPE',
      'example.carrier',
    );
    await refusal(await registerType(url, admin, '{"type":'), 400, 'SLUICE_MALFORMED_REQUEST');
    await refusal(
      await send(url, {
        method: 'POST',
        path: '/v1/event-types',
        apiKey: admin,
        contentType: 'text/plain',
        body: 'x',
      }),
      415,
      'SLUICE_UNSUPPORTED_MEDIA_TYPE',
    );
    // An unknown type.
    await refusal(await getType(url, producer, 'no.such.type'), 404, 'SLUICE_NOT_FOUND');
    await refusal(
      await send(url, { method: 'DELETE', path: '/v1/event-types/no.such.type', apiKey: admin }),
      404,
      'SLUICE_NOT_FOUND',
    );
    await refusal(
      await send(url, {
        method: 'PUT',
        path: '/v1/event-types/no.such.type/compatibility',
        apiKey: admin,
        contentType: 'application/json',
        body: { compatibility: 'FULL' },
      }),
      404,
      'SLUICE_NOT_FOUND',
    );
    await refusal(
      await send(url, {
        method: 'PUT',
        path: '/v1/event-types/shipment.lost/compatibility',
        apiKey: admin,
        contentType: 'application/json',
        body: { compatibility: 'SOMETIMES' },
      }),
      422,
      'SLUICE_INVALID_EVENT_TYPE',
      'compatibility',
    );
    // Wrong credentials, and a producer key writing.
    await refusal(await registerType(url, undefined, valid), 401, 'SLUICE_UNAUTHENTICATED');
    await refusal(
      await send(url, {
        method: 'POST',
        path: '/v1/event-types',
        authorization: `Bearer sk_live_${'B'.repeat(43)}`,
        contentType: 'application/json',
        body: valid,
      }),
      401,
      'SLUICE_UNAUTHENTICATED',
    );
    await refusal(await getType(url, undefined, 'shipment.lost'), 401, 'SLUICE_UNAUTHENTICATED');
    await refusal(await registerType(url, producer, valid), 403, 'SLUICE_FORBIDDEN');
    await refusal(
      await send(url, { method: 'DELETE', path: '/v1/event-types/shipment.lost', apiKey: producer }),
      403,
      'SLUICE_FORBIDDEN',
    );
    await refusal(
      await send(url, {
        method: 'PUT',
        path: '/v1/event-types/shipment.lost/compatibility',
        apiKey: producer,
        contentType: 'application/json',
        body: { compatibility: 'NONE' },
      }),
      403,
      'SLUICE_FORBIDDEN',
    );

    // Nothing was stored: the topic holds what it held, and the gateway shows the same types.
    expect(await readTopic(registryTopic, topicBefore.length, { settleMs: 500 })).toHaveLength(
      topicBefore.length,
    );
    expect((await send(url, { method: 'GET', path: '/v1/event-types', apiKey: producer })).text).toBe(
      listBefore,
    );
    // And it still works: an event of an example type, a registration.
    await expectStillAccepting(url, producer);
    expectRegistered(await registerType(url, admin, valid), 'shipment.found', 1);
  });
});
