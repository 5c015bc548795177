import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { IPv6 } from 'ipaddr.js';
import type { LookupFunction } from 'node:net';
import {
  createCidrMatcher,
  invalidCidrs,
  invalidCidrsMessage,
  parseCidr,
  parseIpAddress,
  type Cidr,
  type IpAddress,
} from './cidr.js';
import type { EnvReader } from './config.js';
import { SluiceError } from './errors.js';

/** Why an address is refused; a closed list so it can label a metric. */
export type AddressRefusal =
  | 'not-an-ip'
  | 'unspecified'
  | 'this-network'
  | 'loopback'
  | 'private'
  | 'shared-address'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

export type UrlRefusal = AddressRefusal | 'invalid-url' | 'scheme' | 'credentials';

export type AddressCheck = { ok: true } | { ok: false; reason: AddressRefusal; message: string };
export type UrlCheck = { ok: true } | { ok: false; reason: UrlRefusal; message: string };

/** A compiled SSRF policy; build it once with `createSsrfPolicy`. */
export interface SsrfPolicy {
  /** CIDRs allowed even inside a refused range (tests allow `127.0.0.0/8`). */
  readonly allowedCidrs: readonly string[];
  /** The allowlist compiled: the entry holding an address, or undefined. */
  readonly allowed: (address: IpAddress) => Cidr | undefined;
}

// Order matters: the first matching row names the reason, so narrow rows precede the ranges
// that contain them (metadata before link-local, broadcast before reserved).
const refusedRanges: ReadonlyArray<readonly [cidr: string, reason: AddressRefusal]> = [
  ['0.0.0.0/32', 'unspecified'],
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud
  ['100.64.0.0/10', 'shared-address'], // carrier-grade NAT
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
  ['169.254.170.2/32', 'metadata'], // AWS ECS task credentials
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved'], // deprecated IPv4-compatible addresses
  ['64:ff9b:1::/48', 'reserved'], // local-use NAT64 (RFC 8215): by definition inside some network
  ['100::/64', 'reserved'], // discard-only
  ['2001::/32', 'reserved'], // Teredo: tunnels to an obfuscated IPv4 we cannot vet
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fd00:ec2::254/128', 'metadata'], // AWS IPv6 instance metadata
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'reserved'], // deprecated site-local
  ['ff00::/8', 'multicast'],
];

/**
 * Host names that reach cloud metadata services without looking like an address. They are refused
 * by name, whatever the allowlist says: a metadata service hands out credentials.
 */
const metadataHostNames = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

const refusedRule = createCidrMatcher(
  refusedRanges.map(([text, reason]) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`bad built-in CIDR ${text}`);
    return { ...cidr, reason, text };
  }),
);

/** Compiles the policy; throws SLUICE_CONFIG_INVALID naming every CIDR that does not parse. */
export function createSsrfPolicy(options: { allowedCidrs?: readonly string[] } = {}): SsrfPolicy {
  const allowedCidrs = [...(options.allowedCidrs ?? [])];
  const bad = invalidCidrs(allowedCidrs);
  if (bad.length > 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `allowedCidrs must be CIDRs such as 10.1.0.0/16 or fd00::/8, got ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      { details: { field: 'allowedCidrs', invalid: bad } },
    );
  }
  const allowList = allowedCidrs.map((text) => parseCidr(text)).filter((cidr) => cidr !== undefined);
  return Object.freeze({ allowedCidrs: Object.freeze(allowedCidrs), allowed: createCidrMatcher(allowList) });
}

/**
 * Reads `SLUICE_SSRF_ALLOWED_CIDRS` (comma-separated CIDRs or addresses, default none): ranges a
 * webhook may reach even though the policy refuses them (a receiver inside the cluster; tests
 * allow 127.0.0.0/8). Cloud metadata host names stay refused whatever it says.
 */
export function readSsrfPolicy(reader: EnvReader): SsrfPolicy {
  const allowedCidrs = reader.list('SLUICE_SSRF_ALLOWED_CIDRS', []);
  const bad = invalidCidrs(allowedCidrs);
  if (bad.length > 0) {
    reader.problem(invalidCidrsMessage('SLUICE_SSRF_ALLOWED_CIDRS', bad));
    return createSsrfPolicy();
  }
  return createSsrfPolicy({ allowedCidrs });
}

/** Whether a webhook may connect to this IP address. */
export function checkIpAddress(address: string, policy: SsrfPolicy): AddressCheck {
  const parsed = parseIpAddress(address);
  if (parsed === undefined) return refuse('not-an-ip', `${address} is not an IP address`);
  if (policy.allowed(parsed) !== undefined) return { ok: true };

  if (parsed.kind() === 'ipv6') {
    // These forms carry an IPv4 address that the packet ends up at: judge that address, or
    // ::ffff:169.254.169.254 would walk past every IPv4 rule.
    const embedded = embeddedIpv4(parsed as IPv6);
    if (embedded !== undefined) {
      const inner = checkIpAddress(embedded, policy);
      return inner.ok ? inner : refuse(inner.reason, `${address} embeds ${embedded}: ${inner.message}`);
    }
  }
  const rule = refusedRule(parsed);
  return rule === undefined
    ? { ok: true }
    : refuse(rule.reason, `${address} is in ${rule.text} (${rule.reason})`);
}

/**
 * The save-time (and pre-attempt) check of a webhook URL: http or https, no credentials, no
 * metadata host name, and an IP-literal host judged here, because a DNS lookup hook is never
 * called for a literal. Host names are judged again on every connect by `createGuardedLookup`.
 */
export function checkWebhookUrl(url: string, policy: SsrfPolicy): UrlCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('invalid-url', 'webhook URL is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return refuse('scheme', `webhook URL must use http or https, got ${parsed.protocol.replace(/:$/, '')}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return refuse('credentials', 'webhook URL must not carry credentials (user:password@)');
  }
  const host = normaliseHostName(parsed.hostname);
  if (host === '') return refuse('invalid-url', 'webhook URL has no host');
  // The WHATWG parser already rewrote 0x7f.1, 2130706433 and friends to dotted decimal.
  if (parseIpAddress(host) !== undefined) return checkIpAddress(host, policy);
  if (metadataHostNames.has(host)) return refuse('metadata', `${host} is a cloud metadata host`);
  // RFC 6761: localhost names resolve to loopback whatever DNS says; answer now rather than at connect.
  if (host === 'localhost' || host.endsWith('.localhost')) {
    const loopback = checkIpAddress('127.0.0.1', policy);
    if (!loopback.ok) return refuse('loopback', `${host} is a loopback host name`);
  }
  return { ok: true };
}

