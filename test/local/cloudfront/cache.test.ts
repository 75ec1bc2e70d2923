import type { CloudFrontRequest } from '../../../layers/cloudfront/events';
import { type CacheBehaviour, cacheKeyOf, EdgeCache, parseCacheControl, rangeOf, ttlOf } from '../../../local/cloudfront/cache';
import { BLOB_CACHE } from '../../../tools/stacks/cache-policy';

const DAY = 86_400;
const YEAR = 365 * DAY;
// The blob behaviour as packaged, and one with a minimum TTL above 0 (CloudFront's MinTTL-wins case).
const blob: CacheBehaviour = BLOB_CACHE;
const withMin: CacheBehaviour = { ...BLOB_CACHE, minTtl: DAY, errorCachingMinTtl: { 404: 30 } };

describe('ttlOf: how long CloudFront keeps an answer', () => {
  it.each([
    ['200 without Cache-Control: DefaultTTL', blob, 200, {}, YEAR],
    ['200 max-age=60', blob, 200, { 'cache-control': 'max-age=60' }, 60],
    ['200 s-maxage wins over max-age', blob, 200, { 'cache-control': 'max-age=60, s-maxage=120' }, 120],
    ['200 max-age over MaxTTL: MaxTTL', blob, 200, { 'cache-control': `max-age=${10 * YEAR}` }, YEAR],
    ['200 max-age under MinTTL: MinTTL', withMin, 200, { 'cache-control': 'max-age=5' }, DAY],
    ['200 no-store, MinTTL 0: not cached', blob, 200, { 'cache-control': 'no-store' }, null],
    ['200 no-cache, MinTTL 0: not cached', blob, 200, { 'cache-control': 'no-cache' }, null],
    ['200 private, MinTTL 0: not cached', blob, 200, { 'cache-control': 'private, max-age=600' }, null],
    ['200 no-store, MinTTL a day: kept a day', withMin, 200, { 'cache-control': 'no-store' }, DAY],
    ['200 max-age=0, MinTTL 0: not cached', blob, 200, { 'cache-control': 'max-age=0' }, null],
    ['307 the fallback (NO_STORE): not cached', blob, 307, { 'cache-control': 'no-store, no-cache, max-age=0, private' }, null],
    ['307 without Cache-Control: DefaultTTL', blob, 307, {}, YEAR],
    ['200 Expires a minute after Date', blob, 200, { date: 'Tue, 01 Dec 2026 10:00:00 GMT', expires: 'Tue, 01 Dec 2026 10:01:00 GMT' }, 60],
    ['200 Expires that is not a date: expired', blob, 200, { expires: '0' }, null],
    ['206 (a part): as its whole object would be', blob, 206, { 'cache-control': 'max-age=60' }, 60],
    ['304: never', blob, 304, {}, null],
    ['404, ErrorCachingMinTTL 0 (the blob behaviour): not cached', blob, 404, {}, null],
    ['403, ErrorCachingMinTTL 0, even with max-age: the larger, 60', blob, 403, { 'cache-control': 'max-age=60' }, 60],
    ['404 with ErrorCachingMinTTL 30', withMin, 404, {}, 30],
    ['404 with max-age above ErrorCachingMinTTL: max-age', withMin, 404, { 'cache-control': 'max-age=90' }, 90],
    ['404 no-store: not cached (404 honours it)', withMin, 404, { 'cache-control': 'no-store' }, null],
    ['400 without a custom error response: 10 s', blob, 400, {}, 10],
    ['400 no-store is ignored for 400: 10 s', blob, 400, { 'cache-control': 'no-store' }, 10],
    ['416: never cached', withMin, 416, { 'cache-control': 'max-age=600' }, null],
    ['502, ErrorCachingMinTTL 0: not cached', blob, 502, {}, null],
    ['501 without a custom error response: 10 s', blob, 501, {}, 10],
  ])('%s', (_name, behaviour, status, headers, expected) => {
    expect(ttlOf(status, headers, behaviour, Date.parse('2026-12-01T10:00:00Z'))).toBe(expected);
  });

  it('reads directives case-insensitively, quoted values unquoted', () => {
    expect([...parseCacheControl(['Public, MAX-AGE="30"', 'immutable'])]).toEqual([
      ['public', ''],
      ['max-age', '30'],
      ['immutable', ''],
    ]);
  });
});

const request = (uri: string, extra: Partial<CloudFrontRequest> = {}): CloudFrontRequest => ({ clientIp: '127.0.0.1', method: 'GET', uri, querystring: '', headers: {}, ...extra });

describe('cacheKeyOf', () => {
  it('the blob behaviour keys on the path alone: repository header, query string and cookies do not split it', () => {
    const a = request('/containers/images/sha256:aa', { querystring: 'ns=docker.io', headers: { 'x-registry-edge-repository': [{ key: 'X-Registry-Edge-Repository', value: 'a/b' }], cookie: [{ key: 'Cookie', value: 'x=1' }] } });
    const b = request('/containers/images/sha256:aa', { headers: { 'x-registry-edge-repository': [{ key: 'X-Registry-Edge-Repository', value: 'c/d' }] } });
    expect(cacheKeyOf(a, blob.key)).toBe(cacheKeyOf(b, blob.key));
    expect(cacheKeyOf(a, blob.key)).not.toBe(cacheKeyOf(request('/containers/images/sha256:bb'), blob.key));
  });

  it('a policy that names query strings, headers and cookies keys on them, and on nothing else', () => {
    const key = { ...blob.key, queryStrings: ['v'], headers: ['X-Tenant'], cookies: ['s'] };
    const base = { querystring: 'v=1&other=2', headers: { 'x-tenant': [{ key: 'X-Tenant', value: 't1' }], cookie: [{ key: 'Cookie', value: 's=9; y=2' }] } };
    const same = cacheKeyOf(request('/p', base), key);
    expect(cacheKeyOf(request('/p', { ...base, querystring: 'v=1&other=3' }), key)).toBe(same);
    expect(cacheKeyOf(request('/p', { ...base, querystring: 'v=2' }), key)).not.toBe(same);
    expect(cacheKeyOf(request('/p', { ...base, headers: { ...base.headers, 'x-tenant': [{ key: 'X-Tenant', value: 't2' }] } }), key)).not.toBe(same);
    expect(cacheKeyOf(request('/p', { ...base, headers: { ...base.headers, cookie: [{ key: 'Cookie', value: 's=8' }] } }), key)).not.toBe(same);
  });
});

