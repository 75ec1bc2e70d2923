/**
 * The fast table must agree with the brute-force reference (ipaddr.js parsing, a linear scan) on every
 * address: on the real snapshot near every kind of boundary, and on random tables built to stress the
 * interval sweep (deep nesting, shared starts, prefixes of both clouds inside each other).
 * The edge's lazy lookup (`lookupClientIp`, IPv6 read by its first 64 bits) must find the same slot as the
 * strict one on every well-formed address, including those whose /64 holds an interval boundary.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { type Cidr, formatCidr, formatV4, formatV6, topMask } from '../../../layers/net/ip';
import { loadTable } from '../../../layers/net/load';
import { ReferenceClassifier } from '../../../layers/net/reference';
import { compileRanges } from '../../../layers/ranges/compile';
import type { AwsFeed, GcpFeed } from '../../../layers/ranges/feeds';
import type { RangeTable } from '../../../layers/net/table';
import { snapshot } from '../../support/snapshot';

/** Both lookups of the table agree with each other, and the table's answer with the reference. */
function expectAgreement(table: RangeTable, reference: ReferenceClassifier, ip: string): void {
  expect(table.classify(ip)).toEqual(reference.classify(ip));
  expect(table.lookupClientIp(ip)).toBe(table.lookup(ip));
}

/** An address at `offset` from the first (offset >= 0) or last (offset < 0) address of `cidr`. */
function addressNear(cidr: Cidr, fromEnd: boolean, offset: number): string {
  if (cidr.family === 4) {
    const first = cidr.words[0]!;
    const last = (first | ~topMask(cidr.length)) >>> 0;
    const value = fromEnd ? last + offset : first + offset;
    return formatV4(Math.min(0xffffffff, Math.max(0, value)) >>> 0);
  }
  const words = Array.from(cidr.words);
  const full = (BigInt(words[0]!) << 96n) | (BigInt(words[1]!) << 64n) | (BigInt(words[2]!) << 32n) | BigInt(words[3]!);
  const hostBits = BigInt(128 - cidr.length);
  const last = full | ((1n << hostBits) - 1n);
  let value = (fromEnd ? last : full) + BigInt(offset);
  if (value < 0n) value = 0n;
  if (value >= 1n << 128n) value = (1n << 128n) - 1n;
  return formatV6([Number(value >> 96n), Number((value >> 64n) & 0xffffffffn), Number((value >> 32n) & 0xffffffffn), Number(value & 0xffffffffn)]);
}

describe('the snapshot table agrees with the reference classifier', () => {
  const { compiled, table, reference } = snapshot();
  const entries = compiled.data.entries;

  test('near the boundaries of published prefixes', () => {
    fc.assert(
      fc.property(fc.nat(entries.length - 1), fc.boolean(), fc.integer({ min: -2, max: 2 }), fc.constantFrom('', '::ffff:', '0:0:0:0:0:ffff:'), (index, fromEnd, offset, mapped) => {
        const cidr = entries[index]!.cidr;
        let ip = addressNear(cidr, fromEnd, offset);
        // IPv4-mapped, in its short and its written-out spelling.
        if (mapped && cidr.family === 4) ip = `${mapped}${ip}`;
        expectAgreement(table, reference, ip);
      }),
      { numRuns: 3000 },
    );
  });

  test('on uniformly random IPv4 addresses', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), (value) => {
        const ip = formatV4(value);
        expectAgreement(table, reference, ip);
      }),
      { numRuns: 1000 },
    );
  });

  test('on random IPv6 addresses in and around the clouds\' space', () => {
    const firstWords = [...new Set(entries.filter((e) => e.cidr.family === 6).map((e) => e.cidr.words[0]!))];
    fc.assert(
      fc.property(fc.constantFrom(...firstWords), fc.nat(0xffff), fc.array(fc.nat(0xffffffff), { minLength: 3, maxLength: 3 }), (w0, jitter, rest) => {
        const ip = formatV6([(w0 ^ (jitter & 0xff)) >>> 0, ...rest]);
        expectAgreement(table, reference, ip);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('random tables agree with the reference classifier', () => {
  // Prefixes drawn from a few small "neighbourhoods" so that they nest, share starts and touch.
  const v4Prefix = fc.record({ base: fc.constantFrom(0x0a000000, 0x0a000100, 0xc0a80000, 0xffffff00, 0), bits: fc.nat(0xffff), length: fc.integer({ min: 0, max: 32 }) });
  const v6Prefix = fc.record({ base: fc.constantFrom(0x20010db8, 0, 0xffffffff), bits: fc.nat(0xffffffff), length: fc.integer({ min: 0, max: 128 }) });
  const placed = <T>(prefix: fc.Arbitrary<T>) => fc.record({ prefix, cloud: fc.constantFrom('aws' as const, 'gcp' as const), region: fc.constantFrom('r1', 'r2', 'GLOBAL') });

  const toV4 = (p: { base: number; bits: number; length: number }): string => {
    const value = (p.base + (p.bits & 0xff)) >>> 0;
    return formatCidr({ family: 4, words: Uint32Array.of((value & topMask(p.length)) >>> 0, 0, 0, 0), length: p.length });
  };
  const toV6 = (p: { base: number; bits: number; length: number }): string => {
    const words = Uint32Array.of(p.base, p.bits, p.bits & 0xff00ff00, p.bits & 0xf);
    for (let w = 0; w < 4; w++) words[w] = (words[w]! & topMask(p.length - 32 * w)) >>> 0;
    return formatCidr({ family: 6, words, length: p.length });
  };

  test('with nested prefixes of both clouds', () => {
    fc.assert(
      fc.property(
        fc.array(placed(v4Prefix), { minLength: 1, maxLength: 25 }),
        fc.array(placed(v6Prefix), { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(1000), fc.boolean(), fc.integer({ min: -1, max: 1 })), { minLength: 20, maxLength: 20 }),
        (v4, v6, probes) => {
          const prefixes = [...v4.map((p) => ({ ...p, text: toV4(p.prefix) })), ...v6.map((p) => ({ ...p, text: toV6(p.prefix) }))];
          const aws = prefixes.filter((p) => p.cloud === 'aws');
          const gcp = prefixes.filter((p) => p.cloud === 'gcp');
          const awsFeed = {
            syncToken: '1',
            createDate: '2026-01-01-00-00-00',
            prefixes: aws.filter((p) => !p.text.includes(':')).map((p) => ({ ip_prefix: p.text, region: p.region, service: 'EC2' })),
            ipv6_prefixes: aws.filter((p) => p.text.includes(':')).map((p) => ({ ipv6_prefix: p.text, region: p.region, service: 'EC2' })),
          } as AwsFeed;
          const gcpFeed = {
            syncToken: '1',
            creationTime: 'now',
            prefixes: gcp.map((p) => (p.text.includes(':') ? { ipv6Prefix: p.text, scope: p.region } : { ipv4Prefix: p.text, scope: p.region })),
          } as GcpFeed;
          const compiled = compileRanges({ aws: awsFeed, gcp: gcpFeed, rules: false /* random prefixes, special-purpose ones included */ });
          const table = loadTable(compiled.bytes).table;
          const reference = new ReferenceClassifier(compiled.data);
          for (const [index, fromEnd, offset] of probes) {
            const entry = compiled.data.entries[index % compiled.data.entries.length]!;
            const ip = addressNear(entry.cidr, fromEnd, offset);
            expectAgreement(table, reference, ip);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
