import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  activeSecrets,
  buildAttemptHeaders,
  buildWebhookBody,
  buildWebhookPayload,
} from './webhook-payload.js';
import { inboundWebhookSubject } from '../../schemas/inbound-webhook.js';
import { generateWebhookSecret } from '../../common/webhook-signer.js';

const event = {
  id: 'evt_1',
  type: 'order.created',
  time: '2024-11-05T14:32:07.412Z',
  data: { orderId: 'o-1', totalMinor: 1299, lines: [{ sku: 'A', quantity: 2 }] },
};

describe('webhook payload', () => {
  it('is {"type","timestamp","data"} with the event time and decoded data', () => {
    expect(JSON.parse(buildWebhookBody(event).toString('utf8'))).toEqual({
      type: 'order.created',
      timestamp: '2024-11-05T14:32:07.412Z',
      data: event.data,
    });
  });

  it('carries headers that a Standard Webhooks library verifies', () => {
    const secret = generateWebhookSecret();
    const nowMs = Date.now();
    const body = buildWebhookBody(event);
    const headers = buildAttemptHeaders({
      eventId: event.id,
      body,
      subscription: { secrets: [{ secret, expiresAtMs: undefined }] },
      nowMs,
    });
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(nowMs / 1000)));
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body.toString('utf8')));
  });

  it('sends a subscription’s static headers, which cannot replace Sluice’s own', () => {
    const secret = generateWebhookSecret();
    const body = buildWebhookBody(event);
    const headers = buildAttemptHeaders({
      eventId: event.id,
      body,
      subscription: {
        secrets: [{ secret, expiresAtMs: undefined }],
        // Refused when saved and when read back; this checks the order alone.
        headers: [
          { name: 'authorization', value: 'Bearer t', secret: true },
          { name: 'x-api-key', value: 'k', secret: false },
          { name: 'webhook-id', value: 'forged', secret: false },
        ],
      },
      nowMs: Date.now(),
    });
    expect(headers).toMatchObject({ authorization: 'Bearer t', 'x-api-key': 'k', 'webhook-id': 'evt_1' });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body.toString('utf8')));
  });

  it('signs the UTF-8 bytes it sends, so text beyond ASCII verifies too', () => {
    const secret = generateWebhookSecret();
    const body = buildWebhookBody({ ...event, data: { note: 'Grüße, 東京 🚚' } });
    expect(body.toString('utf8')).toContain('Grüße, 東京 🚚');
    const headers = buildAttemptHeaders({
      eventId: event.id,
      body,
      subscription: { secrets: [{ secret, expiresAtMs: undefined }] },
      nowMs: Date.now(),
    });
    // The receiver verifies the text it decoded from the bytes on the wire.
    expect(new Webhook(secret).verify(body.toString('utf8'), headers)).toEqual({
      type: event.type,
      timestamp: event.time,
      data: { note: 'Grüße, 東京 🚚' },
    });
  });

  it('signs with both secrets during a rotation, so either verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const nowMs = Date.now();
    const body = buildWebhookBody(event);
    const headers = buildAttemptHeaders({
      eventId: event.id,
      body,
      subscription: {
        secrets: [
          { secret: newSecret, expiresAtMs: undefined },
          { secret: oldSecret, expiresAtMs: nowMs + 60_000 },
        ],
      },
      nowMs,
    });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
  });

  it('drops a secret once its rotation window closed', () => {
    const subscription = {
      secrets: [
        { secret: 'new', expiresAtMs: undefined },
        { secret: 'old', expiresAtMs: 1000 },
      ],
    };
    expect(activeSecrets(subscription, 999)).toEqual(['new', 'old']);
    expect(activeSecrets(subscription, 1000)).toEqual(['new']);
  });

  it('hands a received webhook on byte for byte, with its content type and provenance, signed', () => {
    // Not JSON Sluice would write: odd spacing and key order must survive, as the provider signed them.
    const providerBody = Buffer.from('{"id":"evt_9",  "type":"payment_intent.succeeded","n":1.10}');
    const payload = buildWebhookPayload(
      {
        id: 'inb_1',
        type: 'stripe.payment_intent.succeeded',
        time: '2026-12-06T10:00:00Z',
        data: {
          sourceId: 'src_1',
          sourceName: 'stripe',
          providerEventId: 'evt_9',
          eventType: 'stripe.payment_intent.succeeded',
          receivedAt: '2026-12-06T10:00:00Z',
          contentType: 'application/json; charset=utf-8',
          headers: {},
          body: providerBody,
        },
      },
      inboundWebhookSubject,
    );
    expect(payload.body.equals(providerBody)).toBe(true);
    const secret = generateWebhookSecret();
    const headers = buildAttemptHeaders({
      eventId: 'inb_1',
      body: payload.body,
      subscription: { secrets: [{ secret, expiresAtMs: undefined }] },
      nowMs: Date.now(),
      contentType: payload.contentType,
      provenance: payload.provenance,
    });
    expect(headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'sluice-source-id': 'src_1',
      'sluice-provider-event-id': 'evt_9',
      'sluice-event-type': 'stripe.payment_intent.succeeded',
    });
    expect(() => new Webhook(secret).verify(payload.body.toString('utf8'), headers)).not.toThrow();
  });

  it('gives every other event Sluice’s JSON body', () => {
    const payload = buildWebhookPayload(event, 'order.created');
    expect(payload).toMatchObject({ contentType: 'application/json', provenance: {} });
    expect(payload.body.equals(buildWebhookBody(event))).toBe(true);
  });
});
