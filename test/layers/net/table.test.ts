import { type Cidr, formatCidr, formatV4, formatV6, topMask } from '../../../layers/net/ip';
import { INVALID, UNMATCHED } from '../../../layers/net/table';
import { snapshot } from '../../support/snapshot';

// Real addresses from the vendored snapshot (data/aws-ip-ranges.json, data/gcp-cloud.json).
describe('classifying with the snapshot table', () => {
  const { table } = snapshot();

  test.each([
    // A regional prefix nested in a GLOBAL one: the most specific prefix wins.
    ['64.252.81.7', 'aws', 'sa-east-1', '64.252.81.0/24'],
    ['64.252.81.0', 'aws', 'sa-east-1', '64.252.81.0/24'], // first address of the nested prefix
    ['64.252.81.255', 'aws', 'sa-east-1', '64.252.81.0/24'], // last address
    ['64.252.90.0', 'aws', 'GLOBAL', '64.252.64.0/18'], // a part of the GLOBAL /18 no regional prefix claims
    ['64.252.89.255', 'aws', 'eu-central-1', '64.252.89.0/24'], // the last address of a nested /24 ...
    ['64.252.127.0', 'aws', 'GLOBAL', '64.252.64.0/18'], // ... and after another, the GLOBAL prefix again
    ['64.252.126.255', 'aws', 'eu-west-3', '64.252.126.0/24'],
    ['35.55.125.255', 'aws', 'GLOBAL', '35.55.0.0/17'], // just before a nested prefix
    ['35.55.126.0', 'aws', 'us-west-2', '35.55.126.0/24'],
    ['15.193.3.10', 'aws', 'ap-southeast-2', '15.193.3.0/24'],
    ['15.193.12.0', 'aws', 'GLOBAL', '15.193.0.0/19'],
    // Single addresses and ordinary regional prefixes.
    ['3.4.12.4', 'aws', 'eu-west-1', '3.4.12.4/32'],
    ['52.94.152.184', 'aws', 'us-gov-west-1', '52.94.152.184/32'],
    ['52.94.76.200', 'aws', 'us-west-2', '52.94.76.0/22'],
    // IPv6, including a nested regional /48 inside a GLOBAL /40 and a published /128.
    ['2600:9000:5206::1', 'aws', 'ap-northeast-2', '2600:9000:5206::/48'],
    ['2600:9000:5206:ffff:ffff:ffff:ffff:ffff', 'aws', 'ap-northeast-2', '2600:9000:5206::/48'],
    ['2600:9000:5214::', 'aws', 'GLOBAL', '2600:9000:5200::/40'],
    ['2600:1f18::1', 'aws', 'us-east-1', '2600:1f18::/33'],
    ['2406:daba:f000::1', 'aws', 'ap-southeast-4', '2406:daba:f000::/40'],
    ['2400:6500:0:9::2', 'aws', 'ap-southeast-3', '2400:6500:0:9::2/128'],
    // IPv4-mapped IPv6 is classified as its IPv4 address.
    ['::ffff:64.252.81.7', 'aws', 'sa-east-1', '64.252.81.0/24'],
    ['::ffff:3.4.12.4', 'aws', 'eu-west-1', '3.4.12.4/32'],
    // GCP scopes.
    ['34.1.208.1', 'gcp', 'africa-south1', '34.1.208.0/20'],
    ['34.35.255.255', 'gcp', 'africa-south1', '34.35.0.0/16'],
  ])('%s is %s %s (%s)', (ip, cloud, region, prefix) => {
    expect(table.classify(ip)).toEqual({ cloud, region, prefix });
  });

  test.each(['8.8.8.8', '1.1.1.1', '0.0.0.0', '255.255.255.255', '::', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::1', '::ffff:8.8.8.8'])(
    '%s is in no published range',
    (ip) => {
      expect(table.classify(ip)).toBeNull();
    },
  );

  test.each(['', 'localhost', '1.2.3', '::ffff:1.2.3', '2600:1f18::1%eth0', '52.94.76.001'])('%j is not an address', (ip) => {
    expect(table.classify(ip)).toBeUndefined();
  });

  test('each of the 247 regional prefixes nested in a GLOBAL one wins over it, at its first and last address', () => {
    const { compiled } = snapshot();
    const places = compiled.data.places;
    const value = (c: Cidr) => (c.family === 4 ? BigInt(c.words[0]!) : (BigInt(c.words[0]!) << 96n) | (BigInt(c.words[1]!) << 64n) | (BigInt(c.words[2]!) << 32n) | BigInt(c.words[3]!));
    const bits = (c: Cidr) => (c.family === 4 ? 32 : 128);
    const contains = (outer: Cidr, inner: Cidr) =>
      outer.family === inner.family && outer.length < inner.length && value(inner) >> BigInt(bits(outer) - outer.length) === value(outer) >> BigInt(bits(outer) - outer.length);
    const global = compiled.data.entries.filter((e) => places[e.place]!.region === 'GLOBAL');
    let nested = 0;
    for (const entry of compiled.data.entries) {
      const place = places[entry.place]!;
      if (place.cloud !== 'aws' || place.region === 'GLOBAL' || !global.some((g) => contains(g.cidr, entry.cidr))) continue;
      nested++;
      const last = new Uint32Array(entry.cidr.words);
      for (let w = 0; w < 4; w++) last[w] = (last[w]! | ~topMask(entry.cidr.length - 32 * w)) >>> 0;
      for (const words of [entry.cidr.words, last]) {
        const ip = entry.cidr.family === 4 ? formatV4(words[0]!) : formatV6(words);
        expect(table.classify(ip)).toEqual({ cloud: 'aws', region: place.region, prefix: formatCidr(entry.cidr) });
      }
    }
    expect(nested).toBe(247);
  });
});

/**
 * The edge's lazy lookup (`lookupClientIp`): an IPv6 address written out in full is searched by its first
 * 64 bits, and the rest of its text is read only when an interval starts inside that /64. The snapshot has
 * such /64s: 2400:6500:0:9::/64 holds four published /128s, 2600:1f01:4902::/64 a /65.
 */
describe('the edge\'s lookup of CloudFront\'s clientIp', () => {
  const { table } = snapshot();
  const prefixOf = (slot: number) => (slot < 0 ? slot : table.answer(slot).prefix);

  test.each([
    ['2400:6500:0:9:0:0:0:2', '2400:6500:0:9::2/128'],
    ['2400:6500:0:9:0:0:0:4', '2400:6500:0:9::4/128'],
    ['2400:6500:0:9:0:0:0:5', UNMATCHED], // just after the last /128
    ['2400:6500:0:9:0:0:0:0', UNMATCHED], // just before the first
    ['2400:6500:0:9:ffff:ffff:ffff:ffff', UNMATCHED],
    ['2600:1f01:4902:0:8000:0:0:1', '2600:1f01:4902:0:8000::/65'],
    ['2600:1f01:4902:0:7fff:ffff:ffff:ffff', prefixOf(table.lookup('2600:1f01:4902:0:7fff:ffff:ffff:ffff'))],
    ['2600:1F18:0:0:0:0:0:1', '2600:1f18::/33'], // upper case, no boundary in its /64: the tail is not read
    ['2600:1f18::1', '2600:1f18::/33'], // a compressed head goes through the strict parser
    ['::ffff:3.4.12.4', '3.4.12.4/32'],
    ['0:0:0:0:0:ffff:3.4.12.4', '3.4.12.4/32'], // a zero first group goes to the strict parser too
    ['0:0:0:0:0:ffff:304:c04', '3.4.12.4/32'],
    ['3.4.12.4', '3.4.12.4/32'],
  ])('%s is found where the strict lookup finds it (%s)', (ip, expected) => {
    expect(prefixOf(table.lookupClientIp(ip))).toBe(expected);
    expect(table.lookupClientIp(ip)).toBe(table.lookup(ip));
  });

  test.each([
    // Malformed where it decides: the /64 holds a boundary, so the tail is read, strictly.
    '2400:6500:0:9:0:0:0:zz',
    '2400:6500:0:9:0:0:0:2:5',
    '2400:6500:0:9:0:0:0:',
    '2400:6500:0:9::2::',
    // A malformed head.
    '2600:1f18x:0:0:0:0:0:1',
    '12345:1f18:0:0:0:0:0:1',
    '2600:1f18:0:0',
    ':2600:1f18:0:0:0:0:0:1',
    '2600::1f18::1',
    '',
    'localhost',
    '3.4.12.04',
    '3.4.12.4 ',
    `2600:1f18:${'0:'.repeat(20)}1`,
  ])('%j is not an address to it either', (ip) => {
    expect(table.lookupClientIp(ip)).toBe(INVALID);
    expect(table.lookup(ip)).toBe(INVALID);
  });

  test('is not a validator: where the tail does not decide, it is not read (so untrusted text goes to lookup)', () => {
    const ip = '2600:1f18:1:2:not-hex';
    expect(prefixOf(table.lookupClientIp(ip))).toBe('2600:1f18::/33');
    expect(table.lookup(ip)).toBe(INVALID);
    expect(table.classify(ip)).toBeUndefined();
  });

  // Outside the clouds' space a /16 bucket of the index lies inside one interval: the first 16 bits answer.
  test.each([
    ['9.9.', '9.9.0.0', '9.9.255.255', '9.9.not-an-address'],
    ['2a02:', '2a02::', '2a02:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2a02:zz'],
    ['2A02:', '2a02::', '2a02:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2A02::1'],
  ])('a bucket holding one answer (%s) is answered from its first 16 bits', (_bucket, low, high, ip) => {
    expect(table.lookup(low)).toBe(table.lookup(high)); // the premise: nothing starts inside the /16
    expect(table.lookupClientIp(ip)).toBe(table.lookup(low));
  });

  test.each([
    // Where the /16 holds boundaries (3.4.0.0/16 holds 3.4.12.4/32), the rest is read, strictly.
    '3.4.12.256',
    '3.4.1234.4',
    '3.4.12.4.5',
    '3.4.012.4',
    '3.4.12.',
    '3.4.12',
    // The first 16 bits themselves.
    '03.4.12.4',
    '3.04.12.4',
    '256.4.12.4',
    '3.4..12.4',
    '26000:1f18:0:0:0:0:0:1',
    'g600:1f18:0:0:0:0:0:1',
    '2600:1f18x:0:0:0:0:0:1',
  ])('%j in a bucket that decides is refused', (ip) => {
    expect(table.lookup(ip)).toBe(INVALID);
    expect(table.lookupClientIp(ip)).toBe(INVALID);
  });

  test.each(['1.2.3.4', '255.255.255.255', '0.0.0.0', '3.4.12.4', '52.95.110.1', '2600:f:0:0:0:0:0:1', '2600:1F18:00:0:0:0:0:1', 'fe80:0:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1::'])(
    '%s: the staged reading finds what the strict one does',
    (ip) => {
      expect(table.lookupClientIp(ip)).toBe(table.lookup(ip));
      expect(table.lookup(ip)).not.toBe(INVALID);
    },
  );

  test('refuses what is not text', () => {
    expect(table.lookupClientIp(undefined as unknown as string)).toBe(INVALID);
    expect(table.lookupClientIp(42 as unknown as string)).toBe(INVALID);
  });
});
