import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import {
  expectRecord,
  fixtureData,
  prepareIngestGateway,
  send,
  uniqueEventId,
  type ExpectedRecord,
} from './ingest-client.js';

// Every content type of README.md#ingest-api, each read back from Kafka by an independent consumer
// and decoded with its registered schema: key, CloudEvents headers, schema id and data must all be
// as sent.

const producer = 'shop-eu';
const defaultSource = `/producers/${producer}`;

async function startGateway() {
  const setup = await prepareIngestGateway([{ producerId: producer }]);
  const { url } = await startTestGateway(setup);
  return { setup, url, apiKey: setup.keys[producer]! };
}

/** A CloudEvent in structured form, with `extra` attributes (partitionkey, subject, …). */
function cloudEvent(expected: ExpectedRecord, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: expected.id,
    type: expected.type,
    source: expected.source,
    time: expected.time,
    datacontenttype: 'application/json',
    ...extra,
    data: expected.data,
  };
}

function expected(type: string, key: string, overrides: Partial<ExpectedRecord> = {}): ExpectedRecord {
  return {
    id: uniqueEventId(type),
    type,
    key,
    source: defaultSource,
    time: '2026-11-27T09:30:00.125Z',
    producer,
    data: fixtureData(type),
    ...overrides,
  };
}

