import { Webhook } from 'standardwebhooks';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fromKafkaMessage } from '../../common/kafka/index.js';
import { buildDeadLetter } from '../../common/retry/retry-records.js';
import { openApiDocument } from '../../gateway/openapi/openapi-document.js';
import type { AttemptView } from '../../gateway/delivery-log/delivery-log.js';
import { fixtureData, startReceiver } from '../delivery/delivery-fixture.js';
import { countRows, produceAttempts, startTestLog, waitFor, waitForNoLag } from '../log/log-fixture.js';
import { call, recordCount, startReplayGateway, type Answer } from '../replay/replay-fixture.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, testKafka, testProducer } from '../support/kafka-fixture.js';
import { spawnCli } from '../support/cli-process.js';
import { createOpenApiValidator } from '../support/openapi-validator.js';
import { uniqueName } from '../support/stack-env.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
import { withPostgresClient } from '../../common/postgres/index.js';
import {
  attempt,
  migratedDatabase,
  produceEvent,
  startGatewayWorker,
  writeAttempts,
} from './log-api-fixture.js';

const validator = createOpenApiValidator(openApiDocument);
const logOperations = validator.operations.filter((operation) =>
  Object.entries(openApiDocument.paths ?? {}).some(
    ([path, item]) =>
      operation.endsWith(` ${path}`) &&
      Object.values(item).some((op: { tags?: string[] }) => op.tags?.includes('delivery log') === true),
  ),
);

/** Calls the gateway and checks the answer against the OpenAPI document. */
async function documented(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  options: { key?: string; body?: unknown } = {},
): Promise<Answer> {
  const answer = await call(url, method, path, options);
  const errors = validator.check({
    method,
    path: path.split('?')[0]!,
    status: answer.status,
    headers: answer.headers as Record<string, string>,
    body: answer.text,
  });
  expect(errors, `${method} ${path} ${answer.status} ${answer.text}`).toEqual([]);
  return answer;
}

async function subscription(url: string, admin: string, eventTypes = ['order.*']): Promise<string> {
  const created = await call(url, 'POST', '/v1/subscriptions', {
    key: admin,
    body: { url: 'http://127.0.0.1:9/hook', eventTypes },
  });
  expect(created.status, created.text).toBe(201);
  return created.json.id as string;
}

