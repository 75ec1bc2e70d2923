/**
 * The existence check before a redirect, with a fake fetch and clock: what is asked, what is remembered
 * (positive answers long, 403/404 briefly, doubt never) and that both caches stay bounded.
 */
import { createBlobChecker } from '../../../layers/routing/blob-check';

function fakeBuckets(statusOf: (url: string) => number | 'throw') {
  const asked: string[] = [];
  const fetch = (async (url: string) => {
    asked.push(url);
    const status = statusOf(url);
    if (status === 'throw') throw new Error('connection refused');
    return new Response(null, { status });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, asked };
}

function checker(statusOf: (url: string) => number | 'throw', options: { cacheEntries?: number; negativeCacheSeconds?: number } = {}) {
  let clock = 1_000_000;
  const buckets = fakeBuckets(statusOf);
  const check = createBlobChecker({ timeoutMs: 100, cacheEntries: options.cacheEntries ?? 100, cacheSeconds: 3600, negativeCacheSeconds: options.negativeCacheSeconds ?? 3, fetch: buckets.fetch, now: () => clock });
  return { check, asked: buckets.asked, advance: (ms: number) => (clock += ms) };
}

describe('createBlobChecker', () => {
  test('a blob that is there is remembered for cacheSeconds', async () => {
    const { check, asked, advance } = checker(() => 200);
    expect(await check.exists('u/a')).toBe(true);
    advance(3599_000);
    expect(await check.exists('u/a')).toBe(true);
    expect(asked).toEqual(['u/a']);
    advance(2_000);
    expect(await check.exists('u/a')).toBe(true);
    expect(asked).toEqual(['u/a', 'u/a']);
  });

  test.each([403, 404])('a %i is believed for negativeCacheSeconds only: a burst costs one HEAD', async (status) => {
    let there = false;
    const { check, asked, advance } = checker(() => (there ? 200 : status));
    for (let i = 0; i < 20; i++) expect(await check.exists('u/new')).toBe(false);
    expect(asked).toHaveLength(1);
    there = true; // replication caught up
    advance(2_900);
    expect(await check.exists('u/new')).toBe(false);
    advance(200);
    expect(await check.exists('u/new')).toBe(true);
    expect(asked).toHaveLength(2);
  });

  test.each<[string, number | 'throw']>([
    ['a 500', 500],
    ['a 503', 503],
    ['a redirect', 307],
    ['a network error', 'throw'],
  ])('%s answers "no" and is not remembered', async (_name, status) => {
    const { check, asked } = checker(() => status);
    expect(await check.exists('u/x')).toBe(false);
    expect(await check.exists('u/x')).toBe(false);
    expect(asked).toHaveLength(2);
  });

  test('negativeCacheSeconds 0 remembers no "not there"', async () => {
    const { check, asked } = checker(() => 404, { negativeCacheSeconds: 0 });
    await check.exists('u/x');
    await check.exists('u/x');
    expect(asked).toHaveLength(2);
  });

  test('the negative cache is bounded (oldest out) and cannot evict what is known to be there', async () => {
    const { check, asked } = checker((url) => (url === 'u/present' ? 200 : 404), { cacheEntries: 2 });
    await check.exists('u/present');
    for (const url of ['u/m1', 'u/m2', 'u/m3']) await check.exists(url);
    asked.length = 0;
    expect(await check.exists('u/present')).toBe(true); // still cached
    expect(await check.exists('u/m3')).toBe(false); // still cached
    expect(await check.exists('u/m1')).toBe(false); // evicted: asked again
    expect(asked).toEqual(['u/m1']);
  });

  test('the positive cache is bounded too', async () => {
    const { check, asked } = checker(() => 200, { cacheEntries: 2 });
    for (const url of ['u/1', 'u/2', 'u/3']) await check.exists(url);
    asked.length = 0;
    await check.exists('u/3');
    await check.exists('u/1');
    expect(asked).toEqual(['u/1']);
  });
});
