import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError, SluiceError } from '../../common/errors.js';
import { hashApiKey } from './api-key-hash.js';
import { isEventTypeAllowed, loadApiKeyStore, parseApiKeyStore, type ApiKeyRecord } from './api-key-store.js';

const shopKey = 'sk_live_shop-eu-test-key-0123456789abcdefghijklmnopq';
const adminKey = 'sk_live_admin-test-key-0123456789abcdefghijklmnopqrs';

const shopEntry = {
  keyHash: hashApiKey(shopKey),
  producerId: 'shop-eu',
  role: 'producer',
  allowedEventTypes: ['order.*', 'payment.succeeded'],
  ratePerSecond: 500,
  burst: 800,
  priority: 'critical',
};
const adminEntry = {
  keyHash: hashApiKey(adminKey),
  producerId: 'ops',
  role: 'admin',
  allowedEventTypes: ['*'],
};

const jsonLines = [
  '# Sluice API keys: one JSON object per line',
  JSON.stringify(shopEntry),
  '',
  JSON.stringify(adminEntry),
].join('\n');

/** The problems listed by a SLUICE_CONFIG_INVALID error. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) return error.details.problems as string[];
    throw error;
  }
  throw new Error('expected SLUICE_CONFIG_INVALID');
}

function expectUnauthenticated(result: ApiKeyRecord | SluiceError, reason: string): void {
  expect(result).toBeInstanceOf(SluiceError);
  const error = result as SluiceError;
  expect(error.code).toBe('SLUICE_UNAUTHENTICATED');
  expect(error.status).toBe(401);
  expect(error.details.reason).toBe(reason);
}

describe('parseApiKeyStore', () => {
  it('loads JSON Lines, skipping blank and # lines, and applies defaults', () => {
    const store = parseApiKeyStore(jsonLines);
    expect(store.size).toBe(2);
    const admin = store.authenticate(`Bearer ${adminKey}`) as ApiKeyRecord;
    expect(admin).toMatchObject({
      producerId: 'ops',
      role: 'admin',
      ratePerSecond: 1000,
      burst: 2000,
      priority: 'normal',
    });
    const shop = store.authenticate(`Bearer ${shopKey}`) as ApiKeyRecord;
    expect(shop).toMatchObject({
      producerId: 'shop-eu',
      ratePerSecond: 500,
      burst: 800,
      priority: 'critical',
    });
  });

  it('loads a JSON array too', () => {
    const store = parseApiKeyStore(`  ${JSON.stringify([shopEntry, adminEntry], null, 2)}`);
    expect(store.size).toBe(2);
    expect((store.authenticate(`Bearer ${shopKey}`) as ApiKeyRecord).producerId).toBe('shop-eu');
  });

  it('defaults burst to two seconds of the given rate', () => {
    const store = parseApiKeyStore(JSON.stringify({ ...adminEntry, ratePerSecond: 2.5 }));
    expect((store.authenticate(`Bearer ${adminKey}`) as ApiKeyRecord).burst).toBe(5);
  });

  it('lists every problem with its entry, line and field', () => {
    const text = [
      JSON.stringify(shopEntry),
      '{"keyHash": "sha256:abc", "producerId": "", "role": "root", "allowedEventTypes": "order.*",',
      JSON.stringify({
        keyHash: 'sha256:XYZ',
        producerId: 'shop eu',
        role: 'producer',
        allowedEventTypes: ['order.*', 'bad type!', 7],
        ratePerSecond: -5,
        burst: 0,
        priority: 'urgent',
        ratePerSec: 10,
        createdAt: 'yesterday',
      }),
      JSON.stringify({ ...adminEntry, keyHash: shopEntry.keyHash }),
      '"just a string"',
    ].join('\n');
    expect(problemsOf(() => parseApiKeyStore(text))).toEqual([
      'entry 1 (line 2): not valid JSON',
      'entry 2 (line 3): unknown field "ratePerSec"',
      'entry 2 (line 3): keyHash must be "sha256:" followed by 64 lowercase hex digits',
      `entry 2 (line 3): producerId must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got "shop eu"`,
      'entry 2 (line 3): allowedEventTypes[1] must be an event type or a glob such as order.*, got "bad type!"',
      'entry 2 (line 3): allowedEventTypes[2] must be an event type or a glob such as order.*, got 7',
      'entry 2 (line 3): ratePerSecond must be a number of events per second above 0, got -5',
      'entry 2 (line 3): burst must be a number of events of at least 1, got 0',
      'entry 2 (line 3): priority must be one of critical, normal, bulk, got "urgent"',
      'entry 2 (line 3): createdAt must be an RFC 3339 time, got "yesterday"',
      'entry 3 (line 4): keyHash is the same as in entry 0 (line 1)',
      'entry 4 (line 5): must be a JSON object',
    ]);
  });

  it('binds a producer key to a tenant, and refuses a bad tenant or one on an admin key', () => {
    const store = parseApiKeyStore(JSON.stringify({ ...shopEntry, tenant: 'acme' }));
    expect((store.authenticate(`Bearer ${shopKey}`) as ApiKeyRecord).tenant).toBe('acme');
    const unbound = parseApiKeyStore(JSON.stringify(shopEntry)).authenticate(`Bearer ${shopKey}`);
    expect('tenant' in (unbound as ApiKeyRecord)).toBe(false);
    const text = [
      JSON.stringify({ ...shopEntry, tenant: 'acme corp' }),
      JSON.stringify({ ...adminEntry, tenant: 'acme' }),
      JSON.stringify({ ...shopEntry, keyHash: hashApiKey(`${shopKey}2`), tenant: 7 }),
    ].join('\n');
    expect(problemsOf(() => parseApiKeyStore(text))).toEqual([
      `entry 0 (line 1): tenant must be a tenant id (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit), got "acme corp"`,
      'entry 1 (line 2): tenant cannot be set on an admin key: admin keys act for every tenant',
      `entry 2 (line 3): tenant must be a tenant id (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit), got 7`,
    ]);
  });

  it('reports missing required fields', () => {
    expect(problemsOf(() => parseApiKeyStore('[{}]'))).toEqual([
      'entry 0: keyHash must be "sha256:" followed by 64 lowercase hex digits',
      `entry 0: producerId must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got nothing`,
      'entry 0: role must be one of producer, admin, got nothing',
      'entry 0: allowedEventTypes must be an array of event type globs (["*"] for all), got nothing',
    ]);
  });

  it('never quotes a raw key pasted into keyHash or a line that is not JSON', () => {
    const pasted = JSON.stringify({ ...shopEntry, keyHash: shopKey });
    const broken = `{"keyHash": "${shopKey}"`;
    for (const text of [pasted, broken, `[${broken}`]) {
      let message = '';
      try {
        parseApiKeyStore(text);
      } catch (error) {
        message = `${(error as Error).message} ${JSON.stringify((error as SluiceError).details)}`;
      }
      expect(message).toMatch(/invalid API keys file/);
      expect(message).not.toContain(shopKey);
    }
    expect(problemsOf(() => parseApiKeyStore(pasted))).toEqual([
      'entry 0 (line 1): keyHash holds what looks like a raw API key; store its hash (sluice keys create prints the line)',
    ]);
  });

  it('refuses a file without keys', () => {
    expect(problemsOf(() => parseApiKeyStore('# nothing yet\n'))).toEqual(['no API keys are defined']);
  });
});

describe('loadApiKeyStore', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'sluice-keys-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads the file at the given path', async () => {
    const path = join(directory, 'keys.jsonl');
    await writeFile(path, jsonLines);
    expect((await loadApiKeyStore(path)).size).toBe(2);
  });

  it('names the path and the reason when the file cannot be read', async () => {
    const path = join(directory, 'missing.jsonl');
    await expect(loadApiKeyStore(path)).rejects.toThrow(
      `SLUICE_API_KEYS_FILE ${path} cannot be read (ENOENT)`,
    );
  });
});

describe('ApiKeyStore.authenticate', () => {
  const store = parseApiKeyStore(jsonLines);

  it('returns the record of a known key', () => {
    const record = store.authenticate(`Bearer ${shopKey}`);
    expect(record).not.toBeInstanceOf(SluiceError);
    expect((record as ApiKeyRecord).producerId).toBe('shop-eu');
  });

  it('accepts the scheme in any case and surrounding spaces', () => {
    expect((store.authenticate(`  bearer   ${adminKey} `) as ApiKeyRecord).role).toBe('admin');
  });

  it('answers 401 unknown-key for a well-formed key that is not stored, without echoing it', () => {
    const presented = `${shopKey}x`;
    const result = store.authenticate(`Bearer ${presented}`);
    expectUnauthenticated(result, 'unknown-key');
    expect(
      JSON.stringify({ message: (result as SluiceError).message, details: (result as SluiceError).details }),
    ).not.toContain(presented);
  });

  it('answers 401 missing without a header', () => {
    expectUnauthenticated(store.authenticate(undefined), 'missing');
    expectUnauthenticated(store.authenticate('   '), 'missing');
  });

  it('answers 401 wrong-scheme for Basic and for a bare key', () => {
    expectUnauthenticated(store.authenticate('Basic dXNlcjpwYXNz'), 'wrong-scheme');
    expectUnauthenticated(store.authenticate(shopKey), 'wrong-scheme');
  });

  it('answers 401 malformed for a missing, oversized or ill-formed token', () => {
    expectUnauthenticated(store.authenticate('Bearer'), 'malformed');
    expectUnauthenticated(store.authenticate(`Bearer ${'a'.repeat(300)}`), 'malformed');
    expectUnauthenticated(store.authenticate(`Bearer ${shopKey}, Bearer ${adminKey}`), 'malformed');
    expectUnauthenticated(store.authenticate('Bearer key with spaces'), 'malformed');
  });

  describe('with HTTP Basic allowed (the /registry routes)', () => {
    const both = ['bearer', 'basic'] as const;
    const basic = (userInfo: string) => `Basic ${Buffer.from(userInfo).toString('base64')}`;

    it('takes the password as the key, whatever the user, and still takes Bearer', () => {
      expect((store.authenticate(basic(`shop-eu:${shopKey}`), both) as ApiKeyRecord).producerId).toBe(
        'shop-eu',
      );
      expect((store.authenticate(basic(`anyone:${adminKey}`), both) as ApiKeyRecord).role).toBe('admin');
      expect((store.authenticate(basic(`:${adminKey}`), both) as ApiKeyRecord).role).toBe('admin');
      expect((store.authenticate(`Bearer ${shopKey}`, both) as ApiKeyRecord).producerId).toBe('shop-eu');
    });

    it('answers 401 unknown-key for a wrong password and malformed for credentials without one', () => {
      expectUnauthenticated(store.authenticate(basic(`shop-eu:${shopKey}x`), both), 'unknown-key');
      expectUnauthenticated(store.authenticate(basic(shopKey), both), 'malformed');
      expectUnauthenticated(store.authenticate(basic('shop-eu:'), both), 'malformed');
      expectUnauthenticated(store.authenticate('Basic not*base64', both), 'malformed');
      expectUnauthenticated(store.authenticate('Basic', both), 'malformed');
      expectUnauthenticated(store.authenticate(`Digest ${shopKey}`, both), 'wrong-scheme');
    });

    it('stays refused where only Bearer is accepted', () => {
      expectUnauthenticated(store.authenticate(basic(`shop-eu:${shopKey}`)), 'wrong-scheme');
    });
  });
});

describe('isEventTypeAllowed', () => {
  const store = parseApiKeyStore(jsonLines);
  const shop = store.authenticate(`Bearer ${shopKey}`) as ApiKeyRecord;
  const admin = store.authenticate(`Bearer ${adminKey}`) as ApiKeyRecord;

  it('matches globs, where * spans any characters including dots', () => {
    expect(isEventTypeAllowed(shop, 'order.created')).toBe(true);
    expect(isEventTypeAllowed(shop, 'order.line.added')).toBe(true);
    expect(isEventTypeAllowed(shop, 'payment.succeeded')).toBe(true);
  });

  it('refuses types outside the globs, including near misses', () => {
    expect(isEventTypeAllowed(shop, 'payment.failed')).toBe(false);
    expect(isEventTypeAllowed(shop, 'orders.created')).toBe(false);
    expect(isEventTypeAllowed(shop, 'order')).toBe(false);
    expect(isEventTypeAllowed(shop, 'xorder.created')).toBe(false);
    expect(isEventTypeAllowed(shop, 'payment.succeeded.v2')).toBe(false);
  });

  it('treats . in a glob literally', () => {
    const record = { ...shop, allowedEventTypes: ['a.b', 'c.*'] };
    expect(isEventTypeAllowed(record, 'a.b')).toBe(true);
    expect(isEventTypeAllowed(record, 'axb')).toBe(false);
    expect(isEventTypeAllowed(record, 'c.d')).toBe(true);
    expect(isEventTypeAllowed(record, 'cxd')).toBe(false);
  });

  it('lets * alone allow every type and an empty list allow none', () => {
    expect(isEventTypeAllowed(admin, 'anything.at.all')).toBe(true);
    expect(isEventTypeAllowed({ ...admin, allowedEventTypes: [] }, 'order.created')).toBe(false);
  });

  it('supports * in the middle of a glob', () => {
    const record = { ...shop, allowedEventTypes: ['order.*.v2'] };
    expect(isEventTypeAllowed(record, 'order.created.v2')).toBe(true);
    expect(isEventTypeAllowed(record, 'order.created.v3')).toBe(false);
  });
});
