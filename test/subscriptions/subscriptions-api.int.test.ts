import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createSsrfPolicy } from '../../common/ssrf-guard.js';
import { parseSecretsKeys, SecretsKeyring } from '../../common/subscriptions/secrets-keyring.js';
import { createSubscriptionStore } from '../../common/subscriptions/subscription-store.js';
import { isValidWebhookSecret } from '../../common/webhook-signer.js';
import { prepareGateway, startTestGateway, type TestGatewaySetup } from '../support/gateway-fixture.js';
import { testKafka } from '../support/kafka-fixture.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

async function call(
  baseUrl: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { key?: string | undefined; body?: unknown; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await request(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

async function gatewayWithKeys(envOverrides: Record<string, string> = {}) {
  const setup = await prepareGateway(
    [
      { producerId: 'ops', role: 'admin' },
      { producerId: 'shop-eu', role: 'producer' },
    ],
    envOverrides,
  );
  const { url, adminUrl } = await startTestGateway(setup);
  return { setup, url, adminUrl, admin: setup.keys.ops!, producer: setup.keys['shop-eu']! };
}

const valid = { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'], description: 'ERP' };

describe('subscriptions API (in-process gateway, real Kafka)', () => {
  it('creates, reads, lists, patches, rotates and deletes; secrets appear only on create and rotate', async () => {
    const { url, adminUrl, admin } = await gatewayWithKeys();
    expect((await request(`${adminUrl}/readyz`)).statusCode).toBe(200);

    const created = await call(url, 'POST', '/v1/subscriptions', { key: admin, body: valid });
    expect(created.status).toBe(201);
    const id: string = created.json.id;
    expect(id).toMatch(/^sub_[a-z2-7]{26}$/);
    expect(created.headers.location).toBe(`/v1/subscriptions/${id}`);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(isValidWebhookSecret(created.json.secret)).toBe(true);
    expect(created.json).toMatchObject({
      url: valid.url,
      eventTypes: ['order.*'],
      description: 'ERP',
      enabled: true,
      disabledReason: null,
      rateLimitPerSecond: null,
      maxConcurrency: 16,
      ordering: 'none',
      producerIds: null,
      signingSecrets: { active: 1, previousExpireAt: [] },
    });
    const firstSecret: string = created.json.secret;

    const fetched = await call(url, 'GET', `/v1/subscriptions/${id}`, { key: admin });
    expect(fetched.status).toBe(200);
    const { secret: _secret, ...withoutSecret } = created.json;
    expect(fetched.json).toEqual(withoutSecret);
    expect(fetched.text).not.toContain('whsec_');

    const listed = await call(url, 'GET', '/v1/subscriptions', { key: admin });
    expect(listed.status).toBe(200);
    expect(listed.json.subscriptions).toEqual([withoutSecret]);
    expect(listed.text).not.toContain('whsec_');

    const patched = await call(url, 'PATCH', `/v1/subscriptions/${id}`, {
      key: admin,
      body: { enabled: false, maxConcurrency: 3, producerIds: ['shop-eu'], rateLimitPerSecond: 10 },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      id,
      enabled: false,
      disabledReason: 'manual',
      maxConcurrency: 3,
      producerIds: ['shop-eu'],
      rateLimitPerSecond: 10,
      description: 'ERP',
    });
    expect(patched.text).not.toContain('whsec_');

    const rotated = await call(url, 'POST', `/v1/subscriptions/${id}/rotate-secret`, { key: admin });
    expect(rotated.status).toBe(200);
    expect(isValidWebhookSecret(rotated.json.secret)).toBe(true);
    expect(rotated.json.secret).not.toBe(firstSecret);
    expect(rotated.json.signingSecrets.active).toBe(2);
    expect(Date.parse(rotated.json.signingSecrets.previousExpireAt[0]) - Date.now()).toBeGreaterThan(
      23 * 3_600_000,
    );
    expect(rotated.text).not.toContain(firstSecret);
    const afterRotation = await call(url, 'GET', `/v1/subscriptions/${id}`, { key: admin });
    expect(afterRotation.text).not.toContain('whsec_');

    const deleted = await call(url, 'DELETE', `/v1/subscriptions/${id}`, { key: admin });
    expect(deleted.status).toBe(204);
    expect((await call(url, 'GET', `/v1/subscriptions/${id}`, { key: admin })).status).toBe(404);
    expect((await call(url, 'DELETE', `/v1/subscriptions/${id}`, { key: admin })).status).toBe(404);
    expect((await call(url, 'GET', '/v1/subscriptions', { key: admin })).json.subscriptions).toEqual([]);
  });

  it('stores the secret it returned, encrypted, for every process holding the key', async () => {
    const { setup, url, admin } = await gatewayWithKeys();
    const created = await call(url, 'POST', '/v1/subscriptions', { key: admin, body: valid });
    expect(created.status).toBe(201);
    const store = await independentStore(setup);
    expect(store.get(created.json.id)?.secrets).toEqual([
      { secret: created.json.secret, expiresAtMs: undefined },
    ]);
  });

  it('answers 401 without a key and 403 SLUICE_FORBIDDEN for a producer key, on every route', async () => {
    const { url, admin, producer } = await gatewayWithKeys();
    const { json } = await call(url, 'POST', '/v1/subscriptions', { key: admin, body: valid });
    const routes: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown]> = [
      ['POST', '/v1/subscriptions', valid],
      ['GET', '/v1/subscriptions', undefined],
      ['GET', `/v1/subscriptions/${json.id}`, undefined],
      ['PATCH', `/v1/subscriptions/${json.id}`, { description: 'x' }],
      ['DELETE', `/v1/subscriptions/${json.id}`, undefined],
      ['POST', `/v1/subscriptions/${json.id}/rotate-secret`, undefined],
    ];
    for (const [method, path, body] of routes) {
      const anonymous = await call(url, method, path, { body });
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      expect(anonymous.json.code).toBe('SLUICE_UNAUTHENTICATED');
      const forbidden = await call(url, method, path, { key: producer, body });
      expect(forbidden.status, `${method} ${path}`).toBe(403);
      expect(forbidden.json.code).toBe('SLUICE_FORBIDDEN');
    }
    // Nothing changed meanwhile.
    const after = await call(url, 'GET', `/v1/subscriptions/${json.id}`, { key: admin });
    expect(after.json.description).toBe('ERP');
  });

  it('answers 422 listing every problem, 415, 400 and 404 for bad requests', async () => {
    const { url, admin } = await gatewayWithKeys();
    const invalid = await call(url, 'POST', '/v1/subscriptions', {
      key: admin,
      body: { url: 'not a url', eventTypes: [], maxConcurrency: 0, secret: 'whsec_nope', ordering: 'fifo' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.headers['content-type']).toBe('application/problem+json');
    expect(invalid.json.code).toBe('SLUICE_INVALID_SUBSCRIPTION');
    expect(invalid.json.errors.map((e: { field: string }) => e.field)).toEqual([
      'url',
      'eventTypes',
      'maxConcurrency',
      'ordering',
      'secret',
    ]);
    expect(invalid.text).not.toContain('whsec_nope');

    const { json } = await call(url, 'POST', '/v1/subscriptions', { key: admin, body: valid });
    const badPatch = await call(url, 'PATCH', `/v1/subscriptions/${json.id}`, {
      key: admin,
      body: { eventTypes: ['ok', 'not ok'], id: 'sub_other' },
    });
    expect(badPatch.status).toBe(422);
    expect(badPatch.json.errors.map((e: { field: string }) => e.field)).toEqual(['id', 'eventTypes[1]']);

    const wrongType = await call(url, 'POST', '/v1/subscriptions', {
      key: admin,
      body: 'url=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(wrongType.status).toBe(415);
    const notJson = await call(url, 'POST', '/v1/subscriptions', { key: admin, body: '{"url":' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.code).toBe('SLUICE_MALFORMED_REQUEST');
    const noBody = await call(url, 'POST', '/v1/subscriptions', { key: admin });
    expect(noBody.status).toBe(400);

    for (const path of ['/v1/subscriptions/sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', '/v1/subscriptions/nonsense']) {
      const missing = await call(url, 'GET', path, { key: admin });
      expect(missing.status).toBe(404);
      expect(missing.json.code).toBe('SLUICE_NOT_FOUND');
      expect((await call(url, 'PATCH', path, { key: admin, body: { description: 'x' } })).status).toBe(404);
      expect((await call(url, 'POST', `${path}/rotate-secret`, { key: admin })).status).toBe(404);
    }
  });

  it('refuses metadata, private and loopback URLs unless SLUICE_SSRF_ALLOWED_CIDRS allows them', async () => {
    const strict = await gatewayWithKeys();
    const refused = [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/hook',
      'http://127.0.0.1:9000/hook',
      'http://[::ffff:a00:1]/hook',
    ];
    for (const target of refused) {
      const answer = await call(strict.url, 'POST', '/v1/subscriptions', {
        key: strict.admin,
        body: { ...valid, url: target },
      });
      expect(answer.status, target).toBe(422);
      expect(answer.json.code, target).toBe('SLUICE_URL_FORBIDDEN');
      expect(answer.json.errors[0].field).toBe('url');
    }
    const { json } = await call(strict.url, 'POST', '/v1/subscriptions', { key: strict.admin, body: valid });
    const patch = await call(strict.url, 'PATCH', `/v1/subscriptions/${json.id}`, {
      key: strict.admin,
      body: { url: 'http://10.0.0.1/hook' },
    });
    expect(patch.status).toBe(422);
    expect(patch.json.code).toBe('SLUICE_URL_FORBIDDEN');

    const lenient = await gatewayWithKeys({ SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8,10.0.0.0/8' });
    for (const target of ['http://10.0.0.1/hook', 'http://127.0.0.1:9000/hook']) {
      const answer = await call(lenient.url, 'POST', '/v1/subscriptions', {
        key: lenient.admin,
        body: { ...valid, url: target },
      });
      expect(answer.status, target).toBe(201);
    }
    const metadata = await call(lenient.url, 'POST', '/v1/subscriptions', {
      key: lenient.admin,
      body: { ...valid, url: 'http://169.254.169.254/' },
    });
    expect(metadata.status).toBe(422);
  });
});

/** A store of its own on the gateway's topic and keys: what a delivery worker would see. */
async function independentStore(setup: TestGatewaySetup) {
  const keyring = parseSecretsKeys(setup.env.SLUICE_SECRETS_KEYS!);
  if (!(keyring instanceof SecretsKeyring)) throw new Error('bad test keyring');
  const store = createSubscriptionStore({
    kafka: testKafka(),
    topic: setup.subscriptionsTopic,
    keyring,
    ssrfPolicy: createSsrfPolicy(),
    logger: createLogger('test-subscriptions', 'warn'),
  });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}
