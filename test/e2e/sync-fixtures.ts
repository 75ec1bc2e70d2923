/**
 * Test registries for sync: hand-made images pushed over plain HTTP (monolithic blob uploads, manifests by
 * tag), deterministic and fast; a token server for the Bearer flow; and a recording reverse proxy that
 * counts requests (and can inject faults) in front of the registry or moto.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Deterministic pseudo-random bytes (a SHA-256 counter stream), so runs are reproducible. */
export function bytesFor(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = 0;
  for (let offset = 0; offset < size; offset += 32) {
    createHash('sha256').update(`${seed}/${block++}`).digest().copy(out, offset);
  }
  return out;
}

export function blobOf(bytes: Buffer): Blob {
  return { digest: sha256(bytes), size: bytes.length, bytes };
}

export interface PushOptions {
  /** Sent with every push (Distribution's "silly" auth accepts any Bearer token). */
  authorization?: string;
}

async function check(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return response;
}

/** A monolithic blob upload: POST to open a session, PUT the bytes with the digest. */
export async function pushBlob(registry: string, repository: string, blob: Blob, options: PushOptions = {}): Promise<void> {
  const headers: Record<string, string> = options.authorization ? { authorization: options.authorization } : {};
  const head = await fetch(`${registry}/v2/${repository}/blobs/${blob.digest}`, { method: 'HEAD', headers });
  if (head.status === 200) return;
  const start = await check(await fetch(`${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers }), `start upload ${repository}`);
  const location = new URL(start.headers.get('location')!, registry);
  location.searchParams.set('digest', blob.digest);
  await check(
    await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }, body: blob.bytes }),
    `upload ${repository}@${blob.digest}`,
  );
}

export async function pushManifest(registry: string, repository: string, reference: string, manifest: object, options: PushOptions = {}): Promise<Blob & { mediaType: string }> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const mediaType = (manifest as { mediaType: string }).mediaType;
  const headers: Record<string, string> = { 'content-type': mediaType, ...(options.authorization ? { authorization: options.authorization } : {}) };
  await check(await fetch(`${registry}/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers, body: bytes }), `push ${repository}:${reference}`);
  return { ...blobOf(bytes), mediaType };
}

export interface ImageSpec {
  /** 'docker' = Docker v2 schema 2 media types, 'oci' = OCI. */
  format: 'docker' | 'oci';
  /** Seeds of the layers; the same seed in two images is the same (shared) layer. */
  layers: Array<{ seed: string; size: number }>;
  /** Makes the config (and so the image) distinct. */
  name: string;
  platform?: { architecture: string; os: string };
  /** Adds a foreign layer (Windows style): referenced with `urls`, never pushed. */
  foreignLayer?: boolean;
}

/** Pushes an image's blobs and returns its manifest (not yet pushed: push it by tag or as an index child). */
export async function pushImage(registry: string, repository: string, spec: ImageSpec, options: PushOptions = {}): Promise<{ manifest: object; blobs: Blob[] }> {
  const docker = spec.format === 'docker';
  const layers = spec.layers.map((layer) => blobOf(bytesFor(layer.seed, layer.size)));
  const config = blobOf(
    Buffer.from(JSON.stringify({ architecture: spec.platform?.architecture ?? 'amd64', os: spec.platform?.os ?? 'linux', config: { Labels: { name: spec.name } }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })),
  );
  for (const blob of [config, ...layers]) await pushBlob(registry, repository, blob, options);
  const layerDescriptors: object[] = layers.map((l) => ({ mediaType: docker ? MEDIA.dockerLayer : MEDIA.ociLayer, digest: l.digest, size: l.size }));
  if (spec.foreignLayer) {
    const foreign = blobOf(bytesFor(`foreign/${spec.name}`, 64));
    layerDescriptors.push({ mediaType: MEDIA.dockerForeign, digest: foreign.digest, size: foreign.size, urls: ['https://example.invalid/foreign.tar.gz'] });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: docker ? MEDIA.dockerManifest : MEDIA.ociManifest,
    config: { mediaType: docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: config.digest, size: config.size },
    layers: layerDescriptors,
  };
  return { manifest, blobs: [config, ...layers] };
}

/**
 * Pushes a multi-arch image: each platform's manifest by digest, then the index (Docker manifest list or
 * OCI image index) under `tag`.
 */
export async function pushMultiArch(registry: string, repository: string, tag: string, images: ImageSpec[], options: PushOptions = {}): Promise<{ index: Blob; blobs: Blob[] }> {
  const children: object[] = [];
  const blobs: Blob[] = [];
  for (const spec of images) {
    const image = await pushImage(registry, repository, spec, options);
    blobs.push(...image.blobs);
    const pushed = await pushManifest(registry, repository, sha256(Buffer.from(JSON.stringify(image.manifest))), image.manifest, options);
    children.push({ mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size, platform: spec.platform ?? { architecture: 'amd64', os: 'linux' } });
  }
  const docker = images[0]!.format === 'docker';
  const index = await pushManifest(registry, repository, tag, { schemaVersion: 2, mediaType: docker ? MEDIA.dockerList : MEDIA.ociIndex, manifests: children }, options);
  return { index, blobs };
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  status: number;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  /** Answer instead of forwarding (return undefined to forward). */
  fault: ((request: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } | undefined) | undefined;
  close(): Promise<void>;
}

/** A reverse proxy on 127.0.0.1 that records each request (and its answer's status) before forwarding. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const proxy: RecordingProxy = { url: '', requests: [], fault: undefined, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization, status: 0 };
    proxy.requests.push(record);
    const fault = proxy.fault?.(req);
    if (fault) {
      record.status = fault.status;
      req.resume();
      res.writeHead(fault.status, fault.headers ?? {});
      res.end(fault.body ?? '');
      return;
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

export interface TokenServer {
  realm: string;
  /** Each token handed out, with the scope it was asked for. */
  issued: Array<{ token: string; scope: string | null; service: string | null }>;
  close(): Promise<void>;
}

/** A token service for the Bearer flow: answers every request with a fresh, recorded token. */
export async function startTokenServer(): Promise<TokenServer> {
  const issued: TokenServer['issued'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const token = `test-token-${issued.length + 1}`;
    issued.push({ token, scope: url.searchParams.get('scope'), service: url.searchParams.get('service') });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    issued,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
