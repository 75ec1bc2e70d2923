/**
 * `registry-edge sync` end to end: docker-registry (Bearer "silly" auth, tokens from a test token server)
 * holding several repositories of Docker v2 and OCI images, multi-arch indexes, shared layers, an image
 * built by umoci and pushed by skopeo; moto_server as the primary bucket. Recording proxies in front of
 * both count what the sync really sends.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { main } from '../../cli/main';
import { createBucket, type Moto, startMoto } from '../../local/moto';
import { requireTool } from '../../local/processes';
import { type Registry, startRegistry } from '../../local/registry';
import { RegistryClient } from '../../layers/registry/client';
import { createS3Client, type S3Client } from '../../layers/s3/client';
import { createS3BlobTarget } from '../../layers/sync/s3-target';
import { runSync } from '../../layers/sync/sync';
import { freePort } from '../support/ports';
import {
  type Blob,
  blobOf,
  bytesFor,
  pushBlob,
  pushImage,
  pushManifest,
  pushMultiArch,
  type RecordingProxy,
  sha256,
  startRecordingProxy,
  startTokenServer,
  type TokenServer,
} from './sync-fixtures';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const PREFIX = 'containers/images/';
const PUSH = { authorization: 'Bearer fixture-push' };

let tokens: TokenServer;
let registry: Registry;
let registryDir: string;
let registryProxy: RecordingProxy;
let moto: Moto;
let motoProxy: RecordingProxy;
let s3: S3Client;
let work: string;
/** Every blob the registry holds that sync must copy (foreign layers excluded), by digest. */
const expected = new Map<string, Blob>();
const repositories = new Set<string>();

const run = async (command: string, args: string[]) => (await promisify(execFile)(command, args, { encoding: 'utf8', timeout: 60_000 })).stdout;

const keep = (blobs: Blob[], repository: string) => {
  repositories.add(repository);
  for (const blob of blobs) expected.set(blob.digest, blob);
};

