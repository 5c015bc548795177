import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../common/logger.js';
import { captureLogs } from '../support/log-capture.js';
import { readTopic } from '../support/kafka-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import { uniqueName } from '../support/stack-env.js';
import { call, startReplayGateway, startStoreWorker, type ReplayGateway } from '../replay/replay-fixture.js';
import { catalog, eventually, fixtureData, startReceiver } from './delivery-fixture.js';

/**
 * A delivery worker as `sluice deliver` runs one: its own store on the gateway's subscriptions
 * topic, the gateway's events, retry and attempts topics, a group of its own.
 */
async function startWorker(gw: ReplayGateway, env: Record<string, string> = {}, logger?: Logger) {
  const { adminUrl } = await startStoreWorker(gw, {
    name: 'options',
    env: { SLUICE_DEDUP_LEASE_MS: '10s', SLUICE_REDIS_TIMEOUT_MS: '2s', ...env },
    ...(logger ? { logger } : {}),
    catalog,
  });
  return { metric: (name: string, labels?: Record<string, string>) => scrapeMetric(adminUrl, name, labels) };
}

/** Sends orders with these totals through the gateway's batch endpoint; their ids, in order. */
async function sendOrders(gw: ReplayGateway, totalsMinor: number[]): Promise<string[]> {
  const base = fixtureData('order.created');
  const accepted = await call(gw.url, 'POST', '/v1/events/batch', {
    key: gw.producer,
    body: totalsMinor.map((totalMinor) => ({
      type: 'order.created',
      key: uniqueName('order'),
      data: { ...base, totalMinor },
    })),
  });
  expect(accepted.status).toBe(202);
  return (accepted.json.results as Array<{ id: string }>).map((result) => result.id);
}

