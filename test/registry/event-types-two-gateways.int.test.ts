import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { expectProblem, prepareIngestGateway, send } from '../gateway/ingest-client.js';
import { startTestGateway, type TestGatewaySetup } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';
import { getType, postTypedEvent, registerType, shipmentSchema } from './event-type-client.js';

// Two gateways (in this process, each with its own registry reader, producers and HTTP port) on
// one registry topic: what the event type API promises across replicas.

async function twoGatewaySetup(registryTopic: string): Promise<TestGatewaySetup> {
  return prepareIngestGateway(
    [
      { producerId: 'ops', role: 'admin' },
      { producerId: 'shop', role: 'producer' },
    ],
    { SLUICE_SCHEMAS_TOPIC: registryTopic },
  );
}

/** The schema id each gateway shows for each type. */
async function idsShown(
  url: string,
  apiKey: string,
  types: readonly string[],
): Promise<Record<string, number>> {
  const entries = await Promise.all(
    types.map(async (type) => {
      const answer = await getType(url, apiKey, type);
      expect(answer.status, answer.text).toBe(200);
      return [type, (answer.json as { schemaId: number }).schemaId] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('event types across two gateways', () => {
  it('gives 50 types registered at once on both unique ids both answer, kept over restart and compaction', async () => {
    const registryTopic = await createRegistryTopic({ compactEagerly: true });
    const setup = await twoGatewaySetup(registryTopic);
    const admin = setup.keys.ops!;
    const [a, b] = await Promise.all([startTestGateway(setup), startTestGateway(setup)]);
    const types = Array.from({ length: 50 }, (_, i) => `fleet.truck${i}.moved`);
    const bodyFor = (i: number) => ({ type: types[i], schema: shipmentSchema(`Truck${i}Moved`) });

    // Both register every type, in opposite orders: each race is lost by one of them.
    const [fromA, fromB] = await Promise.all([
      Promise.all(types.map((_, i) => registerType(a.url, admin, bodyFor(i)))),
      Promise.all(types.map((_, i) => registerType(b.url, admin, bodyFor(49 - i)))),
    ]);
    for (const answer of [...fromA, ...fromB]) expect([200, 201], answer.text).toContain(answer.status);
    const answeredA = Object.fromEntries(
      types.map((type, i) => [type, (fromA[i]!.json as { schemaId: number }).schemaId]),
    );
    const answeredB = Object.fromEntries(
      types.map((_, i) => [types[49 - i]!, (fromB[i]!.json as { schemaId: number }).schemaId]),
    );
    expect(answeredB).toEqual(answeredA);
    expect(new Set(Object.values(answeredA)).size).toBe(50);
    // Each type was created once: one gateway created it (201), the other found it (200).
    expect([...fromA, ...fromB].filter((answer) => answer.status === 201)).toHaveLength(50);
    expect(await idsShown(a.url, admin, types)).toEqual(answeredA);
    expect(await idsShown(b.url, admin, types)).toEqual(answeredA);

    // Let the cleaner compact the topic: a record on a new segment rolls the old one.
    const before = await readTopic(registryTopic, 1, { settleMs: 500 });
    const voidRecords = before.filter((record) => record.value === null).length;
    expect(voidRecords, 'no race was lost, so nothing could be compacted').toBeGreaterThan(0);
    const touch = () =>
      send(a.url, {
        method: 'PUT',
        path: `/v1/event-types/${types[0]}/compatibility`,
        apiKey: admin,
        contentType: 'application/json',
        body: { compatibility: 'BACKWARD' },
      });
    let after = before;
    for (let waited = 0; waited < 60_000 && after.length >= before.length; waited += 2000) {
      await sleep(2000);
      expect((await touch()).status).toBe(200);
      after = await readTopic(registryTopic, 1, { settleMs: 300 });
    }
    expect(after.length).toBeLessThan(before.length);

    await Promise.all([a.gateway.shutdown(), b.gateway.shutdown()]);
    const [c, d] = await Promise.all([startTestGateway(setup), startTestGateway(setup)]);
    expect(await idsShown(c.url, admin, types)).toEqual(answeredA);
    expect(await idsShown(d.url, admin, types)).toEqual(answeredA);
    // A type registered after all that gets an id never used before, and both agree on it.
    const late = await registerType(d.url, admin, {
      type: 'fleet.truck.parked',
      schema: shipmentSchema('TruckParked'),
    });
    expect(late.status).toBe(201);
    const lateId = (late.json as { schemaId: number }).schemaId;
    expect(Object.values(answeredA)).not.toContain(lateId);
    const lateOnC = await registerType(c.url, admin, {
      type: 'fleet.truck.parked',
      schema: shipmentSchema('TruckParked'),
    });
    expect({ status: lateOnC.status, schemaId: (lateOnC.json as { schemaId: number }).schemaId }).toEqual({
      status: 200,
      schemaId: lateId,
    });
  });

  it('accepts on one gateway a type registered on the other within 5 s, without restart', async () => {
    const registryTopic = await createRegistryTopic();
    const setup = await twoGatewaySetup(registryTopic);
    const [a, b] = await Promise.all([startTestGateway(setup), startTestGateway(setup)]);
    const { ops: admin, shop: producer } = setup.keys as Record<'ops' | 'shop', string>;
    const type = 'dock.door.opened';
    const data = { id: 'door-7', carrier: 'DSV' };
    expectProblem(await postTypedEvent(b.url, producer, type, data), 422, 'SLUICE_UNKNOWN_EVENT_TYPE');

    const registered = await registerType(a.url, admin, { type, schema: shipmentSchema('DockDoorOpened') });
    expect(registered.status).toBe(201);
    const registeredAtMs = performance.now();
    let accepted = await postTypedEvent(b.url, producer, type, data);
    while (accepted.status !== 202 && performance.now() - registeredAtMs < 10_000) {
      expectProblem(accepted, 422, 'SLUICE_UNKNOWN_EVENT_TYPE');
      await sleep(20);
      accepted = await postTypedEvent(b.url, producer, type, data);
    }
    const propagationMs = Math.round(performance.now() - registeredAtMs);
    console.log(`event type registered on gateway A accepted by gateway B after ${propagationMs} ms`);
    expect(accepted.status, accepted.text).toBe(202);
    expect(propagationMs).toBeLessThanOrEqual(5000);
    expect((await getType(b.url, producer, type)).json).toMatchObject({
      schemaId: (registered.json as { schemaId: number }).schemaId,
    });
  });
});
