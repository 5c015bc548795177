import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config.js';
import { SluiceError } from '../errors.js';
import { createSsrfPolicy, readSsrfPolicy } from '../ssrf-guard.js';
import { generateWebhookSecret } from '../webhook-signer.js';
import type { FilterFieldTypes } from './payload-filter-fields.js';
import {
  isSubscriptionId,
  newSubscriptionId,
  resolveSubscriptionPatch,
  validateSecretRotation,
  validateSubscriptionCreate,
  validateSubscriptionPatch,
  type FieldProblem,
  type SubscriptionPatch,
} from './subscription-input.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

const policy = createSsrfPolicy();

function problemsOf(result: unknown): FieldProblem[] {
  expect(result).toBeInstanceOf(SluiceError);
  return (result as SluiceError).details.errors as FieldProblem[];
}

describe('validateSubscriptionCreate', () => {
  it('applies the defaults of every optional field, drops repeated event types and normalises the URL', () => {
    const result = validateSubscriptionCreate(
      { url: 'https://Hooks.Example.com', eventTypes: ['order.*', 'order.*', 'payment.succeeded'] },
      policy,
    );
    expect(result).toEqual({
      url: 'https://hooks.example.com/',
      eventTypes: ['order.*', 'payment.succeeded'],
      description: '',
      enabled: true,
      secret: undefined,
      rateLimitPerSecond: undefined,
      maxConcurrency: 16,
      ordering: 'none',
      producerIds: undefined,
      tenant: undefined,
      filter: undefined,
      headers: [],
      retry: undefined,
      timeoutMs: undefined,
    });
    expect('tenant' in (result as object)).toBe(true);
  });

  it('keeps every given field', () => {
    const secret = generateWebhookSecret();
    const input = {
      url: 'http://receiver.example.org:8443/hooks?tenant=1',
      eventTypes: ['*'],
      description: 'all events',
      enabled: false,
      secret,
      rateLimitPerSecond: 2.5,
      maxConcurrency: 1000,
      ordering: 'key',
      producerIds: ['shop-eu', 'shop-us'],
      tenant: 'acme',
      filter: { 'data.totalMinor': { $gt: 500 } },
      headers: { 'X-Api-Key': 'k-1', Authorization: { value: 'Bearer t0ken', secret: true } },
      retry: { schedule: ['30s', '10m'], maxAttempts: 2 },
      timeoutMs: 5000,
    };
    expect(validateSubscriptionCreate(input, policy)).toEqual({
      ...input,
      headers: [
        { name: 'x-api-key', value: 'k-1', secret: false },
        { name: 'authorization', value: 'Bearer t0ken', secret: true },
      ],
      retry: { delaysMs: [30_000, 600_000], maxAttempts: 2 },
    });
  });

  it('lists every problem at once with its field path', () => {
    const result = validateSubscriptionCreate(
      {
        url: 'ftp://example.com/x',
        eventTypes: ['order.created', 'bad type!', 7],
        description: 12,
        enabled: 'yes',
        secret: 'whsec_tooShort',
        rateLimitPerSecond: 0,
        maxConcurrency: 1001,
        ordering: 'fifo',
        producerIds: ['ok', ''],
        id: 'sub_mine',
        colour: 'blue',
      },
      policy,
    );
    expect((result as SluiceError).code).toBe('SLUICE_INVALID_SUBSCRIPTION');
    expect(problemsOf(result).map((problem) => problem.field)).toEqual([
      'id',
      'colour',
      'url',
      'eventTypes[1]',
      'eventTypes[2]',
      'description',
      'enabled',
      'rateLimitPerSecond',
      'maxConcurrency',
      'ordering',
      'producerIds[1]',
      'secret',
    ]);
    const byField = Object.fromEntries(problemsOf(result).map((p) => [p.field, p.message]));
    expect(byField.id).toBe('id is read-only');
    expect(byField.colour).toBe('unknown field colour');
    expect(byField.url).toBe('webhook URL must use http or https, got ftp');
    expect(byField.maxConcurrency).toBe('maxConcurrency must be a whole number from 1 to 1000, got 1001');
    // The secret is never echoed.
    expect(JSON.stringify(problemsOf(result))).not.toContain('tooShort');
  });

  it('takes a tenant id or null (global) for tenant, and names the field for anything else', () => {
    const base = { url: 'https://example.com/hook', eventTypes: ['*'] };
    expect(validateSubscriptionCreate({ ...base, tenant: 'acme.eu_1-x' }, policy)).toMatchObject({
      tenant: 'acme.eu_1-x',
    });
    expect(validateSubscriptionCreate({ ...base, tenant: null }, policy)).toMatchObject({
      tenant: undefined,
    });
    for (const tenant of [
      '',
      ' acme',
      'acme corp',
      '-acme',
      'a'.repeat(65),
      'acmé',
      42,
      ['acme'],
      {},
      true,
    ]) {
      const result = validateSubscriptionCreate({ ...base, tenant }, policy);
      expect((result as SluiceError).code, JSON.stringify(tenant)).toBe('SLUICE_INVALID_SUBSCRIPTION');
      const [problem, ...others] = problemsOf(result);
      expect(others).toEqual([]);
      expect(problem!.field).toBe('tenant');
      expect(problem!.message).toMatch(/^tenant must be a tenant id \(1-64 letters, digits/);
    }
    expect(validateSubscriptionCreate({ ...base, tenant: 'a'.repeat(64) }, policy)).toMatchObject({
      tenant: 'a'.repeat(64),
    });
  });

  it('requires url and eventTypes, and eventTypes non-empty', () => {
    expect(problemsOf(validateSubscriptionCreate({}, policy)).map((p) => p.field)).toEqual([
      'url',
      'eventTypes',
    ]);
    expect(
      problemsOf(validateSubscriptionCreate({ url: 'https://example.com', eventTypes: [] }, policy)),
    ).toEqual([
      {
        field: 'eventTypes',
        message: 'eventTypes must be a non-empty array of event types or globs such as order.*',
      },
    ]);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'text', 3]) {
      expect((validateSubscriptionCreate(body, policy) as SluiceError).code).toBe(
        'SLUICE_INVALID_SUBSCRIPTION',
      );
    }
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://10.0.0.1/hook', 'private'],
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://localhost/hook', 'loopback'],
    ['http://metadata.google.internal/', 'metadata'],
    ['http://0x7f.1/hook', 'loopback'],
  ])('refuses %s with SLUICE_URL_FORBIDDEN (%s)', (url, reason) => {
    const result = validateSubscriptionCreate({ url, eventTypes: ['*'] }, policy);
    expect((result as SluiceError).code).toBe('SLUICE_URL_FORBIDDEN');
    expect(problemsOf(result)).toEqual([expect.objectContaining({ field: 'url', reason })]);
  });

  it('reports an SSRF refusal among other problems as an invalid subscription', () => {
    const result = validateSubscriptionCreate({ url: 'http://10.0.0.1/', eventTypes: [] }, policy);
    expect((result as SluiceError).code).toBe('SLUICE_INVALID_SUBSCRIPTION');
    expect(problemsOf(result).map((p) => p.field)).toEqual(['url', 'eventTypes']);
  });

  it('accepts private addresses that SLUICE_SSRF_ALLOWED_CIDRS allows', () => {
    const reader = new EnvReader({ SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8, 10.0.0.0/8' });
    const allowing = readSsrfPolicy(reader);
    reader.finish({});
    for (const url of ['http://127.0.0.1:9000/hook', 'http://10.0.0.1/hook', 'http://localhost:1/']) {
      expect(validateSubscriptionCreate({ url, eventTypes: ['*'] }, allowing)).not.toBeInstanceOf(
        SluiceError,
      );
    }
    const metadata = validateSubscriptionCreate(
      { url: 'http://169.254.169.254/', eventTypes: ['*'] },
      allowing,
    );
    expect((metadata as SluiceError).code).toBe('SLUICE_URL_FORBIDDEN');
  });

  it('reports bad SLUICE_SSRF_ALLOWED_CIDRS as a config problem', () => {
    const reader = new EnvReader({ SLUICE_SSRF_ALLOWED_CIDRS: '10.0.0.0/33,example.com' });
    readSsrfPolicy(reader);
    expect(() => reader.finish({})).toThrow(
      /SLUICE_SSRF_ALLOWED_CIDRS entries must be CIDRs.*"10.0.0.0\/33", "example.com"/,
    );
  });
});

describe('validateSubscriptionPatch', () => {
  it('returns only the fields given; null clears the rate limit and the producer filter', () => {
    expect(
      validateSubscriptionPatch({ description: 'x', rateLimitPerSecond: null, producerIds: null }, policy),
    ).toEqual({ description: 'x', rateLimitPerSecond: null, producerIds: null });
    expect(validateSubscriptionPatch({}, policy)).toEqual({});
  });

  it('moves a subscription to a tenant, or makes it global with null', () => {
    expect(validateSubscriptionPatch({ tenant: 'globex' }, policy)).toEqual({ tenant: 'globex' });
    expect(validateSubscriptionPatch({ tenant: null }, policy)).toEqual({ tenant: null });
    const result = validateSubscriptionPatch({ tenant: 'no spaces', description: 'x' }, policy);
    expect(problemsOf(result).map((p) => p.field)).toEqual(['tenant']);
  });

  it('refuses changing the secret, read-only fields, and a forbidden URL, all at once', () => {
    const result = validateSubscriptionPatch(
      { secret: generateWebhookSecret(), createdAt: 'now', url: 'http://10.1.2.3/' },
      policy,
    );
    expect((result as SluiceError).code).toBe('SLUICE_INVALID_SUBSCRIPTION');
    expect(problemsOf(result).map((p) => [p.field, p.message.slice(0, 30)])).toEqual([
      ['secret', 'the secret cannot be patched; '],
      ['createdAt', 'createdAt is read-only'],
      ['url', 'url refused by the SSRF policy'],
    ]);
  });
});

/** Two types: order.created has totalMinor (a number) and currency, order.cancelled has reason. */
const fieldTypes: FilterFieldTypes = {
  typesMatching: (globs) =>
    ['order.cancelled', 'order.created'].filter((type) => globs.includes(type) || globs.includes('order.*')),
  dataFieldKinds: (type, [field]) => {
    if (type === 'order.created')
      return { totalMinor: ['number' as const], currency: ['string' as const] }[field!];
    return field === 'reason' ? ['string'] : undefined;
  },
};
const rules = {
  filterFields: fieldTypes,
  deliveryBounds: { retryDelaysMs: [1000, 2000], attemptTimeoutMs: 2000 },
};

describe('the delivery fields (filter, headers, retry, timeoutMs)', () => {
  const base = { url: 'https://hooks.example.com', eventTypes: ['order.created'] };

  it('checks every new field on create against the rules, all problems at once', () => {
    const result = validateSubscriptionCreate(
      {
        ...base,
        filter: { 'data.total': { $gt: 500 }, 'data.currency': { $regex: '^E' } },
        headers: { 'Webhook-Id': 'x', Authorization: { secret: true } },
        retry: { schedule: ['5s'] },
        timeoutMs: 5000,
      },
      policy,
      rules,
    );
    expect(problemsOf(result).map((p) => p.field)).toEqual([
      'filter["data.currency"].$regex',
      'headers["Webhook-Id"]',
      'headers["Authorization"]',
      'retry.schedule[0]',
      'timeoutMs',
    ]);
    // With a valid structure, the paths are checked against the schemas too.
    expect(
      problemsOf(
        validateSubscriptionCreate({ ...base, filter: { 'data.total': { $gt: 500 } } }, policy, rules),
      ),
    ).toEqual([
      {
        field: 'filter["data.total"].$gt',
        message: 'data.total is not a field of order.created in any of its versions',
      },
    ]);
    expect(
      validateSubscriptionCreate(
        {
          ...base,
          filter: { 'data.totalMinor': { $gt: 500 } },
          retry: { schedule: ['2s'] },
          timeoutMs: 2000,
        },
        policy,
        rules,
      ),
    ).toMatchObject({ retry: { delaysMs: [2000], maxAttempts: undefined }, timeoutMs: 2000 });
  });

  it('null clears each of them in a patch', () => {
    expect(
      validateSubscriptionPatch({ filter: null, headers: null, retry: null, timeoutMs: null }, policy, rules),
    ).toEqual({ filter: null, headers: null, retry: null, timeoutMs: null });
  });

  const current = sampleSubscription({
    id: 'sub_abcdefghijklmnopqrstuvwxyz',
    url: 'https://hooks.example.com/',
    maxConcurrency: 16,
    filter: { 'data.totalMinor': { $gt: 500 } },
    headers: [{ name: 'authorization', value: 'Bearer kept', secret: true }],
    createdAt: '',
    updatedAt: '',
  });
  const patch = (raw: unknown) => validateSubscriptionPatch(raw, policy, rules) as SubscriptionPatch;

  it('keeps a stored secret header given as {"secret": true}, and refuses one that is not stored', () => {
    expect(
      resolveSubscriptionPatch(
        current,
        patch({ headers: { Authorization: { secret: true }, 'X-New': 'n' } }),
        rules,
      ),
    ).toEqual({
      headers: [
        { name: 'authorization', value: 'Bearer kept', secret: true },
        { name: 'x-new', value: 'n', secret: false },
      ],
    });
    expect(
      problemsOf(
        resolveSubscriptionPatch(current, patch({ headers: { 'X-Api-Key': { secret: true } } }), rules),
      ),
    ).toEqual([
      { field: 'headers["x-api-key"]', message: expect.stringContaining('no secret value is stored') },
    ]);
  });

  it('checks the filter that will hold against the event types that will hold', () => {
    // Narrowing eventTypes leaves the stored filter's path in no type.
    expect(
      problemsOf(resolveSubscriptionPatch(current, patch({ eventTypes: ['order.cancelled'] }), rules)),
    ).toEqual([
      {
        field: 'filter["data.totalMinor"].$gt',
        message: 'data.totalMinor is not a field of order.cancelled in any of its versions',
      },
    ]);
    expect(resolveSubscriptionPatch(current, patch({ filter: { 'data.reason': 'fraud' } }), rules)).toEqual({
      filter: { 'data.reason': 'fraud' },
      headers: undefined,
    });
    expect(
      resolveSubscriptionPatch(current, patch({ eventTypes: ['order.cancelled'], filter: null }), rules),
    ).toMatchObject({ eventTypes: ['order.cancelled'], filter: null });
  });
});

describe('validateSecretRotation', () => {
  it('accepts no body, an empty object or a valid secret', () => {
    const secret = generateWebhookSecret();
    expect(validateSecretRotation(undefined)).toEqual({ secret: undefined });
    expect(validateSecretRotation({})).toEqual({ secret: undefined });
    expect(validateSecretRotation({ secret })).toEqual({ secret });
  });

  it('refuses an invalid secret without echoing it', () => {
    const result = validateSecretRotation({ secret: 'hunter2' });
    expect((result as SluiceError).code).toBe('SLUICE_INVALID_SUBSCRIPTION');
    expect(JSON.stringify((result as SluiceError).details)).not.toContain('hunter2');
    expect((result as SluiceError).message).not.toContain('hunter2');
  });
});

describe('subscription ids', () => {
  it('are sub_ plus 26 lower-case base-32 characters, all different', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSubscriptionId));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^sub_[a-z2-7]{26}$/);
      expect(isSubscriptionId(id)).toBe(true);
    }
    expect(isSubscriptionId('sub_../../etc')).toBe(false);
    expect(isSubscriptionId('order-1')).toBe(false);
  });
});
