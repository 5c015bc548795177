import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config.js';
import { isSluiceError } from '../errors.js';
import { generateWebhookSecret } from '../webhook-signer.js';
import {
  generateSecretsKey,
  parseSecretsKeys,
  readSecretsKeyring,
  SecretsKeyring,
} from './secrets-keyring.js';
import {
  decodeSubscriptionRecord,
  encodeSubscription,
  encodeSubscriptionTombstone,
} from './subscription-codec.js';
import type { Subscription } from './subscription.js';

function keyring(text: string): SecretsKeyring {
  const parsed = parseSecretsKeys(text);
  if (!(parsed instanceof SecretsKeyring)) throw new Error(parsed.problems.join('; '));
  return parsed;
}

const k1 = generateSecretsKey('k1');
const k2 = generateSecretsKey('k2');

function sampleSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub_abcdefghijklmnopqrstuvwxyz',
    url: 'https://hooks.example.com/sluice',
    eventTypes: ['order.*', 'payment.succeeded'],
    description: 'orders to the ERP',
    enabled: true,
    disabledReason: undefined,
    secrets: [
      { secret: generateWebhookSecret(), expiresAtMs: undefined },
      { secret: generateWebhookSecret(), expiresAtMs: 1_700_000_000_000 },
    ],
    rateLimitPerSecond: 50,
    maxConcurrency: 16,
    ordering: 'key',
    producerIds: ['shop-eu'],
    tenant: undefined,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-02T00:00:00.000Z',
    ...overrides,
  };
}

