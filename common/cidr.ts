import type * as Ipaddr from 'ipaddr.js';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';

// ipaddr.js is CommonJS typed with `export =`: Node gives ESM only its default export, and with
// esModuleInterop off TypeScript refuses a default import of it, so it is required.
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof Ipaddr;

/** An IPv4 or IPv6 address as ipaddr.js parsed it (`kind()`, `parts`/`octets`, `match`). */
export type IpAddress = Ipaddr.IPv4 | Ipaddr.IPv6;

export type IpFamily = 'ipv4' | 'ipv6';

/** A range in CIDR notation: `10.1.0.0/16`, `fd00::/8`; a bare address is a single host. */
export interface Cidr {
  /** The address as written (host bits may be set; matching ignores them). */
  readonly address: string;
  readonly prefix: number;
  readonly family: IpFamily;
}

/**
 * Parses an IP address as `net.connect` reads it; undefined when it is not one. A zone id
 * (`fe80::1%eth0`) picks an interface and never changes which range an address is in, so it is
 * dropped.
 *
 * ipaddr.js alone is looser than the socket layer in two ways that matter to a range check:
 * it reads the inet_aton forms `010.0.0.1` (8.0.0.1), `0x7f.1` and `2130706433` as IPv4, and it
 * reads `::a.b.c.d`, an IPv4-compatible address (RFC 4291 2.5.5.1, inside `::/96`), as the
 * IPv4-mapped `::ffff:a.b.c.d`. So `net.isIP` decides what is an address, and the
 * IPv4-compatible form is spelled so that ipaddr.js keeps it where it is.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const bare = text.split('%')[0] ?? '';
  const version = isIP(bare);
  if (version === 4) return ipaddr.IPv4.parse(bare);
  if (version !== 6) return undefined;
  return ipaddr.IPv6.parse(/^::\d+\.\d+\.\d+\.\d+$/.test(bare) ? `::0:${bare.slice(2)}` : bare);
}

/** Parses `10.1.0.0/16`, `fd00::/8` or a bare address (a single host); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const parsed = parseIpAddress(address);
  if (parsed === undefined || rest.length > 0) return undefined;
  const family: IpFamily = parsed.kind();
  const maxPrefix = family === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) return undefined;
  return { address, prefix, family };
}

/** The entries of a CIDR list that do not parse, in order. */
export function invalidCidrs(texts: readonly string[]): string[] {
  return texts.filter((text) => parseCidr(text) === undefined);
}

/** `SLUICE_X entries must be CIDRs such as …, got "a", "b"`: the variable and every bad value. */
export function invalidCidrsMessage(name: string, invalid: readonly string[]): string {
  return `${name} entries must be CIDRs such as 10.1.0.0/16 or fd00::/8, got ${invalid.map((text) => JSON.stringify(text)).join(', ')}`;
}

/**
 * Compiles ranges into a lookup that answers the first range holding an address, in the order
 * given, or undefined. An IPv4 address and its IPv4-mapped form (`::ffff:a.b.c.d`) are one host,
 * so each is also tried against the other family's ranges, as node:net's BlockList does:
 * `::ffff:0:0/96` holds every IPv4 address and `10.0.0.0/8` holds `::ffff:10.0.0.1`.
 * Throws when a range is not a valid CIDR.
 */
export function createCidrMatcher<R extends Cidr>(
  ranges: readonly R[],
): (address: IpAddress) => R | undefined {
  const compiled = ranges.map((range) => {
    const network = parseIpAddress(range.address);
    if (network === undefined) throw new Error(`not a CIDR: ${range.address}/${range.prefix}`);
    return { range, network };
  });
  return (address) => {
    const forms = [address, otherForm(address)];
    for (const { range, network } of compiled) {
      // ipaddr.js throws when the families differ, hence the kind check first.
      const form = forms.find((candidate) => candidate?.kind() === network.kind());
      if (form?.match(network, range.prefix)) return range;
    }
    return undefined;
  };
}

/** The same host in the other family: IPv4 ⇄ IPv4-mapped IPv6; undefined when there is none. */
function otherForm(address: IpAddress): IpAddress | undefined {
  if (address.kind() === 'ipv4') return (address as Ipaddr.IPv4).toIPv4MappedAddress();
  const ipv6 = address as Ipaddr.IPv6;
  return ipv6.isIPv4MappedAddress() ? ipv6.toIPv4Address() : undefined;
}
