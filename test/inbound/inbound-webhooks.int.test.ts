import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { inboundWebhookSchema, type InboundWebhookData } from '../../gateway/inbound/inbound-record.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
import { createAvroType } from '../../schemas/create-avro-type.js';
import { eventually } from '../delivery/delivery-fixture.js';
import { prepareIngestGateway, send, type HttpAnswer } from '../gateway/ingest-client.js';
import { startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, readTopic } from '../support/kafka-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import { createRegistryTopic } from '../support/registry-topic.js';

// POST /in/{sourceId} against a real gateway, broker and Redis over real sockets: requests signed
// by the providers' own libraries verify, anything forged, stale or malformed is refused and
// writes nothing, and one provider event is one record however often it arrives.

const stripe = new Stripe('sk_test_unused');
const inboundType = createAvroType(inboundWebhookSchema as never);
const stripeSecret = 'whsec_inbound_test_secret';
const githubSecret = 'github webhook secret';
const shopifySecret = 'shpss_client_secret_for_tests';
const standardSecret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const crmToken = 'crm-token-123';
/** A header-token source whose requests carry their own id in `X-Delivery`. */
const crmSource = {
  name: 'crm',
  verification: { scheme: 'header-token', header: 'X-Webhook-Token' },
  secret: crmToken,
  eventType: { from: 'fixed', value: 'contact.updated' },
  eventId: { from: 'header', name: 'X-Delivery' },
};

async function startInboundGateway(envOverrides: Record<string, string> = {}) {
  // A registry of its own: creating a source registers the inbound record type there.
  const setup = await prepareIngestGateway([{ producerId: 'ops', role: 'admin' }], {
    SLUICE_SCHEMAS_TOPIC: await createRegistryTopic(),
    ...envOverrides,
  });
  const { url, adminUrl } = await startTestGateway(setup);
  const admin = setup.keys.ops as string;
  const createSource = async (body: Record<string, unknown>): Promise<string> => {
    const answer = await send(url, {
      path: '/v1/sources',
      apiKey: admin,
      contentType: 'application/json',
      body,
    });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.text).not.toContain(String(body.secret));
    return (answer.json as { id: string }).id;
  };
  const adminCall = (method: 'PATCH' | 'POST', path: string, body: unknown) =>
    send(url, { method, path, apiKey: admin, contentType: 'application/json', body });
  const post = (sourceId: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    send(url, {
      path: `/in/${sourceId}`,
      contentType: headers['content-type'] ?? 'application/json',
      headers,
      body,
    });
  /** Records in the events topic: every 2xx came after Kafka's acknowledgement, so this is exact. */
  const recordCount = async (): Promise<number> => {
    const kafkaAdmin = await connectedAdmin();
    try {
      const offsets = await kafkaAdmin.fetchTopicOffsets(setup.eventsTopic);
      return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    } finally {
      await kafkaAdmin.disconnect();
    }
  };
  /** One inbound counter of one source (summed over its other labels; 0 when it has no sample). */
  const inboundMetric = (name: string, source: string, labels: Record<string, string> = {}) =>
    scrapeMetric(adminUrl, `sluice_inbound_${name}_total`, { source, ...labels });
  return { setup, url, adminUrl, createSource, adminCall, post, recordCount, inboundMetric };
}

function decode(value: Buffer | null): InboundWebhookData {
  if (value === null) throw new Error('no value');
  expect(value[0]).toBe(0);
  return inboundType.fromBuffer(value.subarray(5)) as InboundWebhookData;
}

function expectRefused(answer: HttpAnswer, status: number, code: string, reason?: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(answer.json).toMatchObject({ code, ...(reason === undefined ? {} : { reason }) });
}