describe('gateway ingest: every content type reaches Kafka as Avro with CloudEvents headers', () => {
  it('writes an application/json event with its key, time, default source and schema id', async () => {
    const { setup, url, apiKey } = await startGateway();
    const order = expected('order.created', 'order-1001');
    // Media type parameters are allowed: the charset does not change the media type.
    const answer = await send(url, {
      apiKey,
      contentType: 'application/json; charset=utf-8',
      body: { type: order.type, key: order.key, id: order.id, time: order.time, data: order.data },
    });
    expect(answer.status).toBe(202);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.json).toEqual({ id: order.id, status: 'accepted' });

    const records = await readTopic(setup.eventsTopic, 1);
    expect(records).toHaveLength(1);
    expectRecord(records, order);
  });

  it('generates an id and a time for an application/json event that has neither', async () => {
    const { setup, url, apiKey } = await startGateway();
    const before = Date.now();
    const answer = await send(url, {
      apiKey,
      contentType: 'application/json',
      body: { type: 'inventory.adjusted', key: 'sku-1', data: fixtureData('inventory.adjusted') },
    });
    expect(answer.status).toBe(202);
    const { id } = answer.json as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const records = await readTopic(setup.eventsTopic, 1);
    expect(records).toHaveLength(1);
    const time = records[0]!.headers.ce_time!;
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before - 1000);
    expectRecord(records, { ...expected('inventory.adjusted', 'sku-1'), id, time });
  });

  it('takes the partition key of a structured CloudEvent from partitionkey, else from subject', async () => {
    const { setup, url, apiKey } = await startGateway();
    const withPartitionKey = expected('payment.succeeded', 'pk-customer-7', {
      source: 'https://payments.example/adyen',
    });
    const withSubjectOnly = expected('refund.created', 'subject-refund-3', {
      source: 'urn:example:refunds',
    });

    const first = await send(url, {
      apiKey,
      contentType: 'application/cloudevents+json',
      body: cloudEvent(withPartitionKey, { partitionkey: 'pk-customer-7', subject: 'ignored-subject' }),
    });
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ id: withPartitionKey.id, status: 'accepted' });
    const second = await send(url, {
      apiKey,
      contentType: 'application/cloudevents+json; charset=utf-8',
      body: cloudEvent(withSubjectOnly, { subject: 'subject-refund-3' }),
    });
    expect(second.status).toBe(202);
    expect(second.json).toEqual({ id: withSubjectOnly.id, status: 'accepted' });

    const records = await readTopic(setup.eventsTopic, 2);
    expect(records).toHaveLength(2);
    expectRecord(records, withPartitionKey);
    expectRecord(records, withSubjectOnly);
  });

  it('reads a binary-mode CloudEvent from its ce-* headers and its JSON body as data', async () => {
    const { setup, url, apiKey } = await startGateway();
    const withPartitionKey = expected('account.created', 'acct-42', { source: 'https://accounts.example' });
    const withSubjectOnly = expected('order.cancelled', 'order-77', { source: 'https://shop.example' });

    const binary = (event: ExpectedRecord, keyHeaders: Record<string, string>) =>
      send(url, {
        apiKey,
        contentType: 'application/json',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': event.id,
          'ce-type': event.type,
          'ce-source': event.source,
          'ce-time': event.time,
          ...keyHeaders,
        },
        body: event.data,
      });
    const first = await binary(withPartitionKey, { 'ce-partitionkey': 'acct-42', 'ce-subject': 'other' });
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ id: withPartitionKey.id, status: 'accepted' });
    const second = await binary(withSubjectOnly, { 'ce-subject': 'order-77' });
    expect(second.status).toBe(202);
    expect(second.json).toEqual({ id: withSubjectOnly.id, status: 'accepted' });

    const records = await readTopic(setup.eventsTopic, 2);
    expect(records).toHaveLength(2);
    expectRecord(records, withPartitionKey);
    expectRecord(records, withSubjectOnly);
  });

  it('percent-decodes binary-mode ce-* header values, as the CloudEvents HTTP binding requires', async () => {
    const { setup, url, apiKey } = await startGateway();
    // Header values are printable ASCII; anything else travels percent-encoded (HTTP binding §3.1.3.2).
    const event = expected('order.created', 'café 42', {
      source: 'https://shop.example/bestellungen/straße',
    });
    const answer = await send(url, {
      apiKey,
      contentType: 'application/json',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-type': event.type,
        'ce-source': 'https://shop.example/bestellungen/stra%C3%9Fe',
        'ce-time': event.time,
        'ce-subject': 'caf%C3%A9%2042',
      },
      body: event.data,
    });
    expect(answer.status).toBe(202);

    const records = await readTopic(setup.eventsTopic, 1);
    expect(records).toHaveLength(1);
    expectRecord(records, event);

    const broken = await send(url, {
      apiKey,
      contentType: 'application/json',
      headers: { 'ce-specversion': '1.0', 'ce-type': event.type, 'ce-subject': 'caf%C3' },
      body: event.data,
    });
    expect(broken.status).toBe(400);
    expect(broken.json).toMatchObject({ code: 'SLUICE_MALFORMED_REQUEST', field: 'ce-subject' });
  });

  it('writes every event of a JSON array batch, answering one result per event in order', async () => {
    const { setup, url, apiKey } = await startGateway();
    const events = [
      expected('order.created', 'order-1'),
      expected('payment.failed', 'pay-2'),
      expected('order.fulfilled', 'order-1'),
    ];
    const answer = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/json',
      body: events.map((event) => ({
        type: event.type,
        key: event.key,
        id: event.id,
        time: event.time,
        data: event.data,
      })),
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({
      accepted: 3,
      rejected: 0,
      results: events.map((event, index) => ({ index, id: event.id, status: 202 })),
    });

    const records = await readTopic(setup.eventsTopic, 3);
    expect(records).toHaveLength(3);
    for (const event of events) expectRecord(records, event);
    // One key, one partition: per-key order is what consumers rely on.
    const partitions = records.filter((record) => record.key === 'order-1').map((record) => record.partition);
    expect(new Set(partitions).size).toBe(1);
  });

  it('writes every line of an application/x-ndjson batch', async () => {
    const { setup, url, apiKey } = await startGateway();
    const events = [
      expected('account.plan_changed', 'acct-1'),
      expected('inventory.adjusted', 'sku-9'),
      expected('payment.succeeded', 'pay-5'),
    ];
    const lines = events.map((event) =>
      JSON.stringify({ type: event.type, key: event.key, id: event.id, time: event.time, data: event.data }),
    );
    const answer = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/x-ndjson',
      // CRLF line ends and a trailing blank line are tolerated.
      body: `${lines[0]}\r\n${lines[1]}\n${lines[2]}\n\n`,
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({
      accepted: 3,
      rejected: 0,
      results: events.map((event, index) => ({ index, id: event.id, status: 202 })),
    });

    const records = await readTopic(setup.eventsTopic, 3);
    expect(records).toHaveLength(3);
    for (const event of events) expectRecord(records, event);
  });

  it('writes every CloudEvent of an application/cloudevents-batch+json batch', async () => {
    const { setup, url, apiKey } = await startGateway();
    const withPartitionKey = expected('order.created', 'pk-order-5', { source: 'https://shop.example/eu' });
    const withSubjectOnly = expected('refund.created', 'subject-refund-8', { source: '/refunds' });
    const answer = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/cloudevents-batch+json',
      body: [
        cloudEvent(withPartitionKey, { partitionkey: 'pk-order-5', subject: 'not-the-key' }),
        cloudEvent(withSubjectOnly, { subject: 'subject-refund-8' }),
      ],
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({
      accepted: 2,
      rejected: 0,
      results: [
        { index: 0, id: withPartitionKey.id, status: 202 },
        { index: 1, id: withSubjectOnly.id, status: 202 },
      ],
    });

    const records = await readTopic(setup.eventsTopic, 2);
    expect(records).toHaveLength(2);
    expectRecord(records, withPartitionKey);
    expectRecord(records, withSubjectOnly);
  });
});
