import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import {
  expectRecord,
  expectStillAccepting,
  fixtureData,
  prepareIngestGateway,
  send,
  uniqueEventId,
} from './ingest-client.js';

// README.md#ingest-api: a batch with some invalid events answers 207 with one result per event, in order;
// valid events are written even when others are invalid, and nothing invalid is ever written.

const producer = 'shop-eu';
const time = '2026-11-27T09:30:00Z';

interface BatchResult {
  index: number;
  id: string | null;
  status: number;
  error?: { code: string; detail: string; field?: string; type?: string };
}

interface BatchAnswer {
  accepted: number;
  rejected: number;
  results: BatchResult[];
}

describe('gateway ingest: partial batches', () => {
  it('answers 207 for 100 events with 3 invalid ones and writes exactly the 97 valid ones', async () => {
    const setup = await prepareIngestGateway([{ producerId: producer }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys[producer]!;

    const order = fixtureData('order.created');
    const items = order.items as Array<Record<string, unknown>>;
    const events: Array<Record<string, unknown>> = Array.from({ length: 100 }, (_, index) => ({
      type: 'order.created',
      key: `order-${index % 7}`,
      id: uniqueEventId(`batch-${index}`),
      time,
      data: { ...order, orderId: `ord_${index}` },
    }));
    const schemaInvalid = 17;
    const unknownType = 50;
    const badEnvelope = 83;
    // A numeric string where the schema says int: the failing path names the item and the field.
    events[schemaInvalid]!.data = { ...order, items: [items[0], { ...items[1], quantity: '3' }] };
    events[unknownType]!.type = 'order.teleported';
    events[badEnvelope]!.time = '27/11/2026 09:30';

    const answer = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/json',
      body: events,
    });
    expect(answer.status).toBe(207);
    expect(answer.headers['content-type']).toBe('application/json');
    const body = answer.json as BatchAnswer;
    expect(body.accepted).toBe(97);
    expect(body.rejected).toBe(3);
    expect(body.results).toHaveLength(100);
    body.results.forEach((result, index) => {
      expect(result.index).toBe(index);
      expect(result.id).toBe(events[index]!.id);
    });
    expect(body.results[schemaInvalid]).toEqual({
      index: schemaInvalid,
      id: events[schemaInvalid]!.id,
      status: 422,
      error: {
        code: 'SLUICE_SCHEMA_INVALID',
        detail: expect.stringContaining('data.items[1].quantity'),
        field: 'data.items[1].quantity',
        type: 'order.created',
      },
    });
    expect(body.results[unknownType]).toEqual({
      index: unknownType,
      id: events[unknownType]!.id,
      status: 422,
      error: {
        code: 'SLUICE_UNKNOWN_EVENT_TYPE',
        detail: expect.stringContaining('order.teleported'),
        field: 'type',
        type: 'order.teleported',
      },
    });
    expect(body.results[badEnvelope]).toEqual({
      index: badEnvelope,
      id: events[badEnvelope]!.id,
      status: 400,
      error: { code: 'SLUICE_MALFORMED_REQUEST', detail: expect.any(String), field: 'time' },
    });
    const invalid = new Set([schemaInvalid, unknownType, badEnvelope]);
    for (const result of body.results.filter((result) => !invalid.has(result.index))) {
      expect(result).toEqual({ index: result.index, id: events[result.index]!.id, status: 202 });
    }

    // The settle time lets a 98th record (one that should not be there) arrive before we count.
    const records = await readTopic(setup.eventsTopic, 97, { settleMs: 2000 });
    expect(records).toHaveLength(97);
    const validIds = events.filter((_, index) => !invalid.has(index)).map((event) => event.id);
    expect(new Set(records.map((record) => record.headers.ce_id))).toEqual(new Set(validIds));
    for (const index of [0, 16, 18, 99]) {
      const event = events[index]!;
      expectRecord(records, {
        id: event.id as string,
        type: 'order.created',
        key: event.key as string,
        source: `/producers/${producer}`,
        time,
        producer,
        data: event.data as Record<string, unknown>,
      });
    }
  });

  it('reports a line of NDJSON that is not JSON by its index and still writes the other lines', async () => {
    const setup = await prepareIngestGateway([{ producerId: producer }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys[producer]!;
    const line = (id: string) =>
      JSON.stringify({
        type: 'inventory.adjusted',
        key: 'sku-1',
        id,
        time,
        data: fixtureData('inventory.adjusted'),
      });
    const first = uniqueEventId('nd');
    const third = uniqueEventId('nd');
    // The second line is cut short; the fourth names a field the envelope does not have.
    const answer = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/x-ndjson',
      body: [
        line(first),
        '{"type":"inventory.adjusted","key":',
        line(third),
        '{"tpye":"order.created"}',
      ].join('\n'),
    });
    expect(answer.status).toBe(207);
    const body = answer.json as BatchAnswer;
    expect(body).toMatchObject({ accepted: 2, rejected: 2 });
    expect(body.results).toEqual([
      { index: 0, id: first, status: 202 },
      {
        index: 1,
        id: null,
        status: 400,
        error: { code: 'SLUICE_MALFORMED_REQUEST', detail: expect.stringContaining('line 2') },
      },
      { index: 2, id: third, status: 202 },
      {
        index: 3,
        id: null,
        status: 400,
        error: { code: 'SLUICE_MALFORMED_REQUEST', detail: expect.any(String), field: 'tpye' },
      },
    ]);

    const stillOk = await expectStillAccepting(url, apiKey);
    const records = await readTopic(setup.eventsTopic, 3, { settleMs: 1500 });
    expect(records.map((record) => record.headers.ce_id).sort()).toEqual([first, third, stillOk].sort());
  });
});