describe('subscription filters, custom headers, own retry and timeout (gateway + worker, real Kafka)', () => {
  it('delivers exactly the events a filter on data.totalMinor > 500 matches, resolving the rest at once', async () => {
    const gw = await startReplayGateway();
    const receiver = await startReceiver();
    const created = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: receiver.url, eventTypes: ['order.*'], filter: { 'data.totalMinor': { $gt: 500 } } },
    });
    expect(created.status).toBe(201);
    expect(created.json.filter).toEqual({ 'data.totalMinor': { $gt: 500 } });
    // A subscription without a filter sees every event: the run is really mixed.
    const all = await startReceiver();
    expect(
      (
        await call(gw.url, 'POST', '/v1/subscriptions', {
          key: gw.admin,
          body: { url: all.url, eventTypes: ['order.*'] },
        })
      ).status,
    ).toBe(201);
    const { metric } = await startWorker(gw);

    const totals = [100, 501, 500, 99_999, 0, 750, 499, 6664, 1, 501];
    const ids = await sendOrders(gw, totals);
    // An order type without totalMinor: the filter cannot match it, the other subscriber gets it.
    const cancelled = await call(gw.url, 'POST', '/v1/events', {
      key: gw.producer,
      body: { type: 'order.cancelled', data: fixtureData('order.cancelled') },
    });
    expect(cancelled.status).toBe(202);
    const matching = ids.filter((_, index) => totals[index]! > 500);
    const filteredCount = totals.length - matching.length + 1;

    await eventually(
      'every event delivered to the subscriber without a filter',
      () => all.received.length >= 11,
    );
    await eventually('every filtered-out delivery resolved', async () =>
      (await metric('sluice_deliveries_total', { subscription_id: created.json.id, outcome: 'filtered' })) ===
      filteredCount
        ? true
        : undefined,
    );
    await eventually('the matching events delivered', () => receiver.received.length >= matching.length);
    // Nothing else arrives once everything is resolved.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received.map((r) => String(r.headers['webhook-id'])).sort()).toEqual(
      [...matching].sort(),
    );
    expect(receiver.received.every((r) => JSON.parse(r.body).data.totalMinor > 500)).toBe(true);
    expect(
      await metric('sluice_deliveries_total', { subscription_id: created.json.id, outcome: 'delivered' }),
    ).toBe(matching.length);
    expect(await metric('sluice_delivery_retries_total')).toBe(0);
    // Each filtered-out delivery left an attempt record saying so, for the delivery log.
    const attempts = (
      await readTopic(gw.setup.env.SLUICE_ATTEMPTS_TOPIC!, matching.length + filteredCount + 11)
    )
      .map(
        (record) =>
          JSON.parse(record.value!.toString('utf8')) as {
            subscriptionId: string;
            outcome: string;
            eventId: string;
          },
      )
      .filter((record) => record.subscriptionId === created.json.id);
    expect(
      attempts
        .filter((a) => a.outcome === 'filtered')
        .map((a) => a.eventId)
        .sort(),
    ).toEqual([...ids.filter((_, index) => totals[index]! <= 500), cancelled.json.id].sort());
  });

  it('sends a secret custom header that no API answer, log line, subscription record or attempt record shows', async () => {
    const gatewayLogs = captureLogs('test-gateway');
    const workerLogs = captureLogs('test-deliver');
    const gw = await startReplayGateway({}, gatewayLogs.logger);
    const receiver = await startReceiver();
    // The first attempt fails, so the worker logs about this delivery and sends the header again.
    receiver.respondWith((_req, res, index) => res.writeHead(index === 0 ? 500 : 200).end());
    const token = `tok_${randomBytes(18).toString('hex')}`;
    const created = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: {
        url: receiver.url,
        eventTypes: ['order.created'],
        headers: { Authorization: { value: `Bearer ${token}`, secret: true }, 'X-Shop': 'eu-1' },
      },
    });
    expect(created.status).toBe(201);
    const id: string = created.json.id;
    const answers = [created.text];
    expect(created.json.headers).toEqual({ authorization: { secret: true }, 'x-shop': 'eu-1' });
    await startWorker(gw, { SLUICE_LOG_LEVEL: 'trace' }, workerLogs.logger);

    const [eventId] = await sendOrders(gw, [6664]);
    await eventually('the failed attempt and its retry', () => receiver.received.length >= 2);
    for (const request of receiver.received) {
      expect(request.headers).toMatchObject({
        authorization: `Bearer ${token}`,
        'x-shop': 'eu-1',
        'webhook-id': eventId,
        'content-type': 'application/json',
      });
    }

    answers.push((await call(gw.url, 'GET', `/v1/subscriptions/${id}`, { key: gw.admin })).text);
    answers.push((await call(gw.url, 'GET', '/v1/subscriptions', { key: gw.admin })).text);
    const patched = await call(gw.url, 'PATCH', `/v1/subscriptions/${id}`, {
      key: gw.admin,
      body: { description: 'renamed', headers: { authorization: { secret: true }, 'x-shop': 'eu-2' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.headers).toEqual({ authorization: { secret: true }, 'x-shop': 'eu-2' });
    answers.push(patched.text);
    answers.push(
      (await call(gw.url, 'POST', `/v1/subscriptions/${id}/rotate-secret`, { key: gw.admin })).text,
    );
    // A refused patch quotes no header value either.
    const refused = await call(gw.url, 'PATCH', `/v1/subscriptions/${id}`, {
      key: gw.admin,
      body: { headers: { authorization: `Bearer ${token}\r\nX-Injected: 1` } },
    });
    expect(refused.status).toBe(422);
    answers.push(refused.text);

    // The kept secret still arrives after the patch (the worker saw the change).
    const afterPatch = await eventually('the patch reaching the worker', async () => {
      const [next] = await sendOrders(gw, [700]);
      await eventually('its delivery', () => receiver.received.some((r) => r.headers['webhook-id'] === next));
      const last = receiver.received.find((r) => r.headers['webhook-id'] === next)!;
      return last.headers['x-shop'] === 'eu-2' ? last : undefined;
    });
    expect(afterPatch.headers.authorization).toBe(`Bearer ${token}`);

    for (const answer of answers) expect(answer).not.toContain(token);
    const subscriptionRecords = await readTopic(gw.setup.subscriptionsTopic, 3);
    expect(subscriptionRecords.length).toBeGreaterThanOrEqual(3);
    for (const record of subscriptionRecords) expect(record.value?.toString('utf8')).not.toContain(token);
    const attemptRecords = await readTopic(gw.setup.env.SLUICE_ATTEMPTS_TOPIC!, receiver.received.length);
    expect(attemptRecords.length).toBeGreaterThanOrEqual(receiver.received.length);
    for (const record of attemptRecords) expect(record.value?.toString('utf8')).not.toContain(token);
    expect(gatewayLogs.lines.some((line) => line.includes('subscription updated'))).toBe(true);
    expect(
      workerLogs.lines.some((line) => line.includes(id) && line.includes('delivery failed; retry scheduled')),
    ).toBe(true);
    for (const line of [...gatewayLogs.lines, ...workerLogs.lines]) expect(line).not.toContain(token);
  });

  it('honours a subscription’s own attempt timeout, attempt count and retry tier', async () => {
    // The global timeout (5 s) is far above the receiver's answer time; the subscription's (200 ms) below it.
    const bounds = { SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '5s' };
    const gw = await startReplayGateway(bounds);
    const slow = await startReceiver();
    slow.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end(), 1500));
    const short = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: slow.url, eventTypes: ['order.created'], timeoutMs: 200, retry: { maxAttempts: 2 } },
    });
    expect(short.status).toBe(201);
    expect(short.json).toMatchObject({ timeoutMs: 200, retry: { schedule: null, maxAttempts: 2 } });
    // Fails once, then answers: its one retry must go through its own tier (2s), not the first (1s).
    const flaky = await startReceiver();
    flaky.respondWith((_req, res, index) => res.writeHead(index === 0 ? 503 : 200).end());
    const ownTier = await call(gw.url, 'POST', '/v1/subscriptions', {
      key: gw.admin,
      body: { url: flaky.url, eventTypes: ['order.created'], retry: { schedule: ['2s'] } },
    });
    expect(ownTier.status).toBe(201);
    const { metric } = await startWorker(gw, bounds);

    const [eventId] = await sendOrders(gw, [6664]);
    const [deadLetter] = await readTopic(gw.dlqTopic, 1, { timeoutMs: 30_000 });
    expect(deadLetter!.headers).toMatchObject({
      ce_id: eventId,
      sluice_subscription_id: short.json.id,
      sluice_dlq_reason: 'retries-exhausted',
      sluice_attempts: '2',
    });
    expect(deadLetter!.headers.sluice_last_error).toMatch(/^timeout: no complete answer within 200 ms/);
    await eventually('the flaky subscription’s retry delivered', () => flaky.received.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Two attempts, each cut at 200 ms although the receiver would have answered 200 within 5 s.
    expect(slow.received.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
    expect(
      await metric('sluice_deliveries_total', { subscription_id: short.json.id, outcome: 'delivered' }),
    ).toBe(0);
    expect(await metric('sluice_delivery_retries_total', { tier: '1s' })).toBe(1);
    expect(await metric('sluice_delivery_retries_total', { tier: '2s' })).toBe(1);
    const [firstTier, secondTier] = gw.retryTopics;
    expect((await readTopic(secondTier!, 1)).map((r) => r.headers.sluice_subscription_id)).toEqual([
      ownTier.json.id,
    ]);
    expect((await readTopic(firstTier!, 1)).map((r) => r.headers.sluice_subscription_id)).toEqual([
      short.json.id,
    ]);
  });
});
