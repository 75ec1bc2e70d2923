/**
 * The emulated edge's cache: what CloudFront keeps, for how long, and under which key, following the
 * cache behaviour the packaged distribution declares (tools/stacks/cache-policy.ts). The rules are
 * CloudFront's as AWS documents them:
 *
 * - TTL of a 2xx/3xx answer ("Managing how long content stays in the cache"): `s-maxage`, else `max-age`,
 *   else `Expires`, clamped to [MinTTL, MaxTTL]; none of them: DefaultTTL. `no-store`, `no-cache` or
 *   `private`: not cached when MinTTL is 0, cached for MinTTL otherwise (MinTTL wins over the origin).
 * - Errors ("How CloudFront processes HTTP 4xx and 5xx status codes"): only the statuses CloudFront
 *   caches, for the larger of the header's TTL and the ErrorCachingMinTTL (10 s unless configured), at
 *   most MaxTTL; `no-store`/`no-cache`/`private` keep 404, 410, 414 and 501 out of the cache and are
 *   ignored on the others. 416 is never cached.
 * - The key: the path after the viewer-request function, plus the query strings, headers and cookies the
 *   cache policy names (the blob behaviour names none: one copy serves every repository).
 *
 * - Ranges ("How CloudFront processes partial requests"): a range is served from the whole object when
 *   that is cached, or from a cached part that contains it; a part the origin answered (206) is kept for
 *   later requests, under the same TTL rules as the whole object.
 *
 * Bounded in bytes, least recently used out first. Not emulated: request collapsing (two concurrent
 * misses both go to the origin), serving a stale object when the origin answers 5xx, the larger range
 * CloudFront may ask the origin for (AWS does not say how much larger: the emulator asks for what the
 * viewer asked for), joining cached parts into a larger one.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CloudFrontRequest } from '../../layers/cloudfront/events';
import type { BlobCacheSettings } from '../../tools/stacks/cache-policy';

/** What the emulator needs of a cache behaviour: the cache policy's TTLs and key, and the error TTLs. */
export type CacheBehaviour = Pick<BlobCacheSettings, 'minTtl' | 'defaultTtl' | 'maxTtl' | 'key' | 'errorCachingMinTtl'>;

/** The 4xx/5xx statuses CloudFront caches (416 is documented as never cached). */
export const CACHED_ERROR_STATUSES: readonly number[] = [400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504];
/** Errors that `no-store`, `no-cache` or `private` keep out of the cache; on other errors they are ignored. */
const ERRORS_THAT_HONOUR_NO_STORE: readonly number[] = [404, 410, 414, 501];
/** ErrorCachingMinTTL of a status without a custom error response. */
export const DEFAULT_ERROR_CACHING_MIN_TTL = 10;

export interface CachedObject {
  status: number;
  statusMessage: string;
  /** Response headers as they will be sent (lower-case names), after the origin-response function. */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds (the cache's clock). */
  storedAt: number;
  expiresAt: number;
  /** A part of the object (an origin's 206): the bytes `body` holds, of `total`. */
  part?: { start: number; end: number; total: number };
}

/** What a cached part covers, from its Content-Range (`bytes 0-99/1234`), or null. */
export function partOf(contentRange: string | string[] | undefined): CachedObject['part'] | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(([] as string[]).concat(contentRange ?? [])[0] ?? '').trim());
  if (!match) return null;
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return start <= end && end < total ? { start, end, total } : null;
}

/** Cache-Control directives, lower-case names; a directive without a value maps to ''. */
export function parseCacheControl(value: string | string[] | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of ([] as string[]).concat(value ?? []).join(',').split(',')) {
    const [name, ...rest] = part.split('=');
    const key = name!.trim().toLowerCase();
    if (key) directives.set(key, rest.join('=').trim().replace(/^"(.*)"$/, '$1'));
  }
  return directives;
}

const seconds = (value: string | undefined): number | undefined => (value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined);

/** The lifetime the origin asked for, in seconds: s-maxage, max-age, then Expires (against Date, or now). */
function originTtl(directives: Map<string, string>, headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const fromCacheControl = seconds(directives.get('s-maxage')) ?? seconds(directives.get('max-age'));
  if (fromCacheControl !== undefined) return fromCacheControl;
  if (headers.expires === undefined) return undefined;
  const expires = Date.parse(String(headers.expires));
  // An Expires that is not a date means "already expired" (RFC 9111, 5.3).
  if (Number.isNaN(expires)) return 0;
  const date = headers.date ? Date.parse(String(headers.date)) : Number.NaN;
  return Math.max(0, Math.floor((expires - (Number.isNaN(date) ? nowMs : date)) / 1000));
}

