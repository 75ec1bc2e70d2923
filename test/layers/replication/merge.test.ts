import { ListingOrderError, mergeListings, type MergedRow, readAhead } from '../../../layers/replication/merge';
import { compareKeys } from '../../../layers/s3/key-order';
import type { ListedObject } from '../../../layers/s3/objects';

const entry = (key: string, size = 1, etag = `e-${key}`): ListedObject => ({ key, size, etag });

/** A listing served in pages, as ListObjectsV2 does; `sort` puts the keys in S3's order first. */
function listing(bucket: string, keys: (string | ListedObject)[], pageSize = 2, sort = true) {
  const entries = keys.map((k) => (typeof k === 'string' ? entry(k) : k));
  if (sort) entries.sort((a, b) => compareKeys(a.key, b.key));
  return {
    bucket,
    entries: (async function* () {
      for (let i = 0; i < entries.length; i += pageSize) {
        await new Promise((resolve) => setImmediate(resolve));
        yield* entries.slice(i, i + pageSize);
      }
    })(),
  };
}

async function collect(rows: AsyncIterable<MergedRow>) {
  const out: [string, string | undefined, ...(string | undefined)[]][] = [];
  for await (const row of rows) out.push([row.key, row.source?.key, ...row.targets.map((t) => t?.key)]);
  return out;
}

describe('mergeListings', () => {
  test.each([
    ['both sides list the same keys', ['a', 'b', 'c'], [['a', 'b', 'c']], [['a', 'a', 'a'], ['b', 'b', 'b'], ['c', 'c', 'c']]],
    ['keys only in the source', ['a', 'b', 'c'], [['b']], [['a', 'a', undefined], ['b', 'b', 'b'], ['c', 'c', undefined]]],
    ['keys only in the target', ['b'], [['a', 'b', 'c']], [['a', undefined, 'a'], ['b', 'b', 'b'], ['c', undefined, 'c']]],
    ['an empty source', [], [['a']], [['a', undefined, 'a']]],
    ['an empty target', ['a'], [[]], [['a', 'a', undefined]]],
    ['nothing anywhere', [], [[], []], []],
    [
      'several targets, each holding a different part',
      ['a', 'b', 'c', 'd'],
      [['a', 'c'], ['b', 'c', 'e'], []],
      [['a', 'a', 'a', undefined, undefined], ['b', 'b', undefined, 'b', undefined], ['c', 'c', 'c', 'c', undefined], ['d', 'd', undefined, undefined, undefined], ['e', undefined, undefined, 'e', undefined]],
    ],
    [
      'keys outside the BMP and above U+E000, in UTF-8 order (JavaScript order would split these pairs)',
      ['k/😀', 'k/\uFF01', 'k/\uE000', 'k/a'],
      [['k/\uFF01', 'k/😀']],
      [['k/a', 'k/a', undefined], ['k/\uE000', 'k/\uE000', undefined], ['k/\uFF01', 'k/\uFF01', 'k/\uFF01'], ['k/😀', 'k/😀', 'k/😀']],
    ],
  ])('%s', async (_name, source, targets, expected) => {
    const rows = await collect(mergeListings(listing('src', source), targets.map((keys, i) => listing(`t${i}`, keys))));
    expect(rows).toEqual(expected);
  });

  test('across page boundaries that fall differently in each listing', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const evens = keys.filter((_, i) => i % 2 === 0);
    const rows = await collect(mergeListings(listing('src', keys, 7), [listing('a', evens, 3), listing('b', keys.slice(20), 1000)]));
    expect(rows.map((r) => r[0])).toEqual(keys);
    expect(rows.filter((r) => r[2] !== undefined).map((r) => r[0])).toEqual(evens);
    expect(rows.filter((r) => r[3] !== undefined).map((r) => r[0])).toEqual(keys.slice(20));
    expect(rows.every((r) => r[1] === r[0])).toBe(true);
  });

  test('gives each side its own entry (size and ETag) for the key', async () => {
    const rows = [];
    for await (const row of mergeListings(listing('src', [entry('a', 5, 'x')]), [listing('t', [entry('a', 6, 'y')])])) rows.push(row);
    expect(rows).toEqual([{ key: 'a', source: { key: 'a', size: 5, etag: 'x' }, targets: [{ key: 'a', size: 6, etag: 'y' }] }]);
  });

  test('refuses a listing that is not in S3 order, naming the bucket and the keys', async () => {
    // JavaScript's sort puts the astral key first: a server sorting by UTF-16 would list it so.
    const jsOrder = ['k/😀', 'k/\uFF01'].sort();
    const rows = collect(mergeListings(listing('src', ['k/a']), [listing('regional-eu', jsOrder, 2, false)]));
    await expect(rows).rejects.toThrow(ListingOrderError);
    await expect(collect(mergeListings(listing('src', ['k/a']), [listing('regional-eu', jsOrder, 2, false)]))).rejects.toThrow(
      /listing of bucket regional-eu is not in S3's key order \(UTF-8 binary\): "k\/\uFF01" came after "k\/😀"/,
    );
  });

  test('refuses a listing that repeats a key', async () => {
    await expect(collect(mergeListings(listing('src', ['a', 'a'], 2, false), []))).rejects.toThrow(/bucket src .* "a" came after "a"/);
  });

  test('reads every listing only as far as the merge has got', async () => {
    const read = { src: 0, t: 0 };
    const counted = (name: 'src' | 't', keys: string[]) => ({
      bucket: name,
      entries: (async function* () {
        for (const key of keys) {
          read[name]++;
          yield entry(key);
        }
      })(),
    });
    const keys = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const merged = mergeListings(counted('src', keys), [counted('t', keys)]);
    for (let i = 0; i < 10; i++) await merged.next();
    // The tenth row is out, and each listing has been read one entry past it at most.
    expect(read.src).toBeLessThanOrEqual(11);
    expect(read.t).toBeLessThanOrEqual(11);
    await merged.return(undefined);
  });
});

describe('readAhead', () => {
  test('passes every item through, in order', async () => {
    const out = [];
    for await (const item of readAhead((async function* () { yield* [1, 2, 3, 4]; })(), 1)) out.push(item);
    expect(out).toEqual([1, 2, 3, 4]);
  });

  test('has the next item on its way while the consumer holds the current one, and no more than that', async () => {
    let produced = 0;
    const source = (async function* () {
      for (let i = 0; i < 100; i++) {
        produced++;
        yield i;
      }
    })();
    const ahead = readAhead(source, 1);
    const first = await ahead.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.value).toBe(0);
    expect(produced).toBe(2);
    // A consumer that does not ask for more gets no further read-ahead, however long it waits.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(produced).toBe(2);
    await ahead.return(undefined);
  });

  test("passes the producer's error on to the consumer", async () => {
    const failing = (async function* () {
      yield 1;
      throw new Error('NoSuchBucket');
    })();
    const out: number[] = [];
    await expect((async () => { for await (const item of readAhead(failing, 1)) out.push(item); })()).rejects.toThrow('NoSuchBucket');
    expect(out).toEqual([1]);
  });
});
