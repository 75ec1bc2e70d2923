/**
 * "Is this blob in that bucket?" asked with a HEAD before a redirect, with a strict timeout and bounded
 * caches of the answers. Blobs are immutable (the key is the digest), so a blob once seen is there for
 * good. A missing one may appear any second, so "not there" is believed only briefly (a few seconds, well
 * under a new push's replication time): enough that a burst of requests for a blob not replicated yet costs
 * one HEAD per instance, not one per request. Any doubt (timeout, error, anything but 200 or 403/404)
 * answers "no" and is not remembered; "no" sends the client through CloudFront, which always works.
 * The HEAD goes through the edge's own client (../http/client.ts: kept-alive connections, no fetch).
 */
import { type HttpClient, HttpTimeout, httpRequest } from '../http/client';

export interface BlobChecker {
  /**
   * Whether the blob at `url` is there. A blob the caches know answers at once (no promise: the edge's
   * hot path awaits nothing then). The caches key by (`bucket`, `digest`) when given, by `url` alone
   * otherwise: the viewer names the bucket (its region) and the digest it already holds, so that no
   * request hashes a 140-character URL it has just built.
   */
  exists(url: string, digest?: string, bucket?: string): boolean | Promise<boolean>;
}

/** How one check was answered (for the edge's metrics): `cached` when the answer came from memory, not a HEAD. */
export interface CheckResult {
  result: 'hit' | 'miss' | 'timeout' | 'error';
  cached: boolean;
}

export interface BlobCheckerOptions {
  timeoutMs: number;
  /** The most answers kept, for each of the two caches (positive, negative). */
  cacheEntries: number;
  cacheSeconds: number;
  /** How long a 403/404 is believed; 0 turns the negative cache off. */
  negativeCacheSeconds?: number;
  /** The HTTP client (the edge's own by default). */
  http?: HttpClient;
  now?: () => number;
  /** Told how each check went: 200 is a hit, 403/404 a miss, any other status or failure an error. */
  onResult?: (result: CheckResult) => void;
}

/** One remembered answer: about the blob `name` (a digest, or a whole URL) in `bucket`, until `expires`. */
interface Entry {
  bucket: string;
  name: string;
  expires: number;
}

/**
 * Where (bucket, name) sits in a cache's map: FNV-1a over the name's last 8 characters, seeded by the
 * bucket. A digest ends in hex that is uniformly random, so 8 of its characters index as well as all of
 * them, and reading 8 characters is much cheaper than V8 hashing a 71-character string that is new with
 * every request (measured on Node 22, a lookup whole: about 60 ns this way, 110-140 ns keyed by the digest
 * string, 300 by the bucket URL built for the HEAD). Two names on one index only evict each other:
 * each entry holds its own name, compared on every lookup, so a collision costs a HEAD, never a wrong answer.
 * Only bucket answers of 200 reach the positive cache, so clients choosing digests cannot crowd it.
 */
export function indexOf(seed: number, name: string): number {
  let h = seed;
  const end = name.length;
  for (let i = end > 8 ? end - 8 : 0; i < end; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  // A small integer key: V8's maps look those up without hashing a string or boxing a number.
  return h & 0x3fffffff;
}

/** FNV-1a of a bucket's name: the seed of its names' indexes (a handful of buckets, each hashed once). */
export function bucketSeed(bucket: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bucket.length; i++) h = Math.imul(h ^ bucket.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * A copy of `text` that shares no memory with the string it was cut from. A digest sliced from a request's
 * path keeps that whole path alive (V8 slices by reference); a cache entry should hold only its 71 bytes,
 * close together with the other entries.
 */
const detached = (text: string): string => `${text} `.slice(0, -1);

/** (bucket, name) -> expiry, evicting the oldest entry beyond `limit` (Map keeps insertion order). */
function expiringSet(limit: number, now: () => number) {
  const entries = new Map<number, Entry>();
  const seeds = new Map<string, number>();
  const seedOf = (bucket: string) => {
    let seed = seeds.get(bucket);
    if (seed === undefined) {
      seed = bucketSeed(bucket);
      // Buckets are the configuration's few regions ('' when a URL alone is asked about); bounded all the same.
      if (seeds.size < 64) seeds.set(bucket, seed);
    }
    return seed;
  };
  return {
    has(bucket: string, name: string): boolean {
      const index = indexOf(seedOf(bucket), name);
      const entry = entries.get(index);
      if (entry === undefined || entry.name !== name || entry.bucket !== bucket) return false;
      if (entry.expires > now()) return true;
      entries.delete(index);
      return false;
    },
    add(bucket: string, name: string, seconds: number) {
      if (limit <= 0 || seconds <= 0) return;
      const index = indexOf(seedOf(bucket), name);
      entries.delete(index);
      entries.set(index, { bucket, name: detached(name), expires: now() + seconds * 1000 });
      if (entries.size > limit) entries.delete(entries.keys().next().value!);
    },
  };
}

export function createBlobChecker(options: BlobCheckerOptions): BlobChecker {
  const http = options.http ?? httpRequest;
  const now = options.now ?? Date.now;
  // Separate bounds, so a flood of requests for missing digests cannot evict the blobs known to be there.
  const present = expiringSet(options.cacheEntries, now);
  const absent = expiringSet(options.cacheEntries, now);
  const report = options.onResult ?? (() => undefined);
  // The same two answers on almost every request: one object each, not one per request.
  const CACHED_HIT: CheckResult = Object.freeze({ result: 'hit', cached: true });
  const CACHED_MISS: CheckResult = Object.freeze({ result: 'miss', cached: true });

  return {
    exists(url: string, digest: string = url, bucket = ''): boolean | Promise<boolean> {
      if (present.has(bucket, digest)) {
        report(CACHED_HIT);
        return true;
      }
      if (absent.has(bucket, digest)) {
        report(CACHED_MISS);
        return false;
      }
      return ask(url, digest, bucket);
    },
  };

  async function ask(url: string, digest: string, bucket: string): Promise<boolean> {
    try {
      // A HEAD has no body: the client hands the connection back as soon as the answer is in.
      const response = await http(url, { method: 'HEAD', timeoutMs: options.timeoutMs });
      if (response.status === 200) {
        present.add(bucket, digest, options.cacheSeconds);
        report({ result: 'hit', cached: false });
        return true;
      }
      // Only a definite "not there" is remembered; a 5xx or a redirect says nothing about the blob.
      const missing = response.status === 403 || response.status === 404;
      if (missing) absent.add(bucket, digest, options.negativeCacheSeconds ?? 0);
      report({ result: missing ? 'miss' : 'error', cached: false });
      return false;
    } catch (error) {
      report({ result: error instanceof HttpTimeout ? 'timeout' : 'error', cached: false });
      return false;
    }
  }
}