describe('rangeOf', () => {
  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=50-', 100, { kind: 'partial', start: 50, end: 99 }],
    ['bytes=90-200', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
  ])('%s of %d bytes', (header, size, expected) => {
    expect(rangeOf(header, size)).toEqual(expected);
  });
});

describe('EdgeCache', () => {
  const answer = (bytes: number, headers: Record<string, string> = {}) => ({ status: 200, statusMessage: 'OK', headers, body: Buffer.alloc(bytes, 1) });
  const headerBytes = JSON.stringify({}).length;

  it('keeps an object until its TTL runs out, counting hits and misses', () => {
    let now = 1_000_000;
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 10_000, now: () => now });
    expect(cache.lookup('k')).toBeUndefined();
    expect(cache.store('k', answer(10, { 'cache-control': 'max-age=60' }))).toMatchObject({ storedAt: now, expiresAt: now + 60_000 });
    now += 59_999;
    expect(cache.lookup('k')?.body.length).toBe(10);
    now += 1;
    expect(cache.lookup('k')).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 1, misses: 2, stored: 1, evicted: 0, objects: 0, bytes: 0 });
  });

  it('does not keep what CloudFront would not (no-store with MinTTL 0)', () => {
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 10_000 });
    expect(cache.store('k', answer(10, { 'cache-control': 'no-store' }))).toBeNull();
    expect(cache.has('k')).toBe(false);
  });

  it('evicts the least recently used to stay within its size, and refuses an object larger than all of it', () => {
    const per = 100 + headerBytes;
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 3 * per });
    for (const key of ['a', 'b', 'c']) cache.store(key, answer(100));
    cache.lookup('a'); // a is now the most recently used: b goes first
    cache.store('d', answer(100));
    expect(['a', 'b', 'c', 'd'].map((k) => cache.has(k))).toEqual([true, false, true, true]);
    expect(cache.stats()).toMatchObject({ objects: 3, bytes: 3 * per, evicted: 1 });
    expect(cache.store('huge', answer(3 * per))).toBeNull();
    expect(cache.stats().objects).toBe(3);
  });

  it('replacing an object under the same key counts its size once', () => {
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 10_000 });
    cache.store('k', answer(100));
    cache.store('k', answer(40));
    expect(cache.stats()).toMatchObject({ objects: 1, bytes: 40 + headerBytes });
  });

  it('invalidates exact paths and path prefixes ending in *', () => {
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 10_000 });
    for (const uri of ['/containers/images/sha256:aa', '/containers/images/sha256:bb', '/other']) cache.store(cacheKeyOf(request(uri), blob.key), answer(1));
    expect(cache.invalidate(['/containers/images/sha256:aa'])).toBe(1);
    expect(cache.invalidate(['/containers/*'])).toBe(1);
    expect(cache.stats().objects).toBe(1);
  });

  it('keeps parts (206) apart from the whole object, and finds one for a range inside it', () => {
    const cache = new EdgeCache({ behaviour: blob, maxBytes: 10_000 });
    const part = (start: number, end: number, total = 100, etag = '"e"') => ({ status: 206, statusMessage: 'Partial Content', headers: { etag, 'content-range': `bytes ${start}-${end}/${total}` }, body: Buffer.alloc(end - start + 1, 7) });
    expect(cache.store('k', part(10, 19))).toMatchObject({ part: { start: 10, end: 19, total: 100 } });
    expect(cache.has('k')).toBe(false);
    expect(cache.partsOf('k')).toBe(1);
    expect(cache.lookup('k')).toBeUndefined(); // no Range: the whole object, which is not there
    expect(cache.lookup('k', { range: 'bytes=12-15' })?.part).toEqual({ start: 10, end: 19, total: 100 });
    expect(cache.lookup('k', { range: 'bytes=12-25' })).toBeUndefined();
    expect(cache.lookup('k', { range: 'bytes=12-15', ifRange: '"other"' })).toBeUndefined();
    expect(cache.lookup('k', { range: 'bytes=12-15', ifRange: '"e"' })).toBeDefined();
    // A Content-Range that does not match the body, or is not a byte range, is not kept.
    expect(cache.store('k', { ...part(0, 9), body: Buffer.alloc(5) })).toBeNull();
    expect(cache.store('k', { ...part(0, 9), headers: { 'content-range': 'bytes */100' } })).toBeNull();
    expect(cache.invalidate(['k'])).toBe(1);
    expect(cache.partsOf('k')).toBe(0);
    expect(cache.stats()).toMatchObject({ objects: 0, bytes: 0 });
  });

  it('refuses a size that is not a whole number of bytes', () => {
    expect(() => new EdgeCache({ behaviour: blob, maxBytes: 1.5 })).toThrow(/whole number of bytes/);
  });
});
