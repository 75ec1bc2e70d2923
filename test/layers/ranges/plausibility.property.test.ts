/**
 * The property the plausibility rules exist for: a feed that passes them classifies no address outside
 * every prefix it lists, and no special-purpose address at all. Feeds are drawn from neighbourhoods where
 * the rules bite (private, loopback, multicast, documentation space, short prefixes, repeated prefixes,
 * malformed region names) and where they should not (the clouds' real space), so that both refusals and
 * passes are common.
 */
import fc from 'fast-check';
import { type Cidr, formatCidr, formatV4, formatV6, parseCidr, topMask } from '../../../layers/net/ip';
import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import { type AwsFeed, FeedError } from '../../../layers/ranges/feeds';
import { overlaps } from '../../../layers/ranges/special-purpose';

const NOW = new Date('2026-12-01T09:00:00Z');
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'GLOBAL', 'us-east-1 ', '<i>x</i>'] as const;
const SPECIAL_ADDRESSES = ['0.0.0.0', '10.1.2.3', '100.64.0.1', '127.0.0.1', '169.254.169.254', '172.16.5.4', '192.0.2.1', '192.168.1.1', '198.51.100.7', '203.0.113.9', '224.0.0.251', '255.255.255.255', '::', '::1', '2001:db8::1', 'fd12:3456::1', 'fe80::1', 'ff02::1'];

/** Mostly plausible values, with the hostile ones one draw in a few. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: bad, weight: 1 });
const v4Prefix = fc
  .record({
    base: mostly(fc.constantFrom(0x03000000, 0x34000000, 0x0d000000), fc.constantFrom(0x0a000000, 0x7f000000, 0xe0000000, 0x64400000, 0xc0000200, 0)),
    bits: fc.nat(0xffffff),
    length: mostly(fc.integer({ min: 8, max: 32 }), fc.integer({ min: 0, max: 7 })),
  })
  .map(({ base, bits, length }) => formatCidr({ family: 4, words: Uint32Array.of(((base + bits) & topMask(length)) >>> 0, 0, 0, 0), length }));
const v6Prefix = fc
  .record({
    base: mostly(fc.constantFrom(0x26001f00, 0x2406da00), fc.constantFrom(0x20010db8, 0xfe800000, 0xfd000000, 0xff020000, 0)),
    bits: fc.nat(0xffff),
    length: mostly(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 0, max: 15 })),
  })
  .map(({ base, bits, length }) => {
    const words = Uint32Array.of((base + bits) >>> 0, bits << 8, 0, 0);
    for (let w = 0; w < 4; w++) words[w] = (words[w]! & topMask(length - 32 * w)) >>> 0;
    return formatCidr({ family: 6, words, length });
  });
const placed = (prefix: fc.Arbitrary<string>) => fc.tuple(prefix, mostly(fc.constantFrom(...REGIONS.slice(0, 4)), fc.constantFrom(...REGIONS.slice(4))));

/** Addresses at and around the edges of `cidr`. */
function probesOf(cidr: Cidr): string[] {
  if (cidr.family === 4) {
    const first = cidr.words[0]!;
    const last = (first | ~topMask(cidr.length)) >>> 0;
    return [first - 1, first, last, last + 1].filter((v) => v >= 0 && v <= 0xffffffff).map((v) => formatV4(v >>> 0));
  }
  const last = Array.from(cidr.words, (word, w) => (word | ~topMask(cidr.length - 32 * w)) >>> 0);
  return [formatV6(cidr.words), formatV6(last)];
}

const asCidr = (address: string): Cidr => parseCidr(address.includes(':') ? `${address}/128` : `${address}/32`) as Cidr;

describe('a feed that passes the plausibility rules', () => {
  test('classifies no address outside every prefix it lists, and no special-purpose address', () => {
    let passed = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(placed(v4Prefix), { minLength: 1, maxLength: 5 }), fc.array(placed(v6Prefix), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(0xffffffff), { minLength: 10, maxLength: 10 }), (v4, v6, randomV4) => {
        const feed: AwsFeed = {
          syncToken: '1796115600',
          createDate: '2026-12-01-09-00-00',
          prefixes: v4.map(([ip_prefix, region]) => ({ ip_prefix, region, service: 'EC2' })),
          ipv6_prefixes: v6.map(([ipv6_prefix, region]) => ({ ipv6_prefix, region, service: 'EC2' })),
        };
        let table;
        try {
          table = loadTable(compileRanges({ aws: feed, now: NOW }).bytes).table;
        } catch (error) {
          expect(error).toBeInstanceOf(FeedError);
          refused++;
          return;
        }
        passed++;
        const listed = [...v4, ...v6].map(([text]) => parseCidr(text) as Cidr);
        const probes = [...listed.flatMap(probesOf), ...randomV4.map(formatV4), ...SPECIAL_ADDRESSES];
        for (const address of probes) {
          const inside = listed.filter((cidr) => overlaps(cidr, asCidr(address)));
          const found = table.classify(address);
          if (inside.length === 0) expect({ address, found }).toEqual({ address, found: null });
          else expect(inside.map(formatCidr)).toContain(found?.prefix);
        }
        for (const address of SPECIAL_ADDRESSES) expect({ address, found: table.classify(address) }).toEqual({ address, found: null });
      }),
      { numRuns: 400, seed: 20261201 },
    );
    // Neither half is vacuous: the generators make refusals and passes both common.
    expect(passed).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(40);
  });
});
