import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from './errors.js';
import {
  checkIpAddress,
  checkWebhookUrl,
  createGuardedLookup,
  createSsrfPolicy,
  type ResolveAll,
} from './ssrf-guard.js';

const strict = createSsrfPolicy();
const loopbackAllowed = createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] });

describe('checkIpAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['100.64.0.1', 'shared-address'],
    ['100.127.255.255', 'shared-address'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.99', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['fec0::1', 'reserved'],
    ['::7f00:1', 'reserved'],
    ['100::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a00:1', 'private'],
    ['0:0:0:0:0:ffff:c0a8:101', 'private'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['2002:a00:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['not-an-ip', 'not-an-ip'],
  ])('refuses %s as %s', (address, reason) => {
    expect(checkIpAddress(address, strict)).toMatchObject({ ok: false, reason });
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '192.169.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    'fbff::1',
    'fe7f::1',
  ])('allows the public address %s', (address) => {
    expect(checkIpAddress(address, strict)).toEqual({ ok: true });
  });

  it('lets an allowlisted CIDR override a refused range, and only that range', () => {
    expect(checkIpAddress('127.0.0.1', loopbackAllowed)).toEqual({ ok: true });
    expect(checkIpAddress('::ffff:127.0.0.1', loopbackAllowed)).toEqual({ ok: true });
    expect(checkIpAddress('64:ff9b::7f00:1', loopbackAllowed)).toEqual({ ok: true });
    expect(checkIpAddress('::1', loopbackAllowed)).toMatchObject({ ok: false, reason: 'loopback' });
    expect(checkIpAddress('10.0.0.1', loopbackAllowed)).toMatchObject({ ok: false, reason: 'private' });
    expect(checkIpAddress('169.254.169.254', loopbackAllowed)).toMatchObject({
      ok: false,
      reason: 'metadata',
    });
  });

  it('keeps IPv4-compatible ::a.b.c.d reserved, unlike the IPv4-mapped ::ffff:a.b.c.d', () => {
    expect(checkIpAddress('::127.0.0.1', loopbackAllowed)).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkIpAddress('::8.8.8.8', strict)).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkIpAddress('::ffff:127.0.0.1', strict)).toMatchObject({ ok: false, reason: 'loopback' });
  });

  it('refuses inet_aton spellings as not an IP address rather than reading them as IPv4', () => {
    for (const address of ['010.0.0.1', '0x7f.0.0.1', '127.1', '2130706433']) {
      expect(checkIpAddress(address, strict)).toMatchObject({ ok: false, reason: 'not-an-ip' });
    }
  });

  it('lets 0.0.0.0/0 allow every IPv4 address and no IPv6 one', () => {
    const everyIpv4 = createSsrfPolicy({ allowedCidrs: ['0.0.0.0/0'] });
    for (const address of ['127.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', '64:ff9b::7f00:1']) {
      expect(checkIpAddress(address, everyIpv4)).toEqual({ ok: true });
    }
    expect(checkIpAddress('::1', everyIpv4)).toMatchObject({ ok: false, reason: 'loopback' });
    expect(checkWebhookUrl('http://metadata.google.internal/', everyIpv4)).toMatchObject({
      ok: false,
      reason: 'metadata',
    });
  });

  it('lets an IPv6 range that holds IPv4-mapped addresses allow those IPv4 addresses', () => {
    const mapped = createSsrfPolicy({ allowedCidrs: ['::ffff:127.0.0.0/104'] });
    expect(checkIpAddress('127.0.0.1', mapped)).toEqual({ ok: true });
    expect(checkIpAddress('10.0.0.1', mapped)).toMatchObject({ ok: false, reason: 'private' });
    const everything = createSsrfPolicy({ allowedCidrs: ['::/0'] });
    expect(checkIpAddress('10.0.0.1', everything)).toEqual({ ok: true });
    expect(checkIpAddress('::1', everything)).toEqual({ ok: true });
  });

  it('allows an IPv6 allowlist entry', () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['fd00:1234::/32'] });
    expect(checkIpAddress('fd00:1234::5', policy)).toEqual({ ok: true });
    expect(checkIpAddress('fd00:1235::5', policy)).toMatchObject({ ok: false, reason: 'unique-local' });
  });

  it('explains a refusal with the address and the range it fell in', () => {
    expect(checkIpAddress('10.1.2.3', strict)).toEqual({
      ok: false,
      reason: 'private',
      message: '10.1.2.3 is in 10.0.0.0/8 (private)',
    });
    expect(checkIpAddress('::ffff:10.1.2.3', strict)).toMatchObject({
      message: expect.stringContaining('embeds 10.1.2.3'),
    });
  });
});

