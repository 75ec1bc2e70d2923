/**
 * "Is this blob in that bucket?" asked with a HEAD before a redirect, with a strict timeout and a
 * bounded cache of positive answers. Blobs are immutable (the key is the digest), so a blob once seen is
 * there for good; a missing one may appear any second, so negative answers are never cached. Any doubt
 * (timeout, error, anything but 200) answers "no", which sends the client through CloudFront instead.
 */
export interface BlobChecker {
  exists(url: string): Promise<boolean>;
}

/** How one check was answered (for the edge's metrics): `cached` only for a hit served from memory. */
export interface CheckResult {
  result: 'hit' | 'miss' | 'timeout' | 'error';
  cached: boolean;
}

export interface BlobCheckerOptions {
  timeoutMs: number;
  cacheEntries: number;
  cacheSeconds: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Told how each check went: 200 is a hit, 403/404 a miss, any other status or failure an error. */
  onResult?: (result: CheckResult) => void;
}

export function createBlobChecker(options: BlobCheckerOptions): BlobChecker {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const report = options.onResult ?? (() => undefined);
  // Map keeps insertion order: the first key is the oldest, which is what we evict.
  const seen = new Map<string, number>();

  const remember = (url: string) => {
    if (options.cacheEntries <= 0) return;
    seen.delete(url);
    seen.set(url, now() + options.cacheSeconds * 1000);
    if (seen.size > options.cacheEntries) seen.delete(seen.keys().next().value!);
  };

  return {
    async exists(url: string): Promise<boolean> {
      const expires = seen.get(url);
      if (expires !== undefined) {
        if (expires > now()) {
          report({ result: 'hit', cached: true });
          return true;
        }
        seen.delete(url);
      }
      const signal = AbortSignal.timeout(options.timeoutMs);
      try {
        const response = await doFetch(url, { method: 'HEAD', redirect: 'manual', signal });
        if (response.status !== 200) {
          report({ result: response.status === 403 || response.status === 404 ? 'miss' : 'error', cached: false });
          return false;
        }
        remember(url);
        report({ result: 'hit', cached: false });
        return true;
      } catch {
        report({ result: signal.aborted ? 'timeout' : 'error', cached: false });
        return false;
      }
    },
  };
}