describe('POST /in/{sourceId}', () => {
  it('records webhooks signed by the providers’ own libraries, one record per provider event', async () => {
    const gw = await startInboundGateway();
    const stripeId = await gw.createSource({
      name: 'stripe',
      verification: { scheme: 'stripe' },
      secret: stripeSecret,
    });
    const githubId = await gw.createSource({
      name: 'github',
      verification: { scheme: 'github' },
      secret: githubSecret,
    });
    const shopifyId = await gw.createSource({
      name: 'shopify',
      verification: { scheme: 'shopify' },
      secret: shopifySecret,
    });
    const standardId = await gw.createSource({
      name: 'billing',
      verification: { scheme: 'standard-webhooks' },
      secret: standardSecret,
    });
    const hmacId = await gw.createSource({
      name: 'psp',
      verification: {
        scheme: 'hmac',
        header: 'X-Signature',
        algorithm: 'sha512',
        encoding: 'base64',
        signed: 'timestamp.body',
        timestampHeader: 'X-Timestamp',
      },
      secret: 'psp-secret',
      eventType: { from: 'body', path: 'event.kind' },
      eventId: { from: 'body', path: 'event.id' },
    });
    const basicId = await gw.createSource({
      name: 'legacy',
      verification: { scheme: 'basic' },
      secret: 'legacy:p4ssw0rd',
      eventType: { from: 'fixed', value: 'notification' },
    });
    const tokenId = await gw.createSource({
      name: 'crm',
      verification: { scheme: 'header-token', header: 'X-Webhook-Token' },
      secret: 'crm-token-123',
      eventType: { from: 'header', name: 'X-Event' },
    });

    // Stripe, three times the same event (as after a timeout): one record, repeats marked.
    const stripeBody = JSON.stringify({
      id: 'evt_1Q',
      type: 'payment_intent.succeeded',
      data: { object: { amount: 1999 } },
    });
    const stripeAnswers: HttpAnswer[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const signature = stripe.webhooks.generateTestHeaderString({
        payload: stripeBody,
        secret: stripeSecret,
      });
      stripeAnswers.push(await gw.post(stripeId, stripeBody, { 'stripe-signature': signature }));
    }
    expect(stripeAnswers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(stripeAnswers.map((a) => (a.json as { duplicate?: boolean }).duplicate ?? false)).toEqual([
      false,
      true,
      true,
    ]);

    const githubBody = JSON.stringify({ ref: 'refs/heads/main', commits: [] });
    const githubAnswer = await gw.post(githubId, githubBody, {
      'x-hub-signature-256': await githubSign(githubSecret, githubBody),
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
    });
    expect(githubAnswer.status, githubAnswer.text).toBe(202);

    const shopifyBody = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com' });
    const shopifyAnswer = await gw.post(shopifyId, shopifyBody, {
      // Shopify's documented check: base64 of HMAC-SHA256 over the raw body with the client secret.
      'x-shopify-hmac-sha256': createHmac('sha256', shopifySecret).update(shopifyBody).digest('base64'),
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': randomUUID(),
    });
    expect(shopifyAnswer.status, shopifyAnswer.text).toBe(202);

    const standardBody = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } });
    const msgId = `msg_${randomUUID()}`;
    const sentAt = new Date();
    const standardAnswer = await gw.post(standardId, standardBody, {
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': new Webhook(standardSecret).sign(msgId, sentAt, standardBody),
    });
    expect(standardAnswer.status, standardAnswer.text).toBe(202);

    const pspBody = JSON.stringify({ event: { id: 'psp-77', kind: 'capture.settled' } });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const pspAnswer = await gw.post(hmacId, pspBody, {
      'x-timestamp': timestamp,
      'x-signature': createHmac('sha512', 'psp-secret').update(`${timestamp}.${pspBody}`).digest('base64'),
    });
    expect(pspAnswer.status, pspAnswer.text).toBe(202);
    const basicAnswer = await gw.post(basicId, 'plain text is fine here', {
      authorization: `Basic ${Buffer.from('legacy:p4ssw0rd').toString('base64')}`,
      'content-type': 'text/plain',
    });
    expect(basicAnswer.status, basicAnswer.text).toBe(202);
    const tokenAnswer = await gw.post(tokenId, '{}', {
      'x-webhook-token': 'crm-token-123',
      'x-event': 'contact.updated',
    });
    expect(tokenAnswer.status, tokenAnswer.text).toBe(202);

    const records = await readTopic(gw.setup.eventsTopic, 7);
    expect(records).toHaveLength(7);
    expect(await gw.recordCount()).toBe(7);
    const byType = new Map(records.map((record) => [record.headers.ce_type, record]));
    expect([...byType.keys()].sort()).toEqual([
      'billing.invoice.paid',
      'crm.contact.updated',
      'github.push',
      'legacy.notification',
      'psp.capture.settled',
      'shopify.orders.create',
      'stripe.payment_intent.succeeded',
    ]);
    const stripeRecord = byType.get('stripe.payment_intent.succeeded')!;
    expect(stripeRecord.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: (stripeAnswers[0]!.json as { id: string }).id,
      ce_source: `/sources/${stripeId}`,
      'content-type': 'application/avro',
      sluice_producer: stripeId,
    });
    const stripeData = decode(stripeRecord.value);
    expect(stripeData).toMatchObject({
      sourceId: stripeId,
      sourceName: 'stripe',
      providerEventId: 'evt_1Q',
      eventType: 'stripe.payment_intent.succeeded',
    });
    expect(stripeData.body.equals(Buffer.from(stripeBody))).toBe(true);
    expect(Object.keys(stripeData.headers)).toContain('stripe-signature');
    const basicData = decode(byType.get('legacy.notification')!.value);
    expect(basicData.body.toString()).toBe('plain text is fine here');
    expect(basicData.contentType).toBe('text/plain');
    // Credentials are never copied into the record.
    expect(basicData.headers.authorization).toBeUndefined();
    expect(decode(byType.get('crm.contact.updated')!.value).headers['x-webhook-token']).toBeUndefined();

    // Per source: three received and verified, two of them duplicates, one written.
    const stripeCounts = {
      received: await gw.inboundMetric('received', stripeId),
      verified: await gw.inboundMetric('verified', stripeId),
      duplicates: await gw.inboundMetric('duplicates', stripeId),
      accepted: await gw.inboundMetric('accepted', stripeId),
      refused: await gw.inboundMetric('refused', stripeId),
    };
    expect(stripeCounts).toEqual({ received: 3, verified: 3, duplicates: 2, accepted: 1, refused: 0 });
    expect(await gw.inboundMetric('duplicates', githubId)).toBe(0);
    expect(await gw.inboundMetric('accepted', githubId)).toBe(1);
  });

  it('refuses a changed byte, a changed signature, a stale timestamp or a wrong secret with 401 and writes nothing', async () => {
    const gw = await startInboundGateway();
    const stripeId = await gw.createSource({
      name: 'stripe',
      verification: { scheme: 'stripe' },
      secret: stripeSecret,
    });
    const githubId = await gw.createSource({
      name: 'github',
      verification: { scheme: 'github' },
      secret: githubSecret,
    });
    const body = JSON.stringify({ id: 'evt_2', type: 'charge.refunded' });
    const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });

    const changedBody = body.replace('evt_2', 'evt_3');
    expectRefused(
      await gw.post(stripeId, changedBody, { 'stripe-signature': signature }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'bad-signature',
    );
    const digit = signature.at(-1) === '0' ? '1' : '0';
    const changedSignature = `${signature.slice(0, -1)}${digit}`;
    expectRefused(
      await gw.post(stripeId, body, { 'stripe-signature': changedSignature }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'bad-signature',
    );
    const stale = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: stripeSecret,
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expectRefused(
      await gw.post(stripeId, body, { 'stripe-signature': stale }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'stale-timestamp',
    );
    const wrongSecret = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: 'whsec_not_the_one',
    });
    expectRefused(
      await gw.post(stripeId, body, { 'stripe-signature': wrongSecret }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'bad-signature',
    );
    const githubHeaders = { 'x-github-event': 'push', 'x-github-delivery': randomUUID() };
    const forged = await githubSign('guessed', body);
    expectRefused(
      await gw.post(githubId, body, { ...githubHeaders, 'x-hub-signature-256': forged }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'bad-signature',
    );
    expect(await gw.recordCount()).toBe(0);

    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toContain(
      `sluice_inbound_refused_total{source="${stripeId}",reason="bad-signature",service="gateway"} 3`,
    );
    expect(metrics).toContain(
      `sluice_inbound_refused_total{source="${stripeId}",reason="stale-timestamp",service="gateway"} 1`,
    );
    expect(metrics).not.toContain(stripeSecret);
  });

  it('verifies both secrets during a rotation and only the new one after it', async () => {
    const gw = await startInboundGateway();
    const id = await gw.createSource({
      name: 'github',
      verification: { scheme: 'github' },
      secret: 'old-secret',
    });
    const attempt = async (secret: string) => {
      const body = JSON.stringify({ delivery: randomUUID() });
      return gw.post(id, body, {
        'x-hub-signature-256': await githubSign(secret, body),
        'x-github-event': 'ping',
        'x-github-delivery': randomUUID(),
      });
    };
    const overlapSeconds = 4;
    const rotatedAt = Date.now();
    const rotated = await gw.adminCall('POST', `/v1/sources/${id}/rotate-secret`, {
      secret: 'new-secret',
      previousSecretSeconds: overlapSeconds,
    });
    expect(rotated.status, rotated.text).toBe(200);
    expect((rotated.json as { secrets: unknown[] }).secrets).toHaveLength(2);
    expect(rotated.text).not.toContain('old-secret');
    expect((await attempt('old-secret')).status).toBe(202);
    expect((await attempt('new-secret')).status).toBe(202);

    await sleep(Math.max(0, rotatedAt + overlapSeconds * 1000 + 500 - Date.now()));
    expectRefused(await attempt('old-secret'), 401, 'SLUICE_SIGNATURE_INVALID', 'bad-signature');
    expect((await attempt('new-secret')).status).toBe(202);
    expect(await gw.recordCount()).toBe(3);
  });

  it('answers bad input clearly, writes nothing and keeps serving', async () => {
    const gw = await startInboundGateway();
    const stripeId = await gw.createSource({
      name: 'stripe',
      verification: { scheme: 'stripe' },
      secret: stripeSecret,
      maxBodyBytes: 1024,
    });
    const body = JSON.stringify({ id: 'evt_4', type: 'payout.paid' });
    const signed = (payload: string) => ({
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret }),
    });

    expectRefused(await gw.post(stripeId, body), 401, 'SLUICE_SIGNATURE_INVALID', 'missing-signature');
    expectRefused(
      await gw.post(stripeId, body, { 'stripe-signature': 'v1=,t=' }),
      401,
      'SLUICE_SIGNATURE_INVALID',
      'malformed-signature',
    );
    const oversized = JSON.stringify({ id: 'evt_5', type: 'x', pad: 'x'.repeat(2048) });
    expectRefused(await gw.post(stripeId, oversized, signed(oversized)), 413, 'SLUICE_BODY_TOO_LARGE');
    expectRefused(await gw.post('src_nosuchsource00000000000', body, signed(body)), 404, 'SLUICE_NOT_FOUND');
    // Verified, but the type is read from a JSON field of a body that is not JSON.
    const notJson = 'type=payout.paid&id=evt_6';
    const notJsonAnswer = await gw.post(stripeId, notJson, signed(notJson));
    expectRefused(notJsonAnswer, 400, 'SLUICE_MALFORMED_REQUEST');
    expect(notJsonAnswer.json).toMatchObject({ field: 'eventType' });
    const noType = JSON.stringify({ id: 'evt_7' });
    expectRefused(await gw.post(stripeId, noType, signed(noType)), 400, 'SLUICE_MALFORMED_REQUEST');

    const disabled = await gw.adminCall('PATCH', `/v1/sources/${stripeId}`, { enabled: false });
    expect(disabled.status, disabled.text).toBe(200);
    expectRefused(await gw.post(stripeId, body, signed(body)), 403, 'SLUICE_SOURCE_DISABLED');
    expect(await gw.recordCount()).toBe(0);

    const enabled = await gw.adminCall('PATCH', `/v1/sources/${stripeId}`, { enabled: true });
    expect(enabled.status, enabled.text).toBe(200);
    const good = await gw.post(stripeId, body, signed(body));
    expect(good.status, good.text).toBe(202);
    expect(await gw.recordCount()).toBe(1);

    // Each refusal counted once, under its reason; verified: the two bodies without a type and the good one.
    const refused = async (reason: string) => gw.inboundMetric('refused', stripeId, { reason });
    expect({
      'missing-signature': await refused('missing-signature'),
      'malformed-signature': await refused('malformed-signature'),
      'body-too-large': await refused('body-too-large'),
      'invalid-body': await refused('invalid-body'),
      disabled: await refused('disabled'),
      all: await gw.inboundMetric('refused', stripeId),
    }).toEqual({
      'missing-signature': 1,
      'malformed-signature': 1,
      'body-too-large': 1,
      'invalid-body': 2,
      disabled: 1,
      all: 6,
    });
    expect(await gw.inboundMetric('refused', 'unknown', { reason: 'unknown-source' })).toBe(1);
    expect(await gw.inboundMetric('verified', stripeId)).toBe(3);
    expect(await gw.inboundMetric('accepted', stripeId)).toBe(1);
  });

  it('refuses verified requests over the source’s rate with 429 and writes nothing for them', async () => {
    const gw = await startInboundGateway();
    // One token in 100 s: none refills during the test, so the source gets exactly its burst of 1.
    const id = await gw.createSource({ ...crmSource, ratePerSecond: 0.01, burst: 1 });

    // Forged requests spend none of the source's tokens: the provider's own one still gets through.
    const forged = await gw.post(id, '{}', { 'x-webhook-token': 'forged', 'x-delivery': 'dlv_0' });
    expectRefused(forged, 401, 'SLUICE_SIGNATURE_INVALID', 'bad-signature');
    const first = await gw.post(id, '{}', { 'x-webhook-token': crmToken, 'x-delivery': 'dlv_1' });
    expect(first.status, first.text).toBe(202);
    const limited = await gw.post(id, '{}', { 'x-webhook-token': crmToken, 'x-delivery': 'dlv_2' });
    expectRefused(limited, 429, 'SLUICE_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    expect(await gw.recordCount()).toBe(1);
    expect(await gw.inboundMetric('refused', id, { reason: 'rate-limited' })).toBe(1);
    expect(await gw.inboundMetric('accepted', id)).toBe(1);
  });

  it('sheds a bulk source with 503 and Retry-After while Kafka does not acknowledge, and writes only what it answered 202', async () => {
    const gw = await startInboundGateway({
      // Only the pending-events signal decides: 3 of 4 pending is above bulk's 50 %, below normal's 80 %.
      SLUICE_SHED_MAX_PENDING_EVENTS: '4',
      SLUICE_SHED_MAX_HEAP_USED_BYTES: '0',
      SLUICE_SHED_ESCALATE_AFTER_MS: '0',
      SLUICE_SHED_RECOVER_AFTER_MS: '0',
      // Admitted requests wait for Kafka rather than expire while the backlog is built.
      SLUICE_PRODUCE_TIMEOUT_MS: '60000',
    });
    const normalId = await gw.createSource(crmSource);
    const bulkId = await gw.createSource({ ...crmSource, name: 'crm_bulk', priority: 'bulk' });
    const post = (id: string, delivery: string) =>
      gw.post(id, '{}', { 'x-webhook-token': crmToken, 'x-delivery': delivery });
    // The producer has its connections and metadata before Kafka stops acknowledging.
    const warm = await post(normalId, 'dlv_warm');
    expect(warm.status, warm.text).toBe(202);

    // Kafka stops acknowledging: the events topic is deleted under the running gateway (the broker
    // does not create topics), so the idempotent producer retries until it is back.
    const admin = await connectedAdmin();
    await admin.deleteTopics({ topics: [gw.setup.eventsTopic] });
    await eventually(
      'the topic to disappear',
      async () => !(await admin.listTopics()).includes(gw.setup.eventsTopic),
    );
    const pending = ['dlv_1', 'dlv_2', 'dlv_3'].map((delivery) => {
      const answer = post(normalId, delivery);
      answer.catch(() => undefined);
      return answer;
    });
    await eventually(
      '3 events pending',
      async () => (await scrapeMetric(gw.adminUrl, 'sluice_producer_pending_events')) === 3,
    );

    const shed = await post(bulkId, 'dlv_bulk');
    expectRefused(shed, 503, 'SLUICE_OVERLOADED');
    expect(Number(shed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await gw.inboundMetric('refused', bulkId, { reason: 'shed' })).toBe(1);

    // Kafka is back: the admitted requests are answered 202, and only they are in the topic.
    await createTopicsWithLeaders(admin, [
      {
        topic: gw.setup.eventsTopic,
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
      },
    ]);
    const answers = await Promise.all(pending);
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202]);
    const records = await readTopic(gw.setup.eventsTopic, 3);
    expect(records.map((record) => record.headers.ce_source)).toEqual(Array(3).fill(`/sources/${normalId}`));
    expect(await gw.inboundMetric('accepted', bulkId)).toBe(0);
  });
});