/**
 * How long CloudFront keeps this answer, in seconds, or null when it does not keep it at all.
 * `status` and `headers` are the final answer's: what the origin-response function returned.
 */
export function ttlOf(status: number, headers: IncomingHttpHeaders, behaviour: CacheBehaviour, nowMs = Date.now()): number | null {
  const directives = parseCacheControl(headers['cache-control']);
  const noStore = directives.has('no-store') || directives.has('no-cache') || directives.has('private');
  const asked = originTtl(directives, headers, nowMs);
  if (status >= 400) {
    if (!CACHED_ERROR_STATUSES.includes(status)) return null;
    if (noStore && ERRORS_THAT_HONOUR_NO_STORE.includes(status)) return null;
    const min = behaviour.errorCachingMinTtl[status] ?? DEFAULT_ERROR_CACHING_MIN_TTL;
    const ttl = Math.min(noStore ? min : Math.max(asked ?? 0, min), behaviour.maxTtl);
    return ttl > 0 ? ttl : null;
  }
  // 304 and 1xx carry no object (a 206 is a part of one, kept like it).
  if (status < 200 || status === 304) return null;
  if (noStore) return behaviour.minTtl > 0 ? behaviour.minTtl : null;
  const ttl = asked === undefined ? behaviour.defaultTtl : Math.min(Math.max(asked, behaviour.minTtl), behaviour.maxTtl);
  return ttl > 0 ? ttl : null;
}

/**
 * The cache key of a request as the viewer-request function left it: the path, then whatever the cache
 * policy adds (named query strings, headers and cookies, in a fixed order).
 */
