/**
 * Getting a feed: from a URL (with a timeout per attempt, retries with backoff on what may pass, and a size
 * bound) or from a file (the CLI, tests). The clouds serve these files from CDNs that fail now and then;
 * a 404 or a 403 will not pass by retrying, a 503 or a reset connection may.
 */
import { readFile, stat } from 'node:fs/promises';

export interface FetchOptions {
  /** Per attempt, body included. */
  timeoutMs?: number;
  /** Attempts after the first. */
  retries?: number;
  /** Largest body accepted (the AWS feed is 2.6 MB). */
  maxBytes?: number;
  /** First backoff; doubled each retry, with jitter. */
  backoffMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export const FETCH_DEFAULTS = { timeoutMs: 10_000, retries: 3, maxBytes: 32 * 1024 * 1024, backoffMs: 500 } as const;

/** A feed could not be read. `tooLarge` is a refusal of its content; anything else is a failure to get it. */
export class FetchError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
    readonly tooLarge = false,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'FetchError';
  }
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads `source`, a URL or a file path, as text. */
export async function readSource(source: string, options: FetchOptions = {}): Promise<string> {
  return isUrl(source) ? fetchText(source, options) : readLocal(source, options.maxBytes ?? FETCH_DEFAULTS.maxBytes);
}

async function readLocal(path: string, maxBytes: number): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new FetchError(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (size > maxBytes) throw new FetchError(path, `${size} bytes, over the limit of ${maxBytes}`, true);
  return readFile(path, 'utf8');
}

class RetryableError extends Error {}

export async function fetchText(url: string, options: FetchOptions = {}): Promise<string> {
  const { timeoutMs, retries, maxBytes, backoffMs } = { ...FETCH_DEFAULTS, ...options };
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  let last = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    try {
      return await fetchOnce(doFetch, url, timeoutMs, maxBytes);
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      last = error.message;
    }
  }
  throw new FetchError(url, `${last} (after ${retries + 1} attempts)`);
}

async function fetchOnce(doFetch: typeof fetch, url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await doFetch(url, { signal, redirect: 'follow', headers: { accept: 'application/json' } });
  } catch (error) {
    throw new RetryableError(signal.aborted ? `no answer within ${timeoutMs} ms` : `request failed: ${causeOf(error)}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    const problem = `HTTP ${response.status}`;
    if (response.status === 429 || response.status >= 500) throw new RetryableError(problem);
    throw new FetchError(url, problem);
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new FetchError(url, `${declared} bytes, over the limit of ${maxBytes}`, true);
  }
  // Read by chunks so that an endless body stops at the limit instead of filling memory.
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw new FetchError(url, `more than ${maxBytes} bytes`, true);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new RetryableError(signal.aborted ? `body not complete within ${timeoutMs} ms` : `body interrupted: ${causeOf(error)}`);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function causeOf(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
}
