/**
 * Reconcile (and backfill): list the source and every target, and bring each (blob, target) pair that
 * the listings cannot prove equal through the replicator, the same code and checks as event-driven
 * replication. It catches whatever events missed (a DLQ nobody replayed, a region added later, the
 * catalogue that existed before replication did).
 *
 * A pair is settled by the listings alone when the target lists the key with the source's size and ETag;
 * anything else goes to the replicator: a key the target lacks is copied without asking the target again,
 * one it holds differently (other size, or another ETag, e.g. our multipart copies, whose ETag depends on
 * the part size) is HEADed and decided on. Reconcile never deletes.
 */
import { digestFromBlobKey } from '../s3/digest';
import { createLimiter } from '../s3/limit';
import { type ListedObject, listObjects } from '../s3/objects';
import type { CopySettings } from '../s3/copy';
import { type Bucket, createReplicator, type Log, silentLog } from './replicate';
import { addReport, emptyTally, type Tally } from './tally';

export interface ReconcileOptions {
  source: Bucket;
  targets: Bucket[];
  blobPrefix: string;
  copy: CopySettings;
  /** Blobs worked on at once. */
  concurrency: number;
  dryRun?: boolean;
  log?: Log;
  /** Called as listing and copying progress (the CLI's progress bar). */
  onProgress?: (progress: ReconcileProgress) => void;
  /** No new blob is started after this time (ms since the epoch); the rest is counted as deferred. */
  deadline?: number;
  now?: () => number;
}

export type ReconcileProgress = { phase: 'listing'; listed: number } | { phase: 'copying'; done: number; total: number };

export interface ReconcileSummary extends Tally {
  /** Blobs in the source. */
  objects: number;
  /** Source keys under the prefix that are not blobs. */
  ignored: number;
  quarantinedBlobs: number;
  /** Pairs not looked at because the deadline came first (the next run picks them up). */
  deferred: number;
}

interface Listed {
  size: number;
  etag: string;
}

async function listAll(bucket: Bucket, prefix: string, onEntry: () => void): Promise<ListedObject[]> {
  const entries: ListedObject[] = [];
  for await (const entry of listObjects(bucket.client, bucket.bucket, prefix)) {
    entries.push(entry);
    onEntry();
  }
  return entries;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const { source, targets, blobPrefix } = options;
  let listed = 0;
  const progress = () => options.onProgress?.({ phase: 'listing', listed: ++listed });

  const [sourceEntries, ...targetEntries] = await Promise.all([
    listAll(source, blobPrefix, progress),
    ...targets.map((target) => listAll(target, blobPrefix, progress)),
  ]);
  const targetMaps = targetEntries.map((entries) => new Map<string, Listed>(entries.map((e) => [e.key, { size: e.size, etag: e.etag }])));

  const tally = emptyTally();
  let ignored = 0;
  const work: { key: string; targets: Bucket[]; absentFrom: Set<string> }[] = [];
  for (const entry of sourceEntries) {
    if (digestFromBlobKey(blobPrefix, entry.key) === undefined) {
      ignored++;
      continue;
    }
    const needed: Bucket[] = [];
    const absentFrom = new Set<string>();
    targets.forEach((target, i) => {
      const there = targetMaps[i]!.get(entry.key);
      if (!there) absentFrom.add(target.bucket);
      if (!there || there.size !== entry.size || there.etag !== entry.etag) needed.push(target);
    });
    const settled = targets.length - needed.length;
    tally.checked += settled;
    tally.skipped += settled;
    if (needed.length > 0) work.push({ key: entry.key, targets: needed, absentFrom });
  }
  const objects = sourceEntries.length - ignored;
  const total = objects * targets.length;
  log.info('reconcile listed', { source: source.bucket, objects, ignored, targets: targets.map((t) => t.bucket), pairsToCheck: work.reduce((n, w) => n + w.targets.length, 0) });

  let done = tally.checked;
  options.onProgress?.({ phase: 'copying', done, total });
  const replicator = createReplicator({
    source,
    targets,
    blobPrefix,
    copy: options.copy,
    propagateDeletes: false,
    dryRun: options.dryRun ?? false,
    limit: createLimiter(options.concurrency * 2),
    log,
  });
  const limit = createLimiter(options.concurrency);
  let deferred = 0;
  let quarantinedBlobs = 0;
  await Promise.all(
    work.map((item) =>
      limit(async () => {
        if (options.deadline !== undefined && now() >= options.deadline) {
          deferred += item.targets.length;
        } else {
          const report = await replicator.replicate(item.key, item.targets, { absentFrom: item.absentFrom });
          addReport(tally, report);
          if (report.quarantined) quarantinedBlobs++;
        }
        done += item.targets.length;
        options.onProgress?.({ phase: 'copying', done, total });
      }),
    ),
  );
  const summary: ReconcileSummary = { ...tally, objects, ignored, quarantinedBlobs, deferred };
  log.info('reconcile done', { ...summary });
  return summary;
}
