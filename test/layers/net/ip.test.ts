import { formatCidr, formatV4, formatV6, parseAddress, parseCidr } from '../../../layers/net/ip';

const parse = (text: string) => {
  const out = new Uint32Array(4);
  const family = parseAddress(text, out);
  return family === 0 ? null : { family, words: family === 4 ? [out[0]] : [...out] };
};

describe('parseAddress', () => {
  test.each([
    ['0.0.0.0', 4, [0]],
    ['255.255.255.255', 4, [0xffffffff]],
    ['3.4.12.4', 4, [0x03040c04]],
    ['::', 6, [0, 0, 0, 0]],
    ['::1', 6, [0, 0, 0, 1]],
    ['1::', 6, [0x00010000, 0, 0, 0]],
    ['2600:1f18::1', 6, [0x26001f18, 0, 0, 1]],
    ['2600:1F18:0:0:0:0:0:1', 6, [0x26001f18, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', 6, [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3:4:5:6:7::', 6, [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', 6, [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ['64:ff9b::1.2.3.4', 6, [0x0064ff9b, 0, 0, 0x01020304]],
    // IPv4-mapped IPv6 is the IPv4 client it wraps, in both spellings.
    ['::ffff:3.4.12.4', 4, [0x03040c04]],
    ['::FFFF:0304:0c04', 4, [0x03040c04]],
    ['0:0:0:0:0:ffff:3.4.12.4', 4, [0x03040c04]],
  ])('%s', (text, family, words) => {
    expect(parse(text)).toEqual({ family, words });
  });

  test.each([
    '', ' 1.2.3.4', '1.2.3.4 ', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..2.3', '1.2.3.4/32',
    '0x1.2.3.4', '1.2.3.-4', '::ffff:1.2.3', ':', ':::', '1:::2', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '12345::',
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', 'fe80::1%eth0', '[::1]', 'g::1', '1.2.3.4::', '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4', '\n', '1.2.3.4\r\n', 'a'.repeat(46),
  ])('refuses %j', (text) => {
    expect(parse(text)).toBeNull();
  });

  test('refuses what is not a string', () => {
    expect(parseAddress(undefined as unknown as string, new Uint32Array(4))).toBe(0);
  });
});

describe('formatting', () => {
  test.each([
    [[0x20010db8, 0, 0, 1], '2001:db8::1'],
    [[0x20010db8, 0x00000001, 0, 1], '2001:db8:0:1::1'], // the longest run of zeros is compressed
    [[0x20010000, 0x00010000, 0, 1], '2001:0:1::1'],
    [[0x00010002, 0x00030004, 0x00050006, 0x00070008], '1:2:3:4:5:6:7:8'],
    [[0x00010000, 0x00020000, 0x00030000, 0x00040000], '1:0:2:0:3:0:4:0'], // a single zero group is not
    [[0, 0, 0, 0], '::'],
  ])('formatV6 %j is %s (RFC 5952)', (words, text) => {
    expect(formatV6(words)).toBe(text);
  });

  test('formatV4', () => {
    expect(formatV4(0x03040c04)).toBe('3.4.12.4');
    expect(formatV4(0xffffffff)).toBe('255.255.255.255');
  });
});

describe('parseCidr', () => {
  test.each(['3.4.12.4/32', '0.0.0.0/0', '2406:daba:f000::/40', '::/0', '2600:1f18::1/128'])('round-trips %s', (text) => {
    const cidr = parseCidr(text);
    expect(typeof cidr).toBe('object');
    expect(formatCidr(cidr as Exclude<typeof cidr, string>)).toBe(text);
  });

  test.each([
    ['1.2.3.4', 'no "/length"'],
    ['1.2.3.4/33', 'over 32'],
    ['1.2.3.4/24', 'host bits set'],
    ['1.2.3.0/024', 'invalid prefix length'],
    ['1.2.3.0/', 'invalid prefix length'],
    ['2406:daba:f000::1/40', 'host bits set'],
    ['::/129', 'over 128'],
    ['1.2.3/24', 'invalid address'],
  ])('refuses %s (%s)', (text, problem) => {
    expect(parseCidr(text)).toEqual(expect.stringContaining(problem));
  });
});