beforeAll(async () => {
  // Fail with the package name, not a skip, when a tool is missing.
  requireTool('skopeo', 'skopeo');
  requireTool('umoci', 'umoci');
  work = mkdtempSync(join(tmpdir(), 'registry-edge-sync-'));
  tokens = await startTokenServer();
  registryDir = join(work, 'registry');
  registry = await startRegistry({ port: await freePort(), dir: registryDir, bearer: { realm: tokens.realm, service: 'registry-edge-test' } });
  registryProxy = await startRecordingProxy(registry.url);
  moto = await startMoto(await freePort());
  motoProxy = await startRecordingProxy(moto.endpoint);
  s3 = createS3Client({ endpoint: moto.endpoint });

  const url = registry.url;
  const amd = { architecture: 'amd64', os: 'linux' };
  const arm = { architecture: 'arm64', os: 'linux' };
  // Docker v2: a manifest list (amd64 + arm64), tagged twice, and mirrored into a second repository.
  const alpine = await pushMultiArch(url, 'library/alpine', '3.19', [
    { format: 'docker', name: 'alpine-amd64', platform: amd, layers: [{ seed: 'base-amd64', size: 3000 }, { seed: 'alpine-amd64', size: 2000 }] },
    { format: 'docker', name: 'alpine-arm64', platform: arm, layers: [{ seed: 'base-arm64', size: 3000 }, { seed: 'alpine-arm64', size: 2000 }] },
  ], PUSH);
  keep(alpine.blobs, 'library/alpine');
  await pushManifest(url, 'library/alpine', 'latest', JSON.parse(alpine.index.bytes.toString()), PUSH);
  const mirror = await pushMultiArch(url, 'mirror/alpine', '3.19', [
    { format: 'docker', name: 'alpine-amd64', platform: amd, layers: [{ seed: 'base-amd64', size: 3000 }, { seed: 'alpine-amd64', size: 2000 }] },
    { format: 'docker', name: 'alpine-arm64', platform: arm, layers: [{ seed: 'base-arm64', size: 3000 }, { seed: 'alpine-arm64', size: 2000 }] },
  ], PUSH);
  keep(mirror.blobs, 'mirror/alpine');
  // OCI: an image index sharing the base layers, and a single-arch image manifest.
  const kubectl = await pushMultiArch(url, 'tools/kubectl', 'v1.30.0', [
    { format: 'oci', name: 'kubectl-amd64', platform: amd, layers: [{ seed: 'base-amd64', size: 3000 }, { seed: 'kubectl-1.30-amd64', size: 4000 }] },
    { format: 'oci', name: 'kubectl-arm64', platform: arm, layers: [{ seed: 'base-arm64', size: 3000 }, { seed: 'kubectl-1.30-arm64', size: 4000 }] },
  ], PUSH);
  keep(kubectl.blobs, 'tools/kubectl');
  const old = await pushImage(url, 'tools/kubectl', { format: 'oci', name: 'kubectl-1.29', layers: [{ seed: 'base-amd64', size: 3000 }, { seed: 'kubectl-1.29', size: 4000 }] }, PUSH);
  await pushManifest(url, 'tools/kubectl', 'v1.29.0', old.manifest, PUSH);
  keep(old.blobs, 'tools/kubectl');
  // Many small images, so that an interruption lands mid-way.
  // The shared base layer goes in first: Distribution fails concurrent uploads of one blob to one repository.
  await pushBlob(url, 'bulk/app', blobOf(bytesFor('base-amd64', 3000)), PUSH);
  await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const app = await pushImage(url, 'bulk/app', { format: i % 2 ? 'docker' : 'oci', name: `app-${i}`, layers: [{ seed: 'base-amd64', size: 3000 }, { seed: `app-${i}`, size: 1024 + i * 37 }] }, PUSH);
      await pushManifest(url, 'bulk/app', `v${i}`, app.manifest, PUSH);
      keep(app.blobs, 'bulk/app');
    }),
  );
  // A real tool's output: umoci builds an OCI image, skopeo pushes it (OCI, and converted to Docker v2).
  const layout = join(work, 'oci');
  const bundle = join(work, 'bundle');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:hello`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:hello`, bundle]);
  writeFileSync(join(bundle, 'rootfs', 'hello.txt'), 'hello from umoci\n');
  await run('umoci', ['repack', '--image', `${layout}:hello`, bundle]);
  // skopeo runs the token flow against our token server: it must not block this process's event loop.
  const host = new URL(url).host;
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:hello`, `docker://${host}/built/hello:oci`]);
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${layout}:hello`, `docker://${host}/built/hello:docker`]);
  for (const tag of ['oci', 'docker']) {
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/built/hello:${tag}`]));
    for (const d of [raw.config, ...raw.layers]) {
      const bytes = Buffer.from(await (await fetch(`${url}/v2/built/hello/blobs/${d.digest}`, { headers: PUSH })).arrayBuffer());
      keep([blobOf(bytes)], 'built/hello');
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([registryProxy?.close(), motoProxy?.close(), tokens?.close()]);
  await Promise.allSettled([registry?.stop(), moto?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function storedObjects(bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** Every object under the blob prefix hashes to its key; nothing else is in the bucket. */
async function expectAllVerified(bucket: string): Promise<number> {
  const objects = await storedObjects(bucket);
  for (const key of objects.keys()) {
    expect(key.startsWith(PREFIX)).toBe(true);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
    expect(sha256(body)).toBe(key.slice(PREFIX.length));
  }
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  expect(uploads.Uploads ?? []).toEqual([]);
  return objects.size;
}

/** Uploads that completed an object, per key, as seen by the proxy in front of moto. */
function uploadsPerKey(bucket: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of motoProxy.requests) {
    const url = new URL(r.url, 'http://moto');
    const path = decodeURIComponent(url.pathname);
    if (!path.startsWith(`/${bucket}/`) || r.status !== 200) continue;
    const single = r.method === 'PUT' && !url.searchParams.has('uploadId');
    const completed = r.method === 'POST' && url.searchParams.has('uploadId');
    if (!single && !completed) continue;
    const key = path.slice(bucket.length + 2);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function countingClient() {
  const client = createS3Client({ endpoint: moto.endpoint });
  const completed = new Map<string, number>();
  const parts: string[] = [];
  const listeners: Array<(command: string, key: string) => void> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const key = (args.input as { Key?: string }).Key ?? '';
      if (context.commandName === 'PutObjectCommand' || context.commandName === 'CompleteMultipartUploadCommand') completed.set(key, (completed.get(key) ?? 0) + 1);
      if (context.commandName === 'UploadPartCommand') parts.push(key);
      for (const listener of listeners) listener(context.commandName ?? '', key);
      return result;
    },
    { step: 'initialize', name: 'countUploads' },
  );
  return { client, completed, parts, listeners };
}

function runCli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'registry-edge.js'), 'sync', ...args], { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

/** The CLI in this process (quick; the child-process runs above are for signals): exit code and output. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'registry-edge', 'sync', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

test('the client reads the real registry: catalog and tags over several pages (Link headers), through the token flow', async () => {
  const client = new RegistryClient({ url: registryProxy.url });
  const names: string[] = [];
  for await (const name of client.catalog({ pageSize: 2 })) names.push(name);
  expect(names.sort()).toEqual([...repositories].sort());
  const tags: string[] = [];
  for await (const tag of client.tags('bulk/app', { pageSize: 5 })) tags.push(tag);
  expect(tags).toHaveLength(24);
  expect(registryProxy.requests.filter((r) => r.url.startsWith('/v2/_catalog')).length).toBeGreaterThanOrEqual(4);
});

test('in process: every distinct blob of every repository lands once, verified, via the token flow', async () => {
  const bucket = 'sync-all';
  await createBucket(s3, bucket);
  const { client: counted, completed } = countingClient();
  const issuedBefore = tokens.issued.length;
  const requestsBefore = registryProxy.requests.length;
  const result = await runSync({ client: new RegistryClient({ url: registryProxy.url }), target: createS3BlobTarget({ client: counted, bucket }), concurrency: 4 });

  expect(result.summary).toEqual({ checked: expected.size, copied: expected.size, skipped: 0, quarantined: 0, failed: 0 });
  const stored = await storedObjects(bucket);
  expect(new Set(stored.keys())).toEqual(new Set([...expected.keys()].map((d) => `${PREFIX}${d}`)));
  for (const [digest, blob] of expected) expect(stored.get(`${PREFIX}${digest}`)).toBe(blob.size);
  expect(await expectAllVerified(bucket)).toBe(expected.size);
  expect([...completed.values()].every((n) => n === 1)).toBe(true);
  expect(completed.size).toBe(expected.size);

  // Single-part uploads carry S3's SHA-256 checksum of the blob (what replication verifies for free).
  const [someDigest] = expected.keys();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${PREFIX}${someDigest}`, ChecksumMode: 'ENABLED' }));
  expect(head.ChecksumSHA256).toBe(Buffer.from(someDigest!.slice(7), 'hex').toString('base64'));

  // The token flow, really used: one token per scope, and each request carries the token of its scope.
  const issued = tokens.issued.slice(issuedBefore);
  expect(new Set(issued.map((t) => t.scope))).toEqual(new Set(['registry:catalog:*', ...[...repositories].map((r) => `repository:${r}:pull`)]));
  expect(issued.every((t) => t.service === 'registry-edge-test')).toBe(true);
  const scopeOf = new Map(issued.map((t) => [`Bearer ${t.token}`, t.scope ?? '']));
  const sent = registryProxy.requests.slice(requestsBefore);
  for (const request of sent) {
    if (request.url === '/v2/') continue;
    const scope = scopeOf.get(request.authorization ?? '');
    const repository = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(request.url)?.[1];
    expect([request.url, scope]).toEqual([request.url, repository ? `repository:${repository}:pull` : 'registry:catalog:*']);
  }
});

