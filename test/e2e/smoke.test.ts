/**
 * `registry-edge smoke` against the local stack (local/stack.ts), run as a user runs it (bin/, its own
 * process): a pull from the internet is served by CloudFront, one from eu-west-1 by redirects to that
 * region's bucket; a blob missing there falls back to CloudFront; a corrupted copy, an unknown tag, a dead
 * endpoint and bad arguments end in a non-zero exit that says why.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BlobReport, SmokeSummary } from '../../layers/smoke/smoke';
import { type Stack, startStack } from '../../local/stack';
import { BIN } from '../support/cli';
import { freePort } from '../support/ports';
import { hostArchitecture, run } from './support/tools';

interface SmokeRun {
  code: number;
  stderr: string;
  blobs: BlobReport[];
  summary: SmokeSummary;
}

let stack: Stack;
let work: string;
let expectedBlobs: string[];
let hostManifest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'smoke-e2e-'));
  // A layer is deleted from eu-west-1 and put back between two tests: the edge must not remember "not
  // there" (routing.verify.negativeCacheSeconds, a few seconds by default) into the next one.
  stack = await startStack({ port: 0, relays: true, configOverride: { routing: { verify: { negativeCacheSeconds: 0 } } } });
  const host = stack.image.manifests.find((m) => m.platform.architecture === hostArchitecture)!;
  hostManifest = host.manifest.digest;
  expectedBlobs = [host.config.digest, ...host.layers.map((l) => l.digest)];
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function smoke(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<SmokeRun> {
  const result = await run(process.execPath, [BIN, 'smoke', ...args], env);
  const lines = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as BlobReport | SmokeSummary);
  return {
    code: result.code,
    stderr: result.stderr,
    blobs: lines.filter((l): l is BlobReport => 'blob' in l),
    summary: lines.find((l): l is SmokeSummary => 'summary' in l)!,
  };
}

const asClientIn = (address: string) => `http://${stack.clients.find((c) => c.address === address)!.relay!.address}`;
const key = (digest: string) => `${stack.config.edge.blobPrefix}${digest}`;
const EU = () => stack.buckets.regional['eu-west-1']!;

test('from the internet: every blob verified and served by CloudFront', async () => {
  const result = await smoke(['--endpoint', stack.endpoint, '--image', stack.image.reference]);
  expect(result.code).toBe(0);
  expect(result.blobs.map((b) => b.blob)).toEqual(expectedBlobs);
  for (const blob of result.blobs) expect(blob).toMatchObject({ verified: true, served: 'cloudfront', status: 200, problems: [] });
  expect(result.summary).toMatchObject({ ok: true, manifest: hostManifest, blobs: expectedBlobs.length, servedFrom: { cloudfront: expectedBlobs.length }, problems: [] });
}, 120_000);

test('from eu-west-1, with one layer not replicated there yet: that one through CloudFront, the rest redirected', async () => {
  const missing = expectedBlobs.at(-1)!;
  await stack.s3.send(new DeleteObjectCommand({ Bucket: EU(), Key: key(missing) }));
  try {
    const result = await smoke(['--endpoint', asClientIn('127.0.2.10'), '--image', stack.image.reference]);
    expect(result.code).toBe(0);
    const served = Object.fromEntries(result.blobs.map((b) => [b.blob, b.served]));
    expect(served[missing]).toBe('cloudfront');
    expect(Object.values(served).filter((s) => s === 'redirect')).toHaveLength(expectedBlobs.length - 1);
    expect(result.summary.servedFrom).toEqual({ cloudfront: 1, [`${EU()} (eu-west-1)`]: expectedBlobs.length - 1 });
  } finally {
    await stack.s3.send(new CopyObjectCommand({ Bucket: EU(), Key: key(missing), CopySource: `${stack.buckets.primary}/${key(missing)}` }));
  }
}, 120_000);

test('from eu-west-1: every blob is a redirect to the eu-west-1 bucket, which holds it', async () => {
  const result = await smoke(['--endpoint', asClientIn('127.0.2.10'), '--image', stack.image.reference]);
  expect(result.code).toBe(0);
  for (const blob of result.blobs) {
    expect(blob).toMatchObject({ verified: true, served: 'redirect', status: 307, targetStatus: 200, location: { target: 'bucket', bucket: EU(), region: 'eu-west-1' } });
  }
  expect(result.summary.servedFrom).toEqual({ [`${EU()} (eu-west-1)`]: expectedBlobs.length });
}, 120_000);

test('a corrupted copy in the bucket a client is sent to: exit 1, and the summary says the pull failed on a digest', async () => {
  const victim = expectedBlobs[1]!;
  await stack.s3.send(new PutObjectCommand({ Bucket: EU(), Key: key(victim), Body: randomBytes(1024) }));
  try {
    const result = await smoke(['--endpoint', asClientIn('127.0.2.10'), '--image', stack.image.reference]);
    expect(result.code).toBe(1);
    expect(result.summary.ok).toBe(false);
    expect(result.summary.problems.join('\n')).toMatch(/skopeo could not pull .*digest/i);
  } finally {
    await stack.s3.send(new CopyObjectCommand({ Bucket: EU(), Key: key(victim), CopySource: `${stack.buckets.primary}/${key(victim)}` }));
  }
}, 120_000);

test('an unknown tag: exit 1, naming it', async () => {
  const result = await smoke(['--endpoint', stack.endpoint, '--image', `${stack.image.repository}:no-such-tag`]);
  expect(result.code).toBe(1);
  expect(result.summary.problems[0]).toContain(`${stack.image.repository}:no-such-tag`);
}, 120_000);

test('nothing listening at the endpoint: exit 1', async () => {
  const result = await smoke(['--endpoint', `http://127.0.0.1:${await freePort()}`, '--image', stack.image.reference, '--timeout', '60']);
  expect(result.code).toBe(1);
  expect(result.summary.ok).toBe(false);
}, 120_000);

test.each([
  [['--endpoint', 'https://example.org/v2/', '--image', 'demo/hello:1'], /scheme and host only/],
  [['--endpoint', 'ftp://example.org', '--image', 'demo/hello:1'], /must be https/],
  [['--endpoint', 'https://example.org', '--image', 'Demo/Hello:1'], /not a repository name/],
  [['--endpoint', 'https://example.org', '--image', 'demo/hello'], /NAME:TAG or NAME@DIGEST/],
  [['--endpoint', 'https://example.org', '--image', 'demo/hello:1', '--tls-verify', 'maybe'], /true or false/],
])('refuses bad arguments: %j', async (args, message) => {
  const result = await run(process.execPath, [BIN, 'smoke', ...args]);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(message);
});

test('without skopeo it fails, naming the package to install', async () => {
  const result = await run(process.execPath, [BIN, 'smoke', '--endpoint', stack.endpoint, '--image', stack.image.reference], { ...process.env, PATH: join(work, 'empty') });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/skopeo is not installed.*apt-get install -y skopeo/);
});
