/**
 * A small, read-only OCI distribution client (https://github.com/opencontainers/distribution-spec): ping,
 * catalog and tag lists with Link pagination, manifests with digest checks, blobs as streams. It assumes
 * the registry may be hostile or broken:
 * - every name, tag and digest is checked against the spec's grammar before it becomes part of a URL;
 * - manifests and lists are read with size limits, manifests are hashed and compared with the digest they
 *   were asked for (or announced with);
 * - pagination links, redirects and token realms must stay on https (or loopback http) and pagination on
 *   the registry's own origin; credentials and tokens are only sent to the origin that asked for them;
 * - 429 and 5xx answers and network errors are retried a bounded number of times with backoff, honouring
 *   Retry-After; every request (retries included) passes the rate limiter.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { isBlobDigest, isRepositoryName } from '../oci/paths';
import { CATALOG_SCOPE, parseChallenges, repositoryScope, TokenCache } from './auth';
import { isAbortError, RegistryError } from './errors';
import { type ManifestContent, parseManifest } from './manifest';
import { MANIFEST_ACCEPT } from './media-types';
import { type RateLimiter, sleep as defaultSleep, unlimited } from './rate-limit';

export interface RegistryClientOptions {
  /** The registry's base URL: scheme, host and port (https, or http for loopback hosts). */
  url: string;
  /** Sent to the token realm (or as Basic auth when the registry asks for it); never elsewhere. */
  credentials?: { username: string; password: string };
  fetch?: typeof fetch;
  /** Every request waits for a slot (retries and token requests included). */
  limiter?: RateLimiter;
  /** Retries after the first attempt for 429, 5xx and network errors (default 4). */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter, capped at 10 s (default 250 ms). */
  retryBaseMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The largest manifest accepted (default 4 MiB, the size the OCI spec asks registries to accept). */
  maxManifestBytes?: number;
  /** The largest catalog/tag-list page or token response accepted (default 8 MiB). */
  maxListBytes?: number;
  /** Limit for a metadata request, and for a blob request until its headers arrive (default 60 s). */
  requestTimeoutMs?: number;
  /** The most pages a catalog or tag list may have (default 100,000): a guard against endless links. */
  maxPages?: number;
  userAgent?: string;
}

export interface FetchedManifest {
  repository: string;
  reference: string;
  /** The digest of the manifest's bytes (verified). */
  digest: string;
  mediaType: string;
  size: number;
  content: ManifestContent;
}

export interface BlobResponse {
  /** The blob's bytes; not verified here (the caller hashes them as they stream). */
  body: Readable;
  /** Content-Length, when the registry sent one. */
  size: number | undefined;
}

