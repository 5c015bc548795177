import { describe, expect, it } from 'vitest';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { call } from '../replay/replay-fixture.js';

/** The workers' settings the gateway bounds subscriptions with: three tiers, a 3-s timeout. */
const bounds = { SLUICE_RETRY_SCHEDULE: '1s,2s,4s', SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '3s' };

async function gateway() {
  const setup = await prepareGateway([{ producerId: 'ops', role: 'admin' }], bounds);
  const { url } = await startTestGateway(setup);
  const admin = await connectedAdmin();
  /** Records ever written to the subscriptions topic: a refused write adds none. */
  const records = async () =>
    (await admin.fetchTopicOffsets(setup.subscriptionsTopic)).reduce((sum, p) => sum + Number(p.high), 0);
  return { url, key: setup.keys.ops!, records };
}

const valid = {
  url: 'https://hooks.example.com/orders',
  eventTypes: ['order.created'],
  filter: { 'data.totalMinor': { $gt: 500 }, 'data.currency': { $in: ['EUR', 'USD'] } },
  headers: { Authorization: { value: 'Bearer 0123456789abcdef', secret: true }, 'X-Shop': 'eu' },
  retry: { schedule: ['2s', '4s'], maxAttempts: 3 },
  timeoutMs: 3000,
};

function fieldsOf(answer: { json: { errors?: Array<{ field: string }> } }): string[] {
  return (answer.json.errors ?? []).map((problem) => problem.field);
}

