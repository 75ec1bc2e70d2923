/**
 * The existence check before a redirect, against a local server standing in for the buckets (and a host
 * that drops every connection, for network errors), with the test's clock: what is asked, what is
 * remembered (positive answers long, 403/404 briefly, doubt never) and that both caches stay bounded.
 */
import { createServer, type Server } from 'node:net';
import { bucketSeed, createBlobChecker, indexOf } from '../../../layers/routing/blob-check';
import { startServer, type TestServer } from '../../support/http';

type Answer = number | 'throw';
/** What the bucket answers to a HEAD of a path (no leading slash); 'throw': the connection is dropped. */
let statusOf: (path: string) => Answer = () => 404;
/** The paths the current checker's HEADs asked about, in order ('(dropped)' for a dropped connection). */
let asking: string[] = [];
let bucket: TestServer;
let dropping: Server;
let droppingUrl: string;

beforeAll(async () => {
  bucket = await startServer((req, res) => {
    const path = (req.url ?? '').slice(1);
    asking.push(path);
    res.statusCode = statusOf(path) as number;
    if (res.statusCode === 307) res.setHeader('location', 'http://127.0.0.1:9/elsewhere');
    res.end();
  });
  dropping = createServer((socket) => {
    asking.push('(dropped)');
    socket.destroy();
  });
  await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
  droppingUrl = `http://127.0.0.1:${(dropping.address() as { port: number }).port}`;
});

afterAll(async () => {
  await bucket?.close();
  await new Promise((resolve) => dropping?.close(resolve));
});

/** Where a path is asked about: the bucket server, or the dropping host for an answer of 'throw'. */
const urlOf = (path: string) => `${statusOf(path) === 'throw' ? droppingUrl : bucket.url}/${path}`;

/** A checker whose `exists` takes a path on the test's bucket (and the digest and bucket name, as the viewer gives them). */
function checker(answer: (path: string) => Answer, options: { cacheEntries?: number; negativeCacheSeconds?: number } = {}) {
  let clock = 1_000_000;
  statusOf = answer;
  const asked: string[] = [];
  asking = asked;
  const inner = createBlobChecker({ timeoutMs: 5000, cacheEntries: options.cacheEntries ?? 100, cacheSeconds: 3600, negativeCacheSeconds: options.negativeCacheSeconds ?? 3, now: () => clock });
  const check = { exists: (path: string, digest?: string, bucketName?: string) => inner.exists(urlOf(path), digest, bucketName) };
  return { check, asked, advance: (ms: number) => (clock += ms) };
}

describe('createBlobChecker', () => {
  test('an answer from memory comes at once, not as a promise (the edge then awaits nothing); a HEAD as a promise', async () => {
    const { check } = checker((url) => (url === 'u/there' ? 200 : 404));
    expect(check.exists('u/there')).toBeInstanceOf(Promise);
    expect(await check.exists('u/there')).toBe(true);
    expect(check.exists('u/there')).toBe(true);
    expect(await check.exists('u/gone')).toBe(false);
    expect(check.exists('u/gone')).toBe(false);
  });

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

  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
  /** A blob's path at the test's bucket server: the bucket's name, then the digest. */
  const url = (bucketName: string, d: string) => `${bucketName}/${d}`;

  test('by bucket and digest: the same blob in another bucket is another question', async () => {
    const { check, asked } = checker((path) => (path.startsWith('eu-west-1/') ? 200 : 404));
    const d = digest(1);
    expect(await check.exists(url('eu-west-1', d), d, 'eu-west-1')).toBe(true);
    expect(await check.exists(url('us-east-1', d), d, 'us-east-1')).toBe(false);
    asked.length = 0;
    expect(check.exists(url('eu-west-1', d), d, 'eu-west-1')).toBe(true);
    expect(check.exists(url('us-east-1', d), d, 'us-east-1')).toBe(false);
    expect(asked).toEqual([]);
  });

  test('two digests on one index of the cache evict each other, and neither ever gets the other\'s answer', async () => {
    // Two digests whose last 8 characters hash to the same index (found by search; sha256 hex is random,
    // so real ones collide about once in a billion pairs).
    const seed = bucketSeed('eu-west-1');
    const seenAt = new Map<number, number>();
    let pair: [string, string] | undefined;
    for (let n = 0; pair === undefined; n++) {
      const index = indexOf(seed, digest(n));
      const other = seenAt.get(index);
      if (other !== undefined) pair = [digest(other), digest(n)];
      else seenAt.set(index, n);
    }
    const [first, second] = pair;
    expect(indexOf(seed, first)).toBe(indexOf(seed, second));
    const ask = (check: ReturnType<typeof checker>['check'], d: string) => check.exists(url('eu-west-1', d), d, 'eu-west-1');

    // The second is not answered from the first's entry: it is asked about, and its own answer holds.
    const one = checker((u) => (u.endsWith(first) ? 200 : 404));
    expect(await ask(one.check, first)).toBe(true);
    expect(await ask(one.check, second)).toBe(false);
    expect(one.asked).toEqual([url('eu-west-1', first), url('eu-west-1', second)]);

    // Both there: each answer takes the slot from the other, so each is asked again, and still there.
    const both = checker(() => 200);
    for (const d of [first, second, first, second]) expect(await ask(both.check, d)).toBe(true);
    expect(both.asked).toHaveLength(4);
    expect(ask(both.check, second)).toBe(true); // the last one asked is remembered
    expect(both.asked).toHaveLength(4);
  });

  test('a cached digest is held apart from the request path it was cut from', async () => {
    const { check, asked } = checker(() => 200);
    const path = `/v2/pause/blobs/${digest(7)}`;
    const d = path.slice(path.length - 71);
    expect(await check.exists(url('eu-west-1', d), d, 'eu-west-1')).toBe(true);
    // An equal digest from another request (another string) is the same entry.
    const again = `/v2/other/blobs/${digest(7)}`.slice(-71);
    expect(check.exists(url('eu-west-1', again), again, 'eu-west-1')).toBe(true);
    expect(asked).toHaveLength(1);
  });
});
