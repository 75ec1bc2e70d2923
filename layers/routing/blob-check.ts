/**
 * "Is this blob in that bucket?" asked with a HEAD before a redirect, with a strict timeout and bounded
 * caches of the answers. Blobs are immutable (the key is the digest), so a blob once seen is there for
 * good. A missing one may appear any second, so "not there" is believed only briefly (a few seconds, well
 * under a new push's replication time): enough that a burst of requests for a blob not replicated yet costs
 * one HEAD per instance, not one per request. Any doubt (timeout, error, anything but 200 or 403/404)
 * answers "no" and is not remembered; "no" sends the client through CloudFront, which always works.
 */
export interface BlobChecker {
  exists(url: string): Promise<boolean>;
}

export interface BlobCheckerOptions {
  timeoutMs: number;
  /** The most answers kept, for each of the two caches (positive, negative). */
  cacheEntries: number;
  cacheSeconds: number;
  /** How long a 403/404 is believed; 0 turns the negative cache off. */
  negativeCacheSeconds?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** A map of url -> expiry, evicting the oldest entry beyond `limit` (Map keeps insertion order). */
function expiringSet(limit: number, now: () => number) {
  const entries = new Map<string, number>();
  return {
    has(url: string): boolean {
      const expires = entries.get(url);
      if (expires === undefined) return false;
      if (expires > now()) return true;
      entries.delete(url);
      return false;
    },
    add(url: string, seconds: number) {
      if (limit <= 0 || seconds <= 0) return;
      entries.delete(url);
      entries.set(url, now() + seconds * 1000);
      if (entries.size > limit) entries.delete(entries.keys().next().value!);
    },
  };
}

export function createBlobChecker(options: BlobCheckerOptions): BlobChecker {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  // Separate bounds, so a flood of requests for missing digests cannot evict the blobs known to be there.
  const present = expiringSet(options.cacheEntries, now);
  const absent = expiringSet(options.cacheEntries, now);

  return {
    async exists(url: string): Promise<boolean> {
      if (present.has(url)) return true;
      if (absent.has(url)) return false;
      try {
        const response = await doFetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
        if (response.status === 200) {
          present.add(url, options.cacheSeconds);
          return true;
        }
        // Only a definite "not there" is remembered; a 5xx or a redirect says nothing about the blob.
        if (response.status === 403 || response.status === 404) absent.add(url, options.negativeCacheSeconds ?? 0);
        return false;
      } catch {
        return false;
      }
    },
  };
}