/** A tag, per the distribution spec. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 60_000;

export function isTag(text: string): boolean {
  return TAG.test(text);
}

function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === 'localhost' || hostname === '[::1]';
}

interface RequestOptions {
  scope: string;
  accept?: string;
  signal?: AbortSignal;
}

interface Challenge {
  realm: string;
  service: string | undefined;
}

export class RegistryClient {
  /** The registry's origin, e.g. https://registry.example. */
  readonly url: string;
  private readonly origin: URL;
  private readonly fetch: typeof fetch;
  private readonly limiter: RateLimiter;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly maxManifestBytes: number;
  private readonly maxListBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly maxPages: number;
  private readonly userAgent: string;
  private readonly credentials: RegistryClientOptions['credentials'];
  private readonly tokens = new TokenCache();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** Scopes a challenge asked for in place of ours (we cache under ours, ask for theirs). */
  private readonly scopeAliases = new Map<string, string>();
  /** Learned from the first Bearer challenge; later scopes get a token before their first request. */
  private challenge: Challenge | undefined;
  private useBasic = false;

  constructor(options: RegistryClientOptions) {
    let origin: URL;
    try {
      origin = new URL(options.url);
    } catch {
      throw new RegistryError('UNSAFE_URL', `invalid registry URL ${JSON.stringify(options.url)}`);
    }
    if (origin.pathname.replace(/\/+$/, '') !== '' || origin.search || origin.hash || origin.username || origin.password) {
      throw new RegistryError('UNSAFE_URL', `registry URL must be scheme, host and port only (got ${JSON.stringify(options.url)})`);
    }
    if (!(origin.protocol === 'https:' || (origin.protocol === 'http:' && isLoopback(origin.hostname)))) {
      throw new RegistryError('UNSAFE_URL', `registry URL must be https (plain http only for loopback hosts), got ${origin.origin}`);
    }
    this.origin = origin;
    this.url = origin.origin;
    this.fetch = options.fetch ?? fetch;
    this.limiter = options.limiter ?? unlimited;
    this.retries = options.retries ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 250;
    this.sleep = options.sleep ?? defaultSleep;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.maxListBytes = options.maxListBytes ?? 8 * 1024 * 1024;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.maxPages = options.maxPages ?? 100_000;
    this.userAgent = options.userAgent ?? 'registry-edge-sync/0.1';
    this.credentials = options.credentials;
  }

  /** Checks that the URL is a v2 registry (GET /v2/), learning its auth challenge if it has one. */
  async ping(signal?: AbortSignal): Promise<void> {
    const controller = this.timeout(signal);
    let response: Response;
    try {
      response = await this.send(new URL('/v2/', this.origin), { 'user-agent': this.userAgent, accept: 'application/json' }, controller.signal);
    } finally {
      controller.done();
    }
    await discard(response);
    // A challenge means it is a registry; learning it now spares every first request of a scope its 401.
    if (response.status === 401 && this.learnChallenge(response.headers.get('www-authenticate'), CATALOG_SCOPE)) return;
    if (response.status !== 200) throw new RegistryError('HTTP_STATUS', `${this.url}/v2/ answered ${response.status}: not an OCI/Docker v2 registry?`, response.status);
  }

  /** Every repository name in the catalog (as sent: check names before use, or let the other calls do it). */
  async *catalog(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<string> {
    const first = new URL('/v2/_catalog', this.origin);
    first.searchParams.set('n', String(options.pageSize ?? 1000));
    for await (const body of this.pages(first, CATALOG_SCOPE, 'the catalog', options.signal)) {
      const repositories = (body as { repositories?: unknown }).repositories;
      if (repositories === null || repositories === undefined) continue;
      if (!Array.isArray(repositories) || !repositories.every((r) => typeof r === 'string')) {
        throw new RegistryError('INVALID_RESPONSE', `${this.url}: the catalog's "repositories" is not a list of names`);
      }
      yield* repositories as string[];
    }
  }

  /** Every tag of a repository (as sent: manifest() checks each before use). */
  async *tags(name: string, options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<string> {
    this.checkName(name);
    const first = new URL(`/v2/${name}/tags/list`, this.origin);
    first.searchParams.set('n', String(options.pageSize ?? 1000));
    for await (const body of this.pages(first, repositoryScope(name), `the tags of ${name}`, options.signal)) {
      const tags = (body as { tags?: unknown }).tags;
      // Distribution answers `"tags": null` for a repository without tags.
      if (tags === null || tags === undefined) continue;
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
        throw new RegistryError('INVALID_RESPONSE', `${this.url}: the tag list of ${name} is not a list of tags`);
      }
      yield* tags as string[];
    }
  }

  /**
   * A manifest by tag or digest, verified: by digest, its bytes must hash to that digest; by tag, they must
   * hash to the Docker-Content-Digest header when the registry sends one.
   */
  async manifest(name: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    this.checkName(name);
    const byDigest = isBlobDigest(reference);
    if (!byDigest && !isTag(reference)) {
      throw new RegistryError('INVALID_REFERENCE', `${name}: ${JSON.stringify(reference.slice(0, 140))} is neither a tag nor a sha256/sha512 digest`);
    }
    const where = `${name}@${reference}`;
    const url = new URL(`/v2/${name}/manifests/${reference}`, this.origin);
    const controller = this.timeout(signal);
    try {
      const response = await this.request(url, { scope: repositoryScope(name), accept: MANIFEST_ACCEPT, signal: controller.signal });
      if (response.status !== 200) {
        await discard(response);
        throw new RegistryError('HTTP_STATUS', `${this.url}: manifest ${where} answered ${response.status}`, response.status);
      }
      const bytes = await readLimited(response, this.maxManifestBytes, `manifest ${where}`);
      const algorithm = byDigest ? reference.slice(0, reference.indexOf(':')) : 'sha256';
      const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
      if (byDigest && digest !== reference) {
        throw new RegistryError('DIGEST_MISMATCH', `${this.url}: manifest ${where} has digest ${digest}`);
      }
      const announced = response.headers.get('docker-content-digest');
      if (!byDigest && announced?.startsWith('sha256:') && announced !== digest) {
        throw new RegistryError('DIGEST_MISMATCH', `${this.url}: manifest ${where} hashes to ${digest}, the registry announced ${announced.slice(0, 80)}`);
      }
      const content = parseManifest(bytes, response.headers.get('content-type') ?? undefined, `${this.url}: ${where}`);
      return { repository: name, reference, digest, mediaType: content.mediaType, size: bytes.byteLength, content };
    } finally {
      controller.done();
    }
  }

  /**
   * A blob's bytes as a stream, following redirects to storage (without our credentials). The request
   * timeout applies until the headers arrive; the body then streams for as long as it takes.
   */
  async blob(name: string, digest: string, signal?: AbortSignal): Promise<BlobResponse> {
    this.checkName(name);
    if (!isBlobDigest(digest)) throw new RegistryError('INVALID_REFERENCE', `${name}: ${JSON.stringify(digest.slice(0, 140))} is not a sha256/sha512 digest`);
    const controller = this.timeout(signal);
    let response: Response;
    try {
      response = await this.request(new URL(`/v2/${name}/blobs/${digest}`, this.origin), { scope: repositoryScope(name), signal: controller.signal });
    } catch (error) {
      controller.done();
      throw error;
    }
    // The clock stops with the headers; the caller's signal still cancels the body until it closes.
    controller.stopClock();
    if (response.status !== 200 || !response.body) {
      await discard(response);
      controller.done();
      throw new RegistryError('HTTP_STATUS', `${this.url}: blob ${name}@${digest} answered ${response.status}`, response.status);
    }
    const length = response.headers.get('content-length');
    const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
    body.once('close', () => controller.done());
    return { body, size };
  }

  private checkName(name: string): void {
    if (typeof name !== 'string' || !isRepositoryName(name)) {
      throw new RegistryError('INVALID_REFERENCE', `${JSON.stringify(String(name).slice(0, 140))} is not a valid repository name`);
    }
  }

  /**
   * A signal that aborts with the caller's, or after the request timeout. stopClock() ends the timeout
   * only; done() also lets go of the caller's signal.
   */
  private timeout(signal?: AbortSignal): { signal: AbortSignal; stopClock(): void; done(): void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new RegistryError('NETWORK', `${this.url}: no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    const onAbort = () => controller.abort(signal!.reason);
    if (signal?.aborted) controller.abort(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      signal: controller.signal,
      stopClock: () => clearTimeout(timer),
      done: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      },
    };
  }

  /** The JSON bodies of a paginated list, following `Link: <...>; rel="next"` on the same origin and path. */
  private async *pages(first: URL, scope: string, what: string, signal?: AbortSignal): AsyncGenerator<unknown> {
    const seen = new Set<string>();
    let url: URL | undefined = first;
    while (url) {
      if (seen.has(url.href)) throw new RegistryError('INVALID_RESPONSE', `${this.url}: ${what} links back to a page already read`);
      if (seen.size >= this.maxPages) throw new RegistryError('TOO_LARGE', `${this.url}: ${what} has more than ${this.maxPages} pages`);
      seen.add(url.href);
      const controller = this.timeout(signal);
      let body: unknown;
      let link: string | null;
      try {
        const response = await this.request(url, { scope, accept: 'application/json', signal: controller.signal });
        if (response.status !== 200) {
          await discard(response);
          throw new RegistryError('HTTP_STATUS', `${this.url}: ${what} answered ${response.status}`, response.status);
        }
        link = response.headers.get('link');
        const bytes = await readLimited(response, this.maxListBytes, what);
        try {
          body = JSON.parse(Buffer.from(bytes).toString('utf8'));
        } catch {
          throw new RegistryError('INVALID_RESPONSE', `${this.url}: ${what} is not JSON`);
        }
        if (typeof body !== 'object' || body === null) throw new RegistryError('INVALID_RESPONSE', `${this.url}: ${what} is not a JSON object`);
      } finally {
        controller.done();
      }
      yield body;
      url = this.nextPage(link, url, first, what);
    }
  }

  private nextPage(link: string | null, current: URL, first: URL, what: string): URL | undefined {
    if (!link) return undefined;
    const match = /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link);
    if (!match) return undefined;
    let next: URL;
    try {
      next = new URL(match[1]!, current);
    } catch {
      throw new RegistryError('INVALID_RESPONSE', `${this.url}: ${what} has an invalid next-page link`);
    }
    if (next.origin !== this.origin.origin || next.pathname !== first.pathname) {
      throw new RegistryError('UNSAFE_URL', `${this.url}: ${what} links to ${next.origin}${next.pathname}, outside ${first.pathname}`);
    }
    return next;
  }

  /**
   * One logical request: auth (Bearer token flow or Basic), redirects (credentials only to our origin),
   * retries. Returns the final response, whatever its status; the caller reads or discards the body.
   */
  private async request(url: URL, options: RequestOptions): Promise<Response> {
    let target = url;
    let triedToken = false;
    for (let redirects = 0; ; ) {
      const sameOrigin = target.origin === this.origin.origin;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: options.accept ?? '*/*' };
      if (sameOrigin) {
        const authorization = await this.authorization(options.scope, options.signal);
        if (authorization) headers.authorization = authorization;
      }
      const response = await this.send(target, headers, options.signal);

      if (REDIRECTS.has(response.status)) {
        await discard(response);
        if (++redirects > MAX_REDIRECTS) throw new RegistryError('HTTP_STATUS', `${this.url}: more than ${MAX_REDIRECTS} redirects for ${url.pathname}`, response.status);
        const location = response.headers.get('location');
        if (!location) throw new RegistryError('INVALID_RESPONSE', `${this.url}: a ${response.status} without Location for ${url.pathname}`);
        target = this.safeUrl(location, target, 'a redirect');
        continue;
      }
      if (response.status === 401 && sameOrigin && !triedToken) {
        const learned = this.learnChallenge(response.headers.get('www-authenticate'), options.scope);
        if (learned) {
          await discard(response);
          triedToken = true;
          if (learned.scheme === 'bearer') this.tokens.delete(learned.realm, learned.service, options.scope);
          continue;
        }
      }
      if (response.status === 401) {
        await discard(response);
        throw new RegistryError('UNAUTHORIZED', `${this.url}: ${url.pathname} refused our ${this.challenge || this.useBasic ? 'credentials' : 'anonymous request'} (401)`, 401);
      }
      return response;
    }
  }

  /** Remembers how the registry wants us to authenticate; undefined when we cannot do what it asks. */
  private learnChallenge(header: string | null, scope: string): { scheme: 'bearer'; realm: string; service: string | undefined } | { scheme: 'basic'; realm?: undefined; service?: undefined } | undefined {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      const realm = this.safeUrl(bearer.params.realm, this.origin, 'the token realm').href;
      this.challenge = { realm, service: bearer.params.service };
      // Our own scope is the one we cache under; a challenge naming another scope for the same request
      // (Docker Hub's style) is served by asking for exactly what it named.
      if (bearer.params.scope && bearer.params.scope !== scope) this.scopeAliases.set(scope, bearer.params.scope);
      return { scheme: 'bearer', realm, service: bearer.params.service };
    }
    if (challenges.some((c) => c.scheme === 'basic') && this.credentials && !this.useBasic) {
      this.useBasic = true;
      return { scheme: 'basic' };
    }
    return undefined;
  }

  private async authorization(scope: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.challenge) {
      const { realm, service } = this.challenge;
      const cached = this.tokens.get(realm, service, scope);
      if (cached) return `Bearer ${cached}`;
      const key = `${realm}\n${service ?? ''}\n${scope}`;
      let pending = this.pendingTokens.get(key);
      if (!pending) {
        pending = this.fetchToken(realm, service, scope, signal).finally(() => this.pendingTokens.delete(key));
        this.pendingTokens.set(key, pending);
      }
      return `Bearer ${await pending}`;
    }
    if (this.useBasic && this.credentials) return basic(this.credentials);
    return undefined;
  }

  private async fetchToken(realm: string, service: string | undefined, scope: string, signal?: AbortSignal): Promise<string> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', this.scopeAliases.get(scope) ?? scope);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    if (this.credentials) headers.authorization = basic(this.credentials);
    const controller = this.timeout(signal);
    try {
      const response = await this.send(url, headers, controller.signal);
      if (response.status !== 200) {
        await discard(response);
        throw new RegistryError('UNAUTHORIZED', `${this.url}: the token service ${url.origin}${url.pathname} answered ${response.status} for ${scope}`, response.status);
      }
      let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        body = JSON.parse(Buffer.from(await readLimited(response, this.maxListBytes, 'a token response')).toString('utf8'));
      } catch (error) {
        if (error instanceof RegistryError) throw error;
        throw new RegistryError('UNAUTHORIZED', `${this.url}: the token service's answer is not JSON`);
      }
      const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
      if (typeof token !== 'string' || !token || !/^[\x21-\x7e]+$/.test(token)) {
        throw new RegistryError('UNAUTHORIZED', `${this.url}: the token service's answer holds no usable token`);
      }
      const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
      this.tokens.set(realm, service, scope, token, expiresIn);
      return token;
    } finally {
      controller.done();
    }
  }

  /** Resolves a URL the registry gave us; only https, or http to loopback (or to the registry's own host). */
  private safeUrl(text: string, base: URL, what: string): URL {
    let url: URL;
    try {
      url = new URL(text, base);
    } catch {
      throw new RegistryError('UNSAFE_URL', `${this.url}: ${what} is not a URL`);
    }
    const httpOk = isLoopback(url.hostname) || (this.origin.protocol === 'http:' && url.hostname === this.origin.hostname);
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && httpOk)) || url.username || url.password) {
      throw new RegistryError('UNSAFE_URL', `${this.url}: ${what} points to ${url.protocol}//${url.host}, which is neither https nor loopback`);
    }
    return url;
  }

  /** One HTTP exchange with bounded retries for 429/5xx/network errors; every attempt takes a rate slot. */
  private async send(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take(signal);
      let response: Response;
      try {
        response = await this.fetch(url, { headers, redirect: 'manual', signal });
      } catch (error) {
        if (signal?.aborted) throw signal.reason instanceof RegistryError ? signal.reason : error;
        if (isAbortError(error) || attempt >= this.retries) {
          throw new RegistryError('NETWORK', `${url.origin}${url.pathname}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}`);
        }
        await this.sleep(this.backoff(attempt), signal);
        continue;
      }
      if (!RETRYABLE.has(response.status) || attempt >= this.retries) return response;
      await discard(response);
      await this.sleep(Math.max(this.backoff(attempt), retryAfter(response.headers.get('retry-after'))), signal);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(10_000, this.retryBaseMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

function basic(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Retry-After in ms (seconds or an HTTP date), capped; 0 when absent or unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number {
  if (!header) return 0;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : 0;
}

/** Reads a body up to `limit` bytes; larger (announced or actual) is a TOO_LARGE error. */
async function readLimited(response: Response, limit: number, what: string): Promise<Uint8Array> {
  const announced = Number(response.headers.get('content-length') ?? NaN);
  if (announced > limit) {
    await discard(response);
    throw new RegistryError('TOO_LARGE', `${what} is ${announced} bytes, more than the ${limit} accepted`);
  }
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new RegistryError('TOO_LARGE', `${what} is more than the ${limit} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Lets go of a body we do not read, so the connection can be reused. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do: the connection is closed either way
  }
}
