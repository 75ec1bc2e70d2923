/**
 * A request rate limit: at most `perSecond` requests start in any second, evenly spaced (no bursts, so a
 * registry that rate-limits per second never sees a spike). Waiting is abortable.
 */
export interface RateLimiter {
  /** Resolves when the caller may send one request. */
  take(signal?: AbortSignal): Promise<void>;
}

export const unlimited: RateLimiter = { take: async () => {} };

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: Clock = { now: () => performance.now(), sleep: (ms, signal) => sleep(ms, signal) };

export function createRateLimiter(perSecond: number, clock: Clock = realClock): RateLimiter {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`rate must be a positive number of requests per second, got ${perSecond}`);
  const interval = 1000 / perSecond;
  let next = -Infinity;
  return {
    async take(signal?: AbortSignal) {
      signal?.throwIfAborted();
      // Reserve the next free slot before waiting, so concurrent callers queue in order.
      const now = clock.now();
      const slot = Math.max(now, next);
      next = slot + interval;
      if (slot > now) await clock.sleep(slot - now, signal);
    },
  };
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses `--rate` values: "20", "20/s", "0.5/s". */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*s)?\s*$/.exec(text);
  const value = match ? Number(match[1]) : NaN;
  if (!(value > 0)) throw new RangeError(`invalid rate ${JSON.stringify(text)}: expected requests per second, like 20/s`);
  return value;
}