describe('subscription filter, headers, retry and timeoutMs (in-process gateway, real Kafka)', () => {
  it('refuses a filter path no matching event type has, or an operator outside the list, naming it, storing nothing', async () => {
    const { url, key, records } = await gateway();
    const before = await records();
    const badPath = await call(url, 'POST', '/v1/subscriptions', {
      key,
      body: { ...valid, eventTypes: ['order.*'], filter: { 'data.total': { $gt: 500 } } },
    });
    expect(badPath.status).toBe(422);
    expect(badPath.headers['content-type']).toBe('application/problem+json');
    expect(badPath.json).toMatchObject({
      code: 'SLUICE_INVALID_SUBSCRIPTION',
      errors: [
        {
          field: 'filter["data.total"].$gt',
          message:
            'data.total is not a field of any event type eventTypes match (order.cancelled, order.created, order.fulfilled)',
        },
      ],
    });
    const badOperator = await call(url, 'POST', '/v1/subscriptions', {
      key,
      body: { ...valid, filter: { $where: 'this.data.totalMinor > 500', 'data.currency': { $regex: '^E' } } },
    });
    expect(badOperator.status).toBe(422);
    expect(badOperator.json.errors).toEqual([
      { field: 'filter.$where', message: expect.stringContaining('$where is not a supported operator') },
      {
        field: 'filter["data.currency"].$regex',
        message: expect.stringContaining('$regex is not a supported operator; use one of $eq, $ne, $in'),
      },
    ]);
    const wrongKind = await call(url, 'POST', '/v1/subscriptions', {
      key,
      body: { ...valid, filter: { 'data.totalMinor': { $gt: '500' } } },
    });
    expect(wrongKind.json.errors).toEqual([
      {
        field: 'filter["data.totalMinor"].$gt',
        message: 'data.totalMinor holds a number, so $gt with a string can never match (in order.created)',
      },
    ]);
    expect((await call(url, 'GET', '/v1/subscriptions', { key })).json.subscriptions).toEqual([]);
    expect(await records()).toBe(before);
  });

  it('refuses bad input on every new field, on create and on patch, and changes nothing stored', async () => {
    const { url, key, records } = await gateway();
    const created = await call(url, 'POST', '/v1/subscriptions', { key, body: valid });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      filter: valid.filter,
      headers: { authorization: { secret: true }, 'x-shop': 'eu' },
      retry: { schedule: ['2s', '4s'], maxAttempts: 3 },
      timeoutMs: 3000,
    });
    const id: string = created.json.id;
    const stored = (await call(url, 'GET', `/v1/subscriptions/${id}`, { key })).json;
    const written = await records();

    const everyFieldBad = {
      filter: { 'data.totalMinor': { $gt: true } },
      headers: { 'Content-Type': 'text/plain', 'X-Bad': 'a\r\nb', 'bad name': 'x' },
      retry: { schedule: ['5s'], maxAttempts: 9 },
      timeoutMs: 3001,
    };
    const refusedCreate = await call(url, 'POST', '/v1/subscriptions', {
      key,
      body: { ...valid, ...everyFieldBad },
    });
    expect(refusedCreate.status).toBe(422);
    expect(fieldsOf(refusedCreate)).toEqual([
      'filter["data.totalMinor"].$gt',
      'headers["Content-Type"]',
      'headers["X-Bad"]',
      'headers["bad name"]',
      'retry.schedule[0]',
      'retry.maxAttempts',
      'timeoutMs',
    ]);
    const refusedPatch = await call(url, 'PATCH', `/v1/subscriptions/${id}`, {
      key,
      body: { description: 'must not be applied', ...everyFieldBad },
    });
    expect(refusedPatch.status).toBe(422);
    expect(fieldsOf(refusedPatch)).toEqual(fieldsOf(refusedCreate));
    expect(refusedPatch.json.errors.find((p: { field: string }) => p.field === 'timeoutMs').message).toBe(
      'timeoutMs must be whole milliseconds from 100 to 3000 (SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS), or null for that, got 3001',
    );
    expect(
      refusedPatch.json.errors.find((p: { field: string }) => p.field === 'retry.schedule[0]').message,
    ).toContain("one of SLUICE_RETRY_SCHEDULE's (1s, 2s, 4s)");

    // One bad field at a time, each named.
    const oneAtATime: Array<[body: Record<string, unknown>, field: string | string[]]> = [
      [{ filter: 'data.totalMinor > 500' }, 'filter'],
      [{ filter: { 'data.items': { $elemMatch: { sku: 'A' } } } }, 'filter["data.items"].$elemMatch'],
      [{ filter: { 'data.nope': 1 } }, 'filter["data.nope"]'],
      // The stored filter would name fields order.cancelled lacks.
      [{ eventTypes: ['order.cancelled'] }, ['filter["data.totalMinor"].$gt', 'filter["data.currency"].$in']],
      [{ headers: { 'Webhook-Signature': 'v1,forged' } }, 'headers["Webhook-Signature"]'],
      [{ headers: { 'X-Api-Key': { secret: true } } }, 'headers["x-api-key"]'],
      [{ headers: ['authorization: x'] }, 'headers'],
      [{ retry: { schedule: ['4s', '2s'] } }, 'retry.schedule'],
      [{ retry: { maxAttempts: 5 } }, 'retry.maxAttempts'],
      [{ retry: { delays: ['1s'] } }, 'retry.delays'],
      [{ timeoutMs: 50 }, 'timeoutMs'],
      [{ timeoutMs: '2s' }, 'timeoutMs'],
    ];
    for (const [body, field] of oneAtATime) {
      const answer = await call(url, 'PATCH', `/v1/subscriptions/${id}`, { key, body });
      expect(
        { status: answer.status, code: answer.json.code, fields: fieldsOf(answer) },
        JSON.stringify(body),
      ).toEqual({
        status: 422,
        code: 'SLUICE_INVALID_SUBSCRIPTION',
        fields: [field].flat(),
      });
    }
    expect((await call(url, 'GET', `/v1/subscriptions/${id}`, { key })).json).toEqual(stored);
    expect(await records()).toBe(written);
    expect((await call(url, 'GET', '/v1/subscriptions', { key })).json.subscriptions).toHaveLength(1);
  });

  it('keeps a secret header through a PATCH that sends back what GET showed, and clears fields with null', async () => {
    const { url, key } = await gateway();
    const created = await call(url, 'POST', '/v1/subscriptions', { key, body: valid });
    const id: string = created.json.id;
    const shown = (await call(url, 'GET', `/v1/subscriptions/${id}`, { key })).json;
    const roundTrip = await call(url, 'PATCH', `/v1/subscriptions/${id}`, {
      key,
      body: { headers: shown.headers, retry: { maxAttempts: 1 } },
    });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.json).toMatchObject({
      headers: { authorization: { secret: true }, 'x-shop': 'eu' },
      retry: { schedule: null, maxAttempts: 1 },
    });
    const cleared = await call(url, 'PATCH', `/v1/subscriptions/${id}`, {
      key,
      body: { filter: null, headers: null, retry: null, timeoutMs: null },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.json).toMatchObject({ filter: null, headers: {}, retry: null, timeoutMs: null });
    // With the secret gone, sending {"secret": true} back has nothing to keep.
    const nothingToKeep = await call(url, 'PATCH', `/v1/subscriptions/${id}`, {
      key,
      body: { headers: shown.headers },
    });
    expect(nothingToKeep.status).toBe(422);
    expect(nothingToKeep.json.errors).toEqual([
      {
        field: 'headers["authorization"]',
        message: 'no secret value is stored for authorization to keep; send {"value": "…", "secret": true}',
      },
    ]);
  });
});
