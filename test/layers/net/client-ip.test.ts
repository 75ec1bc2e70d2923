/**
 * The edge's staged reader of `clientIp` must read every well-formed address as the strict parser does,
 * and, on any text at all, never throw and never report an octet or group the text does not hold.
 */
import fc from 'fast-check';
import { readV4Head, readV4Tail, readV6Group1, readV6Head } from '../../../layers/net/client-ip';
import { formatV4, formatV6, parseAddress } from '../../../layers/net/ip';

const strict = (text: string) => {
  const out = new Uint32Array(4);
  const family = parseAddress(text, out);
  return { family, words: [...out] };
};

/** The staged reading of IPv4 text in full: the address, or -1. */
function stagedV4(text: string): number {
  const head = readV4Head(text, text.length);
  if (head < 0) return -1;
  const tail = readV4Tail(text, head >>> 16, text.length);
  return tail < 0 ? -1 : (((head & 0xffff) << 16) | tail) >>> 0;
}

/** The staged reading of IPv6 text's first 64 bits, or null. */
function stagedV6Head(text: string): [number, number] | null {
  const first = readV6Group1(text, text.length);
  if (first < 0) return null;
  const out = new Uint32Array(4);
  return readV6Head(text, first >>> 16, text.length, first & 0xffff, out) ? [out[0]!, out[1]!] : null;
}

describe('the staged clientIp reader', () => {
  test('reads every IPv4 address as the strict parser does', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), (value) => {
        expect(stagedV4(formatV4(value))).toBe(value);
      }),
      { numRuns: 20_000 },
    );
    for (const value of [0, 1, 9, 10, 99, 100, 255, 256, 0x01020304, 0xffffffff]) expect(stagedV4(formatV4(value))).toBe(value);
  });

  test('reads the first 64 bits of every IPv6 address written out past them, in either case', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, upper) => {
        groups[0] ||= 1; // a zero first group is the strict parser's
        let text = groups.map((g) => g.toString(16)).join(':');
        if (upper) text = text.toUpperCase();
        const { family, words } = strict(text);
        expect(family).toBe(6);
        expect(stagedV6Head(text)).toEqual([words[0], words[1]]);
      }),
      { numRuns: 20_000 },
    );
  });

  test('leaves compressed heads, zero first groups and mapped addresses to the strict parser', () => {
    for (const text of ['2600:1f18::1', '2600::1', '::1', '::ffff:1.2.3.4', '0:0:0:0:0:ffff:102:304', '2600:1f18:0::1'])
      expect(stagedV6Head(text)).toBeNull();
    // The first group alone is read where it is written out, whatever follows it.
    expect(readV6Group1('2600::1', 7) & 0xffff).toBe(0x2600);
  });

  test.each(['1.2.3', '1.2.3.', '01.2.3.4', '1.02.3.4', '1.2.03.4', '1.2.3.04', '256.2.3.4', '1.2.3.256', '1.2.3.4.5', '1.2.3.4 ', ' 1.2.3.4', '1..2.3.4', '1.2.3.4a', 'a.2.3.4', '1234.2.3.4', '1.2.3.1234'])(
    '%j is not IPv4 to it',
    (text) => {
      expect(stagedV4(text)).toBe(-1);
      expect(strict(text).family).toBe(0);
    },
  );

  test.each(['12345:1:2:3:4:5:6:7', 'g:1:2:3:4:5:6:7', '2600:1f18x:0:0:0:0:0:1', '2600:12345:0:0:0:0:0:1', '2600:1:2:3', '2600:1:2:3:'])('%j has no head to it', (text) => {
    expect(stagedV6Head(text)).toBeNull();
  });

  test('on any text: no throw, and an IPv4 reading only where the strict parser reads the same', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF.:xg /%\u0100'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 20 }).map((chars) => chars.join('')), (text) => {
        const v4 = stagedV4(text);
        if (v4 >= 0) expect(strict(text)).toEqual({ family: 4, words: [v4, 0, 0, 0] });
        const head = stagedV6Head(text);
        if (head !== null && strict(text).family === 6) expect([strict(text).words[0], strict(text).words[1]]).toEqual(head);
      }),
      { numRuns: 20_000 },
    );
  });

  test('formats round-trip through it at the extremes', () => {
    expect(stagedV6Head(formatV6([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]))).toEqual([0xffffffff, 0xffffffff]);
    expect(stagedV6Head('1:2:3:4:5:6:7:8')).toEqual([0x00010002, 0x00030004]);
  });
});
