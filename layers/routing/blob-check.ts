/**
 * "Is this blob in that bucket?" asked with a HEAD before a redirect, with a strict timeout and a
 * bounded cache of positive answers. Blobs are immutable (the key is the digest), so a blob once seen is
 * there for good; a missing one may appear any second, so negative answers are never cached. Any doubt
 * (timeout, error, anything but 200) answers "no", which sends the client through CloudFront instead.
 */
export interface BlobChecker {
  /** A blob the cache knows answers at once (no promise: the edge's hot path awaits nothing then). */
  exists(url: string): boolean | Promise<boolean>;
}

export interface BlobCheckerOptions {
  timeoutMs: number;
  cacheEntries: number;
  cacheSeconds: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export function createBlobChecker(options: BlobCheckerOptions): BlobChecker {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  // Map keeps insertion order: the first key is the oldest, which is what we evict.
  const seen = new Map<string, number>();

  const remember = (url: string) => {
    if (options.cacheEntries <= 0) return;
    seen.delete(url);
    seen.set(url, now() + options.cacheSeconds * 1000);
    if (seen.size > options.cacheEntries) seen.delete(seen.keys().next().value!);
  };

  return {
    exists(url: string): boolean | Promise<boolean> {
      const expires = seen.get(url);
      if (expires !== undefined) {
        if (expires > now()) return true;
        seen.delete(url);
      }
      return ask(url);
    },
  };

  async function ask(url: string): Promise<boolean> {
    try {
      const response = await doFetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
      if (response.status !== 200) return false;
      remember(url);
      return true;
    } catch {
      return false;
    }
  }
}
