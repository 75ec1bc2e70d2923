/**
 * `registry-edge sync` throughput, against `skopeo sync` from the same registry in the same run.
 *
 * The registry (docker-registry on loopback) holds 10 repositories x 10 tags, each image a config and one
 * layer (64-384 KiB, all distinct): 200 blobs. Measured:
 * - baseline: `skopeo sync --src docker --dest dir` of every repository to a local directory (skopeo copies
 *   one image after another; it also verifies digests);
 * - sync into moto_server (the primary bucket) at --concurrency 1, 4 and 8, each into an empty bucket;
 * - sync into a target that hashes and discards (registry + verification cost, without moto);
 * - a rerun over a full bucket (everything skipped: the cost of resuming).
 * Figures: seconds, MB/s and blobs/s, and each run's speed as a ratio to skopeo's.
 *
 *   npx tsx bench/sync.ts
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createBucket, startMoto } from '../local/moto';
import { requireTool } from '../local/processes';
import { startRegistry } from '../local/registry';
import { RegistryClient } from '../layers/registry/client';
import { createS3Client } from '../layers/s3/client';
import { createS3BlobTarget } from '../layers/sync/s3-target';
import { runSync } from '../layers/sync/sync';
import type { BlobTarget } from '../layers/sync/target';
import { pushImage, pushManifest } from '../test/e2e/sync-fixtures';
import { freePort } from '../test/support/ports';

const REPOSITORIES = 10;
const TAGS = 10;
const run = promisify(execFile);

/** Stores nothing: the registry and verification side alone. */
const discard: BlobTarget = {
  describe: (digest) => `discard://${digest}`,
  stat: async () => undefined,
  put: async (_digest: string, _size: number, body: Readable) => {
    for await (const _ of body);
  },
};

async function main() {
  requireTool('skopeo', 'skopeo');
  const work = mkdtempSync(join(tmpdir(), 'bench-sync-'));
  const registry = await startRegistry({ port: await freePort(), dir: join(work, 'registry') });
  const moto = await startMoto(await freePort());
  try {
    const s3 = createS3Client({ endpoint: moto.endpoint });
    let bytes = 0;
    let blobs = 0;
    for (let r = 0; r < REPOSITORIES; r++) {
      await Promise.all(
        Array.from({ length: TAGS }, async (_, t) => {
          const size = 64 * 1024 + ((r * TAGS + t) * 7919 * 13) % (320 * 1024);
          const image = await pushImage(registry.url, `bench/repo-${r}`, { format: t % 2 ? 'docker' : 'oci', name: `image-${r}-${t}`, layers: [{ seed: `layer-${r}-${t}`, size }] });
          await pushManifest(registry.url, `bench/repo-${r}`, `v${t}`, image.manifest);
          for (const blob of image.blobs) {
            bytes += blob.size;
            blobs++;
          }
        }),
      );
    }
    const MB = bytes / 1e6;
    const host = new URL(registry.url).host;

    const rows: Array<{ run: string; seconds: number; mbPerSecond: number; blobsPerSecond: number; ratioToSkopeo?: number }> = [];
    const record = (name: string, seconds: number) => rows.push({ run: name, seconds: round(seconds), mbPerSecond: round(MB / seconds), blobsPerSecond: round(blobs / seconds) });

    const skopeo = async (name: string) => {
      const dest = join(work, name);
      const begin = performance.now();
      for (let r = 0; r < REPOSITORIES; r++) {
        await run('skopeo', ['sync', '--all', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', '--scoped', `${host}/bench/repo-${r}`, dest], { maxBuffer: 1 << 24 });
      }
      const seconds = (performance.now() - begin) / 1000;
      rmSync(dest, { recursive: true, force: true });
      return seconds;
    };
    // The baseline runs first and last; its mean is the reference (the machine is shared: load drifts).
    const skopeoFirst = await skopeo('skopeo-1');
    let start: number;

    const client = () => new RegistryClient({ url: registry.url });
    const check = (summary: { copied: number; failed: number; skipped: number }, copied: number, what: string) => {
      if (summary.failed !== 0 || summary.copied !== copied) throw new Error(`${what}: unexpected summary ${JSON.stringify(summary)}`);
    };
    for (const concurrency of [1, 4, 8]) {
      const bucket = `bench-c${concurrency}`;
      await createBucket(s3, bucket);
      start = performance.now();
      const result = await runSync({ client: client(), target: createS3BlobTarget({ client: s3, bucket }), concurrency });
      record(`registry-edge sync -> moto, concurrency ${concurrency}`, (performance.now() - start) / 1000);
      check(result.summary, blobs, `concurrency ${concurrency}`);
    }
    start = performance.now();
    check((await runSync({ client: client(), target: discard, concurrency: 4 })).summary, blobs, 'discard');
    record('registry-edge sync -> hash and discard, concurrency 4', (performance.now() - start) / 1000);

    start = performance.now();
    const again = await runSync({ client: client(), target: createS3BlobTarget({ client: s3, bucket: 'bench-c4' }), concurrency: 4 });
    check(again.summary, 0, 'rerun');
    const rerun = (performance.now() - start) / 1000;

    const skopeoLast = await skopeo('skopeo-2');
    record('skopeo sync --src docker --dest dir (baseline, mean of first and last run)', (skopeoFirst + skopeoLast) / 2);
    const skopeoSpeed = rows.at(-1)!.mbPerSecond;
    for (const row of rows) row.ratioToSkopeo = round(row.mbPerSecond / skopeoSpeed);
    console.log(JSON.stringify({ bench: 'sync', blobs, megabytes: round(MB), skopeoSeconds: [round(skopeoFirst), round(skopeoLast)], runs: rows, rerunAllPresent: { seconds: round(rerun), blobsCheckedPerSecond: round(blobs / rerun) } }, null, 2));
  } finally {
    await registry.stop();
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
