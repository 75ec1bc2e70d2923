/**
 * Reading log inputs: files, gzip (told by its bytes, not its name), folders, standard input, line limits,
 * and the errors an operator sees for input that cannot be read at all.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError, type LogInput, readLines, resolveInputs, splitLines } from '../../../layers/costs/log-files';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cost-logs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(input: LogInput, maxBytes?: number) {
  const out: { text: string; number: number; tooLong: boolean }[] = [];
  for await (const line of readLines(input, maxBytes)) out.push(line);
  return out;
}

async function* chunks(...parts: (string | Buffer)[]) {
  for (const part of parts) yield Buffer.from(part);
}

const TEXT = '#Version: 1.0\n#Fields: c-ip cs-method cs-uri-stem sc-status\n10.0.0.1\tGET\t/v2/\t200\n';

describe('inputs', () => {
  test('a gzip file and a plain file read the same, whatever their names', async () => {
    writeFileSync(join(dir, 'plain.gz'), TEXT); // misnamed on purpose
    writeFileSync(join(dir, 'zipped.log'), gzipSync(TEXT));
    const [plain, zipped] = resolveInputs([join(dir, 'plain.gz'), join(dir, 'zipped.log')]);
    expect((await collect(plain!)).map((l) => l.text)).toEqual(TEXT.trimEnd().split('\n'));
    expect(await collect(zipped!)).toEqual(await collect(plain!));
  });

  test('concatenated gzip members (cat a.gz b.gz) read as one', async () => {
    writeFileSync(join(dir, 'two.gz'), Buffer.concat([gzipSync('a\n'), gzipSync('b\n')]));
    expect((await collect(resolveInputs([join(dir, 'two.gz')])[0]!)).map((l) => l.text)).toEqual(['a', 'b']);
  });

  test('folders are read recursively in name order; hidden files are not logs', () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'b', 'c'), { recursive: true });
    writeFileSync(join(root, 'z.gz'), '');
    writeFileSync(join(root, 'a.gz'), '');
    writeFileSync(join(root, 'b', 'c', 'd.gz'), '');
    writeFileSync(join(root, '.DS_Store'), '');
    expect(resolveInputs([root]).map((i) => i.name)).toEqual([join(root, 'a.gz'), join(root, 'b', 'c', 'd.gz'), join(root, 'z.gz')]);
  });

  test('"-" is standard input, gzip or not', async () => {
    const [input] = resolveInputs(['-'], () => chunks(gzipSync(TEXT).subarray(0, 1), gzipSync(TEXT).subarray(1)));
    expect(input!.name).toBe('-');
    expect((await collect(input!)).map((l) => l.number)).toEqual([1, 2, 3]);
  });

  test('a path that is not there is an InputError naming it', () => {
    expect(() => resolveInputs([join(dir, 'nope.gz')])).toThrow(new InputError(`${join(dir, 'nope.gz')}: no such file or folder`));
    expect(() => resolveInputs([])).toThrow(/no log files given/);
  });

  test.each([
    ['a truncated gzip file', () => gzipSync(TEXT.repeat(100)).subarray(0, 40)],
    ['gzip magic followed by garbage', () => Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not deflate at all')])],
  ])('%s is an InputError naming the file', async (_name, bytes) => {
    const path = join(dir, 'broken.gz');
    writeFileSync(path, bytes());
    await expect(collect(resolveInputs([path])[0]!)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable gzip file`));
  });
});

describe('lines', () => {
  const split = async (max: number, ...parts: string[]) => {
    const out = [];
    for await (const line of splitLines(chunks(...parts), max)) out.push(line);
    return out;
  };

  test('lines split across chunks, the last without a newline', async () => {
    expect(await split(100, 'ab', 'c\nde', 'f\n', 'g')).toEqual([
      { text: 'abc', number: 1, tooLong: false },
      { text: 'def', number: 2, tooLong: false },
      { text: 'g', number: 3, tooLong: false },
    ]);
  });

  test('a line over the limit is cut and flagged; the next line is whole', async () => {
    expect(await split(5, '123', '456789', '\nok\n')).toEqual([
      { text: '', number: 1, tooLong: true },
      { text: 'ok', number: 2, tooLong: false },
    ]);
  });

  test('many lines in one chunk, one over the limit: only that one is flagged', async () => {
    expect(await split(5, 'ab\n123456\ncd\n12345\n')).toEqual([
      { text: 'ab', number: 1, tooLong: false },
      { text: '', number: 2, tooLong: true },
      { text: 'cd', number: 3, tooLong: false },
      { text: '12345', number: 4, tooLong: false },
    ]);
  });

  test('the limit is in bytes, not characters, when a chunk is not ASCII', async () => {
    // "éé" is 4 bytes (at the limit), "ééa" 5 (over it, though 3 characters).
    expect(await split(4, 'éé\nééa\nab\n')).toEqual([
      { text: 'éé', number: 1, tooLong: false },
      { text: '', number: 2, tooLong: true },
      { text: 'ab', number: 3, tooLong: false },
    ]);
  });

  test('bytes that are not UTF-8 decode to U+FFFD in their own line only', async () => {
    const bytes = Buffer.concat([Buffer.from('a\n'), Buffer.from([0xff, 0x41]), Buffer.from('\nb\n')]);
    const out = [];
    for await (const line of splitLines(chunks(bytes), 100)) out.push(line.text);
    expect(out).toEqual(['a', '\ufffdA', 'b']);
  });

  test('a multi-byte character split across chunks decodes whole', async () => {
    const bytes = Buffer.from('café\n');
    const out = [];
    for await (const line of splitLines(chunks(bytes.subarray(0, 4), bytes.subarray(4)), 100)) out.push(line.text);
    expect(out).toEqual(['café']);
  });
});
