import { describe, expect, it } from 'vitest';
import { isSluiceError, SluiceError } from '../../common/errors.js';
import { apiKeyPrefix, createApiKey } from './api-key-generator.js';
import { isEventTypeAllowed, parseApiKeyStore, type ApiKeyRecord } from './api-key-store.js';

describe('createApiKey', () => {
  it('creates an sk_live_ key of 32 random bytes in base64url', () => {
    const { apiKey } = createApiKey({ producerId: 'shop-eu', allowedEventTypes: ['order.*'] });
    expect(apiKey).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/);
    expect(apiKey.startsWith(apiKeyPrefix)).toBe(true);
    expect(Buffer.from(apiKey.slice(apiKeyPrefix.length), 'base64url')).toHaveLength(32);
  });

  it('creates a different key every time', () => {
    const keys = new Set(
      Array.from({ length: 50 }, () => createApiKey({ producerId: 'p', allowedEventTypes: ['*'] }).apiKey),
    );
    expect(keys.size).toBe(50);
  });

  it('prints a line that holds the hash, never the key, and authenticates against a store loaded from it', () => {
    const created = createApiKey({
      producerId: 'shop-eu',
      allowedEventTypes: ['order.*', 'payment.succeeded'],
      ratePerSecond: 200,
      priority: 'bulk',
      description: 'EU webshop',
      now: new Date('2026-01-02T03:04:05.000Z'),
    });
    expect(created.line).not.toContain(created.apiKey);
    expect(created.line).not.toContain(created.apiKey.slice(apiKeyPrefix.length));
    expect(JSON.parse(created.line)).toEqual({
      keyHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown,
      producerId: 'shop-eu',
      role: 'producer',
      allowedEventTypes: ['order.*', 'payment.succeeded'],
      ratePerSecond: 200,
      burst: 400,
      priority: 'bulk',
      description: 'EU webshop',
      createdAt: '2026-01-02T03:04:05.000Z',
    });

    const store = parseApiKeyStore(`${created.line}\n`);
    const record = store.authenticate(`Bearer ${created.apiKey}`);
    expect(record).not.toBeInstanceOf(SluiceError);
    expect(record).toEqual(created.record);
    expect(isEventTypeAllowed(record as ApiKeyRecord, 'order.created')).toBe(true);
    expect(isEventTypeAllowed(record as ApiKeyRecord, 'user.deleted')).toBe(false);

    const other = createApiKey({ producerId: 'shop-eu', allowedEventTypes: ['*'] });
    expect(isSluiceError(store.authenticate(`Bearer ${other.apiKey}`), 'SLUICE_UNAUTHENTICATED')).toBe(true);
  });

  it('writes the tenant into the line, and the store loads the key bound to it', () => {
    const created = createApiKey({ producerId: 'saas', allowedEventTypes: ['*'], tenant: 'acme' });
    expect(JSON.parse(created.line)).toMatchObject({ producerId: 'saas', role: 'producer', tenant: 'acme' });
    const store = parseApiKeyStore(created.line);
    expect((store.authenticate(`Bearer ${created.apiKey}`) as ApiKeyRecord).tenant).toBe('acme');
    expect(() =>
      createApiKey({ producerId: 'ops', role: 'admin', allowedEventTypes: ['*'], tenant: 'acme' }),
    ).toThrow(/tenant cannot be set on an admin key/);
  });

  it('refuses options the keys file would refuse, listing every problem', () => {
    let problems: unknown;
    try {
      createApiKey({
        producerId: 'shop eu',
        role: 'root' as 'admin',
        allowedEventTypes: ['ok', 'not ok'],
        burst: 0,
      });
    } catch (error) {
      if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) problems = error.details.problems;
    }
    expect(problems).toEqual([
      `new key: producerId must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got "shop eu"`,
      'new key: role must be one of producer, admin, got "root"',
      'new key: allowedEventTypes[1] must be an event type or a glob such as order.*, got "not ok"',
      'new key: burst must be a number of events of at least 1, got 0',
    ]);
  });
});
