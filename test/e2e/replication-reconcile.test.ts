/**
 * Reconcile and backfill against moto: the `registry-edge reconcile` command (dry run, real run, rerun,
 * failures through a faulty proxy, the progress bar), the bundled scheduled Lambda, and the streaming
 * merge over real paged listings (S3 key order, copies while listing, one request per blob and target,
 * corrupted sources deleted from the targets at once and quarantined).
 */
import { spawn } from 'node:child_process';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { reconcile, type ReconcileSummary } from '../../layers/replication/reconcile';
import type { Bucket } from '../../layers/replication/replicate';
import { createS3Client } from '../../layers/s3/client';
import { compareKeys } from '../../layers/s3/key-order';
import { listObjectPages, listObjects } from '../../layers/s3/objects';
import { createBucket } from '../../local/moto';
import { loadStageConfig } from '../../tools/build';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { BIN } from '../support/cli';
import { type FaultyProxy, startFaultyProxy } from '../support/faulty-proxy';
import { type AsyncHandler, lambdaContext } from '../support/lambda-async';
import { type CapturedOutput, captureJsonOutput } from '../support/output-capture';
import {
  auditBucket,
  type Blob,
  makeBlob,
  makeMismatchedBlob,
  putBlob,
  type ReplicationStack,
  startReplicationStack,
} from '../support/replication-stack';
import { runCliAsync } from '../support/cli';

jest.setTimeout(120_000);

const config = loadStageConfig({ stage: 'local' });
const PRIMARY = config.primaryBucket;
const [EU, AP] = config.replicaBuckets.map((b) => b.name) as [string, string];

let stack: ReplicationStack;
let proxy: FaultyProxy;

const blobs: Blob[] = Array.from({ length: 120 }, (_, i) => makeBlob(100 + i * 30));
const mismatched = [makeMismatchedBlob(500), makeMismatchedBlob(700)];
const corruptInEu = blobs[50]!;
const markedInAp = blobs[60]!;

