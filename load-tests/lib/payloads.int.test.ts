import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import { prepareGateway, startTestGateway } from '../../test/support/gateway-fixture.js';
import { readTopic, type ReadRecord } from '../../test/support/kafka-fixture.js';
import type { Priority } from '../../gateway/admission/priority.js';
import {
  batchFormats,
  batchRequest,
  singleEventRequest,
  singleFormats,
  type IngestRequest,
} from './ingest-request.js';
import { createPayloadFactory, eventTypes, type SluiceEvent } from './payloads.js';
import { readFixtures } from './read-fixtures.js';

const catalog = loadSchemaCatalog();
const fixtures = readFixtures();

/** The data as the latest schema of its type writes it: defaults of fields an old fixture lacks filled in. */
function asWritten(event: SluiceEvent): unknown {
  const encoded = encodeEvent(catalog.latest(event.type)!, event.data);
  if (!encoded.ok) throw new Error(encoded.message);
  const decoded = decodeEvent(catalog, encoded.value);
  if (!decoded.ok) throw new Error(decoded.message);
  return decoded.data;
}

async function post(url: string, apiKey: string, ingest: IngestRequest) {
  const response = await request(`${url}${ingest.path}`, {
    method: 'POST',
    headers: { ...ingest.headers, authorization: `Bearer ${apiKey}` },
    body: ingest.body,
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

/** Every sent event is in Kafka once, under its key, with the data it was sent with. */
function expectWritten(records: ReadRecord[], sent: readonly SluiceEvent[]) {
  expect(records).toHaveLength(sent.length);
  const byId = new Map(records.map((record) => [record.headers.ce_id, record]));
  for (const event of sent) {
    const record = byId.get(event.id);
    if (record === undefined) throw new Error(`event ${event.id} is not in Kafka`);
    expect(record.key).toBe(event.key);
    expect(record.headers.ce_type).toBe(event.type);
    const decoded = decodeEvent(catalog, record.value!);
    if (!decoded.ok) throw new Error(decoded.message);
    expect(decoded.data).toEqual(asWritten(event));
  }
}

describe('payload builders against a live gateway', () => {
  it('gets 202 for every type sent singly in each form, and every event lands in Kafka', async () => {
    const setup = await prepareGateway([{ producerId: 'loadtest' }]);
    const { url } = await startTestGateway(setup);
    const factory = createPayloadFactory({ fixtures, seed: 21, runId: 'int-single' });
    const sent: SluiceEvent[] = [];
    for (const [index, format] of singleFormats.entries()) {
      for (const [iteration, type] of eventTypes.entries()) {
        const event = factory.build(type, { vu: 1, iteration, index });
        const answer = await post(url, setup.keys.loadtest!, singleEventRequest(event, format));
        expect(answer, `${type} as ${format}`).toEqual({
          status: 202,
          body: { id: event.id, status: 'accepted' },
        });
        sent.push(event);
      }
    }
    expectWritten(await readTopic(setup.eventsTopic, sent.length, { settleMs: 500 }), sent);
  });

  it('gets 202 for flash-sale batches as a JSON array, NDJSON and a CloudEvents batch', async () => {
    const setup = await prepareGateway([{ producerId: 'loadtest' }]);
    const { url } = await startTestGateway(setup);
    const factory = createPayloadFactory({ fixtures, seed: 22, runId: 'int-batch' });
    const sent: SluiceEvent[] = [];
    for (const [iteration, format] of batchFormats.entries()) {
      const events = factory.batch({ vu: 1, iteration }, 25);
      const answer = await post(url, setup.keys.loadtest!, batchRequest(events, format));
      expect(answer.status, format).toBe(202);
      expect(answer.body).toMatchObject({ accepted: 25, rejected: 0 });
      expect((answer.body.results as { id: string }[]).map((result) => result.id)).toEqual(
        events.map((event) => event.id),
      );
      sent.push(...events);
    }
    expectWritten(await readTopic(setup.eventsTopic, sent.length, { settleMs: 500 }), sent);
  });

  it('gets 207 for a batch with one broken event, and only the valid events land in Kafka', async () => {
    const setup = await prepareGateway([{ producerId: 'loadtest' }]);
    const { url } = await startTestGateway(setup);
    const factory = createPayloadFactory({ fixtures, seed: 23, runId: 'int-207' });
    const valid = factory.batch({ vu: 1, iteration: 0 }, 4);
    const order = factory.build('order.created', { vu: 1, iteration: 1 });
    const { totalMinor: _dropped, ...withoutTotal } = order.data;
    const batch = [...valid.slice(0, 2), { ...order, data: withoutTotal }, ...valid.slice(2)];
    const answer = await post(url, setup.keys.loadtest!, batchRequest(batch, 'ndjson'));
    expect(answer.status).toBe(207);
    expect(answer.body).toMatchObject({ accepted: 4, rejected: 1 });
    const results = answer.body.results as { status: number; error?: Record<string, unknown> }[];
    expect(results.map((result) => result.status)).toEqual([202, 202, 422, 202, 202]);
    expect(results[2]!.error).toMatchObject({ code: 'SLUICE_SCHEMA_INVALID', field: 'data.totalMinor' });
    expectWritten(await readTopic(setup.eventsTopic, valid.length, { settleMs: 500 }), valid);
  });

  it('sends each flash-sale event with the API key of its priority class', async () => {
    const classes: Priority[] = ['critical', 'normal', 'bulk'];
    const setup = await prepareGateway(
      classes.map((priority) => ({ producerId: `shop-${priority}`, priority })),
    );
    const { url } = await startTestGateway(setup);
    const factory = createPayloadFactory({ fixtures, seed: 24, runId: 'int-prio' });
    const producerOf = new Map<string, string>();
    for (let iteration = 0; iteration < 30; iteration++) {
      const { event, priority } = factory.flashSale({ vu: 2, iteration });
      const answer = await post(url, setup.keys[`shop-${priority}`]!, singleEventRequest(event));
      expect(answer.status).toBe(202);
      producerOf.set(event.id, `shop-${priority}`);
    }
    const records = await readTopic(setup.eventsTopic, producerOf.size, { settleMs: 500 });
    expect(records).toHaveLength(producerOf.size);
    for (const record of records) {
      expect(record.headers.sluice_producer).toBe(producerOf.get(record.headers.ce_id!));
    }
    expect(new Set(records.map((record) => record.headers.sluice_producer)).size).toBe(3);
  });
});
