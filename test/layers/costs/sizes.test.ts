/**
 * Blob sizes from the files operators have at hand (a digest map, `aws s3api list-objects-v2`,
 * `aws s3 ls`), kept in the compact sorted catalogue, checked against a plain Map on many digests.
 */
import { createHash } from 'node:crypto';
import { parseSizes, SizesBuilder, SizesError, sizesOf } from '../../../layers/costs/sizes';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha512:${'c'.repeat(128)}`;
const D = `sha256:${'d'.repeat(64)}`;

const lookup = (text: string) => {
  const sizes = sizesOf(text);
  return { size: sizes.size, values: [A, B, C, D].map((d) => sizes.get(d)), maxBytes: sizes.maxBytes, totalBytes: sizes.totalBytes };
};

describe('formats', () => {
  test.each([
    ['a digest map', JSON.stringify({ [A]: 10, [B]: 0, [C]: 7 })],
    ['list-objects-v2 output (other keys ignored)', JSON.stringify({ Contents: [{ Key: `containers/images/${A}`, Size: 10, ETag: '"x"' }, { Key: `containers/images/${B}`, Size: 0 }, { Key: `containers/images/${C}`, Size: 7 }, { Key: 'README', Size: 3 }], KeyCount: 4 })],
    ['`aws s3 ls --recursive` output', `2026-11-27 15:59:01         10 containers/images/${A}\n2026-11-27 15:59:02          0 containers/images/${B}\n2026-11-27 15:59:03          7 containers/images/${C}\n2026-11-27 15:59:03          3 containers/index.html\n`],
    ['`aws s3 ls` of the prefix (names only), folders and CRLF', `                           PRE old/\r\n2026-11-27 15:59:01         10 ${A}\r\n2026-11-27 15:59:02          0 ${B}\r\n2026-11-27 15:59:03          7 ${C}\r\n`],
  ])('%s', (_name, text) => {
    // D is not listed: undefined, not 0.
    expect(lookup(text)).toEqual({ size: 3, values: [10, 0, 7, undefined], maxBytes: 10, totalBytes: 17 });
  });

  test('several files add up; the same blob twice counts once; a digest listed twice with different sizes is refused', () => {
    const builder = parseSizes(JSON.stringify({ [A]: 10 }), 'one.json');
    parseSizes(`2026-11-27 15:59:01         10 ${A}\n2026-11-27 15:59:01         20 ${B}\n`, 'two.txt', builder);
    const sizes = builder.build();
    expect([sizes.size, sizes.totalBytes, sizes.get(A), sizes.get(B)]).toEqual([2, 30, 10, 20]);
    parseSizes(JSON.stringify({ [A]: 11 }), 'three.json', builder);
    expect(() => builder.build()).toThrow(new SizesError('the blob sha…:aaaaaaaaaaaaaaaa… is listed as 10 and as 11 bytes'));
  });

  test('dates in a listing give the bytes written per day (for growth estimates)', () => {
    const sizes = sizesOf(JSON.stringify({ Contents: [{ Key: A, Size: 10, LastModified: '2026-11-01T10:00:00.000Z' }, { Key: B, Size: 5, LastModified: '2026-11-01T23:00:00.000Z' }, { Key: C, Size: 7, LastModified: '2026-11-03T00:00:00.000Z' }] }));
    expect(Object.fromEntries(sizes.createdByDay)).toEqual({ '2026-11-01': 15, '2026-11-03': 7 });
  });

  test('many digests: the compact catalogue answers as a Map would', () => {
    const builder = new SizesBuilder();
    const expected = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const digest = `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;
      expected.set(digest, i * 7);
      builder.add(digest, i * 7);
    }
    const sizes = builder.build();
    expect(sizes.size).toBe(20_000);
    let wrong = 0;
    for (const [digest, bytes] of expected) if (sizes.get(digest) !== bytes) wrong++;
    for (let i = 20_000; i < 21_000; i++) if (sizes.get(`sha256:${createHash('sha256').update(String(i)).digest('hex')}`) !== undefined) wrong++;
    expect(wrong).toBe(0);
    expect(sizes.maxBytes).toBe(19_999 * 7);
  });
});

describe('`aws s3 ls` lines: the usual shape (read by hand) and the rest (read by the pattern) alike', () => {
  test.each<[string, string, number | undefined]>([
    ['the usual line', `2026-11-27 15:59:01         10 ${A}`, 10],
    ['the usual line, recursive', `2026-11-27 15:59:01 123456789012345 containers/images/${A}`, 123456789012345],
    ['sixteen digits (rounded as Number rounds them)', `2026-11-27 15:59:01 9007199254740993 ${A}`, Number('9007199254740993')],
    ['tabs between the fields', `2026-11-27 15:59:01\t10\t${A}`, 10],
    ['a space inside the key', `2026-11-27 15:59:01 10 old images/${A}`, 10],
    ['spaces after the key', `2026-11-27 15:59:01 10 ${A}   `, 10],
    ['a digest in upper case is no blob key', `2026-11-27 15:59:01 10 ${A.toUpperCase()}`, undefined],
    ['a key that only starts with a digest', `2026-11-27 15:59:01 10 ${A}.tmp`, undefined],
  ])('%s', (_name, line, bytes) => {
    expect(sizesOf(`${line}\n`).get(A)).toBe(bytes);
  });

  test('a line with the usual start but no size is refused, naming it', () => {
    expect(() => parseSizes(`2026-11-27 15:59:01 ${A}\n`, 'f')).toThrow(/^f:1: not a line of `aws s3 ls` output/);
  });
});

describe('what is refused, naming where', () => {
  test.each([
    ['JSON that does not parse', '{"a":', /^f: not valid JSON/],
    ['a negative size', JSON.stringify({ [A]: -1 }), new RegExp(`^f: ${A}: Too small`, 'i')],
    ['a fractional size', JSON.stringify({ [A]: 1.5 }), /^f: sha256:a+: /],
    ['a size as a string', JSON.stringify({ [A]: '10' }), /^f: sha256:a+: /],
    ['a key that is not a digest', JSON.stringify({ 'containers/images/latest': 10 }), /^f: "containers\/images\/latest" is not a blob digest/],
    ['list-objects-v2 without sizes', JSON.stringify({ Contents: [{ Key: A }] }), /^f: Contents\.0\.Size: /],
    ['a text line that is not `aws s3 ls`', `2026-11-27 15:59:01 10 ${A}\nhello world\n`, /^f:2: not a line of `aws s3 ls` output/],
    ['an array', '[1,2]', /^f:1: not a line/],
  ])('%s', (_name, text, message) => {
    expect(() => parseSizes(text, 'f')).toThrow(message);
  });
});
