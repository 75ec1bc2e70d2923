/**
 * The whole distribution on this machine (local/stack.ts), pulled through with real clients (skopeo,
 * podman) and probed with an HTTP client bound to the overlay's loopback addresses:
 *
 *   127.0.1.x aws us-east-1 · 127.0.2.x aws eu-west-1 · 127.0.3.x aws ap-south-1 (no bucket: nearest is
 *   ap-southeast-1) · 127.0.4.x gcp · anything else, 127.0.0.1 included: an internet client
 *
 * The emulated regional edge cache is eu-west-1, so requests that go through CloudFront are served by the
 * origin-request function from the eu-west-1 bucket (and fail over to the primary in us-east-1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AccessLogEntry } from '../../local/cloudfront/emulator';
import { requireTool } from '../../local/processes';
import { type Stack, startStack } from '../../local/stack';
import { portIsFree } from '../support/ports';
import { follow, send, sha256 } from './support/client';
import { hostArchitecture, readSkopeoDir, run, runLine } from './support/tools';

const EDGE_REGION = 'eu-west-1';
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

describe('the local stack, end to end', () => {
  let stack: Stack;
  let work: string;
  const log: AccessLogEntry[] = [];
  const entry = (reply: { headers: Record<string, unknown> }) => log.find((e) => e.requestId === reply.headers['x-amz-cf-id']);

  // Fixed once the stack is up.
  let key: (digest: string) => string;
  let bucketUrl: (region: string, digest: string) => string;
  let hostImage: Stack['image']['manifests'][number];
  let payload: { digest: string; size: number };
  let relayFor: (address: string) => string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'stack-e2e-'));
    stack = await startStack({ port: 0, edgeRegion: EDGE_REGION, relays: true, onAccess: (e) => log.push(e) });
    const prefix = stack.config.edge.blobPrefix;
    key = (digest) => `${prefix}${digest}`;
    bucketUrl = (region, digest) => `${stack.s3Endpoint}/${stack.buckets.regional[region]}/${prefix}${digest}`;
    hostImage = stack.image.manifests.find((m) => m.platform.architecture === hostArchitecture)!;
    payload = stack.image.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    relayFor = (address) => stack.clients.find((c) => c.address === address)!.relay!.address;
  }, 120_000);

  afterAll(async () => {
    const ports = stack ? [stack.ports.edge, stack.ports.s3, stack.ports.registry, ...stack.clients.map((c) => c.relay!.port)] : [];
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });

  it('holds the demo image: a two-platform index, in the registry and in every bucket', async () => {
    for (const blob of stack.image.blobs) {
      for (const bucket of Object.values(stack.buckets.regional)) {
        const head = await stack.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key(blob.digest) }));
        expect([bucket, blob.digest, head.ContentLength]).toEqual([bucket, blob.digest, blob.size]);
      }
    }
    expect(stack.image.index.mediaType).toBe(INDEX_MEDIA_TYPE);
    expect(stack.image.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    expect(hostImage).toBeDefined();
    expect(payload.size).toBeGreaterThan(1_000_000);
    expect(Object.keys(stack.buckets.regional).sort()).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
  });

  describe('real clients', () => {
    it('skopeo pulls through the edge as an internet client: blobs come through CloudFront, every digest checks', async () => {
      const dest = join(work, 'skopeo-internet');
      const from = log.length;
      const result = await runLine(stack.pullCommand(dest));
      expect(result).toMatchObject({ code: 0 });
      const pulled = readSkopeoDir(dest);
      expect(pulled.manifestDigest).toBe(hostImage.manifest.digest);
      expect(pulled.blobs).toEqual([hostImage.config.digest, ...hostImage.layers.map((l) => l.digest)].sort());
      const blobRequests = log.slice(from).filter((e) => e.uri.includes('/blobs/'));
      expect(blobRequests).toHaveLength(pulled.blobs.length);
      for (const request of blobRequests) {
        expect(request).toMatchObject({ clientIp: '127.0.0.1', status: 200, resultType: 'Miss' });
        expect(request.origins).toEqual([{ url: bucketUrl(EDGE_REGION, request.uri.split('/').pop()!), status: 200 }]);
      }
    });

    it('skopeo copies every platform (--all) with the index digest unchanged', async () => {
      const dest = join(work, 'skopeo-all');
      const result = await run(requireTool('skopeo', 'skopeo'), ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${stack.registryHost}/${stack.image.reference}`, `oci:${dest}:all`]);
      expect(result).toMatchObject({ code: 0 });
      const inspected = await run(requireTool('skopeo', 'skopeo'), ['inspect', '--raw', `oci:${dest}:all`]);
      expect(sha256(Buffer.from(inspected.stdout))).toBe(stack.image.index.digest);
    });

    it('skopeo pulls as a client in eu-west-1: every blob is a redirect to the eu-west-1 bucket', async () => {
      const dest = join(work, 'skopeo-eu');
      const from = log.length;
      expect(await runLine(stack.pullCommand(dest, relayFor('127.0.2.10')))).toMatchObject({ code: 0 });
      expect(readSkopeoDir(dest).manifestDigest).toBe(hostImage.manifest.digest);
      const blobRequests = log.slice(from).filter((e) => e.uri.includes('/blobs/'));
      expect(blobRequests.length).toBe(1 + hostImage.layers.length);
      for (const request of blobRequests) {
        expect(request).toMatchObject({ clientIp: '127.0.2.10', status: 307, location: bucketUrl('eu-west-1', request.uri.split('/').pop()!) });
      }
    });

    it('podman pulls through the edge: the image it stores is the demo image', async () => {
      const podman = requireTool('podman', 'podman');
      const root = join(work, 'podman');
      mkdirSync(root, { recursive: true });
      const registriesConf = join(root, 'registries.conf');
      writeFileSync(registriesConf, `unqualified-search-registries = []\n[[registry]]\nlocation = "${stack.registryHost}"\ninsecure = true\n`);
      const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf };
      const base = ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
      const image = `${stack.registryHost}/${stack.image.reference}`;
      const from = log.length;
      const pulled = await run(podman, [...base, 'pull', '--quiet', image], env);
      expect(pulled).toMatchObject({ code: 0 });
      // podman names an image by its config digest, and records the digest it pulled by.
      expect(pulled.stdout.trim()).toBe(hostImage.config.digest.slice('sha256:'.length));
      const inspected = await run(podman, [...base, 'image', 'inspect', '--format', '{{json .RepoDigests}}', image], env);
      expect(JSON.parse(inspected.stdout)).toEqual(expect.arrayContaining([`${stack.registryHost}/${stack.image.repository}@${hostImage.manifest.digest}`]));
      // ...and the layers it unpacked are the ones the image config names (their uncompressed digests).
      const config = JSON.parse(readFileSync(stack.image.blobs.find((b) => b.digest === hostImage.config.digest)!.path, 'utf8'));
      const layers = await run(podman, [...base, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', image], env);
      expect(JSON.parse(layers.stdout)).toEqual(config.rootfs.diff_ids);
      expect(config.rootfs.diff_ids).toHaveLength(hostImage.layers.length);
      expect(log.slice(from).filter((e) => e.uri.includes('/blobs/') && e.status === 200)).toHaveLength(1 + hostImage.layers.length);
      await run(podman, [...base, 'system', 'reset', '--force'], env);
    }, 60_000);
  });

  describe('where the edge sends each client', () => {
    it.each([
      ['127.0.1.10', 'aws us-east-1', 'us-east-1'],
      ['127.0.2.10', 'aws eu-west-1', 'eu-west-1'],
      ['127.0.3.10', 'aws ap-south-1, which has no bucket', 'ap-southeast-1'],
      ['127.0.1.250', 'aws us-east-1 (another address in the range)', 'us-east-1'],
    ])('%s (%s): 307 to the %s bucket, whose bytes hash to the digest', async (address, _where, region) => {
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}`, { localAddress: address });
      expect(hops.map((h) => h.status)).toEqual([307, 200]);
      expect(hops[0]!.headers.location).toBe(bucketUrl(region, payload.digest));
      expect(hops[1]!.body.length).toBe(payload.size);
      expect(sha256(hops[1]!.body)).toBe(payload.digest);
    });

    it('127.0.4.10 (gcp): 307 to the upstream registry, query string kept', async () => {
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}?ns=demo`, { localAddress: '127.0.4.10' });
      expect(hops.map((h) => h.status)).toEqual([307, 200]);
      expect(hops[0]!.headers.location).toBe(`${stack.registryUrl}/v2/${stack.image.repository}/blobs/${payload.digest}?ns=demo`);
      expect(sha256(hops[1]!.body)).toBe(payload.digest);
    });

    it.each([
      ['127.0.0.1', 'the loopback address'],
      ['127.0.9.10', 'an address in no range'],
    ])('%s (%s, an internet client): served through CloudFront from the bucket nearest the edge, then from its cache', async (address) => {
      // Earlier pulls left the payload in the edge cache: invalidate it, as an operator would.
      stack.emulator.cache!.invalidate([`/${key(payload.digest)}`]);
      const reply = await send(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}`, { localAddress: address });
      expect(reply.status).toBe(200);
      expect(reply.headers['x-cache']).toBe('Miss from cloudfront');
      expect(sha256(reply.body)).toBe(payload.digest);
      expect(entry(reply)).toMatchObject({ clientIp: address, origins: [{ url: bucketUrl(EDGE_REGION, payload.digest), status: 200 }], cached: true });
      const again = await send(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${payload.digest}`, { localAddress: address });
      expect([again.status, again.headers['x-cache'], sha256(again.body)]).toEqual([200, 'Hit from cloudfront', payload.digest]);
      expect(entry(again)).toMatchObject({ clientIp: address, origins: [], resultType: 'Hit' });
    });

    it('manifests go upstream with the query string intact, and the registry answers with the index', async () => {
      const query = 'ns=docker.io&x=a%2Fb&empty=';
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/manifests/${stack.image.tag}?${query}`, { localAddress: '127.0.2.10', headers: { accept: INDEX_MEDIA_TYPE } });
      expect(hops.map((h) => h.status)).toEqual([307, 200]);
      expect(hops[0]!.headers.location).toBe(`${stack.registryUrl}/v2/${stack.image.repository}/manifests/${stack.image.tag}?${query}`);
      expect(hops[1]!.headers['docker-content-digest']).toBe(stack.image.index.digest);
      expect(sha256(hops[1]!.body)).toBe(stack.image.index.digest);
    });

    it('tag lists go upstream too', async () => {
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/tags/list?n=10`);
      expect(hops[0]!.headers.location).toBe(`${stack.registryUrl}/v2/${stack.image.repository}/tags/list?n=10`);
      expect(JSON.parse(hops[1]!.body.toString())).toEqual({ name: stack.image.repository, tags: [stack.image.tag] });
    });

    it.each([
      ['/v2/', '127.0.0.1'],
      ['/v2/demo/hello/manifests/1', '127.0.0.1'],
      ['/v2/demo/hello/blobs/{payload}', '127.0.2.10'],
      ['/v2/demo/hello/blobs/{payload}', '127.0.0.1'],
      ['/v2/demo/hello/blobs/{payload}', '127.0.4.10'],
      ['/v2/demo/hello/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000', '127.0.0.1'],
      ['/v2/NOT_A_NAME/manifests/1', '127.0.0.1'],
      ['/nothing-here', '127.0.0.1'],
    ])('HEAD %s from %s answers like GET, without a body', async (pathTemplate, address) => {
      const path = pathTemplate.replace('{payload}', payload.digest);
      const [get, head] = [await send(`${stack.endpoint}${path}`, { localAddress: address }), await send(`${stack.endpoint}${path}`, { localAddress: address, method: 'HEAD' })];
      expect(head.status).toBe(get.status);
      expect(head.body.length).toBe(0);
      const same = ['location', 'etag', 'docker-distribution-api-version', 'docker-content-digest', 'x-cache'];
      // Everything that carries content (blobs, manifests, redirects) and everything the edge generates
      // (errors and /v2/ included) must agree on type and length. moto's HEAD error pages differ from its
      // GET ones, so errors from the bucket need not.
      const generated = get.headers['x-cache'] === 'LambdaGeneratedResponse from cloudfront';
      if (get.status < 400 || generated) same.push('content-type', 'content-length');
      for (const name of same) expect([name, head.headers[name]]).toEqual([name, get.headers[name]]);
      if (get.status === 307) {
        const [getTarget, headTarget] = [await send(get.headers.location!), await send(head.headers.location!, { method: 'HEAD' })];
        expect(headTarget.status).toBe(getTarget.status);
        expect(headTarget.headers['content-length']).toBe(String(getTarget.body.length));
      }
    });
  });

  describe('a blob missing from a regional bucket', () => {
    it('a new blob only in the primary bucket (replication lagging) still reaches clients in every place', async () => {
      const bytes = randomBytes(200 * 1024);
      const digest = sha256(bytes);
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.buckets.primary, Key: key(digest), Body: bytes }));
      for (const [i, address] of ['127.0.2.10', '127.0.3.10', '127.0.0.1'].entries()) {
        const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${digest}`, { localAddress: address });
        // Never a redirect to a bucket that does not hold it: the edge serves it through CloudFront instead.
        expect([address, hops.map((h) => h.status)]).toEqual([address, [200]]);
        expect(sha256(hops[0]!.body)).toBe(digest);
        if (i > 0) {
          // The first one left it in the edge cache.
          expect(entry(hops[0]!)).toMatchObject({ resultType: 'Hit', origins: [] });
          continue;
        }
        // The origin group tried the bucket nearest the edge, found nothing, and failed over to the primary.
        const origins = entry(hops[0]!)!.origins;
        expect(origins.map((o) => o.url)).toEqual([bucketUrl(EDGE_REGION, digest), bucketUrl('us-east-1', digest)]);
        expect([403, 404]).toContain(origins[0]!.status);
        expect(origins[1]!.status).toBe(200);
      }
    });

    it('a demo blob deleted from the ap-southeast-1 bucket is still delivered to a client there', async () => {
      // The arm64-only layer: nothing in this suite has asked for it before (the edge caches "it is there").
      const arm64 = stack.image.manifests.find((m) => m.platform.architecture === 'arm64')!;
      const amd64 = stack.image.manifests.find((m) => m.platform.architecture === 'amd64')!;
      const only = arm64.layers.find((l) => !amd64.layers.some((a) => a.digest === l.digest))!;
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.buckets.regional['ap-southeast-1'], Key: key(only.digest) }));
      const hops = await follow(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${only.digest}`, { localAddress: '127.0.3.10' });
      expect(hops.map((h) => h.status)).toEqual([200]);
      expect(sha256(hops[0]!.body)).toBe(only.digest);
      // ...while a blob that is there is still redirected to that bucket.
      const present = await send(`${stack.endpoint}/v2/${stack.image.repository}/blobs/${arm64.config.digest}`, { localAddress: '127.0.3.10' });
      expect(present.headers.location).toBe(bucketUrl('ap-southeast-1', arm64.config.digest));
    });
  });

  describe('a corrupted blob', () => {
    const corrupt = async (region: string) => {
      const original = (await send(bucketUrl(region, payload.digest))).body;
      const damaged = Buffer.from(original);
      damaged[damaged.length >> 1]! ^= 0xff; // same size, one byte off: only the digest can tell
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.buckets.regional[region], Key: key(payload.digest), Body: damaged }));
    };
    const restore = (region: string) =>
      stack.s3.send(new CopyObjectCommand({ Bucket: stack.buckets.regional[region], Key: key(payload.digest), CopySource: `${stack.buckets.primary}/${encodeURIComponent(key(payload.digest))}` }));

    // The edge cache holds whatever it was given, bad bytes too: invalidate around the damage, as an
    // operator repairing a bucket would.
    const invalidate = () => stack.emulator.cache!.invalidate([`/${key(payload.digest)}`]);
    it.each([
      ['redirected to the eu-west-1 bucket (a client there)', () => relayFor('127.0.2.10')],
      ['served through CloudFront from the eu-west-1 bucket (an internet client)', () => stack.registryHost],
    ])('makes skopeo fail with a digest error when %s', async (_how, via) => {
      await corrupt('eu-west-1');
      invalidate();
      try {
        const failed = await runLine(stack.pullCommand(join(work, `corrupt-${randomBytes(4).toString('hex')}`), via()));
        expect(failed.code).not.toBe(0);
        expect(failed.stderr).toMatch(/Digest did not match/i);
        expect(failed.stderr).toContain(payload.digest);
      } finally {
        await restore('eu-west-1');
        invalidate();
      }
      // The same pull works once the bytes are right again: it was the corruption that failed it.
      expect(await runLine(stack.pullCommand(join(work, `restored-${randomBytes(4).toString('hex')}`), via()))).toMatchObject({ code: 0 });
    });
  });
});
