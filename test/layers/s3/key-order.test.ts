import fc from 'fast-check';
import { compareKeys } from '../../../layers/s3/key-order';

/** What S3 does: compare the keys' UTF-8 bytes. */
const utf8Order = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('compareKeys: S3 order (UTF-8 bytes), not JavaScript string order (UTF-16 code units)', () => {
  test.each([
    ['ASCII', 'a', 'b', -1],
    ['a prefix sorts first', 'abc', 'abcd', -1],
    ['equal', 'sha256:ab', 'sha256:ab', 0],
    ['U+00E9 after ASCII', 'é', 'z', 1],
    ['U+D7FF before U+E000 (both BMP, no surrogates)', '\uD7FF', '\uE000', -1],
    ['U+1F600 (surrogate pair) after U+FF01, where UTF-16 puts it before', '😀', '\uFF01', 1],
    ['U+10000 after U+FFFF', '\u{10000}', '\uFFFF', 1],
    ['U+E000 before U+10FFFF', 'k/\uE000', 'k/\u{10FFFF}', -1],
    ['two astral characters in code point order', '\u{1F600}', '\u{1F601}', -1],
    ['astral vs U+D7FF: the pair sorts after', '\u{1F600}', '\uD7FF', 1],
  ])('%s', (_name, a, b, expected) => {
    expect(Math.sign(compareKeys(a, b))).toBe(expected);
    expect(Math.sign(compareKeys(b, a))).toBe(-expected || 0);
    expect(utf8Order(a, b)).toBe(expected);
  });

  test('JavaScript order really differs here (the reason this function exists)', () => {
    expect('😀' < '\uFF01').toBe(true);
    expect(compareKeys('😀', '\uFF01')).toBeGreaterThan(0);
  });

  test('agrees with the UTF-8 byte order on random keys mixing ASCII, BMP above U+E000 and astral characters', () => {
    const char = fc.oneof(
      fc.constantFrom('a', 'z', '/', ':', 'é', '\uD7FF', '\uE000', '\uFB01', '\uFF01', '\uFFFD', '\uFFFF', '😀', '\u{10000}', '\u{10FFFF}'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const key = fc.array(char, { maxLength: 8 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(key, key, (a, b) => Math.sign(compareKeys(a, b)) === utf8Order(a, b)),
      { numRuns: 5000 },
    );
  });

  test('sorting with it gives the UTF-8 byte order', () => {
    const keys = ['\uFF01', '😀', 'a', '\uE000', '\u{10FFFF}', '\uD7FF', 'é'];
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...keys].sort(compareKeys)).toEqual(expected);
    expect([...keys].sort()).not.toEqual(expected);
  });
});
