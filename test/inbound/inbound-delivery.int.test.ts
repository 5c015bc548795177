import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually, prepareDelivery } from '../delivery/delivery-fixture.js';
import { spawnDeliver } from '../delivery/deliver-process-fixture.js';
import { send } from '../gateway/ingest-client.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
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

describe('an inbound webhook, end to end', () => {
  it('reaches a subscriber signed by Sluice, with the provider’s payload byte for byte', async () => {
    const schemasTopic = await createRegistryTopic();
    const gatewaySetup = await prepareGateway([{ producerId: 'ops', role: 'admin' }], {
      SLUICE_SCHEMAS_TOPIC: schemasTopic,
      SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
    });
    const deliverySetup = await prepareDelivery({
      SLUICE_SUBSCRIPTIONS_TOPIC: gatewaySetup.subscriptionsTopic,
      SLUICE_SECRETS_KEYS: gatewaySetup.env.SLUICE_SECRETS_KEYS!,
      SLUICE_SCHEMAS_TOPIC: schemasTopic,
    });
    gatewaySetup.env.SLUICE_EVENTS_TOPIC = deliverySetup.eventsTopic;
    const { url } = await startTestGateway(gatewaySetup);
    const admin = gatewaySetup.keys.ops!;
    const receiver = await startReceiver();

    const stripeSecret = 'whsec_end_to_end_secret';
    const source = await send(url, {
      path: '/v1/sources',
      apiKey: admin,
      contentType: 'application/json',
      body: { name: 'stripe', verification: { scheme: 'stripe' }, secret: stripeSecret },
    });
    expect(source.status, source.text).toBe(201);
    const sourceId = (source.json as { id: string }).id;
    const subscription = await send(url, {
      path: '/v1/subscriptions',
      apiKey: admin,
      contentType: 'application/json',
      body: { url: receiver.url, eventTypes: ['stripe.*'] },
    });
    expect(subscription.status, subscription.text).toBe(201);
    const subscriptionSecret = (subscription.json as { secret: string }).secret;

    // Started once the subscription exists: a worker reads the whole subscriptions topic first.
    const deliver = await spawnDeliver(deliverySetup);
    await eventually(
      'worker readiness',
      async () => (await fetch(`${deliver.adminUrl}/readyz`)).status === 200,
      60_000,
    );

    // Spacing and key order Sluice would never write: they must survive, as Stripe signed them.
    const payload =
      '{"id":"evt_e2e_1",  "type":"payment_intent.succeeded","data":{"object":{"amount":1999.50}}}';
    const signature = new Stripe('sk_test_unused').webhooks.generateTestHeaderString({
      payload,
      secret: stripeSecret,
    });
    const answer = await send(url, {
      path: `/in/${sourceId}`,
      contentType: 'application/json',
      headers: { 'stripe-signature': signature },
      body: payload,
    });
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
});
