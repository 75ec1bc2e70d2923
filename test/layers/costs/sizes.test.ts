/** Blob sizes from the files operators have at hand: a digest map, `aws s3api list-objects-v2`, `aws s3 ls`. */
import { mergeSizes, parseSizes, SizesError } from '../../../layers/costs/sizes';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha512:${'c'.repeat(128)}`;

describe('formats', () => {
  test.each([
    ['a digest map', JSON.stringify({ [A]: 10, [B]: 0, [C]: 7 })],
    ['list-objects-v2 output (other keys ignored)', JSON.stringify({ Contents: [{ Key: `containers/images/${A}`, Size: 10, ETag: '"x"' }, { Key: `containers/images/${B}`, Size: 0 }, { Key: `containers/images/${C}`, Size: 7 }, { Key: 'README', Size: 3 }], KeyCount: 4 })],
    ['`aws s3 ls --recursive` output', `2026-11-27 15:59:01         10 containers/images/${A}\n2026-11-27 15:59:02          0 containers/images/${B}\n2026-11-27 15:59:03          7 containers/images/${C}\n2026-11-27 15:59:03          3 containers/index.html\n`],
    ['`aws s3 ls` of the prefix (names only), folders and CRLF', `                           PRE old/\r\n2026-11-27 15:59:01         10 ${A}\r\n2026-11-27 15:59:02          0 ${B}\r\n2026-11-27 15:59:03          7 ${C}\r\n`],
  ])('%s', (_name, text) => {
    expect(Object.fromEntries(parseSizes(text, 'sizes'))).toEqual({ [A]: 10, [B]: 0, [C]: 7 });
  });

  test('several files add up; a digest listed twice with different sizes is refused', () => {
    const sizes = parseSizes(JSON.stringify({ [A]: 10 }), 'one.json');
    parseSizes(`2026-11-27 15:59:01         10 ${A}\n2026-11-27 15:59:01         20 ${B}\n`, 'two.txt', sizes);
    expect(sizes.size).toBe(2);
    expect(() => parseSizes(JSON.stringify({ [A]: 11 }), 'three.json', sizes)).toThrow(new SizesError(`three.json: ${A} is listed as 10 and as 11 bytes`));
    expect(() => mergeSizes(sizes, new Map([[B, 21]]), 'four.json')).toThrow(new SizesError(`four.json: ${B} is listed as 20 and as 21 bytes`));
    expect(mergeSizes(sizes, new Map([[B, 20], [C, 7]]), 'five.json').size).toBe(3);
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
