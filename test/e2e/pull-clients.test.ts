/**
 * Every pull that can succeed does, with the clients mirrors and Kubernetes nodes use, from every place
 * (local/stack.ts, one stack for the file, the edge cache on as packaged):
 *
 *   internet: 127.0.0.1 · aws eu-west-1 (has a bucket): 127.0.2.10 · aws ap-south-1 (no bucket, nearest
 *   ap-southeast-1): 127.0.3.10 · gcp: 127.0.4.10 — containerd and the mirror reach the edge through the
 *   stack's relays, as they cannot choose their source address.
 *
 * - containerd (`ctr images pull --plain-http --all-platforms`), every content digest re-hashed;
 * - podman (which checks every digest itself);
 * - docker-registry as a pull-through cache whose remote is the front, pulled from with skopeo;
 * - a blob download cut half way and resumed with Range, on each path (CloudFront miss and hit, S3
 *   redirect, upstream);
 * - a blob only the upstream holds (fallback 307, counted, never cached), a blob nobody holds (404
 *   BLOB_UNKNOWN), and a second pull through CloudFront that is all cache hits.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AccessLogEntry } from '../../local/cloudfront/emulator';
import { standardLogLine } from '../../local/cloudfront/standard-log';
import { type Containerd, startContainerd } from '../../local/containerd';
import { freePort } from '../../local/ports';
import { requireTool } from '../../local/processes';
import { type Registry, startRegistry } from '../../local/registry';
import { type Stack, startStack } from '../../local/stack';
import { CLOUDFRONT_LOG_FIELDS } from '../../layers/costs/access-log';
import { follow, send, sha256 } from './support/client';
import { hostArchitecture, readSkopeoDir, run, runLine } from './support/tools';

const EDGE_REGION = 'eu-west-1';

interface Place {
  name: string;
  address: string;
  /** Where the client's blob requests go: CloudFront, a bucket's region, or the upstream. */
  blobs: 'cloudfront' | { bucket: string } | 'upstream';
}

const PLACES: Place[] = [
  { name: 'the internet', address: '127.0.0.1', blobs: 'cloudfront' },
  { name: 'aws eu-west-1 (a region with a bucket)', address: '127.0.2.10', blobs: { bucket: 'eu-west-1' } },
  { name: 'aws ap-south-1 (a region without one)', address: '127.0.3.10', blobs: { bucket: 'ap-southeast-1' } },
  { name: 'gcp', address: '127.0.4.10', blobs: 'upstream' },
];

/** A tar archive of one file, as a registry layer holds it (ustar header, content, two zero blocks). */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\u000000', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

/** Pushes a one-layer image straight to the upstream registry (no bucket will hold its blobs). */
async function pushUpstreamOnly(registryUrl: string, repository: string, tag: string) {
  const upload = async (bytes: Buffer) => {
    const digest = sha256(bytes);
    const started = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    if (started.status !== 202) throw new Error(`upload start: ${started.status}`);
    const location = new URL(started.headers.get('location')!, registryUrl);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
    return { digest, size: bytes.length };
  };
  const tar = tarOf('hello.txt', randomBytes(300 * 1024));
  const layer = await upload(gzipSync(tar));
  const config = await upload(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: {} })));
  const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': manifestMediaType } });
  if (put.status !== 201) throw new Error(`manifest: ${put.status} ${await put.text()}`);
  return { manifestDigest: sha256(manifest), blobs: [config.digest, layer.digest].sort(), layer };
}

/** GETs `url` (following redirects from the same address) and hangs up after `bytes` bytes of the body. */
async function cutDownload(url: string, localAddress: string, bytes: number): Promise<{ hops: number[]; body: Buffer }> {
  const hops: number[] = [];
  let next = url;
  for (let i = 0; i < 5; i++) {
    const answer = await new Promise<{ status: number; location?: string; body: Buffer }>((resolve, reject) => {
      const req = request(next, { agent: false, localAddress }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return resolve({ status, location: res.headers.location!, body: Buffer.alloc(0) });
        }
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          got += chunk.length;
          if (got >= bytes) {
            req.destroy();
            resolve({ status, body: Buffer.concat(chunks).subarray(0, bytes) });
          }
        });
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks).subarray(0, bytes) }));
        res.on('error', () => undefined); // our own hang-up
      });
      req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
      req.end();
    });
    hops.push(answer.status);
    if (!answer.location) return { hops, body: answer.body };
    next = new URL(answer.location, next).toString();
  }
  throw new Error(`too many redirects from ${url}`);
}