describe('createSsrfPolicy', () => {
  it('reports every invalid CIDR at once', () => {
    let caught: unknown;
    try {
      createSsrfPolicy({ allowedCidrs: ['10.0.0.0/8', '10.0.0.0/33', 'example.com', '::1/129'] });
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toBe(
      'allowedCidrs must be CIDRs such as 10.1.0.0/16 or fd00::/8, got "10.0.0.0/33", "example.com", "::1/129"',
    );
  });
});

describe('checkWebhookUrl', () => {
  it.each([
    ['ftp://example.com/hook', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://example.com:70/_', 'scheme'],
    ['not a url', 'invalid-url'],
    ['/relative/path', 'invalid-url'],
    ['https://user:pass@example.com/hook', 'credentials'],
    ['https://user@example.com/hook', 'credentials'],
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://127.1/hook', 'loopback'],
    ['http://2130706433/hook', 'loopback'],
    ['http://0x7f.0.0.1/hook', 'loopback'],
    ['http://%31%32%37.0.0.1/hook', 'loopback'],
    ['http://[::1]/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data', 'metadata'],
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://[fe80::1]/hook', 'link-local'],
    ['http://[fd00::1]/hook', 'unique-local'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'],
    ['http://10.0.0.5/hook', 'private'],
    ['http://0.0.0.0:8080/', 'unspecified'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://METADATA.google.internal./computeMetadata/v1/', 'metadata'],
    ['http://metadata/computeMetadata/v1/', 'metadata'],
    ['http://localhost:3000/hook', 'loopback'],
    ['http://api.localhost/hook', 'loopback'],
  ])('refuses %s (%s)', (url, reason) => {
    expect(checkWebhookUrl(url, strict)).toMatchObject({ ok: false, reason });
  });

  it.each([
    'https://example.com/hooks/orders',
    'http://example.com:8080/hook?x=1',
    'https://93.184.215.14/hook',
    'https://[2606:4700:4700::1111]/hook',
  ])('accepts %s (host names are judged again at connect time)', (url) => {
    expect(checkWebhookUrl(url, strict)).toEqual({ ok: true });
  });

  it('accepts loopback URLs when loopback is allowlisted, but never a metadata host', () => {
    expect(checkWebhookUrl('http://127.0.0.1:4000/hook', loopbackAllowed)).toEqual({ ok: true });
    expect(checkWebhookUrl('http://localhost:4000/hook', loopbackAllowed)).toEqual({ ok: true });
    expect(checkWebhookUrl('http://metadata.google.internal/', loopbackAllowed)).toMatchObject({ ok: false });
    expect(checkWebhookUrl('http://[::1]:4000/hook', loopbackAllowed)).toMatchObject({ ok: false });
  });

  it('never echoes credentials in its message', () => {
    const result = checkWebhookUrl('https://alice:s3cr3t@example.com/', strict);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
  });
});

/** A scripted resolver: answers from a table and records what it was asked. */
function scriptedResolver(answers: Record<string, LookupAddress[]>) {
  const asked: Array<{ hostname: string; options: LookupAllOptions }> = [];
  const resolveAll: ResolveAll = (hostname, options, callback) => {
    asked.push({ hostname, options });
    const found = answers[hostname];
    if (found === undefined) {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      error.code = 'ENOTFOUND';
      setImmediate(() => callback(error, []));
    } else {
      setImmediate(() => callback(null, found));
    }
  };
  return { resolveAll, asked };
}

function lookupOnce(
  lookup: ReturnType<typeof createGuardedLookup>,
  hostname: string,
  options: LookupOptions,
): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) =>
    lookup(hostname, options, (error, address, family) => resolve({ error, address, family })),
  );
}

describe('createGuardedLookup', () => {
  const v4 = (address: string): LookupAddress => ({ address, family: 4 });
  const v6 = (address: string): LookupAddress => ({ address, family: 6 });

  it('passes public answers through in both the single and the all shape', async () => {
    const { resolveAll } = scriptedResolver({
      'hooks.example.com': [v4('93.184.215.14'), v6('2606:2800::1')],
    });
    const lookup = createGuardedLookup(strict, resolveAll);

    expect(await lookupOnce(lookup, 'hooks.example.com', { all: true })).toEqual({
      error: null,
      address: [v4('93.184.215.14'), v6('2606:2800::1')],
      family: undefined,
    });
    expect(await lookupOnce(lookup, 'hooks.example.com', {})).toEqual({
      error: null,
      address: '93.184.215.14',
      family: 4,
    });
  });

  it('refuses a name that now resolves to a private address (DNS rebinding)', async () => {
    const { resolveAll } = scriptedResolver({ 'rebind.example.com': [v4('10.0.0.5')] });
    const { error } = await lookupOnce(createGuardedLookup(strict, resolveAll), 'rebind.example.com', {
      all: true,
    });

    expect(isSluiceError(error, 'SLUICE_URL_FORBIDDEN')).toBe(true);
    expect(error?.message).toContain('10.0.0.5');
    expect(isSluiceError(error) && error.details).toEqual({ reason: 'private', host: 'rebind.example.com' });
  });

  it('drops refused answers and keeps the allowed ones', async () => {
    const { resolveAll } = scriptedResolver({
      'mixed.example.com': [v4('169.254.169.254'), v4('93.184.215.14'), v6('::ffff:10.0.0.1')],
    });
    const result = await lookupOnce(createGuardedLookup(strict, resolveAll), 'mixed.example.com', {
      all: true,
    });

    expect(result).toMatchObject({ error: null, address: [v4('93.184.215.14')] });
  });

  it('refuses when every answer is refused, naming the first refusal', async () => {
    const { resolveAll } = scriptedResolver({
      'inside.example.com': [v6('::ffff:169.254.169.254'), v4('127.0.0.1')],
    });
    const { error } = await lookupOnce(createGuardedLookup(strict, resolveAll), 'inside.example.com', {});

    expect(isSluiceError(error, 'SLUICE_URL_FORBIDDEN')).toBe(true);
    expect(isSluiceError(error) && error.details['reason']).toBe('metadata');
  });

  it('refuses a metadata host name without resolving it', async () => {
    const { resolveAll, asked } = scriptedResolver({ 'metadata.google.internal': [v4('93.184.215.14')] });
    const { error } = await lookupOnce(
      createGuardedLookup(loopbackAllowed, resolveAll),
      'metadata.google.internal.',
      {},
    );

    expect(isSluiceError(error, 'SLUICE_URL_FORBIDDEN')).toBe(true);
    expect(asked).toEqual([]);
  });

  it('honours the allowlist at connect time', async () => {
    const { resolveAll } = scriptedResolver({ localhost: [v4('127.0.0.1'), v6('::1')] });

    expect(await lookupOnce(createGuardedLookup(loopbackAllowed, resolveAll), 'localhost', {})).toMatchObject(
      {
        error: null,
        address: '127.0.0.1',
      },
    );
    const refused = await lookupOnce(createGuardedLookup(strict, resolveAll), 'localhost', {});
    expect(isSluiceError(refused.error, 'SLUICE_URL_FORBIDDEN')).toBe(true);
  });

  it('passes resolver errors through and forwards the caller options with all: true', async () => {
    const { resolveAll, asked } = scriptedResolver({});
    const { error } = await lookupOnce(createGuardedLookup(strict, resolveAll), 'nope.invalid', {
      family: 6,
      hints: 32,
    });

    expect(error?.code).toBe('ENOTFOUND');
    expect(asked).toEqual([{ hostname: 'nope.invalid', options: { family: 6, hints: 32, all: true } }]);
  });

  it('resolves through the system resolver by default', async () => {
    const result = await lookupOnce(createGuardedLookup(loopbackAllowed), 'localhost', { family: 4 });
    expect(result).toMatchObject({ error: null, address: '127.0.0.1', family: 4 });
  });
});
