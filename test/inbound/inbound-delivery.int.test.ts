import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually, prepareDelivery } from '../delivery/delivery-fixture.js';
import { spawnDeliver } from '../delivery/deliver-process-fixture.js';
import { prepareIngestGateway, send, type HttpAnswer } from '../gateway/ingest-client.js';
import { startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';

// End to end over real sockets, the real broker and a real `sluice deliver`: a webhook signed by
// Stripe's own library is received on /in/{sourceId}, queued in Kafka, and delivered to a
// subscriber of `stripe.*`, which verifies Sluice's signature with the standardwebhooks package and
// finds the provider's payload byte for byte.

interface Received {
  body: Buffer;
  headers: IncomingHttpHeaders;
}

async function startReceiver(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks), headers: request.headers });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received };
}

const stripeSecret = 'whsec_end_to_end_secret';
const stripe = new Stripe('sk_test_unused');

/**
 * A gateway with a `stripe` source, a subscription to `stripe.*` (with `subscription`'s fields)
 * pointing at a real receiver, and a running `sluice deliver`, on an events topic of one partition.
 */
async function startInboundDelivery(subscription: Record<string, unknown> = {}) {
  const schemasTopic = await createRegistryTopic();
  const gatewaySetup = await prepareIngestGateway([{ producerId: 'ops', role: 'admin' }], {
    SLUICE_SCHEMAS_TOPIC: schemasTopic,
    SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
  });
  const deliverySetup = await prepareDelivery(
    {
      SLUICE_SUBSCRIPTIONS_TOPIC: gatewaySetup.subscriptionsTopic,
      SLUICE_SECRETS_KEYS: gatewaySetup.env.SLUICE_SECRETS_KEYS!,
      SLUICE_SCHEMAS_TOPIC: schemasTopic,
    },
    1,
  );
  gatewaySetup.env.SLUICE_EVENTS_TOPIC = deliverySetup.eventsTopic;
  const { url } = await startTestGateway(gatewaySetup);
  const admin = gatewaySetup.keys.ops!;
  const receiver = await startReceiver();

  const source = await send(url, {
    path: '/v1/sources',
    apiKey: admin,
    contentType: 'application/json',
    body: { name: 'stripe', verification: { scheme: 'stripe' }, secret: stripeSecret },
  });
  expect(source.status, source.text).toBe(201);
  const sourceId = (source.json as { id: string }).id;
  const created = await send(url, {
    path: '/v1/subscriptions',
    apiKey: admin,
    contentType: 'application/json',
    body: { url: receiver.url, eventTypes: ['stripe.*'], ...subscription },
  });
  expect(created.status, created.text).toBe(201);
  const subscriptionSecret = (created.json as { secret: string }).secret;

  // Started once the subscription exists: a worker reads the whole subscriptions topic first.
  const deliver = await spawnDeliver(deliverySetup);
  await eventually(
    'worker readiness',
    async () => (await fetch(`${deliver.adminUrl}/readyz`)).status === 200,
    60_000,
  );

  /** Posts `payload` as Stripe does: signed by its library, at the time of sending. */
  const postStripe = (payload: string): Promise<HttpAnswer> =>
    send(url, {
      path: `/in/${sourceId}`,
      contentType: 'application/json',
      headers: {
        'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret }),
      },
      body: payload,
    });
  /** Records in the events topic: every 2xx came after Kafka's acknowledgement, so this is exact. */
  const recordCount = async (): Promise<number> => {
    const kafkaAdmin = await connectedAdmin();
    const offsets = await kafkaAdmin.fetchTopicOffsets(deliverySetup.eventsTopic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  };
  return { sourceId, subscriptionSecret, receiver, postStripe, recordCount };
}

const providerEventId = (delivery: Received): unknown => delivery.headers['sluice-provider-event-id'];

describe('an inbound webhook, end to end', () => {
  it('reaches a subscriber signed by Sluice, with the provider’s payload byte for byte', async () => {
    const { sourceId, subscriptionSecret, receiver, postStripe } = await startInboundDelivery();

    // Spacing and key order Sluice would never write: they must survive, as Stripe signed them.
    const payload =
      '{"id":"evt_e2e_1",  "type":"payment_intent.succeeded","data":{"object":{"amount":1999.50}}}';
    const answer = await postStripe(payload);
    expect(answer.status, answer.text).toBe(202);

    await eventually('the delivery', () => receiver.received.length > 0, 60_000);
    const [delivery] = receiver.received;
    expect(delivery!.body.equals(Buffer.from(payload))).toBe(true);
    const headers = Object.fromEntries(
      Object.entries(delivery!.headers).map(([name, value]) => [name, String(value)]),
    );
    expect(() =>
      new Webhook(subscriptionSecret).verify(delivery!.body.toString('utf8'), headers),
    ).not.toThrow();
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'sluice-source-id': sourceId,
      'sluice-provider-event-id': 'evt_e2e_1',
      'sluice-event-type': 'stripe.payment_intent.succeeded',
      'webhook-id': (answer.json as { id: string }).id,
    });
  });

  it('delivers a provider event sent three times (as after a timeout) once, from one record', async () => {
    // One partition and one delivery at a time: the worker takes records in offset order, so once
    // the event posted afterwards has arrived, no copy of the repeated one can still be on its way.
    const { receiver, postStripe, recordCount } = await startInboundDelivery({ maxConcurrency: 1 });

    const repeated = '{"id":"evt_repeated","type":"charge.succeeded","data":{"object":{"amount":500}}}';
    const answers: HttpAnswer[] = [];
    for (let attempt = 0; attempt < 3; attempt++) answers.push(await postStripe(repeated));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202]);
    const ids = answers.map((answer) => (answer.json as { id: string }).id);
    expect(new Set(ids).size).toBe(1);

    const later = '{"id":"evt_later","type":"charge.refunded","data":{"object":{"amount":500}}}';
    const laterAnswer = await postStripe(later);
    expect(laterAnswer.status, laterAnswer.text).toBe(202);
    await eventually(
      'the later event’s delivery',
      () => receiver.received.some((delivery) => providerEventId(delivery) === 'evt_later'),
      60_000,
    );

    expect(receiver.received.map(providerEventId)).toEqual(['evt_repeated', 'evt_later']);
    const [first] = receiver.received;
    expect(first!.body.equals(Buffer.from(repeated))).toBe(true);
    expect(first!.headers['webhook-id']).toBe(ids[0]);
    expect(await recordCount()).toBe(2);
  });
});
