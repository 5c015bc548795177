import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import {
  expectProblem,
  expectRetryAfter,
  expectStillAccepting,
  fixtureData,
  postBatch,
  postEvent,
  prepareIngestGateway,
  readAnswer,
  send,
  uniqueEventId,
  validEvent,
  type HttpAnswer,
} from './ingest-client.js';

// Every error status of README.md#ingest-api over real sockets: status, RFC 9457 problem document and stable
// code, the headers the status promises, and afterwards the gateway still accepts a valid event and
// Kafka holds exactly the events that were accepted (nothing refused is ever written).

const producer = 'shop-eu';

async function startGateway(envOverrides: Record<string, string> = {}) {
  const setup = await prepareIngestGateway([{ producerId: producer }], envOverrides);
  const { url } = await startTestGateway(setup);
  return { setup, url, apiKey: setup.keys[producer]! };
}

/** Kafka holds exactly these event ids, and nothing else even after a settle time. */
async function expectExactlyInKafka(topic: string, ids: string[]): Promise<void> {
  const records = await readTopic(topic, ids.length, { settleMs: 1500 });
  expect(records.map((record) => record.headers.ce_id).sort()).toEqual([...ids].sort());
}

/**
 * A request whose body sends `firstChunk` and then never finishes (until the answer arrived): an
 * answer can only come from a decision taken before the whole body was read.
 */
async function postNeverEndingBody(
  url: string,
  apiKey: string,
  firstChunk: Buffer,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  let finish!: () => void;
  const answered = new Promise<void>((resolve) => (finish = resolve));
  async function* body() {
    yield firstChunk;
    await answered;
  }
  try {
    const response = await request(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
      body: Readable.from(body()),
    });
    return await readAnswer(response);
  } finally {
    finish();
  }
}