describe('subscription codec', () => {
  it('round-trips every field, secrets included', () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription();
    const record = encodeSubscription(subscription, ring);
    expect(record.key).toBe(subscription.id);
    expect(decodeSubscriptionRecord(Buffer.from(record.key), record.value, ring)).toEqual({
      kind: 'upsert',
      subscription,
    });
  });

  it('round-trips optional fields left unset', () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription({
      rateLimitPerSecond: undefined,
      producerIds: undefined,
      enabled: false,
      disabledReason: 'gone',
      secrets: [{ secret: generateWebhookSecret(), expiresAtMs: undefined }],
    });
    const record = encodeSubscription(subscription, ring);
    expect(decodeSubscriptionRecord(record.key, record.value, ring)).toEqual({
      kind: 'upsert',
      subscription,
    });
  });

  it('round-trips an auto-disabled subscription with disabledAt and failingSince', () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription({
      enabled: false,
      disabledReason: 'failing',
      disabledAt: '2024-01-07T00:00:00.000Z',
      failingSince: '2024-01-02T00:00:00.000Z',
    });
    const record = encodeSubscription(subscription, ring);
    const decoded = decodeSubscriptionRecord(record.key, record.value, ring);
    expect(decoded).toEqual({ kind: 'upsert', subscription });
    expect(decoded.kind === 'upsert' && decoded.subscription.failingSince).toBe('2024-01-02T00:00:00.000Z');
  });

  it('reads a record written before disabledAt and failingSince existed', () => {
    const ring = keyring(k1);
    const record = encodeSubscription(sampleSubscription({ enabled: false, disabledReason: 'gone' }), ring);
    const json = JSON.parse(record.value.toString('utf8'));
    delete json.disabledAt;
    delete json.failingSince;
    const decoded = decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(json)), ring);
    expect(decoded).toMatchObject({ kind: 'upsert', subscription: { disabledReason: 'gone' } });
    expect(decoded.kind === 'upsert' && decoded.subscription.disabledAt).toBeUndefined();
  });

  it('refuses an unknown disabledReason and a disabledAt that is not a string', () => {
    const ring = keyring(k1);
    const record = encodeSubscription(sampleSubscription(), ring);
    for (const [field, value] of [
      ['disabledReason', 'tired'],
      ['disabledAt', 12],
    ] as const) {
      const json = { ...JSON.parse(record.value.toString('utf8')), [field]: value };
      expect(decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(json)), ring)).toMatchObject({
        kind: 'invalid',
        reason: 'malformed',
        message: `field ${field} is missing or has the wrong type`,
      });
    }
  });

  it("writes a tenant's subscription as version 2, which a reader of version 1 alone refuses", () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription({ tenant: 'acme' });
    const record = encodeSubscription(subscription, ring);
    const json = JSON.parse(record.value.toString('utf8'));
    expect([json.v, json.tenant]).toEqual([2, 'acme']);
    expect(record.headers['content-type']).toBe('application/vnd.sluice.subscription.v2+json');
    expect(decodeSubscriptionRecord(record.key, record.value, ring)).toEqual({
      kind: 'upsert',
      subscription,
    });
    // What a process from before tenants did with it: an unreadable record, dropped from its view.
    const readsOnlyV1 = (value: Buffer) => JSON.parse(value.toString('utf8')).v === 1;
    expect(readsOnlyV1(record.value)).toBe(false);
  });

  it('keeps a global subscription as version 1, without a tenant field', () => {
    const ring = keyring(k1);
    const record = encodeSubscription(sampleSubscription({ tenant: undefined }), ring);
    const json = JSON.parse(record.value.toString('utf8'));
    expect(json.v).toBe(1);
    expect('tenant' in json).toBe(false);
    expect(record.headers['content-type']).toBe('application/vnd.sluice.subscription.v1+json');
  });

  it('refuses a version 2 record without a valid tenant, and a version 1 record with one', () => {
    const ring = keyring(k1);
    const v2 = JSON.parse(
      encodeSubscription(sampleSubscription({ tenant: 'acme' }), ring).value.toString('utf8'),
    );
    const v1 = JSON.parse(encodeSubscription(sampleSubscription(), ring).value.toString('utf8'));
    const decode = (json: unknown) =>
      decodeSubscriptionRecord(v1.id, Buffer.from(JSON.stringify(json)), ring);
    const tenantProblem = {
      kind: 'invalid',
      reason: 'malformed',
      message: 'field tenant is missing or has the wrong type',
    };
    expect(decode({ ...v2, tenant: undefined })).toMatchObject(tenantProblem);
    expect(decode({ ...v2, tenant: 'not a tenant!' })).toMatchObject(tenantProblem);
    expect(decode({ ...v2, tenant: null })).toMatchObject(tenantProblem);
    expect(decode({ ...v1, tenant: 'acme' })).toMatchObject(tenantProblem);
  });

  it('never writes a secret in clear, and encrypts with a fresh IV every time', () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription();
    const first = encodeSubscription(subscription, ring).value.toString('utf8');
    const second = encodeSubscription(subscription, ring).value.toString('utf8');
    for (const { secret } of subscription.secrets) {
      expect(first).not.toContain(secret);
      expect(first).not.toContain(secret.slice('whsec_'.length));
      expect(first).not.toContain(Buffer.from(secret.slice('whsec_'.length), 'base64').toString('hex'));
    }
    const ivsOf = (json: string) =>
      (JSON.parse(json) as { secrets: Array<{ iv: string; keyId: string }> }).secrets.map((s) => s.iv);
    expect(ivsOf(first)).not.toEqual(ivsOf(second));
    expect(ivsOf(first)[0]).not.toBe(ivsOf(first)[1]);
    expect(JSON.parse(first).secrets[0].keyId).toBe('k1');
  });

  it('round-trips a filter, custom headers, a retry schedule and a timeout; a secret header only encrypted', () => {
    const ring = keyring(k1);
    const subscription = sampleSubscription({
      filter: {
        'data.totalMinor': { $gt: 500 },
        $or: [{ producer: 'shop-eu' }, { tenant: { $exists: false } }],
      },
      headers: [
        { name: 'authorization', value: 'Bearer tok-3f9a2c', secret: true },
        { name: 'x-shop', value: 'eu', secret: false },
      ],
      retry: { delaysMs: [30_000, 600_000], maxAttempts: 2 },
      timeoutMs: 2500,
    });
    const record = encodeSubscription(subscription, ring);
    const text = record.value.toString('utf8');
    expect(text).not.toContain('tok-3f9a2c');
    expect(JSON.parse(text).headers).toEqual([
      { name: 'authorization', secret: expect.objectContaining({ keyId: 'k1' }) },
      { name: 'x-shop', value: 'eu' },
    ]);
    expect(decodeSubscriptionRecord(record.key, record.value, ring)).toEqual({
      kind: 'upsert',
      subscription,
    });
    // A record without the optional fields (written before they existed) reads as none set.
    const plain = encodeSubscription(sampleSubscription(), ring);
    expect(Object.keys(JSON.parse(plain.value.toString('utf8')))).not.toContain('headers');
  });

  it('refuses a secret header moved to another name or subscription, and a stored filter or header it cannot use', () => {
    const ring = keyring(k1);
    const record = encodeSubscription(
      sampleSubscription({ headers: [{ name: 'authorization', value: 'Bearer x', secret: true }] }),
      ring,
    );
    const json = JSON.parse(record.value.toString('utf8'));
    const renamed = { ...json, headers: [{ ...json.headers[0], name: 'x-other' }] };
    expect(decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(renamed)), ring)).toMatchObject({
      kind: 'invalid',
      reason: 'authentication-failed',
      message: expect.stringMatching(/^headers\[0\]: /),
    });
    const moved = { ...json, id: 'sub_otherotherotherotherother' };
    expect(decodeSubscriptionRecord(moved.id, Buffer.from(JSON.stringify(moved)), ring)).toMatchObject({
      reason: 'authentication-failed',
    });
    for (const [field, value] of [
      ['filter', { 'data.x': { $where: 'true' } }],
      ['headers', [{ name: 'content-length', value: '5' }]],
      ['headers', [{ name: 'x-a', value: 'a\r\nb' }]],
      ['retry', { delaysMs: [], maxAttempts: null }],
      ['timeoutMs', -1],
    ] as const) {
      const bad = { ...json, [field]: value };
      expect(
        decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(bad)), ring),
        field,
      ).toMatchObject({
        reason: 'malformed',
        message: `field ${field} is missing or has the wrong type`,
      });
    }
  });

  it('writes a tombstone (null value) for a delete, and reads it back as a delete', () => {
    const record = encodeSubscriptionTombstone('sub_x');
    expect(record).toMatchObject({ key: 'sub_x', value: null });
    expect(decodeSubscriptionRecord(Buffer.from('sub_x'), null, keyring(k1))).toEqual({
      kind: 'delete',
      id: 'sub_x',
    });
  });

  it('refuses a tampered ciphertext', () => {
    const ring = keyring(k1);
    const record = encodeSubscription(sampleSubscription(), ring);
    const json = JSON.parse(record.value.toString('utf8'));
    const bytes = Buffer.from(json.secrets[0].ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    json.secrets[0].ciphertext = bytes.toString('base64');
    const decoded = decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(json)), ring);
    expect(decoded).toMatchObject({ kind: 'invalid', id: record.key, reason: 'authentication-failed' });
  });

  it('refuses an encrypted secret copied into another subscription', () => {
    const ring = keyring(k1);
    const victim = encodeSubscription(sampleSubscription(), ring);
    const other = encodeSubscription(sampleSubscription({ id: 'sub_otherotherotherotherother' }), ring);
    const json = JSON.parse(other.value.toString('utf8'));
    json.secrets = JSON.parse(victim.value.toString('utf8')).secrets;
    const decoded = decodeSubscriptionRecord(other.key, Buffer.from(JSON.stringify(json)), ring);
    expect(decoded).toMatchObject({ kind: 'invalid', reason: 'authentication-failed' });
  });

  it('decrypts records written under an older key after the keys rotated, and encrypts with the new one', () => {
    const before = keyring(k1);
    const after = keyring(`${k2},${k1}`);
    const subscription = sampleSubscription();
    const old = encodeSubscription(subscription, before);
    expect(decodeSubscriptionRecord(old.key, old.value, after)).toEqual({ kind: 'upsert', subscription });
    const rewritten = encodeSubscription(subscription, after);
    expect(JSON.parse(rewritten.value.toString('utf8')).secrets[0].keyId).toBe('k2');
    // Once every record is rewritten, k1 can go.
    expect(decodeSubscriptionRecord(rewritten.key, rewritten.value, keyring(k2))).toEqual({
      kind: 'upsert',
      subscription,
    });
  });

  it('fails clearly with a wrong key of the same id, or a key id that is not configured', () => {
    const record = encodeSubscription(sampleSubscription(), keyring(k1));
    const wrongMaterial = decodeSubscriptionRecord(
      record.key,
      record.value,
      keyring(generateSecretsKey('k1')),
    );
    expect(wrongMaterial).toMatchObject({ kind: 'invalid', reason: 'authentication-failed' });
    expect(wrongMaterial.kind === 'invalid' && wrongMaterial.message).toMatch(
      /cannot decrypt with key "k1": the key differs/,
    );
    const unknown = decodeSubscriptionRecord(record.key, record.value, keyring(k2));
    expect(unknown).toMatchObject({ kind: 'invalid', reason: 'unknown-key' });
    expect(unknown.kind === 'invalid' && unknown.message).toMatch(
      /"k1", which is not in SLUICE_SECRETS_KEYS \(k2\)/,
    );
  });

  it('reports malformed records without quoting them', () => {
    const ring = keyring(k1);
    expect(decodeSubscriptionRecord(null, Buffer.from('{}'), ring)).toMatchObject({ reason: 'no-key' });
    expect(decodeSubscriptionRecord('sub_x', Buffer.from('not json whsec_abc'), ring)).toMatchObject({
      kind: 'invalid',
      reason: 'malformed',
      message: 'the record value is not JSON',
    });
    expect(decodeSubscriptionRecord('sub_x', Buffer.from('{"v":3}'), ring)).toMatchObject({
      reason: 'unsupported-version',
    });
    const record = encodeSubscription(sampleSubscription(), ring);
    const json = JSON.parse(record.value.toString('utf8'));
    json.maxConcurrency = 'many';
    expect(decodeSubscriptionRecord(record.key, Buffer.from(JSON.stringify(json)), ring)).toMatchObject({
      reason: 'malformed',
      message: 'field maxConcurrency is missing or has the wrong type',
    });
    expect(decodeSubscriptionRecord('sub_other', record.value, ring)).toMatchObject({ reason: 'malformed' });
  });
});