beforeAll(async () => {
  stack = await startReplicationStack({ primary: PRIMARY, targets: [EU, AP] });
  proxy = await startFaultyProxy(stack.moto.endpoint);
  // The existing catalogue: 120 blobs (ten uploaded without a checksum), two whose bytes do not match
  // their key, one key that is not a blob.
  for (const [i, blob] of blobs.entries()) await putBlob(stack.s3, PRIMARY, blob, { checksum: i % 12 !== 0 });
  await putBlob(stack.s3, PRIMARY, mismatched[0]!);
  await putBlob(stack.s3, PRIMARY, mismatched[1]!, { checksum: false });
  await stack.s3.send(new PutObjectCommand({ Bucket: PRIMARY, Key: 'containers/images/README', Body: 'not a blob' }));
  // Regions partly filled: EU holds blobs 0-39, AP blobs 0-19 (as plain uploads: same ETag as the source).
  for (const blob of blobs.slice(0, 40)) await putBlob(stack.s3, EU, blob);
  for (const blob of blobs.slice(0, 20)) await putBlob(stack.s3, AP, blob);
  // EU holds blob 50 with the right size and the wrong bytes.
  await stack.s3.send(new PutObjectCommand({ Bucket: EU, Key: corruptInEu.key, Body: Buffer.alloc(corruptInEu.bytes.length, 1) }));
  // AP holds blob 60 as a multipart upload (another ETag) marked with its verified digest: no recopy.
  const upload = await stack.s3.send(new CreateMultipartUploadCommand({ Bucket: AP, Key: markedInAp.key, Metadata: { 'registry-edge-digest': markedInAp.digest } }));
  const part = await stack.s3.send(new UploadPartCommand({ Bucket: AP, Key: markedInAp.key, UploadId: upload.UploadId, PartNumber: 1, Body: markedInAp.bytes }));
  await stack.s3.send(
    new CompleteMultipartUploadCommand({ Bucket: AP, Key: markedInAp.key, UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  );
  // Something only EU has: reconcile never deletes.
  await putBlob(stack.s3, EU, makeBlob(10));
});

afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

const args = (endpoint: string, ...more: string[]) => ['reconcile', '--s3-endpoint', endpoint, '--source', PRIMARY, '--targets', `${EU},${AP}`, ...more];

async function listing(bucket: string) {
  const entries = [];
  for await (const entry of listObjects(stack.s3, bucket)) entries.push(entry);
  return entries;
}

async function tagsOf(bucketOrKey: string, key?: string) {
  const [Bucket, Key] = key === undefined ? [PRIMARY, bucketOrKey] : [bucketOrKey, key];
  return (await stack.s3.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet ?? [];
}

// 122 blobs × 2 targets. Settled by the listings: EU 0-39, AP 0-19; by a HEAD: AP 60 (marked).
// Quarantined: the 2 mismatched blobs in both targets. Everything else is copied (EU 50 overwritten).
const EXPECTED = { checked: 244, copied: 244 - 61 - 4, skipped: 61, quarantined: 4, failed: 0 };

describe('registry-edge reconcile', () => {
  test('--dry-run reports what it would do and changes nothing', async () => {
    const before = await Promise.all([listing(EU), listing(AP)]);

    const run = await runCliAsync(args(stack.moto.endpoint, '--dry-run'));

    expect(run.status).toBe(0);
    expect(run.lines).toEqual([EXPECTED]);
    expect(await Promise.all([listing(EU), listing(AP)])).toEqual(before);
    for (const blob of mismatched) expect(await tagsOf(blob.key)).toEqual([]);
  });

  test('backfills every target, overwrites the corrupt copy, quarantines the mismatched blobs, and ends with one JSON line', async () => {
    const run = await runCliAsync(args(stack.moto.endpoint, '--concurrency', '8'));

    expect(run.status).toBe(0);
    expect(run.lines).toEqual([EXPECTED]);
    const good = new Set(blobs.map((b) => b.key));
    for (const bucket of [EU, AP]) {
      const audit = await auditBucket(stack.s3, bucket);
      expect(audit.corrupt).toEqual([]);
      for (const key of good) expect(audit.keys.has(key)).toBe(true);
      for (const blob of mismatched) expect(audit.keys.has(blob.key)).toBe(false);
    }
    for (const blob of mismatched) expect(await tagsOf(blob.key)).toContainEqual({ Key: 'registry-edge-quarantine', Value: 'digest-mismatch' });
    // The problems are on stderr, one JSON line each.
    const problems = run.stderr.trim().split('\n').map((line) => JSON.parse(line));
    expect(problems.filter((p) => p.message.startsWith('digest mismatch')).map((p) => p.key).sort()).toEqual(mismatched.map((b) => b.key).sort());
  });

  test('a second run copies nothing', async () => {
    const run = await runCliAsync(args(stack.moto.endpoint));

    expect(run.status).toBe(0);
    expect(run.lines).toEqual([{ checked: 244, copied: 0, skipped: 240, quarantined: 4, failed: 0 }]);
  });

  test('a failing target makes it exit 1 with the failures counted, the other target still filled', async () => {
    const fresh = [makeBlob(300), makeBlob(400), makeBlob(500)];
    for (const blob of fresh) await putBlob(stack.s3, PRIMARY, blob);
    proxy.setRules([{ fault: 'error-500', match: (r) => r.path.startsWith(`/${AP}/`) && r.headers['x-amz-copy-source'] !== undefined }]);

    const run = await runCliAsync(args(proxy.endpoint));

    proxy.setRules([]);
    expect(run.status).toBe(1);
    expect(run.lines).toEqual([{ checked: 250, copied: 3, skipped: 240, quarantined: 4, failed: 3 }]);
    const eu = await auditBucket(stack.s3, EU);
    for (const blob of fresh) expect(eu.keys.has(blob.key)).toBe(true);

    const again = await runCliAsync(args(proxy.endpoint));
    expect(again.status).toBe(0);
    expect(again.lines).toEqual([{ checked: 250, copied: 3, skipped: 243, quarantined: 4, failed: 0 }]);
  });

  test('shows a progress bar on a terminal (stderr), and still prints one JSON line', async () => {
    // `script` (util-linux) runs the command on a pseudo-terminal. Not spawnSync: moto_server logs to a
    // pipe this process must keep reading.
    const command = [process.execPath, BIN, ...args(stack.moto.endpoint)].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let terminal = '';
    child.stdout.on('data', (chunk: Buffer) => (terminal += chunk.toString('utf8')));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(status).toBe(0);
    // While listing: the keys listed, and the pairs found so far (no estimate yet); then the whole bar.
    expect(terminal).toMatch(/listing the buckets: \d+ keys/);
    expect(terminal).toMatch(/copying \[[█░]+\] \d+\/\d+ pairs so far, still listing/);
    expect(terminal).toMatch(/copying \[[█░]+\] \d+\/\d+ pairs/);
    expect(terminal).toMatch(/\{"checked":\d+,"copied":\d+,"skipped":\d+,"quarantined":4,"failed":0\}/);
  });

  test('refuses bad arguments with a message naming the problem', async () => {
    const sameBucket = await runCliAsync(['reconcile', '--s3-endpoint', stack.moto.endpoint, '--source', PRIMARY, '--targets', `${EU},${PRIMARY}`]);
    expect(sameBucket.status).toBe(1);
    expect(sameBucket.stderr).toContain(`--targets names the source bucket ${PRIMARY}`);

    const badName = await runCliAsync(['reconcile', '--source', PRIMARY, '--targets', 'Not_A_Bucket']);
    expect(badName.status).not.toBe(0);
    expect(badName.stderr).toContain('"Not_A_Bucket" is not a valid bucket name');

    const noBucket = await runCliAsync(['reconcile', '--s3-endpoint', stack.moto.endpoint, '--source', 'no-such-bucket', '--targets', EU]);
    expect(noBucket.status).toBe(1);
    expect(noBucket.stderr).toMatch(/NoSuchBucket|does not exist/);
  });
});

describe('the scheduled reconcile Lambda', () => {
  let build: TemporaryBuild;
  let handler: AsyncHandler;
  let output: CapturedOutput;

  beforeAll(async () => {
    build = await buildTemporary({ stage: 'local', override: { buckets: { apiEndpoint: `${stack.moto.endpoint}/{bucket}` } }, only: ['reconcile'] });
    handler = build.load('reconcile') as unknown as AsyncHandler;
    output = captureJsonOutput();
  });
  afterAll(() => {
    output?.restore();
    build?.dispose();
  });

  test('copies what is missing and publishes its counts as metrics', async () => {
    const fresh = [makeBlob(1000), makeBlob(2000)];
    for (const blob of fresh) await putBlob(stack.s3, PRIMARY, blob);
    const from = output.lines.length;

    const summary = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, lambdaContext('reconcile'));

    expect(summary).toMatchObject({ objects: 127, copied: 4, quarantined: 4, failed: 0, deferred: 0 });
    expect(output.metrics(from)).toMatchObject({ Copied: 4, Quarantined: 2, Failed: 0, Deferred: 0, Objects: 127, BytesCopied: 6000 });
    for (const blob of fresh) {
      for (const bucket of [EU, AP]) expect((await auditBucket(stack.s3, bucket)).keys.has(blob.key)).toBe(true);
    }
  });

  test('near its deadline it starts nothing new and counts the rest as deferred', async () => {
    const fresh = makeBlob(1500);
    await putBlob(stack.s3, PRIMARY, fresh);

    // Less time left than the safety margin: nothing may start.
    const summary = await handler({}, lambdaContext('reconcile', 30_000));

    // The new blob in both targets, the quarantined blobs in both, and AP's marked copy (its ETag differs
    // from the source's, so only a HEAD can settle it).
    expect(summary).toMatchObject({ copied: 0, deferred: 2 + 4 + 1, failed: 0 });
    expect((await auditBucket(stack.s3, EU)).keys.has(fresh.key)).toBe(false);
  });
});

describe('streaming over real listings (moto, through the proxy)', () => {
  const [SRC, ONE, TWO] = ['paged-primary', 'paged-eu', 'paged-ap'];
  // Keys that are not blobs but sort where UTF-16 and UTF-8 disagree: a merge comparing with `<` would
  // find moto's listing out of order.
  const odd = ['😀', '\uFF01', '\uE000-x', '\u{10FFFF}', 'é'].map((s) => `containers/images/${s}`);
  const catalogue = Array.from({ length: 60 }, (_, i) => makeBlob(50 + i));
  // Bytes that do not match their key, one stored with S3's SHA-256 of those bytes, one without.
  const corrupted = [makeMismatchedBlob(321), makeMismatchedBlob(654)];

  beforeAll(async () => {
    for (const bucket of [SRC, ONE, TWO]) await createBucket(stack.s3, bucket);
    for (const blob of catalogue) await putBlob(stack.s3, SRC, blob);
    await putBlob(stack.s3, SRC, corrupted[0]!);
    await putBlob(stack.s3, SRC, corrupted[1]!, { checksum: false });
    for (const key of odd) {
      for (const bucket of [SRC, ONE, TWO]) await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not a blob' }));
    }
    // ONE already holds a third of the catalogue; TWO nothing.
    for (const blob of catalogue.filter((_, i) => i % 3 === 0)) await putBlob(stack.s3, ONE, blob);
  });

  test("moto lists keys in UTF-8 byte order, which compareKeys follows and JavaScript's < does not", async () => {
    const keys = (await listing(SRC)).map((e) => e.key).filter((k) => odd.includes(k));
    expect(keys).toEqual([...odd].sort(compareKeys));
    expect(keys).not.toEqual([...odd].sort());
  });

  test('pages of 7 keys: copies start before the listing ends; one request per blob and target; corrupted sources never stay in a target', async () => {
    const client = createS3Client({ endpoint: proxy.endpoint });
    const bucket = (name: string): Bucket => ({ bucket: name, region: 'us-east-1', client });
    const from = proxy.log.length;
    let summary: ReconcileSummary;
    try {
      summary = await reconcile({
        source: bucket(SRC),
        targets: [bucket(ONE), bucket(TWO)],
        blobPrefix: 'containers/images/',
        copy: { multipartThresholdBytes: 512 * 1024 ** 2, partSizeBytes: 64 * 1024 ** 2, partConcurrency: 4 },
        concurrency: 4,
        listPages: (b, prefix) => listObjectPages(b.client, b.bucket, prefix, 7),
      });
    } finally {
      client.destroy();
    }

    const requests = proxy.log.slice(from);
    const sourceListings = requests.filter((r) => r.method === 'GET' && r.path === `/${SRC}/` && r.query.includes('list-type=2'));
    const copies = requests.filter((r) => r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined);
    // 67 keys in pages of 7: 10 listing requests for the source.
    expect(sourceListings).toHaveLength(10);
    expect(requests.indexOf(copies[0]!)).toBeLessThan(requests.indexOf(sourceListings.at(-1)!));
    // 62 blobs: 20 in ONE already (settled by the listing), so 20 blobs copied to TWO only, 40 good ones and
    // the 2 corrupted ones to both.
    expect(summary).toMatchObject({ objects: 62, ignored: odd.length, checked: 124, skipped: 20, copied: 100, quarantined: 4, failed: 0, quarantinedBlobs: 2 });

    // Per blob: nothing asked of the source but the listing (no HEAD, no download), one CopyObject per
    // target that lacked it, and for a corrupted blob one conditional DELETE of each copy.
    const bad = new Set(corrupted.map((b) => b.key));
    const perObject = new Map<string, string[]>();
    for (const r of requests) {
      if (r.query.includes('list-type=2')) continue;
      const what = r.query.includes('tagging') ? `${r.method} tagging` : r.method;
      perObject.set(r.path, [...(perObject.get(r.path) ?? []), what]);
    }
    for (const blob of catalogue) {
      expect(perObject.get(`/${SRC}/${blob.key}`)).toBeUndefined();
      expect(perObject.get(`/${TWO}/${blob.key}`)).toEqual(['PUT']);
    }
    catalogue.forEach((blob, i) => expect(perObject.get(`/${ONE}/${blob.key}`)).toEqual(i % 3 === 0 ? undefined : ['PUT']));
    expect(copies).toHaveLength(104);
    for (const blob of corrupted) {
      // The source: its tags read and the quarantine tag written, once.
      expect(perObject.get(`/${SRC}/${blob.key}`)).toEqual(['GET tagging', 'PUT tagging']);
      for (const target of [ONE, TWO]) {
        expect(perObject.get(`/${target}/${blob.key}`)).toEqual(['PUT', 'DELETE']);
        const remove = requests.find((r) => r.method === 'DELETE' && r.path === `/${target}/${blob.key}`)!;
        expect(remove.headers['if-match']).toMatch(/^"[0-9a-f]{32}"$/);
      }
      expect(await tagsOf(SRC, blob.key)).toContainEqual({ Key: 'registry-edge-quarantine', Value: 'digest-mismatch' });
    }
    for (const bucket of [ONE, TWO]) {
      const audit = await auditBucket(stack.s3, bucket);
      // The odd keys are not blobs (they do not hash to a digest); everything else must.
      expect(audit.corrupt.filter((key) => !odd.includes(key))).toEqual([]);
      for (const blob of catalogue) expect(audit.keys.has(blob.key)).toBe(true);
      for (const key of bad) expect(audit.keys.has(key)).toBe(false);
    }
  });
});