describe('gateway ingest: error answers', () => {
  it('answers 400 SLUICE_MALFORMED_REQUEST to malformed JSON and bad envelope fields, naming the field', async () => {
    const { setup, url, apiKey } = await startGateway();

    const notJson = await send(url, {
      apiKey,
      contentType: 'application/json',
      body: '{"type":"order.created",',
    });
    expectProblem(notJson, 400, 'SLUICE_MALFORMED_REQUEST');
    const batchNotJson = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/json',
      body: '[{"type":',
    });
    expectProblem(batchNotJson, 400, 'SLUICE_MALFORMED_REQUEST');
    const batchNotArray = await postBatch(url, apiKey, validEvent() as unknown as unknown[]);
    expectProblem(batchNotArray, 400, 'SLUICE_MALFORMED_REQUEST');
    const emptyBatch = await postBatch(url, apiKey, []);
    expectProblem(emptyBatch, 400, 'SLUICE_MALFORMED_REQUEST');

    const badFields: Array<[string, Record<string, unknown>]> = [
      ['time', { time: 'yesterday' }],
      ['id', { id: 'has spaces' }],
      ['key', { key: 42 }],
      ['type', { type: 'Order Created!' }],
      ['data', { data: undefined }],
      ['typo', { typo: true }],
    ];
    for (const [field, override] of badFields) {
      const answer = await postEvent(url, apiKey, validEvent(override));
      expect(expectProblem(answer, 400, 'SLUICE_MALFORMED_REQUEST').field, field).toBe(field);
    }
    const oldSpec = await send(url, {
      apiKey,
      contentType: 'application/cloudevents+json',
      body: { specversion: '0.3', id: 'x', type: 'order.created', source: '/s', data: {} },
    });
    expect(expectProblem(oldSpec, 400, 'SLUICE_MALFORMED_REQUEST').field).toBe('specversion');
    const binaryNotJson = await send(url, {
      apiKey,
      contentType: 'application/json',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-type': 'order.created', 'ce-source': '/s' },
      body: 'not json',
    });
    expectProblem(binaryNotJson, 400, 'SLUICE_MALFORMED_REQUEST');

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [ok]);
  });

  it('answers 401 SLUICE_UNAUTHENTICATED with WWW-Authenticate to a missing, unknown or non-Bearer key', async () => {
    const { setup, url, apiKey } = await startGateway();
    const cases: Array<[string, string | undefined]> = [
      ['missing', undefined],
      ['unknown-key', `Bearer sk_live_${'A'.repeat(43)}`],
      ['wrong-scheme', `Basic ${Buffer.from(`${producer}:${apiKey}`).toString('base64')}`],
      ['wrong-scheme', `Token ${apiKey}`],
      ['malformed', 'Bearer'],
    ];
    for (const [reason, authorization] of cases) {
      const answer = await send(url, {
        authorization,
        contentType: 'application/json',
        body: validEvent({ id: uniqueEventId('unauth') }),
      });
      const problem = expectProblem(answer, 401, 'SLUICE_UNAUTHENTICATED');
      expect(problem.reason, String(authorization)).toBe(reason);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="sluice"');
      // The key is never echoed back.
      expect(answer.text).not.toContain(apiKey);
    }
    const batch = await postBatch(url, undefined, [validEvent()]);
    expectProblem(batch, 401, 'SLUICE_UNAUTHENTICATED');

    // The scheme is case-insensitive (RFC 9110 §11.1).
    const lowerCase = await postEvent(url, undefined, validEvent(), { authorization: `bearer ${apiKey}` });
    expect(lowerCase.status).toBe(202);
    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [(lowerCase.json as { id: string }).id, ok]);
  });

  it('answers 403 SLUICE_EVENT_TYPE_FORBIDDEN to a type outside the key’s allowedEventTypes', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'orders-only', allowedEventTypes: ['order.*'] }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys['orders-only']!;
    const payment = validEvent({
      type: 'payment.succeeded',
      key: 'pay-1',
      data: fixtureData('payment.succeeded'),
    });

    const answer = await postEvent(url, apiKey, payment);
    const problem = expectProblem(answer, 403, 'SLUICE_EVENT_TYPE_FORBIDDEN');
    expect(problem.type).toBe('https://sluice.dev/problems/event-type-forbidden');
    expect(problem.detail).toContain('payment.succeeded');

    // In a batch only the forbidden event is refused.
    const order = validEvent();
    const batch = await postBatch(url, apiKey, [order, payment]);
    expect(batch.status).toBe(207);
    expect(batch.json).toMatchObject({
      accepted: 1,
      rejected: 1,
      results: [
        { index: 0, id: order.id, status: 202 },
        { index: 1, id: payment.id, status: 403, error: { code: 'SLUICE_EVENT_TYPE_FORBIDDEN' } },
      ],
    });

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [order.id as string, ok]);
  });

  it('answers 404 SLUICE_NOT_FOUND to an unknown path and 405 with Allow to a wrong method', async () => {
    const { setup, url, apiKey } = await startGateway();
    for (const [method, path] of [
      ['POST', '/v1/event'],
      ['GET', '/'],
      ['POST', '/v1/events/batch/extra'],
      ['GET', '/v2/events'],
    ] as const) {
      const answer = await send(url, {
        method,
        path,
        apiKey,
        contentType: 'application/json',
        body: method === 'POST' ? validEvent() : undefined,
      });
      expect(expectProblem(answer, 404, 'SLUICE_NOT_FOUND').detail, `${method} ${path}`).toContain(path);
    }
    for (const [method, path, allow] of [
      ['GET', '/v1/events', 'POST'],
      ['PUT', '/v1/events', 'POST'],
      // `batch` is also a possible event id: GET /v1/events/{id} (the delivery log) answers it.
      ['DELETE', '/v1/events/batch', 'POST, GET'],
      ['DELETE', '/v1/event-types', 'GET, POST'],
    ] as const) {
      const answer = await send(url, {
        method,
        path,
        apiKey,
        contentType: 'application/json',
        body: method === 'GET' || method === 'DELETE' ? undefined : validEvent(),
      });
      expectProblem(answer, 405, 'SLUICE_METHOD_NOT_ALLOWED');
      expect(answer.headers.allow, `${method} ${path}`).toBe(allow);
    }

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [ok]);
  });

  it('answers 413 SLUICE_BODY_TOO_LARGE from Content-Length and while streaming, before the body is read', async () => {
    const { setup, url, apiKey } = await startGateway({
      SLUICE_MAX_REQUEST_BYTES: '2048',
      SLUICE_MAX_BATCH_BYTES: '4096',
      SLUICE_MAX_EVENT_BYTES: '1024',
    });

    // A whole body over the limit, announced by Content-Length.
    const padded = JSON.stringify(validEvent({ id: uniqueEventId('big') })).replace(
      '{',
      `{${' '.repeat(3000)}`,
    );
    const declared = await send(url, { apiKey, contentType: 'application/json', body: padded });
    expect(expectProblem(declared, 413, 'SLUICE_BODY_TOO_LARGE').maxBodyBytes).toBe(2048);
    expect(declared.headers.connection).toBe('close');

    // Content-Length says 1 MB; the client sends a few bytes and waits: the answer cannot wait for the body.
    const announced = await postNeverEndingBody(url, apiKey, Buffer.from('{"type":'), {
      'content-length': String(1_000_000),
    });
    expectProblem(announced, 413, 'SLUICE_BODY_TOO_LARGE');

    // Chunked: no Content-Length, 3000 bytes in, the rest never comes. Decided while reading.
    const chunked = await postNeverEndingBody(url, apiKey, Buffer.alloc(3000, 0x20));
    expect(expectProblem(chunked, 413, 'SLUICE_BODY_TOO_LARGE').maxBodyBytes).toBe(2048);
    expect(chunked.headers.connection).toBe('close');

    // The batch route has its own, larger limit.
    const events = Array.from({ length: 8 }, () => validEvent());
    const bigBatch = await postBatch(url, apiKey, events);
    expect(expectProblem(bigBatch, 413, 'SLUICE_BODY_TOO_LARGE').maxBodyBytes).toBe(4096);
    const fitting = await postBatch(url, apiKey, events.slice(0, 3));
    expect(fitting.status).toBe(202);

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [
      ...events.slice(0, 3).map((event) => event.id as string),
      ok,
    ]);
  });

  it('answers 413 SLUICE_EVENT_TOO_LARGE to an event whose encoding exceeds SLUICE_MAX_EVENT_BYTES', async () => {
    const { setup, url, apiKey } = await startGateway({ SLUICE_MAX_EVENT_BYTES: '1024' });
    const order = fixtureData('order.created');
    const items = order.items as Array<Record<string, unknown>>;
    const huge = validEvent({
      data: { ...order, items: [{ ...items[0], productName: 'x'.repeat(2000) }, items[1]] },
    });

    const answer = await postEvent(url, apiKey, huge);
    expect(expectProblem(answer, 413, 'SLUICE_EVENT_TOO_LARGE').maxEventBytes).toBe(1024);

    // In a batch the large event alone is refused.
    const small = validEvent();
    const batch = await postBatch(url, apiKey, [huge, small]);
    expect(batch.status).toBe(207);
    expect(batch.json).toMatchObject({
      results: [
        {
          index: 0,
          id: huge.id,
          status: 413,
          error: { code: 'SLUICE_EVENT_TOO_LARGE', maxEventBytes: 1024 },
        },
        { index: 1, id: small.id, status: 202 },
      ],
    });

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [small.id as string, ok]);
  });

  it('answers 413 SLUICE_BATCH_TOO_LARGE to a batch of more than SLUICE_MAX_BATCH_EVENTS events', async () => {
    const { setup, url, apiKey } = await startGateway({ SLUICE_MAX_BATCH_EVENTS: '5' });
    const six = Array.from({ length: 6 }, () => validEvent());

    const array = await postBatch(url, apiKey, six);
    expect(expectProblem(array, 413, 'SLUICE_BATCH_TOO_LARGE').maxBatchEvents).toBe(5);
    const ndjson = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/x-ndjson',
      body: six.map((event) => JSON.stringify(event)).join('\n'),
    });
    expectProblem(ndjson, 413, 'SLUICE_BATCH_TOO_LARGE');
    const cloudEvents = await send(url, {
      apiKey,
      path: '/v1/events/batch',
      contentType: 'application/cloudevents-batch+json',
      body: six.map((event) => ({
        specversion: '1.0',
        id: event.id,
        type: event.type,
        source: '/s',
        data: event.data,
      })),
    });
    expectProblem(cloudEvents, 413, 'SLUICE_BATCH_TOO_LARGE');

    // Exactly the limit is fine.
    const five = await postBatch(url, apiKey, six.slice(0, 5));
    expect(five.status).toBe(202);
    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [
      ...six.slice(0, 5).map((event) => event.id as string),
      ok,
    ]);
  });

  it('answers 415 SLUICE_UNSUPPORTED_MEDIA_TYPE to a content type the route does not take', async () => {
    const { setup, url, apiKey } = await startGateway();
    const body = JSON.stringify(validEvent());
    for (const [path, contentType] of [
      ['/v1/events', 'text/plain'],
      ['/v1/events', 'application/x-ndjson'],
      ['/v1/events', 'application/cloudevents-batch+json'],
      ['/v1/events', undefined],
      ['/v1/events/batch', 'application/cloudevents+json'],
      ['/v1/events/batch', 'application/xml'],
    ] as const) {
      const answer = await send(url, { apiKey, path, contentType, body });
      expectProblem(answer, 415, 'SLUICE_UNSUPPORTED_MEDIA_TYPE');
    }

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [ok]);
  });

  it('answers 422 to an unknown type and to schema-invalid data, with the failing field path', async () => {
    const { setup, url, apiKey } = await startGateway();
    const order = fixtureData('order.created');
    const items = order.items as Array<Record<string, unknown>>;

    const unknown = await postEvent(url, apiKey, validEvent({ type: 'order.teleported' }));
    const unknownProblem = expectProblem(unknown, 422, 'SLUICE_UNKNOWN_EVENT_TYPE');
    expect(unknownProblem).toMatchObject({
      type: 'https://sluice.dev/problems/unknown-event-type',
      field: 'type',
    });

    const cases: Array<[string, Record<string, unknown>]> = [
      ['data.items[1].quantity', { ...order, items: [items[0], { ...items[1], quantity: '3' }] }],
      ['data.customerId', { ...order, customerId: undefined }],
      ['data.totalMinr', { ...order, totalMinr: 1 }],
      ['data.channel', { ...order, channel: 'TELEVISION' }],
      ['data.placedAt', { ...order, placedAt: '05/11/2024 14:32' }],
      [
        'data.shippingAddress.city',
        { ...order, shippingAddress: { ...(order.shippingAddress as object), city: 7 } },
      ],
    ];
    for (const [field, data] of cases) {
      const answer = await postEvent(url, apiKey, validEvent({ data }));
      const problem = expectProblem(answer, 422, 'SLUICE_SCHEMA_INVALID');
      expect(problem.field).toBe(field);
      expect(problem.detail).toContain(field);
    }
    // data must be an object of the schema, not anything else.
    const notAnObject = await postEvent(url, apiKey, validEvent({ data: [1, 2] }));
    expect(expectProblem(notAnObject, 422, 'SLUICE_SCHEMA_INVALID').field).toMatch(/^data/);

    const ok = await expectStillAccepting(url, apiKey);
    await expectExactlyInKafka(setup.eventsTopic, [ok]);
  });

  it('answers 429 SLUICE_RATE_LIMITED with Retry-After and RateLimit headers once the key’s budget is spent', async () => {
    const setup = await prepareIngestGateway([
      { producerId: 'slow', ratePerSecond: 1, burst: 1 },
      { producerId: producer },
    ]);
    const { url } = await startTestGateway(setup);
    const slowKey = setup.keys.slow!;

    const first = await postEvent(url, slowKey, validEvent());
    expect(first.status).toBe(202);
    expect(first.headers['ratelimit-policy']).toBe('"default";q=1;w=1');
    expect(first.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/);

    const second = await postEvent(url, slowKey, validEvent());
    expectProblem(second, 429, 'SLUICE_RATE_LIMITED');
    const retryAfter = expectRetryAfter(second);
    expect(second.headers['ratelimit-policy']).toBe('"default";q=1;w=1');
    expect(second.headers.ratelimit).toBe(`"default";r=0;t=${retryAfter}`);

    // Other keys have their own budget.
    const other = await expectStillAccepting(url, setup.keys[producer]!);
    // Waiting as long as Retry-After says is enough for the same key.
    await sleep(retryAfter * 1000);
    // A batch costs one token per event: two events can never fit a burst of 1, and waiting cannot
    // help, so that is a 413 without Retry-After, and it spends nothing.
    const batch = await postBatch(url, slowKey, [validEvent(), validEvent()]);
    expect(expectProblem(batch, 413, 'SLUICE_BATCH_TOO_LARGE').burst).toBe(1);
    expect(batch.headers['retry-after']).toBeUndefined();
    const later = await postEvent(url, slowKey, validEvent());
    expect(later.status).toBe(202);

    await expectExactlyInKafka(setup.eventsTopic, [
      (first.json as { id: string }).id,
      other,
      (later.json as { id: string }).id,
    ]);
  });
});