describe('the delivery log API', () => {
  // The contract test (test/gateway/openapi-contract.int.test.ts) leaves these operations to this
  // file: when all of it ran (not a -t selection), each must have been seen succeeding.
  let testsRun = 0;
  beforeEach(() => {
    testsRun++;
  });
  afterAll(() => {
    if (testsRun < 6) return;
    const withoutSuccess = validator.operations
      .filter((operation) => logOperations.includes(operation))
      .filter((operation) => ![...validator.seen].some((seen) => seen.startsWith(`${operation} 2`)));
    expect(logOperations).toHaveLength(8);
    expect(withoutSuccess).toEqual([]);
  });

  it("answers an event's status and attempts, and hides other producers' events", async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const eventId = uniqueName('evt');
    await writeAttempts(db, [
      attempt(
        {
          eventId,
          subscriptionId: 'sub-a',
          outcome: 'retry-scheduled',
          statusCode: 503,
          nextAttemptAt: new Date().toISOString(),
        },
        5000,
      ),
      attempt({ eventId, subscriptionId: 'sub-a', attempt: 2 }, 1000),
      attempt(
        {
          eventId,
          subscriptionId: 'sub-b',
          outcome: 'retry-scheduled',
          statusCode: null,
          errorClass: 'timeout',
          nextAttemptAt: new Date(Date.now() + 30_000).toISOString(),
        },
        500,
      ),
      attempt({ eventId, subscriptionId: 'sub-c', outcome: 'dead-lettered', statusCode: 500 }, 400),
      attempt(
        { eventId, subscriptionId: 'sub-d', outcome: 'filtered', statusCode: null, latencyMs: null },
        300,
      ),
    ]);
    const othersEvent = uniqueName('evt');
    await writeAttempts(db, [
      attempt({ eventId: othersEvent, subscriptionId: 'sub-a', producerId: 'other' }),
    ]);

    const status = await documented(gw.url, 'GET', `/v1/events/${eventId}`, { key: gw.producer });
    expect(status.status).toBe(200);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
    const bySubscription: Record<string, any> = Object.fromEntries(
      (status.json.subscriptions as Array<{ subscriptionId: string }>).map((entry) => [
        entry.subscriptionId,
        entry,
      ]),
    );
    expect(bySubscription['sub-a']).toMatchObject({ status: 'delivered', attempts: 2, nextAttemptAt: null });
    expect(bySubscription['sub-a'].lastAttempt).toMatchObject({ attempt: 2, statusCode: 200 });
    expect(bySubscription['sub-b']).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(bySubscription['sub-b'].nextAttemptAt).toEqual(expect.any(String));
    expect(bySubscription['sub-c']).toMatchObject({ status: 'dead-lettered' });
    expect(bySubscription['sub-d']).toMatchObject({ status: 'filtered' });

    const attempts = await documented(gw.url, 'GET', `/v1/events/${eventId}/attempts`, { key: gw.admin });
    expect(attempts.json.attempts).toHaveLength(5);
    expect(attempts.json.attempts[1]).toMatchObject({
      subscriptionId: 'sub-a',
      attempt: 2,
      responseBody: 'ok',
    });

    // Another producer's event is not found for this producer (the same answer as an unknown id).
    const hidden = await documented(gw.url, 'GET', `/v1/events/${othersEvent}`, { key: gw.producer });
    const unknown = await documented(gw.url, 'GET', '/v1/events/evt_nothing', { key: gw.producer });
    expect([hidden.status, hidden.json.code]).toEqual([404, 'SLUICE_NOT_FOUND']);
    expect([unknown.status, unknown.json.code]).toEqual([404, 'SLUICE_NOT_FOUND']);
    expect(
      (await documented(gw.url, 'GET', `/v1/events/${othersEvent}/attempts`, { key: gw.producer })).status,
    ).toBe(404);
    expect((await documented(gw.url, 'GET', `/v1/events/${othersEvent}`, { key: gw.admin })).status).toBe(
      200,
    );
  });

  it("pages a subscription's attempts, filters them, refuses bad queries and reports stats", async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const sub = await subscription(gw.url, gw.admin);
    const records = Array.from({ length: 7 }, (_, index) =>
      attempt(
        {
          eventId: `e-${index}`,
          subscriptionId: sub,
          outcome: index % 3 === 0 ? 'retry-scheduled' : 'delivered',
          statusCode: index % 3 === 0 ? 503 : 200,
          latencyMs: 10 * (index + 1),
        },
        (7 - index) * 1000,
      ),
    );
    await writeAttempts(db, records);
    const path = `/v1/subscriptions/${sub}/attempts`;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await documented(
        gw.url,
        'GET',
        `${path}?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { key: gw.admin },
      );
      expect(page.status).toBe(200);
      seen.push(...(page.json.attempts as Array<{ eventId: string }>).map((entry) => entry.eventId));
      cursor = page.json.nextCursor as string | null;
    } while (cursor !== null);
    expect(seen).toEqual(['e-6', 'e-5', 'e-4', 'e-3', 'e-2', 'e-1', 'e-0']);

    const failed = await documented(gw.url, 'GET', `${path}?status=5xx`, { key: gw.admin });
    expect(failed.json.attempts.map((entry: { eventId: string }) => entry.eventId)).toEqual([
      'e-6',
      'e-3',
      'e-0',
    ]);
    const delivered = await documented(
      gw.url,
      'GET',
      `${path}?outcome=delivered&since=${new Date(Date.now() - 3500).toISOString()}`,
      { key: gw.admin },
    );
    expect(delivered.json.attempts.map((entry: { eventId: string }) => entry.eventId)).toEqual([
      'e-5',
      'e-4',
    ]);

    for (const [query, field] of [
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['cursor=%%%', 'cursor'],
      ['limit=101', 'limit'],
      ['limit=0', 'limit'],
      ['status=6xx', 'status'],
      ['outcome=lost', 'outcome'],
      ['since=yesterday', 'since'],
      [`since=${new Date().toISOString()}&until=${new Date(Date.now() - 1000).toISOString()}`, 'until'],
      ['colour=red', 'colour'],
    ] as const) {
      const bad = await documented(gw.url, 'GET', `${path}?${query}`, { key: gw.admin });
      expect([bad.status, bad.json.code, bad.json.field], query).toEqual([
        400,
        'SLUICE_INVALID_QUERY',
        field,
      ]);
    }
    const unknownSub = await documented(
      gw.url,
      'GET',
      '/v1/subscriptions/sub_nosuchsubscription0000000/attempts',
      { key: gw.admin },
    );
    expect(unknownSub.status).toBe(404);
    expect((await documented(gw.url, 'GET', path, { key: gw.producer })).status).toBe(403);

    const stats = await documented(gw.url, 'GET', `/v1/subscriptions/${sub}/stats`, { key: gw.admin });
    expect(stats.json.lastHour).toMatchObject({ attempts: 7, delivered: 4 });
    expect(stats.json.lastHour.successRate).toBeCloseTo(4 / 7);
    expect(stats.json.lastDay.latencyMs.p50).toBe(40);
    expect(stats.json.consecutiveFailures).toBe(1);
    expect(stats.json.lastSuccessAt).toEqual(expect.any(String));
    expect(stats.json.lastFailureAt).toEqual(expect.any(String));
  });

  it('resends one event to exactly one subscription and refuses a pair that never matched', async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const matched = await subscription(gw.url, gw.admin);
    const unmatched = await subscription(gw.url, gw.admin, ['user.*']);
    const event = await produceEvent(gw.setup.eventsTopic);
    await writeAttempts(db, [attempt({ eventId: event.id, subscriptionId: matched })], event.source);

    const resent = await documented(
      gw.url,
      'POST',
      `/v1/subscriptions/${matched}/events/${event.id}/resend`,
      { key: gw.admin },
    );
    expect(resent.status, resent.text).toBe(202);
    expect(resent.json).toMatchObject({ eventId: event.id, subscriptionId: matched, source: event.source });
    const tier = gw.retryTopics[0]!;
    expect(await recordCount(tier)).toBe(1);
    const records = await readTopic(tier, 1);
    expect(records[0]!.headers).toMatchObject({
      ce_id: event.id,
      sluice_subscription_id: matched,
      sluice_replay_id: resent.json.replayId,
      sluice_attempt: '1',
    });

    const refused = await documented(
      gw.url,
      'POST',
      `/v1/subscriptions/${unmatched}/events/${event.id}/resend`,
      { key: gw.admin },
    );
    expect([refused.status, refused.json.code]).toEqual([422, 'SLUICE_RESEND_REFUSED']);
    const unknown = await documented(
      gw.url,
      'POST',
      `/v1/subscriptions/${matched}/events/evt_unknown/resend`,
      { key: gw.admin },
    );
    expect([unknown.status, unknown.json.code]).toEqual([404, 'SLUICE_NOT_FOUND']);
    expect(
      (
        await documented(gw.url, 'POST', `/v1/subscriptions/${matched}/events/${event.id}/resend`, {
          key: gw.producer,
        })
      ).status,
    ).toBe(403);
    expect(await recordCount(tier)).toBe(1);
  });

  it('a resend is delivered once more, signed, to that subscription alone, and logged as one more attempt', async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const receiver = await startReceiver();
    const create = async (path: string, eventTypes: string[]) => {
      const created = await call(gw.url, 'POST', '/v1/subscriptions', {
        key: gw.admin,
        body: { url: `${receiver.url}${path}`, eventTypes },
      });
      expect(created.status, created.text).toBe(201);
      return created.json as { id: string; secret: string };
    };
    const a = await create('/a', ['order.*']);
    const b = await create('/b', ['order.*']);
    const never = await create('/never', ['user.*']);
    const fatal = await startGatewayWorker(gw);
    const log = await startTestLog({
      databaseUrl: db,
      topic: gw.setup.env.SLUICE_ATTEMPTS_TOPIC!,
      env: { SLUICE_DLQ_TOPIC: gw.dlqTopic },
    });
    const accepted = await call(gw.url, 'POST', '/v1/events', {
      key: gw.producer,
      body: { type: 'order.created', key: uniqueName('order'), data: fixtureData('order.created') },
    });
    expect(accepted.status, accepted.text).toBe(202);
    const eventId = accepted.json.id as string;
    const attemptsOf = async () =>
      (await documented(gw.url, 'GET', `/v1/events/${eventId}/attempts`, { key: gw.admin })).json
        ?.attempts as AttemptView[] | undefined;
    const byPath = () => {
      const counts: Record<string, number> = {};
      for (const request of receiver.received) {
        const path = request.path.slice(request.path.lastIndexOf('/'));
        counts[path] = (counts[path] ?? 0) + 1;
      }
      return counts;
    };
    // Both matching subscriptions delivered once, and the log holds both attempts.
    await waitFor(attemptsOf, (attempts) => attempts?.length === 2, 60_000);
    expect(byPath()).toEqual({ '/a': 1, '/b': 1 });

    const resent = await documented(gw.url, 'POST', `/v1/subscriptions/${a.id}/events/${eventId}/resend`, {
      key: gw.admin,
    });
    expect(resent.status, resent.text).toBe(202);
    const attempts = await waitFor(attemptsOf, (found) => found?.length === 3, 60_000);
    // Settled: the log has read its topic to the end and nothing more reaches the receiver.
    expect(await waitForNoLag(log.adminUrl, 30_000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(byPath()).toEqual({ '/a': 2, '/b': 1 });
    expect((await attemptsOf())?.length).toBe(3);

    const again = receiver.received.filter((request) => request.path.endsWith('/a'))[1]!;
    expect(again.headers['webhook-id']).toBe(eventId);
    const verified = new Webhook(a.secret).verify(again.body, {
      'webhook-id': String(again.headers['webhook-id']),
      'webhook-timestamp': String(again.headers['webhook-timestamp']),
      'webhook-signature': String(again.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ type: 'order.created' });
    const summary = attempts!.map((attempt) => ({
      subscriptionId: attempt.subscriptionId,
      outcome: attempt.outcome,
      statusCode: attempt.statusCode,
      replayId: attempt.replayId,
    }));
    expect(summary).toEqual(
      expect.arrayContaining([
        { subscriptionId: a.id, outcome: 'delivered', statusCode: 200, replayId: null },
        { subscriptionId: a.id, outcome: 'delivered', statusCode: 200, replayId: resent.json.replayId },
        { subscriptionId: b.id, outcome: 'delivered', statusCode: 200, replayId: null },
      ]),
    );
    const status = await documented(gw.url, 'GET', `/v1/events/${eventId}`, { key: gw.producer });
    expect(
      Object.fromEntries(
        (
          status.json.subscriptions as Array<{ subscriptionId: string; status: string; attempts: number }>
        ).map((entry) => [entry.subscriptionId, [entry.status, entry.attempts]]),
      ),
    ).toEqual({ [a.id]: ['delivered', 2], [b.id]: ['delivered', 1] });

    // A subscription the event never matched: refused, saying why, and nothing is queued or sent.
    const queued = await recordCount(gw.retryTopics[0]!);
    const refused = await documented(
      gw.url,
      'POST',
      `/v1/subscriptions/${never.id}/events/${eventId}/resend`,
      { key: gw.admin },
    );
    expect([refused.status, refused.json.code]).toEqual([422, 'SLUICE_RESEND_REFUSED']);
    expect(refused.json.detail).toContain(
      `subscription ${never.id} never had a delivery of event ${eventId}`,
    );
    expect(refused.json.detail).toContain('did not match');
    expect(await recordCount(gw.retryTopics[0]!)).toBe(queued);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(byPath()).toEqual({ '/a': 2, '/b': 1 });
    expect(fatal).toEqual([]);
  });

  it('logs dead letters once, lists and shows them, and replays a selection (dry run first)', async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const attemptsTopic = uniqueName('attempts');
    const admin = await connectedAdmin();
    await createTopicsWithLeaders(admin, [{ topic: attemptsTopic, numPartitions: 1, replicationFactor: 1 }]);
    const logEnv = { SLUICE_DLQ_TOPIC: gw.dlqTopic };
    // Three dead letters of two subscriptions, and one poison record, as the worker writes them.
    const events = [
      await produceEvent(gw.setup.eventsTopic),
      await produceEvent(gw.setup.eventsTopic),
      await produceEvent(gw.setup.eventsTopic),
    ];
    const source = await readTopic(gw.setup.eventsTopic, 3);
    const producer = testProducer();
    await producer.connect();
    const letters = source.map((record, index) =>
      buildDeadLetter(gw.dlqTopic, record, {
        reason: 'retries-exhausted',
        subscriptionId: index === 2 ? 'sub-y' : 'sub-x',
        attempts: 10,
        lastStatus: 500,
        lastError: undefined,
        origin: `${record.topic}/${record.partition}/${record.offset}`,
        nowMs: Date.now() - (3 - index) * 1000,
      }),
    );
    const poison = {
      ...letters[0]!,
      value: Buffer.from('not avro'),
      headers: { sluice_dlq_reason: 'bad-magic-byte', sluice_attempts: '0' },
    };
    await producer.send({
      topic: gw.dlqTopic,
      acks: -1,
      messages: [...letters, poison].map(({ key, value, headers }) => ({ key, value, headers })),
    });
    await producer.disconnect();

    await startTestLog({ databaseUrl: db, topic: attemptsTopic, env: logEnv });
    await produceAttempts(testProducer(), attemptsTopic, []);
    const deadLetterRows = () =>
      withPostgresClient(db, async (client) =>
        Number((await client.query('SELECT count(*) AS n FROM dead_letters')).rows[0].n),
      );
    expect(await waitFor(deadLetterRows, (n) => n === 4, 30_000)).toBe(4);
    // Read again by another group (a lost commit): stored once.
    const again = await startTestLog({ databaseUrl: db, topic: attemptsTopic, env: logEnv });
    await waitFor(
      async () => (await fetch(`${again.adminUrl}/readyz`)).status,
      (s) => s === 200,
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await deadLetterRows()).toBe(4);
    expect(await countRows(db)).toEqual({ rows: 0, distinct: 0 });

    const list = await documented(gw.url, 'GET', '/v1/dead-letters?limit=2', { key: gw.admin });
    expect(list.json.deadLetters).toHaveLength(2);
    expect(list.json.nextCursor).toEqual(expect.any(String));
    const ofX = await documented(gw.url, 'GET', '/v1/dead-letters?subscription=sub-x', { key: gw.admin });
    expect(ofX.json.deadLetters.map((row: { eventId: string }) => row.eventId).sort()).toEqual(
      [source[0]!.headers.ce_id, source[1]!.headers.ce_id].sort(),
    );
    expect((await documented(gw.url, 'GET', '/v1/dead-letters?cursor=x', { key: gw.admin })).status).toBe(
      400,
    );
    expect((await documented(gw.url, 'GET', '/v1/dead-letters', { key: gw.producer })).status).toBe(403);

    const id = ofX.json.deadLetters[0].id as string;
    const one = await documented(gw.url, 'GET', `/v1/dead-letters/${id}`, { key: gw.admin });
    expect(one.json).toMatchObject({
      reason: 'retries-exhausted',
      attempts: 10,
      lastStatus: 500,
      subscriptionId: 'sub-x',
    });
    expect(one.json.payload).toMatchObject({ type: 'order.created', data: expect.any(Object) });
    expect(one.json.headers.sluice_dlq_reason).toBe('retries-exhausted');
    expect(one.json.source).toMatchObject({ topic: gw.setup.eventsTopic });
    expect(
      (await documented(gw.url, 'GET', `/v1/dead-letters/${gw.dlqTopic}-0-99999`, { key: gw.admin })).status,
    ).toBe(404);

    const tier = gw.retryTopics[0]!;
    const dry = await documented(gw.url, 'POST', '/v1/dead-letters/replay', {
      key: gw.admin,
      body: { dryRun: true },
    });
    expect(dry.json).toMatchObject({
      dryRun: true,
      selected: 4,
      replayable: 3,
      skippedWithoutSubscription: 1,
      bySubscription: { 'sub-x': 2, 'sub-y': 1 },
    });
    expect(await recordCount(tier)).toBe(0);
    const replayed = await documented(gw.url, 'POST', '/v1/dead-letters/replay', {
      key: gw.admin,
      body: { ids: [id, 'nope-0-1'] },
    });
    expect(replayed.status).toBe(202);
    expect(replayed.json).toMatchObject({ dryRun: false, replayed: 1, selected: 1, notFound: ['nope-0-1'] });
    expect(await recordCount(tier)).toBe(1);
    const [written] = await readTopic(tier, 1);
    expect(written!.headers.sluice_subscription_id).toBe('sub-x');
    expect(written!.headers.sluice_dlq_reason).toBeUndefined();
    const bad = await documented(gw.url, 'POST', '/v1/dead-letters/replay', {
      key: gw.admin,
      body: { ids: [], colour: 1 },
    });
    expect([bad.status, bad.json.code, bad.json.errors.length]).toEqual([422, 'SLUICE_INVALID_REPLAY', 2]);
    expect(
      (
        await documented(gw.url, 'POST', '/v1/dead-letters/replay', {
          key: gw.admin,
          body: { ids: ['nope-0-1'] },
        })
      ).status,
    ).toBe(404);
    expect(events).toHaveLength(3);

    // A selection larger than one read batch (200) is replayed whole.
    const many = testProducer();
    await many.connect();
    const manyLetters = Array.from({ length: 250 }, () => ({
      ...letters[0]!,
      headers: { ...letters[0]!.headers, sluice_subscription_id: 'sub-z' },
    }));
    await many.send({
      topic: gw.dlqTopic,
      acks: -1,
      messages: manyLetters.map(({ key, value, headers }) => ({ key, value, headers })),
    });
    await many.disconnect();
    expect(await waitFor(deadLetterRows, (n) => n === 254, 30_000)).toBe(254);
    const bulk = await documented(gw.url, 'POST', '/v1/dead-letters/replay', {
      key: gw.admin,
      body: { subscription: 'sub-z' },
    });
    expect(bulk.json).toMatchObject({ replayed: 250, selected: 250, bySubscription: { 'sub-z': 250 } });
    expect(await recordCount(tier)).toBe(251);
  });

  it('answers every bad input with a problem that names it, and reads or writes nothing else', async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const sub = await subscription(gw.url, gw.admin);
    const event = await produceEvent(gw.setup.eventsTopic);
    const othersEvent = uniqueName('evt');
    await writeAttempts(db, [attempt({ eventId: event.id, subscriptionId: sub })], event.source);
    await writeAttempts(db, [attempt({ eventId: othersEvent, subscriptionId: sub, producerId: 'other' })]);
    const tooLong = `evt_${'x'.repeat(200)}`;
    const unknownSub = 'sub_nosuchsubscription0000000';
    const hour = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    const deadLetterCursor = Buffer.from('2026-03-01T12:00:00.000000Z|sluice.dlq-0-1').toString('base64url');
    const cases: Array<{
      what: string;
      method: 'GET' | 'POST';
      path: string;
      key?: 'admin' | 'producer';
      body?: unknown;
      status: number;
      code: string;
      /** The query parameter named in `field` (400) or the body fields in `errors` (422). */
      field?: string | string[];
      /** What the detail names. */
      mentions?: string;
    }> = [
      // Unknown (or malformed) ids.
      {
        what: 'unknown event',
        method: 'GET',
        path: '/v1/events/evt_unknown',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: 'evt_unknown',
      },
      {
        what: 'unknown event attempts',
        method: 'GET',
        path: '/v1/events/evt_unknown/attempts',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: 'evt_unknown',
      },
      {
        what: 'malformed event id',
        method: 'GET',
        path: `/v1/events/${tooLong}`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
      },
      {
        what: 'unknown subscription attempts',
        method: 'GET',
        path: `/v1/subscriptions/${unknownSub}/attempts`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: unknownSub,
      },
      {
        what: 'unknown subscription stats',
        method: 'GET',
        path: `/v1/subscriptions/${unknownSub}/stats`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: unknownSub,
      },
      {
        what: 'malformed subscription id',
        method: 'GET',
        path: '/v1/subscriptions/not-an-id/stats',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
      },
      {
        what: 'resend to an unknown subscription',
        method: 'POST',
        path: `/v1/subscriptions/${unknownSub}/events/${event.id}/resend`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: unknownSub,
      },
      {
        what: 'resend of an unknown event',
        method: 'POST',
        path: `/v1/subscriptions/${sub}/events/evt_unknown/resend`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: 'evt_unknown',
      },
      {
        what: 'resend of a malformed event id',
        method: 'POST',
        path: `/v1/subscriptions/${sub}/events/${tooLong}/resend`,
        status: 404,
        code: 'SLUICE_NOT_FOUND',
      },
      {
        what: 'unknown dead letter',
        method: 'GET',
        path: '/v1/dead-letters/sluice.dlq-0-99',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: 'sluice.dlq-0-99',
      },
      {
        what: 'malformed dead-letter id',
        method: 'GET',
        path: '/v1/dead-letters/a%20b',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
      },
      {
        what: 'replay of unknown dead letters',
        method: 'POST',
        path: '/v1/dead-letters/replay',
        body: { ids: ['sluice.dlq-0-99'] },
        status: 404,
        code: 'SLUICE_NOT_FOUND',
      },
      // Malformed cursors.
      {
        what: 'cursor not base64url',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?cursor=%%%`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'cursor',
      },
      {
        what: 'cursor of something else',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?cursor=bm90LWEtY3Vyc29y`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'cursor',
      },
      {
        what: "a dead-letter list's cursor on attempts",
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?cursor=${deadLetterCursor}`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'cursor',
      },
      {
        what: 'dead-letter cursor',
        method: 'GET',
        path: '/v1/dead-letters?cursor=x',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'cursor',
      },
      {
        what: 'empty cursor',
        method: 'GET',
        path: '/v1/dead-letters?cursor=',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'cursor',
      },
      // Out-of-range and malformed filters.
      {
        what: 'limit 0',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?limit=0`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
        mentions: '0',
      },
      {
        what: 'limit 101',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?limit=101`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
        mentions: '101',
      },
      {
        what: 'negative limit',
        method: 'GET',
        path: '/v1/dead-letters?limit=-1',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
        mentions: '-1',
      },
      {
        what: 'fractional limit',
        method: 'GET',
        path: '/v1/dead-letters?limit=1.5',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
      },
      {
        what: 'huge limit',
        method: 'GET',
        path: '/v1/dead-letters?limit=99999999999999999999',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
      },
      {
        what: 'status class',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?status=6xx`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'status',
        mentions: '6xx',
      },
      {
        what: 'outcome',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?outcome=lost`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'outcome',
        mentions: 'lost',
      },
      {
        what: 'since not a time',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?since=yesterday`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'since',
        mentions: 'yesterday',
      },
      {
        what: 'until not a time',
        method: 'GET',
        path: '/v1/dead-letters?until=2026-13-45',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'until',
      },
      {
        what: 'until before since',
        method: 'GET',
        path: `/v1/dead-letters?since=${hour(0)}&until=${hour(-3_600_000)}`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'until',
      },
      {
        what: 'a parameter twice',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts?limit=5&limit=6`,
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'limit',
      },
      {
        what: 'an unknown parameter',
        method: 'GET',
        path: '/v1/dead-letters?colour=red',
        status: 400,
        code: 'SLUICE_INVALID_QUERY',
        field: 'colour',
      },
      {
        what: 'replay selection',
        method: 'POST',
        path: '/v1/dead-letters/replay',
        body: { since: 'yesterday', dryRun: 'yes', ids: [] },
        status: 422,
        code: 'SLUICE_INVALID_REPLAY',
        field: ['ids', 'since', 'dryRun'],
      },
      {
        what: 'replay window',
        method: 'POST',
        path: '/v1/dead-letters/replay',
        body: { since: hour(0), until: hour(-1000) },
        status: 422,
        code: 'SLUICE_INVALID_REPLAY',
        field: ['until'],
      },
      // A producer key: another producer's event is not found, and the subscription routes are not its.
      {
        what: "another producer's event",
        method: 'GET',
        path: `/v1/events/${othersEvent}`,
        key: 'producer',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: othersEvent,
      },
      {
        what: "another producer's attempts",
        method: 'GET',
        path: `/v1/events/${othersEvent}/attempts`,
        key: 'producer',
        status: 404,
        code: 'SLUICE_NOT_FOUND',
        mentions: othersEvent,
      },
      {
        what: 'a producer reading attempts',
        method: 'GET',
        path: `/v1/subscriptions/${sub}/attempts`,
        key: 'producer',
        status: 403,
        code: 'SLUICE_FORBIDDEN',
      },
      {
        what: 'a producer resending',
        method: 'POST',
        path: `/v1/subscriptions/${sub}/events/${event.id}/resend`,
        key: 'producer',
        status: 403,
        code: 'SLUICE_FORBIDDEN',
      },
      {
        what: 'a producer listing dead letters',
        method: 'GET',
        path: '/v1/dead-letters',
        key: 'producer',
        status: 403,
        code: 'SLUICE_FORBIDDEN',
      },
      {
        what: 'a producer replaying dead letters',
        method: 'POST',
        path: '/v1/dead-letters/replay',
        key: 'producer',
        body: { dryRun: true },
        status: 403,
        code: 'SLUICE_FORBIDDEN',
      },
    ];
    const problemMembers = ['type', 'title', 'status', 'detail', 'code', 'field', 'errors'];
    for (const bad of cases) {
      const answer = await documented(gw.url, bad.method, bad.path, {
        key: bad.key === 'producer' ? gw.producer : gw.admin,
        body: bad.body,
      });
      const problem = answer.json as Record<string, unknown>;
      expect([answer.status, problem?.code], `${bad.what}: ${answer.text}`).toEqual([bad.status, bad.code]);
      expect(answer.headers['content-type'], bad.what).toBe('application/problem+json');
      expect(problem.status, bad.what).toBe(bad.status);
      expect(problem.detail, bad.what).toEqual(expect.stringMatching(/\S/));
      // Nothing else: no stack, no SQL, no member beyond the problem's own.
      expect(
        Object.keys(problem).filter((member) => !problemMembers.includes(member)),
        bad.what,
      ).toEqual([]);
      expect(String(problem.detail), bad.what).not.toMatch(/SELECT|postgres|\n\s+at /i);
      if (bad.mentions !== undefined) expect(problem.detail, bad.what).toContain(bad.mentions);
      if (typeof bad.field === 'string') expect(problem.field, bad.what).toBe(bad.field);
      if (Array.isArray(bad.field)) {
        expect(
          (problem.errors as Array<{ field: string }>).map((error) => error.field).sort(),
          bad.what,
        ).toEqual([...bad.field].sort());
      }
    }
    // Another producer's event is answered exactly as an unknown one is: it is not revealed.
    const hidden = await call(gw.url, 'GET', `/v1/events/${othersEvent}`, { key: gw.producer });
    const unknown = await call(gw.url, 'GET', '/v1/events/evt_unknown', { key: gw.producer });
    expect({ ...hidden.json, detail: hidden.json.detail.replace(othersEvent, 'ID') }).toEqual({
      ...unknown.json,
      detail: unknown.json.detail.replace('evt_unknown', 'ID'),
    });
    // Nothing was queued and the log is as it was.
    expect(await recordCount(gw.retryTopics[0]!)).toBe(0);
    expect(await countRows(db)).toEqual({ rows: 2, distinct: 2 });
  });

  it('sluice events show and dlq list print what the API answers', async () => {
    const db = await migratedDatabase();
    const gw = await startReplayGateway({ SLUICE_LOG_DATABASE_URL: db });
    const eventId = uniqueName('evt');
    await writeAttempts(db, [
      attempt(
        {
          eventId,
          subscriptionId: 'sub-a',
          outcome: 'retry-scheduled',
          statusCode: 503,
          nextAttemptAt: new Date().toISOString(),
        },
        2000,
      ),
      attempt({ eventId, subscriptionId: 'sub-a', attempt: 2 }, 1000),
    ]);
    const env = { SLUICE_URL: gw.url, SLUICE_API_KEY: gw.producer };
    const show = spawnCli(['events', 'show', eventId, '--attempts'], env);
    expect(await show.exited, show.output()).toBe(0);
    expect(show.output()).toContain(`event ${eventId}`);
    expect(show.output()).toMatch(/sub-a {2}delivered {2}attempts 2 {2}last \S+ 200 12 ms/);
    expect(show.output()).toMatch(/sub-a #1 {2}503 12 ms {2}retry-scheduled {2}"busy"/);
    const missing = spawnCli(['events', 'show', 'evt_nothing'], env);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('404 SLUICE_NOT_FOUND');
    const forbidden = spawnCli(['dlq', 'list'], env);
    expect(await forbidden.exited).toBe(1);
    expect(forbidden.output()).toContain('403 SLUICE_FORBIDDEN');
    const empty = spawnCli(['dlq', 'list', '--limit', '5'], { ...env, SLUICE_API_KEY: gw.admin });
    expect(await empty.exited, empty.output()).toBe(0);
    expect(empty.output()).toBe('');
  });

  it('answers 501 without a log database and 503 with Retry-After when it is down; ingest goes on', async () => {
    const setup = await prepareGateway([{ producerId: 'ops', role: 'admin' }]);
    const off = await startTestGateway(setup);
    const disabled = await documented(off.url, 'GET', '/v1/events/evt_1', { key: setup.keys.ops! });
    expect([disabled.status, disabled.json.code]).toEqual([501, 'SLUICE_LOG_DISABLED']);
    const list = await documented(off.url, 'GET', '/v1/dead-letters', { key: setup.keys.ops! });
    expect(list.status).toBe(501);

    const downSetup = await prepareGateway([{ producerId: 'ops', role: 'admin' }], {
      SLUICE_LOG_DATABASE_URL: 'postgres://sluice@127.0.0.1:1/sluice',
    });
    const down = await startTestGateway(downSetup);
    const unavailable = await documented(down.url, 'GET', '/v1/events/evt_1', { key: downSetup.keys.ops! });
    expect([unavailable.status, unavailable.json.code]).toEqual([503, 'SLUICE_LOG_UNAVAILABLE']);
    expect(unavailable.headers['retry-after']).toBe('5');
    const accepted = await call(down.url, 'POST', '/v1/events', {
      key: downSetup.keys.ops!,
      body: {
        type: 'order.created',
        key: 'k',
        data: fixtureData('order.created'),
      },
    });
    expect(accepted.status, accepted.text).toBe(202);
  });
});

/** The first `count` records of a topic, read by a throwaway consumer. */
async function readTopic(topic: string, count: number) {
  const consumer = testKafka().consumer({ groupId: uniqueName('read') });
  await consumer.connect();
  const records: ReturnType<typeof fromKafkaMessage>[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${records.length} of ${count} from ${topic}`)),
        20_000,
      );
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push(fromKafkaMessage(topic, partition, message));
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