test('CLI: SIGINT mid-way leaves nothing partial; the rerun copies exactly what is missing', async () => {
  const bucket = 'sync-resume';
  await createBucket(s3, bucket);
  const args = ['--registry', registryProxy.url, '--all', '--s3-endpoint', motoProxy.url, '--bucket', bucket, '--rate', '40/s', '--concurrency', '2'];
  const first = runCli(args);
  // Stop it once a few blobs are in.
  for (let i = 0; i < 400 && (await storedObjects(bucket)).size < 5; i++) await new Promise((r) => setTimeout(r, 50));
  first.child.kill('SIGINT');
  const stopped = await first.done;
  expect(stopped.code).toBe(130);
  const interrupted = lastJson(stopped.stdout);
  expect(interrupted).toMatchObject({ interrupted: true, failed: 0 });
  const kept = await expectAllVerified(bucket);
  expect(kept).toBeGreaterThanOrEqual(5);
  expect(kept).toBeLessThan(expected.size);

  const second = await runCli(args).done;
  expect(second.code).toBe(0);
  expect(lastJson(second.stdout)).toEqual({ checked: expected.size, copied: expected.size - kept, skipped: kept, quarantined: 0, failed: 0 });
  expect(await expectAllVerified(bucket)).toBe(expected.size);
  // Counted at the S3 API: each blob was uploaded exactly once over both runs.
  const uploads = uploadsPerKey(bucket);
  expect(uploads.size).toBe(expected.size);
  expect([...uploads.values()].every((n) => n === 1)).toBe(true);
});

test('CLI --dry-run lists what is missing and writes nothing', async () => {
  const bucket = 'sync-dry';
  await createBucket(s3, bucket);
  const result = await runMain(['--registry', registryProxy.url, '--repo', 'tools/kubectl', '--repo', 'library/alpine', '--s3-endpoint', moto.endpoint, '--bucket', bucket, '--dry-run']);
  expect(result.code).toBe(0);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const summary = lines.pop();
  const listed = new Set(lines.map((l) => l.missing));
  expect(summary).toMatchObject({ copied: 0, skipped: 0, failed: 0, missing: listed.size, dryRun: true, checked: listed.size });
  for (const digest of listed) expect(expected.has(digest)).toBe(true);
  expect(listed.size).toBe(12); // alpine 2 x (config + 2 layers), kubectl: 3 configs + 2 arch layers + 1.29 layer (bases shared)
  expect((await storedObjects(bucket)).size).toBe(0);
});

