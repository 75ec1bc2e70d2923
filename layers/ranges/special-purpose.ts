/**
 * Address space that is never a cloud region, whatever a feed says: the IANA special-purpose address
 * registries, plus multicast. A feed prefix that overlaps any of these blocks is refused (compile.ts), so a
 * bad or hostile feed cannot classify private, loopback or documentation addresses (or, through a short
 * prefix, everyone) as a cloud region.
 *
 * Sources, as of 2025:
 * - IANA IPv4 Special-Purpose Address Registry (RFC 6890, updated by RFC 8190):
 *   https://www.iana.org/assignments/iana-ipv4-special-registry/
 * - IANA IPv6 Special-Purpose Address Registry (RFC 6890, RFC 8190):
 *   https://www.iana.org/assignments/iana-ipv6-special-registry/
 * - Multicast: IPv4 224.0.0.0/4 (RFC 5771), IPv6 ff00::/8 (RFC 4291 section 2.7); not in the registries
 *   above, but no cloud region either.
 * Blocks nested in a listed block (0.0.0.0/32 in 0.0.0.0/8, 192.0.0.0/29 in 192.0.0.0/24, ...) are left out:
 * the outer block already refuses them. Entries the registry marks "globally reachable" (AS112, AMT, 6to4)
 * are kept: they are reachable, but they are protocol space, not a cloud's.
 *
 * The local stack's loopback "clouds" are configuration (the overlay), not feed data, and are not checked
 * against this table.
 */
import { type Cidr, parseCidr } from '../net/ip';

export interface SpecialBlock {
  cidr: Cidr;
  text: string;
  /** What the registry calls it, and the RFC. */
  name: string;
}

const IPV4: [cidr: string, name: string][] = [
  ['0.0.0.0/8', '"this network" (RFC 791)'],
  ['10.0.0.0/8', 'private-use space (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space, carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0/8', 'loopback (RFC 1122)'],
  ['169.254.0.0/16', 'link-local (RFC 3927)'],
  ['172.16.0.0/12', 'private-use space (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
  ['192.0.2.0/24', 'documentation, TEST-NET-1 (RFC 5737)'],
  ['192.31.196.0/24', 'AS112-v4 (RFC 7535)'],
  ['192.52.193.0/24', 'AMT (RFC 7450)'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0/16', 'private-use space (RFC 1918)'],
  ['192.175.48.0/24', 'direct delegation AS112 service (RFC 7534)'],
  ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
  ['198.51.100.0/24', 'documentation, TEST-NET-2 (RFC 5737)'],
  ['203.0.113.0/24', 'documentation, TEST-NET-3 (RFC 5737)'],
  ['224.0.0.0/4', 'multicast (RFC 5771)'],
  ['240.0.0.0/4', 'reserved, and the limited broadcast address (RFC 1112, RFC 919)'],
];

const IPV6: [cidr: string, name: string][] = [
  ['::/128', 'the unspecified address (RFC 4291)'],
  ['::1/128', 'loopback (RFC 4291)'],
  ['::ffff:0:0/96', 'IPv4-mapped addresses (RFC 4291)'],
  ['64:ff9b::/96', 'IPv4-IPv6 translation (RFC 6052)'],
  ['64:ff9b:1::/48', 'local-use IPv4-IPv6 translation (RFC 8215)'],
  ['100::/64', 'discard-only (RFC 6666)'],
  ['100:0:0:1::/64', 'dummy IPv6 prefix (RFC 9780)'],
  ['2001::/23', 'IETF protocol assignments (RFC 2928)'],
  ['2001:db8::/32', 'documentation (RFC 3849)'],
  ['2002::/16', '6to4 (RFC 3056)'],
  ['2620:4f:8000::/48', 'direct delegation AS112 service (RFC 7534)'],
  ['3fff::/20', 'documentation (RFC 9637)'],
  ['5f00::/16', 'segment routing SIDs (RFC 9602)'],
  ['fc00::/7', 'unique local addresses (RFC 4193)'],
  ['fe80::/10', 'link-local unicast (RFC 4291)'],
  ['ff00::/8', 'multicast (RFC 4291)'],
];

function blocks(list: [string, string][]): SpecialBlock[] {
  return list.map(([text, name]) => {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new Error(`special-purpose table: ${cidr}`);
    return { cidr, text, name };
  });
}

export const SPECIAL_PURPOSE_V4: readonly SpecialBlock[] = blocks(IPV4);
export const SPECIAL_PURPOSE_V6: readonly SpecialBlock[] = blocks(IPV6);

/** True when the first `length` bits of `a` and `b` are equal. */
function samePrefix(a: Uint32Array, b: Uint32Array, length: number): boolean {
  for (let w = 0; w < 4 && length > 0; w++, length -= 32) {
    const mask = length >= 32 ? 0xffffffff : (0xffffffff << (32 - length)) >>> 0;
    if (((a[w]! ^ b[w]!) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

/**
 * Two CIDRs overlap exactly when one contains the other: they agree on the bits of the shorter length.
 * (`outer` may be the shorter or the longer of the two.)
 */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && samePrefix(a.words, b.words, Math.min(a.length, b.length));
}

/** The special-purpose block `cidr` overlaps (contains, or lies in), or undefined. */
export function specialPurposeBlock(cidr: Cidr): SpecialBlock | undefined {
  const list = cidr.family === 4 ? SPECIAL_PURPOSE_V4 : SPECIAL_PURPOSE_V6;
  for (const block of list) if (overlaps(cidr, block.cidr)) return block;
  return undefined;
}