export function cacheKeyOf(request: CloudFrontRequest, key: CacheBehaviour['key']): string {
  const parts = [request.uri];
  if (key.queryStrings.length > 0) {
    const query = new URLSearchParams(request.querystring);
    for (const name of [...key.queryStrings].sort()) parts.push(`q:${name}=${query.getAll(name).join(',')}`);
  }
  for (const name of [...key.headers].map((h) => h.toLowerCase()).sort()) {
    parts.push(`h:${name}=${(request.headers[name] ?? []).map((h) => h.value).join(',')}`);
  }
  if (key.cookies.length > 0) {
    const cookies = new Map<string, string>();
    for (const { value } of request.headers.cookie ?? []) {
      for (const pair of value.split(';')) {
        const eq = pair.indexOf('=');
        if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    }
    for (const name of [...key.cookies].sort()) parts.push(`c:${name}=${cookies.get(name) ?? ''}`);
  }
  return parts.join('\n');
}

export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * What to send from an object of `size` bytes for a Range header: one range (`bytes=a-b`, `bytes=a-`,
 * `bytes=-n`), as registry clients send when they resume. Several ranges, or a header that is not a byte
 * range, get the whole object (RFC 9110 lets a server ignore Range; the emulator does not build
 * multipart/byteranges).
 */
export function rangeOf(header: string | undefined, size: number): RangeAnswer {
  if (!header) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export interface EdgeCacheOptions {
  behaviour: CacheBehaviour;
  /** The most the cache holds: bodies and headers, in bytes. */
  maxBytes: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  stored: number;
  evicted: number;
  objects: number;
  bytes: number;
}

const sizeOf = (object: CachedObject) => object.body.length + JSON.stringify(object.headers).length;

export class EdgeCache {
  readonly behaviour: CacheBehaviour;
  readonly maxBytes: number;
  readonly now: () => number;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  // Parts live in the same map, under `<key>\n#<start>-<end>`, indexed by their object's key.
  private readonly objects = new Map<string, CachedObject>();
  private readonly parts = new Map<string, Set<string>>();
  private bytes = 0;
  private counts = { hits: 0, misses: 0, stored: 0, evicted: 0 };

  constructor(options: EdgeCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) throw new Error(`the cache size must be a whole number of bytes, not ${options.maxBytes}`);
    this.behaviour = options.behaviour;
    this.maxBytes = options.maxBytes;
    this.now = options.now ?? Date.now;
  }

  keyOf(request: CloudFrontRequest): string {
    return cacheKeyOf(request, this.behaviour.key);
  }

  /**
   * The fresh object under `key`, counted as a hit, or undefined (a miss); an expired one is dropped.
   * For a viewer Range (and its If-Range), a cached part that holds all of the range will do too.
   */
  lookup(key: string, viewer: { range?: string | undefined; ifRange?: string | undefined } = {}): CachedObject | undefined {
    const found = this.fresh(key) ?? (viewer.range ? this.partFor(key, viewer.range, viewer.ifRange) : undefined);
    if (!found) {
      this.counts.misses += 1;
      return undefined;
    }
    const [at, object] = found;
    this.objects.delete(at);
    this.objects.set(at, object);
    this.counts.hits += 1;
    return object;
  }

  private fresh(at: string): [string, CachedObject] | undefined {
    const object = this.objects.get(at);
    if (object && object.expiresAt > this.now()) return [at, object];
    if (object) this.remove(at);
    return undefined;
  }

  private partFor(key: string, range: string, ifRange: string | undefined): [string, CachedObject] | undefined {
    for (const at of [...(this.parts.get(key) ?? [])]) {
      const found = this.fresh(at);
      if (!found) continue;
      const { part, headers } = found[1];
      // If-Range naming another version asks for the whole object, which a part cannot give.
      if (ifRange !== undefined && ifRange !== headers.etag) continue;
      const wanted = rangeOf(range, part!.total);
      if (wanted.kind === 'partial' && wanted.start >= part!.start && wanted.end <= part!.end) return found;
    }
    return undefined;
  }

  /** Whether a fresh whole object is held under `key` (no counting, no reordering). */
  has(key: string): boolean {
    const object = this.objects.get(key);
    return object !== undefined && object.expiresAt > this.now();
  }

  /** How many fresh parts of the object under `key` are held. */
  partsOf(key: string): number {
    return [...(this.parts.get(key) ?? [])].filter((at) => this.has(at)).length;
  }

  /**
   * Keeps an answer if CloudFront would (ttlOf), making room by evicting the least recently used.
   * Returns the stored object, or null (not cacheable, or larger than the whole cache).
   */
  store(key: string, answer: { status: number; statusMessage: string; headers: IncomingHttpHeaders; body: Buffer }): CachedObject | null {
    const now = this.now();
    const part = answer.status === 206 ? partOf(answer.headers['content-range']) : undefined;
    if (part === null || (part && part.end - part.start + 1 !== answer.body.length)) return null;
    // A part lives as long as its whole object would.
    const ttl = ttlOf(part ? 200 : answer.status, answer.headers, this.behaviour, now);
    if (ttl === null) return null;
    const object: CachedObject = { ...answer, storedAt: now, expiresAt: now + ttl * 1000, ...(part ? { part } : {}) };
    const size = sizeOf(object);
    if (size > this.maxBytes) return null;
    const at = part ? `${key}\n#${part.start}-${part.end}` : key;
    if (this.objects.has(at)) this.remove(at);
    for (const [oldest] of this.objects) {
      if (this.bytes + size <= this.maxBytes) break;
      this.remove(oldest);
      this.counts.evicted += 1;
    }
    this.objects.set(at, object);
    if (part) {
      const parts = this.parts.get(key) ?? new Set<string>();
      this.parts.set(key, parts.add(at));
    }
    this.bytes += size;
    this.counts.stored += 1;
    return object;
  }

  /**
   * CloudFront's invalidation: drops the objects whose path matches one of `paths` (`*` at the end
   * matches any rest, as in CreateInvalidation). Returns how many were dropped.
   */
  invalidate(paths: readonly string[]): number {
    let dropped = 0;
    for (const key of [...this.objects.keys()]) {
      const path = key.split('\n', 1)[0]!;
      if (paths.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p))) {
        this.remove(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  stats(): CacheStats {
    return { ...this.counts, objects: this.objects.size, bytes: this.bytes };
  }

  private remove(at: string) {
    const object = this.objects.get(at);
    if (!object) return;
    this.objects.delete(at);
    this.bytes -= sizeOf(object);
    const mark = at.lastIndexOf('\n#');
    if (object.part && mark > 0) {
      const key = at.slice(0, mark);
      const parts = this.parts.get(key);
      parts?.delete(at);
      if (parts?.size === 0) this.parts.delete(key);
    }
  }
}