describe('pulls with every client, from every place', () => {
  let stack: Stack;
  let work: string;
  let containerd: Containerd;
  const log: AccessLogEntry[] = [];
  const functionLines: string[] = [];
  const entry = (reply: { headers: Record<string, unknown> }) => log.find((e) => e.requestId === reply.headers['x-amz-cf-id'])!;
  let via: (address: string) => string;
  let bucketUrl: (region: string, digest: string) => string;
  let blobKey: (digest: string) => string;
  /** Every digest of the demo image: index, manifests, configs, layers. */
  let allDigests: string[];
  let payload: { digest: string; size: number };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pull-clients-e2e-'));
    stack = await startStack({ port: 0, edgeRegion: EDGE_REGION, relays: true, onAccess: (e) => log.push(e), onFunctionLog: (fn, line) => functionLines.push(`${fn}: ${line}`) });
    containerd = await startContainerd();
    via = (address) => (address === '127.0.0.1' ? stack.registryHost : stack.clients.find((c) => c.address === address)!.relay!.address);
    const prefix = stack.config.edge.blobPrefix;
    blobKey = (digest) => `/${prefix}${digest}`;
    bucketUrl = (region, digest) => `${stack.s3Endpoint}/${stack.buckets.regional[region]}/${prefix}${digest}`;
    allDigests = [stack.image.index.digest, ...stack.image.manifests.map((m) => m.manifest.digest), ...stack.image.blobs.map((b) => b.digest)];
    allDigests = [...new Set(allDigests)].sort();
    payload = stack.image.blobs.reduce((a, b) => (b.size > a.size ? b : a));
  }, 180_000);

  afterAll(async () => {
    await containerd?.stop();
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Blob requests the edge saw from `address` since log index `from`. */
  const blobRequests = (from: number, address: string) => log.slice(from).filter((e) => e.clientIp === address && e.uri.includes('/blobs/'));
  /** What a blob request from `place` must have been answered with. */
  const expectRouted = (place: Place, requests: AccessLogEntry[]) => {
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      const digest = r.uri.split('/').pop()!;
      if (place.blobs === 'cloudfront') expect([r.uri, r.status, ['Hit', 'Miss']]).toEqual([r.uri, 200, expect.arrayContaining([r.resultType])]);
      else if (place.blobs === 'upstream') expect([r.status, r.location]).toEqual([307, `${stack.registryUrl}${r.uri}`]);
      else expect([r.status, r.location]).toEqual([307, bucketUrl(place.blobs.bucket, digest)]);
    }
  };

  describe('containerd (ctr images pull --plain-http --all-platforms)', () => {
    it.each(PLACES)('from $name: every platform pulled, every content digest checked', async (place) => {
      const reference = `${via(place.address)}/${stack.image.reference}`;
      // The content store is shared by every reference: empty it, or the blobs of the last pull answer.
      await containerd.removeAll();
      expect(await containerd.contentDigests()).toEqual([]);
      const from = log.length;
      const pulled = await containerd.pull(reference);
      expect([pulled.code, pulled.stderr]).toEqual([0, expect.any(String)]);
      const held = await containerd.contentDigests();
      expect(held).toEqual(expect.arrayContaining(allDigests));
      for (const digest of allDigests) expect([digest, sha256(await containerd.content(digest))]).toEqual([digest, digest]);
      expectRouted(place, blobRequests(from, place.address));
      // Both platforms' layers were asked for: containerd fetched all of them.
      const asked = new Set(blobRequests(from, place.address).map((r) => r.uri.split('/').pop()));
      for (const blob of stack.image.blobs) expect([blob.digest, asked.has(blob.digest)]).toEqual([blob.digest, true]);
    }, 120_000);

    it('a re-pull after `ctr images rm --sync` fetches again, and through CloudFront every blob is a cache hit', async () => {
      const reference = `${stack.registryHost}/${stack.image.reference}`;
      await containerd.removeAll();
      expect((await containerd.pull(reference)).code).toBe(0);
      expect((await containerd.remove(reference)).code).toBe(0);
      expect(await containerd.contentDigests()).toEqual([]);
      const from = log.length;
      expect((await containerd.pull(reference)).code).toBe(0);
      const requests = blobRequests(from, '127.0.0.1');
      expect(requests.map((r) => r.resultType)).toEqual(requests.map(() => 'Hit'));
      expect(requests.length).toBe(stack.image.blobs.length);
    }, 120_000);
  });

  describe('podman', () => {
    it.each(PLACES)('from $name: the image it stores is the demo image for this platform', async (place) => {
      const podman = requireTool('podman', 'podman');
      const root = join(work, `podman-${place.address}`);
      mkdirSync(root, { recursive: true });
      const registriesConf = join(root, 'registries.conf');
      const host = via(place.address);
      writeFileSync(registriesConf, `unqualified-search-registries = []\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
      const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf };
      const base = ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
      const from = log.length;
      try {
        const pulled = await run(podman, [...base, 'pull', '--quiet', `${host}/${stack.image.reference}`], env);
        expect([pulled.code, pulled.stderr]).toEqual([0, '']);
        const hostImage = stack.image.manifests.find((m) => m.platform.architecture === hostArchitecture)!;
        // podman names an image by its config digest, which it checked, as every layer's.
        expect(pulled.stdout.trim()).toBe(hostImage.config.digest.slice('sha256:'.length));
        expectRouted(place, blobRequests(from, place.address));
        expect(blobRequests(from, place.address).filter((r) => r.status < 400)).toHaveLength(1 + hostImage.layers.length);
      } finally {
        await run(podman, [...base, 'system', 'reset', '--force'], env);
      }
    }, 120_000);
  });

  describe('docker-registry as a pull-through cache whose remote is the front', () => {
    const mirrors: Registry[] = [];
    afterAll(async () => {
      await Promise.all(mirrors.map((m) => m.stop()));
    });

    it.each(PLACES)('from $name: skopeo pulls from the mirror, which fetched every blob through the edge', async (place) => {
      const port = await freePort();
      const mirror = await startRegistry({ port, dir: join(work, `mirror-${port}`), proxy: { remoteUrl: `http://${via(place.address)}` } });
      mirrors.push(mirror);
      const from = log.length;
      const dest = join(work, `mirror-pull-${port}`);
      const pulled = await runLine(`skopeo copy --src-tls-verify=false docker://127.0.0.1:${port}/${stack.image.reference} dir:${dest}`);
      expect([pulled.code, pulled.stderr]).toEqual([0, '']);
      const dir = readSkopeoDir(dest);
      const host = stack.image.manifests.find((m) => m.manifest.digest === dir.manifestDigest)!;
      expect(dir.blobs).toEqual([host.config.digest, ...host.layers.map((l) => l.digest)].sort());
      expectRouted(place, blobRequests(from, place.address));
    }, 120_000);
  });

  describe('a download cut half way and resumed with Range', () => {
    const resume = async (address: string, beforeResuming = () => {}) => {
      const url = `${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}`;
      const half = Math.floor(payload.size / 2);
      const first = await cutDownload(url, address, half);
      beforeResuming();
      const rest = await follow(url, { localAddress: address, headers: { range: `bytes=${half}-` } });
      const last = rest.at(-1)!;
      expect([first.body.length, last.status, last.headers['content-range']]).toEqual([half, 206, `bytes ${half}-${payload.size - 1}/${payload.size}`]);
      expect(sha256(Buffer.concat([first.body, last.body]))).toBe(payload.digest);
      return { hops: rest.map((h) => h.status), edge: entry(rest[0]!) };
    };

    it('through CloudFront, not cached: the Range goes to the bucket, and the part it brings is kept', async () => {
      // The edge may have had the whole blob from the bucket before the viewer hung up (then it is
      // cached, as on CloudFront): invalidate, so the Range is a miss.
      const invalidate = () => void stack.emulator.cache!.invalidate([blobKey(payload.digest)]);
      invalidate();
      const { hops, edge } = await resume('127.0.0.1', invalidate);
      expect([hops, edge.resultType, edge.origins.map((o) => o.status), edge.cached]).toEqual([[206], 'Miss', [206], true]);
      expect([stack.emulator.cache!.has(blobKey(payload.digest)), stack.emulator.cache!.partsOf(blobKey(payload.digest))]).toEqual([false, 1]);
      // The next client resuming at the same offset is served from the cache (the part, or the whole blob
      // if its cut download reached the edge in full).
      const again = await resume('127.0.9.10');
      expect([again.hops, again.edge.resultType, again.edge.origins]).toEqual([[206], 'Hit', []]);
    });

    it('through CloudFront, cached: the range is served from the edge cache', async () => {
      await send(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}`);
      const { hops, edge } = await resume('127.0.0.1');
      expect([hops, edge.resultType, edge.origins]).toEqual([[206], 'Hit', []]);
    });

    it.each([
      ['the eu-west-1 bucket, by redirect', '127.0.2.10'],
      ['the ap-southeast-1 bucket, by redirect', '127.0.3.10'],
      ['the upstream registry, by redirect (gcp)', '127.0.4.10'],
    ])('from %s', async (_where, address) => {
      const { hops } = await resume(address);
      expect(hops).toEqual([307, 206]);
    });
  });

  describe('blobs the buckets do not hold', () => {
    const fallbackLines = (digest: string) => functionLines.filter((l) => l.startsWith('origin-response: ') && l.includes('"blob-fallback"') && l.includes(digest));

    it('an image pushed to the upstream only is pulled by internet and AWS clients: each blob a counted fallback, none of it cached', async () => {
      const image = await pushUpstreamOnly(stack.registryUrl, 'fresh/only-upstream', 'v1');
      for (const address of ['127.0.0.1', '127.0.2.10', '127.0.3.10']) {
        const from = log.length;
        const dest = join(work, `upstream-only-${address}`);
        const pulled = await runLine(`skopeo copy --src-tls-verify=false docker://${via(address)}/fresh/only-upstream:v1 dir:${dest}`);
        expect([address, pulled.code, pulled.stderr]).toEqual([address, 0, '']);
        const dir = readSkopeoDir(dest);
        expect([dir.manifestDigest, dir.blobs]).toEqual([image.manifestDigest, image.blobs]);
        const requests = blobRequests(from, address);
        expect(requests).toHaveLength(2);
        for (const r of requests) {
          // Through CloudFront (AWS clients: the HEAD found nothing in their bucket), both buckets missed,
          // and the origin-response function sent the client upstream.
          expect(r).toMatchObject({ status: 307, resultType: 'Miss', location: `${stack.registryUrl}${r.uri}` });
          expect(r.origins.map((o) => o.url)).toEqual([bucketUrl(EDGE_REGION, r.uri.split('/').pop()!), bucketUrl('us-east-1', r.uri.split('/').pop()!)]);
          expect(r.cached).toBeUndefined();
        }
      }
      for (const digest of image.blobs) {
        expect(fallbackLines(digest)).toHaveLength(3);
        expect(JSON.parse(fallbackLines(digest)[0]!.slice('origin-response: '.length))).toMatchObject({ event: 'blob-fallback', digest, repository: 'fresh/only-upstream', UpstreamFallback: 1 });
        expect(stack.emulator.cache!.has(blobKey(digest))).toBe(false);
      }
    }, 120_000);

    it.each(PLACES)('a blob nobody holds, asked for from $name: after the redirects, 404 BLOB_UNKNOWN JSON', async (place) => {
      const digest = sha256(randomBytes(32));
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${digest}`, { localAddress: place.address });
      const last = hops.at(-1)!;
      expect([hops.map((h) => h.status), last.headers['content-type']]).toEqual([[307, 404], expect.stringMatching(/^application\/json/)]);
      expect(hops[0]!.headers.location).toBe(`${stack.registryUrl}/v2/${stack.image.repository}/blobs/${digest}`);
      expect(JSON.parse(last.body.toString()).errors[0].code).toBe('BLOB_UNKNOWN');
    });
  });

  it('a second pull of the demo image through CloudFront is all cache hits (x-edge-result-type Hit)', async () => {
    stack.emulator.cache!.invalidate(['/*']);
    const pulls: AccessLogEntry[][] = [];
    for (const round of [1, 2]) {
      const from = log.length;
      expect((await runLine(stack.pullCommand(join(work, `second-pull-${round}`)))).code).toBe(0);
      pulls.push(blobRequests(from, '127.0.0.1'));
    }
    const resultTypes = (entries: AccessLogEntry[]) => entries.map((e) => standardLogLine(e).split('\t')[CLOUDFRONT_LOG_FIELDS.indexOf('x-edge-result-type')]);
    expect(resultTypes(pulls[0]!)).toEqual(pulls[0]!.map(() => 'Miss'));
    expect(resultTypes(pulls[1]!)).toEqual(pulls[1]!.map(() => 'Hit'));
    expect(pulls[1]!.length).toBe(pulls[0]!.length);
    expect(pulls[1]!.every((e) => e.origins.length === 0)).toBe(true);
  }, 120_000);
});