/** A resolver with `dns.lookup`'s `all: true` shape; injectable so tests can script DNS answers. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolveAll: ResolveAll = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/**
 * A `lookup` for `net.connect` (undici's `connect` option) that resolves the name and passes on
 * only allowed addresses, so the address checked is the address connected to: a name that
 * resolved to a public address at save time and to 10.0.0.5 now (DNS rebinding) is refused.
 * Refused answers are dropped rather than failing the whole lookup so that `localhost` with
 * only 127.0.0.0/8 allowlisted still connects over IPv4 while its ::1 answer is dropped.
 * A refusal fails the connect with a SLUICE_URL_FORBIDDEN error.
 */
export function createGuardedLookup(
  policy: SsrfPolicy,
  resolveAll: ResolveAll = systemResolveAll,
): LookupFunction {
  return (hostname, options, callback) => {
    const host = normaliseHostName(hostname);
    if (metadataHostNames.has(host)) {
      callback(forbidden(`${host} is a cloud metadata host`, 'metadata', host), '');
      return;
    }
    resolveAll(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, '');
        return;
      }
      const allowed: LookupAddress[] = [];
      let firstRefusal: { reason: AddressRefusal; message: string } | undefined;
      for (const answer of addresses) {
        const check = checkIpAddress(answer.address, policy);
        if (check.ok) allowed.push(answer);
        else firstRefusal ??= check;
      }
      const first = allowed[0];
      if (first === undefined) {
        const refusal = firstRefusal ?? { reason: 'not-an-ip' as const, message: 'no addresses' };
        callback(
          forbidden(`${host} resolved to a refused address: ${refusal.message}`, refusal.reason, host),
          '',
        );
      } else if (options.all) {
        callback(null, allowed);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

function forbidden(message: string, reason: AddressRefusal, host: string): SluiceError {
  return new SluiceError('SLUICE_URL_FORBIDDEN', message, { details: { reason, host } });
}

function refuse<R extends UrlRefusal>(reason: R, message: string): { ok: false; reason: R; message: string } {
  return { ok: false, reason, message };
}

/** Lower case, without IPv6 brackets or the trailing dot that makes a name fully qualified. */
function normaliseHostName(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '');
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96),
 * NAT64 well-known prefix (64:ff9b::/96) or 6to4 (2002::/16) address. NAT64 and 6to4 are judged by
 * their inner address rather than refused outright, so IPv6-only clusters behind DNS64 still
 * reach public IPv4 receivers.
 */
function embeddedIpv4(address: IPv6): string | undefined {
  const h: readonly number[] = address.parts;
  const zeros = (from: number, to: number) => h.slice(from, to).every((value) => value === 0);
  const translated = zeros(0, 4) && h[4] === 0xffff && h[5] === 0;
  const nat64 = h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6);
  if (address.isIPv4MappedAddress() || translated || nat64) return ipv4FromHextets(h[6] ?? 0, h[7] ?? 0);
  if (h[0] === 0x2002) return ipv4FromHextets(h[1] ?? 0, h[2] ?? 0);
  return undefined;
}

function ipv4FromHextets(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
