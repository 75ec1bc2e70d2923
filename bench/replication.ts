/**
 * Replication and reconcile, measured against the AWS CLI between the same buckets on the same
 * moto_server, in the same run (moto serves one request at a time, so the ratios say more than the
 * absolute figures):
 * - replication MB/s: the replication function's code (S3 events in, verification, server-side copies)
 *   against `aws s3 cp --recursive` (also server-side copies), for many 2 MiB blobs and for one large
 *   blob copied in parts (ours: UploadPartCopy above a lowered threshold; the CLI: its own multipart copy);
 * - reconcile objects/s: `registry-edge reconcile` against `aws s3 sync`, both as processes, for a
 *   backfill of 1,000 small blobs into two empty regional buckets (the stack's shape: one reconcile, one
 *   sync per bucket, as the CLI syncs one destination a run), into one, and for a rerun with nothing to do;
 * - reconcile memory: peak RSS of a reconcile (two targets, each lacking a tenth of the blobs) over
 *   2,000 and 20,000 blobs, which should be about the same: the listings are merged as streams, never held
 *   whole (against a stand-in S3 that generates its listings, bench/support/catalogue-s3.ts).
 *
 * Reading the back-fill ratio: moto answers one request at a time, so request count is the time. Both
 * send one CopyObject per blob and target: reconcile verifies the copy by the SHA-256 S3 returns for it
 * (no source HEAD), `aws s3 sync` verifies nothing. With two targets reconcile lists the source once, the
 * CLI once per target (and starts a process per target); with one, the two make the same requests.
 *
 *   npx tsx bench/replication.ts
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createBucket, LOCAL_CREDENTIALS, localS3Client, startMoto } from '../local/moto';
import { requireTool } from '../local/processes';
import { createInvocationHandler } from '../layers/replication/invocation';
import { createReplicator, silentLog } from '../layers/replication/replicate';
import { createS3Client, type S3Client } from '../layers/s3/client';
import { createLimiter } from '../layers/s3/limit';
import { listObjects } from '../layers/s3/objects';
import { record } from './results';
import { startCatalogueS3 } from './support/catalogue-s3';
import { freePort } from '../test/support/ports';
import { type Blob, makeBlob, putBlob } from '../test/support/replication-stack';

const MiB = 1024 * 1024;
const PREFIX = 'containers/images/';
const BIN = join(__dirname, '../bin/registry-edge.js');
const MAX_RSS = join(__dirname, 'max-rss.cjs');
const round = (n: number) => Math.round(n * 100) / 100;
const step = (what: string) => process.stderr.write(`  ${what}\n`);
/**
 * Catalogue sizes of the memory measurement, 30x apart: peak RSS includes garbage the collector has not
 * taken yet (it grows until the heap's young generation settles), so the plateau over sizes, not one figure,
 * is what says the listings are not held.
 */
const RSS_SIZES = [2_000, 20_000, 60_000];

/** Uploads `blobs` eight at a time (with their SHA-256, so verification reads no bytes). */
async function putAll(s3: S3Client, bucket: string, blobs: Blob[]) {
  const queue = [...blobs];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let blob = queue.shift(); blob; blob = queue.shift()) await putBlob(s3, bucket, blob, { checksum: true });
    }),
  );
}

