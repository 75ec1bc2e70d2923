/**
 * An in-memory registry behind a `fetch` function, for unit tests of the client and the sync pipeline:
 * repositories, tags, manifests and blobs, optional Bearer auth, and a hook to answer anything (hostile
 * or broken responses) before the normal handling.
 */
import { createHash } from 'node:crypto';

export const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface FakeRequest {
  url: URL;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { architecture: string; os: string };
}

export class FakeRegistry {
  readonly origin: string;
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly tags = new Map<string, Map<string, string>>();
  readonly requests: FakeRequest[] = [];
  /** Tokens the fake realm handed out, by scope. */
  readonly tokens: Array<{ scope: string | null; token: string }> = [];
  /** When set, requests to the registry need `Authorization: Bearer <a token from the realm>`. */
  bearer = false;
  /** Answer before the normal handling (return undefined to go on). */
  hook: ((request: FakeRequest) => Response | undefined | Promise<Response | undefined>) | undefined;
  pageSize = 1000;

  constructor(origin = 'https://registry.test') {
    this.origin = origin;
  }

  addBlob(bytes: Buffer | string): Descriptor & { bytes: Buffer } {
    const buffer = Buffer.from(bytes);
    const digest = sha256(buffer);
    this.blobs.set(digest, buffer);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: buffer.length, bytes: buffer };
  }

  addManifest(repository: string, tag: string | undefined, manifest: object): Descriptor {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    const mediaType = (manifest as { mediaType: string }).mediaType;
    this.manifests.set(digest, { bytes, mediaType });
    if (!this.tags.has(repository)) this.tags.set(repository, new Map());
    if (tag) this.tags.get(repository)!.set(tag, digest);
    return { mediaType, digest, size: bytes.length };
  }

  /** An OCI image: config + layers from the given contents. Returns the manifest's descriptor. */
  addImage(repository: string, tag: string | undefined, layers: string[], options: { docker?: boolean; name?: string } = {}) {
    const config = this.addBlob(JSON.stringify({ name: options.name ?? `${repository}:${tag}`, layers }));
    const layerBlobs = layers.map((content) => this.addBlob(content));
    const manifest = {
      schemaVersion: 2,
      mediaType: options.docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: layerBlobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.size })),
    };
    return { descriptor: this.addManifest(repository, tag, manifest), blobs: [config, ...layerBlobs] };
  }

  /** An index over images added with addImage (tag undefined). */
  addIndex(repository: string, tag: string, children: Descriptor[], docker = false): Descriptor {
    return this.addManifest(repository, tag, {
      schemaVersion: 2,
      mediaType: docker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((c, i) => ({ ...c, platform: { architecture: ['amd64', 'arm64', 's390x'][i % 3], os: 'linux' } })),
    });
  }

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const request: FakeRequest = { url, headers, ...(init?.signal ? { signal: init.signal } : {}) };
    this.requests.push(request);
    init?.signal?.throwIfAborted();
    const hooked = await this.hook?.(request);
    if (hooked) return hooked;
    if (url.origin === 'https://auth.test' && url.pathname === '/token') {
      const token = `token-${this.tokens.length + 1}`;
      this.tokens.push({ scope: url.searchParams.get('scope'), token });
      return json({ token, expires_in: 300 });
    }
    if (url.origin !== this.origin) return new Response('no such host', { status: 502 });
    if (this.bearer && !this.tokens.some((t) => headers.authorization === `Bearer ${t.token}`)) {
      return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="registry.test"' } });
    }
    return this.route(url);
  }) as typeof fetch;

  private route(url: URL): Response {
    const path = url.pathname;
    if (path === '/v2/') return json({});
    if (path === '/v2/_catalog') return this.page(url, [...this.tags.keys()].sort(), 'repositories');
    let match = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (match) {
      const tags = this.tags.get(match[1]!);
      if (!tags) return json({ errors: [{ code: 'NAME_UNKNOWN' }] }, 404);
      return this.page(url, [...tags.keys()].sort(), 'tags', { name: match[1] });
    }
    match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (match) {
      const reference = match[2]!;
      const digest = reference.includes(':') ? reference : this.tags.get(match[1]!)?.get(reference);
      const manifest = digest ? this.manifests.get(digest) : undefined;
      if (!manifest) return json({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }, 404);
      return new Response(manifest.bytes, { headers: { 'content-type': manifest.mediaType, 'docker-content-digest': digest! } });
    }
    match = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
    if (match) {
      const blob = this.blobs.get(match[2]!);
      if (!blob) return json({ errors: [{ code: 'BLOB_UNKNOWN' }] }, 404);
      return new Response(blob, { headers: { 'content-length': String(blob.length), 'content-type': 'application/octet-stream' } });
    }
    return json({ errors: [{ code: 'UNSUPPORTED' }] }, 404);
  }

  private page(url: URL, all: string[], key: string, extra: object = {}): Response {
    const n = Math.min(Number(url.searchParams.get('n') ?? this.pageSize), this.pageSize);
    const last = url.searchParams.get('last');
    const start = last ? all.findIndex((entry) => entry > last) : 0;
    const items = start < 0 ? [] : all.slice(start, start + n);
    const headers: Record<string, string> = {};
    if (start >= 0 && start + n < all.length) headers.link = `<${url.pathname}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"`;
    return json({ ...extra, [key]: items }, 200, headers);
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A sleep that records what was asked and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}
