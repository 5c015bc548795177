import { Agent } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import {
  decodeRecord,
  expectProblem,
  expectRetryAfter,
  fixtureData,
  postBatch,
  postEvent,
  prepareIngestGateway,
  recordsByEventId,
  uniqueEventId,
  validEvent,
} from './ingest-client.js';

// README.md#ingest-api: an event's id is its idempotency key per producer. A repeat returns the original
// result marked duplicate and is not written twice; a repeat while the first is still in flight
// gets 409 with Retry-After. Checked against real Redis and counted in real Kafka.

describe('gateway ingest: idempotency by event id', () => {
  it('answers a sequential repeat with 202 duplicate and writes the event once, with the first data', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys['shop-eu']!;
    const id = uniqueEventId('seq');
    const first = validEvent({ id, key: 'order-1' });
    // The repeat carries other data: the first write wins and the repeat is not written.
    const repeat = validEvent({
      id,
      key: 'order-1',
      data: { ...fixtureData('order.created'), orderId: 'ord_2' },
    });

    const firstAnswer = await postEvent(url, apiKey, first);
    expect(firstAnswer.status).toBe(202);
    expect(firstAnswer.json).toEqual({ id, status: 'accepted' });
    const repeatAnswer = await postEvent(url, apiKey, repeat);
    expect(repeatAnswer.status).toBe(202);
    expect(repeatAnswer.json).toEqual({ id, status: 'accepted', duplicate: true });
    // A repeat inside a batch is recognised too.
    const batchAnswer = await postBatch(url, apiKey, [repeat]);
    expect(batchAnswer.status).toBe(202);
    expect(batchAnswer.json).toEqual({
      accepted: 1,
      rejected: 0,
      results: [{ index: 0, id, status: 202, duplicate: true }],
    });

    const records = await readTopic(setup.eventsTopic, 1, { settleMs: 2000 });
    expect(records).toHaveLength(1);
    expect(decodeRecord(records[0]!).data).toMatchObject({ orderId: fixtureData('order.created').orderId });
  });

  it('writes an id sent by 20 concurrent requests exactly once, the others getting 202 duplicate or 409', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys['shop-eu']!;
    // One connection per request, so the 20 really race inside the gateway.
    const agent = new Agent({ connections: 32, pipelining: 0 });
    onTestFinished(() => agent.close());

    const rounds = 5;
    const parallel = 20;
    const ids: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const id = uniqueEventId(`race-${round}`);
      ids.push(id);
      const answers = await Promise.all(
        Array.from({ length: parallel }, () =>
          postEvent(url, apiKey, validEvent({ id }), { dispatcher: agent }),
        ),
      );
      const firstWrites = answers.filter(
        (answer) => answer.status === 202 && (answer.json as { duplicate?: boolean }).duplicate !== true,
      );
      expect(firstWrites, `round ${round}: answers not marked duplicate`).toHaveLength(1);
      for (const answer of answers) {
        if (answer.status === 202) {
          expect(answer.json).toMatchObject({ id, status: 'accepted' });
        } else {
          const problem = expectProblem(answer, 409, 'SLUICE_IDEMPOTENCY_IN_FLIGHT');
          expect(problem.detail).toContain(id);
          expectRetryAfter(answer);
        }
      }
      // Once the first request was answered the event is settled: a repeat is a plain duplicate.
      const after = await postEvent(url, apiKey, validEvent({ id }));
      expect(after.json).toEqual({ id, status: 'accepted', duplicate: true });
    }

    const records = await readTopic(setup.eventsTopic, rounds, { settleMs: 2000 });
    const byId = recordsByEventId(records);
    expect([...byId.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(byId.get(id), id).toHaveLength(1);
  });

  it('writes an id repeated inside one batch once and marks the repeat as a duplicate of the first', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);
    const apiKey = setup.keys['shop-eu']!;
    const a = validEvent({ key: 'order-a' });
    const b = validEvent({ key: 'order-b' });
    const answer = await postBatch(url, apiKey, [a, b, { ...a }, { ...b }, a]);
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({
      accepted: 5,
      rejected: 0,
      results: [
        { index: 0, id: a.id, status: 202 },
        { index: 1, id: b.id, status: 202 },
        { index: 2, id: a.id, status: 202, duplicate: true },
        { index: 3, id: b.id, status: 202, duplicate: true },
        { index: 4, id: a.id, status: 202, duplicate: true },
      ],
    });

    const records = await readTopic(setup.eventsTopic, 2, { settleMs: 2000 });
    expect(records.map((record) => record.headers.ce_id).sort()).toEqual([a.id, b.id].sort());
  });

  it('keeps ids per producer: the same id from another producer is a different event', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'shop-eu' }, { producerId: 'shop-us' }]);
    const { url } = await startTestGateway(setup);
    const id = uniqueEventId('shared');
    const eu = await postEvent(url, setup.keys['shop-eu'], validEvent({ id }));
    const us = await postEvent(url, setup.keys['shop-us'], validEvent({ id }));
    expect(eu.json).toEqual({ id, status: 'accepted' });
    expect(us.json).toEqual({ id, status: 'accepted' });

    const records = await readTopic(setup.eventsTopic, 2, { settleMs: 1500 });
    expect(records).toHaveLength(2);
    expect(records.map((record) => record.headers.sluice_producer).sort()).toEqual(['shop-eu', 'shop-us']);
  });
});
