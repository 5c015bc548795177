import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startMockReceiver, type MockReceiverOptions } from './mock-receiver.js';

const body = JSON.stringify({
  type: 'order.created',
  timestamp: '2026-11-27T09:00:00Z',
  data: { orderId: 'o-1' },
});

async function receiver(options: MockReceiverOptions = {}) {
  const started = await startMockReceiver(options);
  onTestFinished(() => started.close());
  return started;
}

function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Posts a webhook as a sender would, signed with `secrets` (none: unsigned). */
async function send(
  url: string,
  webhookId: string,
  options: { secrets?: string[]; at?: Date; payload?: string } = {},
) {
  const at = options.at ?? new Date();
  const payload = options.payload ?? body;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  };
  if (options.secrets) {
    headers['webhook-signature'] = options.secrets
      .map((secret) => new Webhook(secret).sign(webhookId, at, body))
      .join(' ');
  }
  const response = await request(`${url}/hooks/orders`, { method: 'POST', headers, body: payload });
  await response.body.dump();
  return { status: response.statusCode, retryAfter: response.headers['retry-after'] };
}

describe('mock webhook receiver', () => {
  it('records the webhook-id, attempt and arrival time of each request and answers 204', async () => {
    let nowMs = 1_790_000_000_000;
    const mock = await receiver({ nowMs: () => nowMs, keepBodies: true });
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect((await send(mock.url, 'evt_1')).status).toBe(204);
    nowMs += 5;
    expect((await send(mock.url, 'evt_2')).status).toBe(204);

    expect(mock.received).toMatchObject([
      { webhookId: 'evt_1', attempt: 1, arrivedAtMs: 1_790_000_000_000, path: '/hooks/orders', body },
      { webhookId: 'evt_2', attempt: 1, arrivedAtMs: 1_790_000_000_005, method: 'POST', status: 204 },
    ]);
    expect(mock.received[0]!.bodyBytes).toBe(Buffer.byteLength(body));
    expect(mock.received[0]!.signatureValid).toBeUndefined();
    expect(mock.stats()).toEqual({
      requests: 2,
      delivered: 2,
      failed: 0,
      invalidSignatures: 0,
      uniqueDelivered: 2,
      duplicateDeliveries: 0,
    });
  });

  it('fails the first attempts of every webhook with Retry-After, then accepts the retry', async () => {
    const mock = await receiver({ failFirstAttempts: 2, failureStatus: 503, failureRetryAfterSeconds: 7 });

    expect(await send(mock.url, 'evt_1')).toEqual({ status: 503, retryAfter: '7' });
    expect((await send(mock.url, 'evt_2')).status).toBe(503);
    expect((await send(mock.url, 'evt_1')).status).toBe(503);
    expect(await send(mock.url, 'evt_1')).toEqual({ status: 204, retryAfter: undefined });

    expect(mock.received.map((record) => [record.webhookId, record.attempt, record.status])).toEqual([
      ['evt_1', 1, 503],
      ['evt_2', 1, 503],
      ['evt_1', 2, 503],
      ['evt_1', 3, 204],
    ]);
    expect(mock.stats()).toMatchObject({ requests: 4, delivered: 1, failed: 3 });
  });

  it('fails the configured fraction of attempts, drawn from the injected randomness', async () => {
    const draws = [0.05, 0.95, 0.25, 0.75];
    const mock = await receiver({
      failureRate: 0.5,
      failureStatus: 500,
      random: () => draws.shift() ?? 0.99,
    });

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(mock.url, `evt_${i}`)).status);

    expect(statuses).toEqual([500, 204, 500, 204]);
  });

  it('waits delayMs before answering', async () => {
    const mock = await receiver({ delayMs: 150 });
    const startedMs = performance.now();
    await send(mock.url, 'evt_1');
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(140);
  });

  it('accepts Standard Webhooks signatures, also during a secret rotation, and refuses others with 401', async () => {
    const current = newSecret();
    const previous = newSecret();
    const mock = await receiver({ secrets: [current] });

    expect((await send(mock.url, 'evt_1', { secrets: [current] })).status).toBe(204);
    expect((await send(mock.url, 'evt_2', { secrets: [previous, current] })).status).toBe(204);
    expect((await send(mock.url, 'evt_3', { secrets: [previous] })).status).toBe(401);
    expect(
      (await send(mock.url, 'evt_4', { secrets: [current], payload: body.replace('o-1', 'o-2') })).status,
    ).toBe(401);
    expect(
      (await send(mock.url, 'evt_5', { secrets: [current], at: new Date(Date.now() - 600_000) })).status,
    ).toBe(401);
    expect((await send(mock.url, 'evt_6')).status).toBe(401);

    expect(mock.received.map((record) => record.signatureValid)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(mock.stats()).toMatchObject({ delivered: 2, invalidSignatures: 4 });
  });

  it('counts a second successful delivery of one webhook-id as a duplicate', async () => {
    const mock = await receiver();
    await send(mock.url, 'evt_1');
    await send(mock.url, 'evt_1');
    await send(mock.url, 'evt_2');
    expect(mock.stats()).toMatchObject({ delivered: 3, uniqueDelivered: 2, duplicateDeliveries: 1 });
  });

  it('answers 413 to a body larger than maxBodyBytes', async () => {
    const mock = await receiver({ maxBodyBytes: 64 });
    expect((await send(mock.url, 'evt_1', { payload: 'x'.repeat(65) })).status).toBe(413);
    expect(mock.received[0]).toMatchObject({ status: 413, bodyBytes: 0 });
  });

  it('resolves waitForDelivered once enough webhooks succeeded, and rejects when they do not come', async () => {
    const mock = await receiver();
    const waiting = mock.waitForDelivered(2, 5000);
    await send(mock.url, 'evt_1');
    await send(mock.url, 'evt_2');
    expect((await waiting).map((record) => record.webhookId)).toEqual(['evt_1', 'evt_2']);
    await expect(mock.waitForDelivered(3, 50)).rejects.toThrow('only 2 of 3 webhooks delivered within 50 ms');
  });

  it('keeps only counters when recordRequests is off, and forgets everything on reset', async () => {
    const mock = await receiver({ recordRequests: false });
    await send(mock.url, 'evt_1');
    expect(mock.received).toEqual([]);
    expect(mock.stats()).toMatchObject({ requests: 1, delivered: 1 });
    mock.reset();
    expect(mock.stats()).toMatchObject({ requests: 0, delivered: 0, uniqueDelivered: 0 });
  });

  it('refuses bad options, naming each one', async () => {
    await expect(
      startMockReceiver({ failureRate: 2, successStatus: 99, delayMs: -1, secrets: ['not-a-secret'] }),
    ).rejects.toThrow(
      /failureRate must be from 0 to 1, got 2; successStatus must be an HTTP status .*; delayMs must be a non-negative number, got -1; secrets\[0\] must look like whsec_<base64>/,
    );
  });
});