test('CLI: operator errors name the problem', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--registry', registryProxy.url, '--s3-endpoint', moto.endpoint, '--bucket', 'x'], /--repo NAME .* or --all/],
    [['--registry', registryProxy.url, '--repo', '../etc', '--s3-endpoint', moto.endpoint, '--bucket', 'x'], /not a repository name/],
    [['--registry', registryProxy.url, '--all', '--s3-endpoint', moto.endpoint, '--bucket', 'no-such-bucket'], /no-such-bucket: does not exist/],
    [['--registry', 'http://registry.example', '--all', '--s3-endpoint', moto.endpoint, '--bucket', 'sync-all'], /https/],
    [['--registry', registryProxy.url, '--all', '--s3-endpoint', moto.endpoint, '--bucket', 'sync-all', '--rate', 'fast'], /rate/],
  ];
  for (const [args, message] of cases) {
    const result = await runMain(args);
    expect([args.join(' '), result.code === 0]).toEqual([args.join(' '), false]);
    expect(result.stderr).toMatch(message);
  }
});

test('a blob served with the wrong bytes is quarantined and never stored; the exit status stays 0', async () => {
  const bucket = 'sync-corrupt';
  await createBucket(s3, bucket);
  const image = await pushImage(registry.url, 'corrupt/app', { format: 'oci', name: 'corrupt', layers: [{ seed: 'corrupt-good', size: 2048 }, { seed: 'corrupt-bad', size: 2048 }] }, PUSH);
  await pushManifest(registry.url, 'corrupt/app', 'v1', image.manifest, PUSH);
  const bad = image.blobs[2]!;
  // Distribution does not re-hash what it serves: change the stored bytes, keep the size.
  const hex = bad.digest.slice(7);
  const data = join(registryDir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  expect(readdirSync(join(data, '..'))).toContain('data');
  writeFileSync(data, bytesFor('something else', bad.size));

  const result = await runMain(['--registry', registryProxy.url, '--repo', 'corrupt/app', '--s3-endpoint', moto.endpoint, '--bucket', bucket]);
  expect(result.code).toBe(0);
  expect(lastJson(result.stdout)).toEqual({ checked: 3, copied: 2, skipped: 0, quarantined: 1, failed: 0 });
  expect(result.stderr).toContain(`quarantined: corrupt/app: ${bad.digest}`);
  expect((await storedObjects(bucket)).has(`${PREFIX}${bad.digest}`)).toBe(false);
  await expectAllVerified(bucket);
});

test('a large blob goes up in parts; stopped mid-upload it leaves no multipart upload, and the rerun completes it', async () => {
  const bucket = 'sync-multipart';
  await createBucket(s3, bucket);
  const big = await pushImage(registry.url, 'big/blob', { format: 'oci', name: 'big', layers: [{ seed: 'big-layer', size: 11 * 1024 * 1024 + 123 }] }, PUSH);
  await pushManifest(registry.url, 'big/blob', 'v1', big.manifest, PUSH);
  const layer = big.blobs[1]!;
  const key = `${PREFIX}${layer.digest}`;
  const partSize = 5 * 1024 * 1024;
  const client = new RegistryClient({ url: registryProxy.url });

  const first = countingClient();
  const controller = new AbortController();
  first.listeners.push((command, k) => {
    if (command === 'UploadPartCommand' && k === key) controller.abort();
  });
  const stopped = await runSync({ client, target: createS3BlobTarget({ client: first.client, bucket, partSize }), repositories: ['big/blob'], signal: controller.signal, concurrency: 1 });
  expect(stopped.interrupted).toBe(true);
  expect(first.parts.filter((k) => k === key).length).toBeGreaterThanOrEqual(1);
  expect((await storedObjects(bucket)).has(key)).toBe(false);
  await expectAllVerified(bucket); // also: no multipart upload left

  const second = countingClient();
  const done = await runSync({ client, target: createS3BlobTarget({ client: second.client, bucket, partSize }), repositories: ['big/blob'] });
  expect(done.summary).toMatchObject({ failed: 0, quarantined: 0 });
  expect(second.parts.filter((k) => k === key)).toHaveLength(3);
  expect(second.completed.get(key)).toBe(1);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  expect(head.ContentLength).toBe(layer.size);
  const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
  expect(createHash('sha256').update(body).digest('hex')).toBe(layer.digest.slice(7));
});