async function main() {
  const aws = requireTool('aws', 'awscli');
  const moto = await startMoto(await freePort());
  const s3 = localS3Client(moto.endpoint);
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Not spawnSync: moto_server's log goes to a pipe this process reads; blocked, moto would block too.
  const run = (command: string, args: string[]) =>
    new Promise<{ seconds: number; stdout: string; stderr: string }>((resolve, reject) => {
      const start = performance.now();
      const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
      child.on('error', reject);
      child.on('close', (status) => {
        const seconds = (performance.now() - start) / 1000;
        if (status !== 0) reject(new Error(`${command} ${args.join(' ')} failed (${status}): ${stderr}`));
        else resolve({ seconds, stdout, stderr });
      });
    });
  const awsCli = (...args: string[]) => run(aws, ['--endpoint-url', moto.endpoint, ...args]);
  const count = async (bucket: string) => {
    let n = 0;
    for await (const _ of listObjects(s3, bucket, PREFIX)) n++;
    return n;
  };

  /** The replication function's path: one invocation carrying an S3 event per blob. */
  async function replicateWithOurs(blobs: Blob[], source: string, target: string, threshold: number) {
    const client = createS3Client({ endpoint: moto.endpoint, maxSockets: 64 });
    const copy = { multipartThresholdBytes: threshold, partSizeBytes: 8 * MiB, partConcurrency: 8 };
    const replicator = createReplicator({
      source: { bucket: source, region: 'us-east-1', client },
      targets: [{ bucket: target, region: 'us-east-1', client }],
      blobPrefix: PREFIX,
      copy,
      propagateDeletes: false,
      limit: createLimiter(16),
    });
    const handle = createInvocationHandler({ replicator, sourceBucket: source, concurrency: 8, log: silentLog });
    const event = {
      Records: blobs.map((b) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), s3: { bucket: { name: source }, object: { key: encodeURIComponent(b.key) } } })),
    };
    const start = performance.now();
    const result = await handle(event);
    const seconds = (performance.now() - start) / 1000;
    client.destroy();
    if (result.summary.copied !== blobs.length) throw new Error(`replication copied ${result.summary.copied} of ${blobs.length}`);
    return seconds;
  }

  try {
    // 1. Many 2 MiB blobs.
    step('replication: 32 blobs of 2 MiB');
    const blobs = Array.from({ length: 32 }, () => makeBlob(2 * MiB));
    const megabytes = (blobs.length * 2 * MiB) / MiB;
    for (const bucket of ['src', 'ours', 'theirs']) await createBucket(s3, bucket);
    for (const blob of blobs) await putBlob(s3, 'src', blob);
    const ours = await replicateWithOurs(blobs, 'src', 'ours', 512 * MiB);
    const theirs = (await awsCli('s3', 'cp', '--recursive', '--only-show-errors', `s3://src/${PREFIX}`, `s3://theirs/${PREFIX}`)).seconds;
    if ((await count('theirs')) !== blobs.length) throw new Error('aws s3 cp did not copy every blob');

    step('multipart: one blob of 64 MiB');
    // 2. One large blob, in parts (threshold lowered to 8 MiB, as the CLI's default multipart threshold).
    const large = makeBlob(64 * MiB);
    for (const bucket of ['src-large', 'ours-large', 'theirs-large']) await createBucket(s3, bucket);
    await putBlob(s3, 'src-large', large);
    const oursLarge = await replicateWithOurs([large], 'src-large', 'ours-large', 8 * MiB);
    const theirsLarge = (await awsCli('s3', 'cp', '--only-show-errors', `s3://src-large/${large.key}`, `s3://theirs-large/${large.key}`)).seconds;

    step('reconcile: backfill of 1,000 blobs of 1 KiB');
    // 3. Reconcile: a backfill of 1,000 small blobs into two regional buckets (and into one), then a rerun
    // with nothing to do. Both tools as processes.
    const small = Array.from({ length: 1000 }, () => makeBlob(1024));
    const ourTargets = ['ours-eu', 'ours-ap'];
    const theirTargets = ['theirs-eu', 'theirs-ap'];
    for (const bucket of ['catalogue', ...ourTargets, ...theirTargets, 'ours-one', 'theirs-one']) await createBucket(s3, bucket);
    await putAll(s3, 'catalogue', small);
    const reconcile = (targets: string[]) =>
      run(process.execPath, [BIN, 'reconcile', '--s3-endpoint', moto.endpoint, '--source', 'catalogue', '--targets', targets.join(','), '--concurrency', '16']);
    const sync = async (targets: string[]) => {
      let seconds = 0;
      for (const target of targets) seconds += (await awsCli('s3', 'sync', '--only-show-errors', `s3://catalogue/${PREFIX}`, `s3://${target}/${PREFIX}`)).seconds;
      return seconds;
    };
    const oursBackfill = await reconcile(ourTargets);
    const oursSummary = JSON.parse(oursBackfill.stdout.trim());
    if (oursSummary.copied !== 2 * small.length) throw new Error(`reconcile copied ${oursSummary.copied}`);
    const theirsBackfill = await sync(theirTargets);
    for (const bucket of theirTargets) if ((await count(bucket)) !== small.length) throw new Error('aws s3 sync did not copy every blob');
    step('reconcile: backfill into one bucket');
    const oursOne = await reconcile(['ours-one']);
    if (JSON.parse(oursOne.stdout.trim()).copied !== small.length) throw new Error('reconcile (one target) did not copy every blob');
    const theirsOne = await sync(['theirs-one']);
    const oursNoop = await reconcile(ourTargets);
    if (JSON.parse(oursNoop.stdout.trim()).copied !== 0) throw new Error('the rerun copied something');
    const theirsNoop = await sync(theirTargets);
    // Process start-up, for reading the small figures: each tool doing nothing.
    const oursStartup = (await run(process.execPath, [BIN, '--help'])).seconds;
    const theirsStartup = (await awsCli('--version')).seconds;
    const version = await awsCli('--version');
    const awsVersion = (version.stdout.trim() || version.stderr.trim()).split(' ')[0];

    // 4. Memory: the same reconcile at two catalogue sizes, against a stand-in that generates its listings
    // (moto would need minutes to hold 20,000 objects in three buckets). A tenth of the blobs is missing
    // from each target, so listing, merge, verification and copies all take part.
    // Peak RSS also depends on how far V8 lets its heap grow before collecting, which it decides by the
    // allocation rate, not by what is live; so each size runs again with the old space capped at 48 MB
    // (`--max-old-space-size`): a reconcile that held its listings would run out of heap there as the
    // catalogue grows, and one that streams them finishes every size at the same peak.
    const maxRssMiB: Record<string, number> = {};
    const maxRssMiBOldSpace48: Record<string, number> = {};
    for (const size of RSS_SIZES) {
      step(`reconcile memory: ${size.toLocaleString('en')} blobs, 2 targets each lacking a tenth`);
      const stand = await startCatalogueS3({ blobs: size, prefix: PREFIX, source: 'primary', missingEvery: 10 });
      try {
        const args = [BIN, 'reconcile', '--s3-endpoint', stand.endpoint, '--source', 'primary', '--targets', 'regional-eu,regional-ap', '--concurrency', '16'];
        for (const [flags, into] of [[[], maxRssMiB], [['--max-old-space-size=48'], maxRssMiBOldSpace48]] as const) {
          const measured = await run(process.execPath, [...flags, '-r', MAX_RSS, ...args]);
          const summary = JSON.parse(measured.stdout.trim());
          if (summary.checked !== 2 * size || summary.copied !== (2 * size) / 10) throw new Error(`the reconcile of ${size} blobs answered ${measured.stdout.trim()}`);
          into[String(size)] = round(JSON.parse(measured.stderr.trim().split('\n').at(-1)!).maxRssKiB / 1024);
        }
      } finally {
        await stand.close();
      }
    }

    const row = (name: string, seconds: number, amount: number, unit: string) => ({ tool: name, seconds: round(seconds), [unit]: round(amount / seconds) });
    // Headline figures for bench/results.json (bench/results.ts). The back-fill is the stack's shape, two
    // regional buckets; the one-target figure is recorded beside it.
    record('replicate', { vsAwsCli: round(theirs / ours) });
    record('reconcile', {
      backfillVsAwsSync: round(theirsBackfill / oursBackfill.seconds),
      backfillVsAwsSyncOneTarget: round(theirsOne / oursOne.seconds),
      maxRssMiB,
      maxRssMiBOldSpace48,
    });
    console.log(
      JSON.stringify(
        {
          bench: 'replication',
          baseline: `${awsVersion} against the same moto_server`,
          replication: {
            blobs: blobs.length,
            megabytes,
            ours: row('replication function code (verify + CopyObject), 8 blobs at once', ours, megabytes, 'mbPerSecond'),
            baseline: row('aws s3 cp --recursive (CopyObject, 10 at once)', theirs, megabytes, 'mbPerSecond'),
            ratio: round(theirs / ours),
          },
          multipart: {
            megabytes: 64,
            ours: row('UploadPartCopy, 8 MiB parts, 8 at once', oursLarge, 64, 'mbPerSecond'),
            baseline: row('aws s3 cp (multipart copy, 8 MiB parts)', theirsLarge, 64, 'mbPerSecond'),
            ratio: round(theirsLarge / oursLarge),
          },
          reconcile: {
            objects: small.length,
            backfill: {
              targets: 2,
              ours: row('registry-edge reconcile --targets eu,ap --concurrency 16 (one CopyObject per blob and target, the copy verified)', oursBackfill.seconds, small.length, 'objectsPerSecond'),
              baseline: row('aws s3 sync, once per target', theirsBackfill, small.length, 'objectsPerSecond'),
              ratio: round(theirsBackfill / oursBackfill.seconds),
            },
            backfillOneTarget: {
              ours: row('registry-edge reconcile --concurrency 16', oursOne.seconds, small.length, 'objectsPerSecond'),
              baseline: row('aws s3 sync', theirsOne, small.length, 'objectsPerSecond'),
              ratio: round(theirsOne / oursOne.seconds),
            },
            nothingToDo: {
              ours: row('registry-edge reconcile --targets eu,ap', oursNoop.seconds, small.length, 'objectsPerSecond'),
              baseline: row('aws s3 sync, once per target', theirsNoop, small.length, 'objectsPerSecond'),
              ratio: round(theirsNoop / oursNoop.seconds),
            },
            maxRssMiB: { ...maxRssMiB, run: 'registry-edge reconcile, 2 targets each lacking a tenth, against bench/support/catalogue-s3.ts' },
            maxRssMiBOldSpace48: { ...maxRssMiBOldSpace48, run: 'the same with --max-old-space-size=48' },
            processStartupSeconds: { ours: round(oursStartup), baseline: round(theirsStartup) },
          },
          note: 'ratio = baseline seconds / our seconds (above 1: we are faster)',
        },
        null,
        2,
      ),
    );
  } finally {
    s3.destroy();
    await moto.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
