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
  fetch?: typeof fetch;
  now?: () => number;
  /** Told how each check went: 200 is a hit, 403/404 a miss, any other status or failure an error. */
  onResult?: (result: CheckResult) => void;
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
  const report = options.onResult ?? (() => undefined);

  return {
    async exists(url: string): Promise<boolean> {
      if (present.has(url)) {
        report({ result: 'hit', cached: true });
        return true;
      }
      if (absent.has(url)) {
        report({ result: 'miss', cached: true });
        return false;
      }
      const signal = AbortSignal.timeout(options.timeoutMs);
      try {
        const response = await doFetch(url, { method: 'HEAD', redirect: 'manual', signal });
        if (response.status === 200) {
          present.add(url, options.cacheSeconds);
          report({ result: 'hit', cached: false });
          return true;
        }
        // Only a definite "not there" is remembered; a 5xx or a redirect says nothing about the blob.
        const missing = response.status === 403 || response.status === 404;
        if (missing) absent.add(url, options.negativeCacheSeconds ?? 0);
        report({ result: missing ? 'miss' : 'error', cached: false });
        return false;
      } catch {
        report({ result: signal.aborted ? 'timeout' : 'error', cached: false });
        return false;
      }
    },
  };
}