describe('SLUICE_SECRETS_KEYS', () => {
  it('puts the first key first: it encrypts, all decrypt', () => {
    const ring = keyring(` ${k2} , ${k1} `);
    expect(ring.primaryKeyId).toBe('k2');
    expect(ring.keyIds).toEqual(['k2', 'k1']);
  });

  it('lists every problem without quoting key material', () => {
    const short = randomBytes(16).toString('base64');
    const parsed = parseSecretsKeys(`k1:${short},nocolon,k1:${short}x,${k1},${k1}`);
    expect(parsed).not.toBeInstanceOf(SecretsKeyring);
    const problems = (parsed as { problems: string[] }).problems;
    expect(problems).toEqual([
      'SLUICE_SECRETS_KEYS entry 1 (k1): the key must be the base64 of exactly 32 random bytes',
      'SLUICE_SECRETS_KEYS entry 2 must be <key id>:<base64 key> with a key id of 1-32 letters, digits, _ or -',
      'SLUICE_SECRETS_KEYS entry 3 (k1): the key must be the base64 of exactly 32 random bytes',
      'SLUICE_SECRETS_KEYS entry 5: key id k1 appears more than once',
    ]);
    expect(problems.join(' ')).not.toContain(short);
    expect(problems.join(' ')).not.toContain(k1.slice(3));
  });

  it('fails the config fast when missing', () => {
    const reader = new EnvReader({});
    readSecretsKeyring(reader);
    try {
      reader.finish({});
      expect.fail('expected a config error');
    } catch (error) {
      expect(isSluiceError(error, 'SLUICE_CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/SLUICE_SECRETS_KEYS must hold the keys/);
    }
  });

  it('reads a valid value without a problem', () => {
    const reader = new EnvReader({ SLUICE_SECRETS_KEYS: `${k2},${k1}` });
    const ring = readSecretsKeyring(reader);
    const config = reader.finish({ ring });
    expect(config.ring.keyIds).toEqual(['k2', 'k1']);
  });

  it('shows key ids, never key material, when logged or inspected', () => {
    const ring = keyring(`${k2},${k1}`);
    const material = [k1.slice(3), k2.slice(3)];
    for (const text of [
      JSON.stringify({ ring }),
      inspect(ring, { depth: 5, showHidden: true }),
      String(ring),
    ]) {
      for (const key of material) expect(text).not.toContain(key);
    }
    expect(JSON.stringify(ring)).toBe('{"primaryKeyId":"k2","keyIds":["k2","k1"]}');
  });
});
