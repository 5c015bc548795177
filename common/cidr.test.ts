import { describe, expect, it } from 'vitest';
import { createCidrMatcher, invalidCidrs, invalidCidrsMessage, parseCidr, parseIpAddress } from './cidr.js';

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['192.168.1.1', { address: '192.168.1.1', prefix: 32, family: 'ipv4' }],
    ['fd00::/8', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
    [' 0.0.0.0/0 ', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['::/0', { address: '::', prefix: 0, family: 'ipv6' }],
    ['::ffff:10.0.0.0/104', { address: '::ffff:10.0.0.0', prefix: 104, family: 'ipv6' }],
    ['10.0.0.0/x', undefined],
    ['10.0.0.0/8/8', undefined],
    ['10.0.0.0/', undefined],
    ['10.0.0.0/33', undefined],
    ['::1/129', undefined],
    ['10.0.0.0/-1', undefined],
    ['example.com', undefined],
    ['', undefined],
    // ipaddr.js alone would read these inet_aton forms as IPv4 addresses (010 is octal 8).
    ['010.0.0.0/8', undefined],
    ['10/8', undefined],
    ['0x0a.0.0.0/8', undefined],
    ['10.1/16', undefined],
  ])('parseCidr(%j)', (text, expected) => {
    expect(parseCidr(text)).toEqual(expected);
  });

  it('lists every entry that is not a CIDR and names the variable and the values', () => {
    const bad = invalidCidrs(['10.0.0.0/8', '10.0.0.0/33', 'example.com', '::1/129']);
    expect(bad).toEqual(['10.0.0.0/33', 'example.com', '::1/129']);
    expect(invalidCidrsMessage('SLUICE_SSRF_ALLOWED_CIDRS', bad)).toBe(
      'SLUICE_SSRF_ALLOWED_CIDRS entries must be CIDRs such as 10.1.0.0/16 or fd00::/8, got "10.0.0.0/33", "example.com", "::1/129"',
    );
  });
});

describe('parseIpAddress', () => {
  it.each([
    ['127.0.0.1', 'ipv4', '127.0.0.1'],
    ['::1', 'ipv6', '::1'],
    ['fe80::1%eth0', 'ipv6', 'fe80::1'],
    ['::ffff:127.0.0.1', 'ipv6', '::ffff:7f00:1'],
    // IPv4-compatible (::/96), not IPv4-mapped: ipaddr.js alone would read it as ::ffff:7f00:1.
    ['::127.0.0.1', 'ipv6', '::7f00:1'],
    ['::8.8.8.8', 'ipv6', '::808:808'],
  ])('parses %s as %s %s', (text, kind, normalised) => {
    const address = parseIpAddress(text);
    expect(address?.kind()).toBe(kind);
    expect(address?.toString()).toBe(normalised);
  });

  it.each(['010.0.0.1', '0x7f.0.0.1', '127.1', '2130706433', '::ffff:0127.0.0.1', '1::2::3', ''])(
    'refuses %j, which the socket layer would not connect to as written',
    (text) => {
      expect(parseIpAddress(text)).toBeUndefined();
    },
  );
});

describe('createCidrMatcher', () => {
  const ranges = [
    { ...parseCidr('169.254.169.254/32')!, name: 'metadata' },
    { ...parseCidr('169.254.0.0/16')!, name: 'link-local' },
    { ...parseCidr('fe80::/10')!, name: 'link-local v6' },
  ];
  const match = createCidrMatcher(ranges);
  const nameOf = (text: string) => match(parseIpAddress(text)!)?.name;

  it('answers the first range, in the order given, that holds the address', () => {
    expect(nameOf('169.254.169.254')).toBe('metadata');
    expect(nameOf('169.254.1.1')).toBe('link-local');
    expect(nameOf('febf::1')).toBe('link-local v6');
    expect(nameOf('169.255.0.1')).toBeUndefined();
  });

  it('treats an IPv4 address and its IPv4-mapped IPv6 form as one host', () => {
    expect(nameOf('::ffff:169.254.169.254')).toBe('metadata');
    const mappedSpace = createCidrMatcher([parseCidr('::ffff:0:0/96')!]);
    expect(mappedSpace(parseIpAddress('127.0.0.1')!)).toBeDefined();
    expect(mappedSpace(parseIpAddress('::1')!)).toBeUndefined();
    // The IPv4-compatible ::127.0.0.1 (::/96) and the translated ::ffff:0:127.0.0.1 are other hosts.
    const loopback = createCidrMatcher([parseCidr('127.0.0.0/8')!]);
    expect(loopback(parseIpAddress('::ffff:127.0.0.1')!)).toBeDefined();
    expect(loopback(parseIpAddress('::127.0.0.1')!)).toBeUndefined();
    expect(loopback(parseIpAddress('::ffff:0:127.0.0.1')!)).toBeUndefined();
  });

  it('holds every IPv4 address in 0.0.0.0/0 and no IPv6 one', () => {
    const everyIpv4 = createCidrMatcher([parseCidr('0.0.0.0/0')!]);
    expect(everyIpv4(parseIpAddress('203.0.113.1')!)).toBeDefined();
    expect(everyIpv4(parseIpAddress('::1')!)).toBeUndefined();
  });

  it('ignores host bits set in a range', () => {
    const sloppy = createCidrMatcher([parseCidr('10.1.2.3/16')!]);
    expect(sloppy(parseIpAddress('10.1.200.1')!)).toBeDefined();
    expect(sloppy(parseIpAddress('10.2.0.1')!)).toBeUndefined();
  });
});
