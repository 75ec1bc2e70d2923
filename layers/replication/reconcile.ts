/**
 * Reconcile (and backfill): list the source and every target, and bring each (blob, target) pair that
 * the listings cannot prove equal through the replicator, the same code and checks as event-driven
 * replication. It catches whatever events missed (a DLQ nobody replayed, a region added later, the
 * catalogue that existed before replication did).
 *
 * A pair is settled by the listings alone when the target lists the key with the source's size and ETag;
 * anything else goes to the replicator: a key the target lacks is copied without asking the target again,
 * one it holds differently (other size, or another ETag, e.g. our multipart copies, whose ETag depends on
 * the part size) is HEADed and decided on. Reconcile deletes nothing but a copy it just made that failed its check.
 *
 * Memory does not grow with the catalogue: S3 lists keys in UTF-8 binary order, so the listings are merged
 * as streams (merge.ts), a page or two of each held at a time, and blobs go to the replicator as the merge
 * reaches them, at most `concurrency` at once; while all are busy the merge (and so the listing) waits.
 * Each blob is one replicator call for every target that needs it. When every such target lacks the key
 * (the back-fill), that call is one CopyObject per target and nothing else, as `aws s3 sync` makes: the
 * copies are verified by the SHA-256 S3 computes for them, not the source by a HEAD, and a copy that does
 * not match its digest is deleted at once and its source quarantined (replicate.ts, `copyAsListed`, says
 * why its moment in the target is acceptable). Otherwise one source HEAD serves all of them.
 */
import { digestFromBlobKey } from '../s3/digest';
import { createLimiter } from '../s3/limit';
import { type ListedObject, listObjectPages } from '../s3/objects';
import type { CopySettings } from '../s3/copy';
import { mergeListings, type NamedListing, readAhead } from './merge';
import { type Bucket, createReplicator, type Log, type Replicator, silentLog } from './replicate';
import { addReport, emptyTally, type Tally } from './tally';
import { createWorkPool } from './work-pool';

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
  /** No new blob is started after this time (ms since the epoch); the rest is counted as deferred (the
   * listings are still read to the end, to count them: listing is cheap next to copying). */
  deadline?: number;
  now?: () => number;
  /** How a bucket is listed, page by page in S3's key order (default: ListObjectsV2). Tests count with it. */
  listPages?: (bucket: Bucket, prefix: string) => AsyncIterable<ListedObject[]>;
  /** Default: the replicator of these options (the same code and checks as event-driven replication). */
  replicator?: Replicator;
}

/**
 * Listing and copying go on together, so the number of pairs is known only once listing ends: `total`
 * counts the (blob, target) pairs listed so far, and `listing` says whether more may come.
 */
export interface ReconcileProgress {
  /** Keys listed so far, all buckets together. */
  listed: number;
  listing: boolean;
  /** Pairs settled (by the listings, the replicator, or deferred). */
  done: number;
  total: number;
}

export interface ReconcileSummary extends Tally {
  /** Blobs in the source. */
  objects: number;
  /** Source keys under the prefix that are not blobs. */
  ignored: number;
  quarantinedBlobs: number;
  /** Pairs not looked at because the deadline came first (the next run picks them up). */
  deferred: number;
}

/** Pages of ListObjectsV2, the next one requested while the current one is worked on. */
function defaultListPages(bucket: Bucket, prefix: string): AsyncIterable<ListedObject[]> {
  return readAhead(listObjectPages(bucket.client, bucket.bucket, prefix), 1);
}

/** A target settles a pair by listing alone when it lists the key with the source's size and ETag. */
function listedSame(source: ListedObject, target: ListedObject | undefined): boolean {
  return target !== undefined && target.size === source.size && target.etag === source.etag;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const { source, targets, blobPrefix } = options;
  const listPages = options.listPages ?? defaultListPages;
  const replicator =
    options.replicator ??
    createReplicator({
      source,
      targets,
      blobPrefix,
      copy: options.copy,
      propagateDeletes: false,
      dryRun: options.dryRun ?? false,
      limit: createLimiter(options.concurrency * 2),
      log,
    });

  let listed = 0;
  let listing = true;
  let done = 0;
  let total = 0;
  const progress = () => options.onProgress?.({ listed, listing, done, total });
  const listingOf = (bucket: Bucket): NamedListing => ({
    bucket: bucket.bucket,
    entries: (async function* () {
      for await (const page of listPages(bucket, blobPrefix)) {
        listed += page.length;
        progress();
        yield* page;
      }
    })(),
  });

  const tally = emptyTally();
  let objects = 0;
  let ignored = 0;
  let pairsToCheck = 0;
  let deferred = 0;
  let quarantinedBlobs = 0;
  const pool = createWorkPool(options.concurrency);
  const work = async (entry: ListedObject, needed: Bucket[], absentFrom: Set<string>) => {
    if (options.deadline !== undefined && now() >= options.deadline) {
      deferred += needed.length;
    } else {
      const report = await replicator.replicate(entry.key, needed, { absentFrom, listed: { size: entry.size, etag: entry.etag } });
      addReport(tally, report);
      if (report.quarantined) quarantinedBlobs++;
    }
    done += needed.length;
    progress();
  };
  try {
    for await (const row of mergeListings(listingOf(source), targets.map(listingOf))) {
      const entry = row.source;
      // Keys only the targets list: reconcile does not propagate deletes, so there is nothing to do.
      if (!entry) continue;
      if (digestFromBlobKey(blobPrefix, entry.key) === undefined) {
        ignored++;
        continue;
      }
      objects++;
      total += targets.length;
      const needed = targets.filter((_, i) => !listedSame(entry, row.targets[i]));
      const settled = targets.length - needed.length;
      tally.checked += settled;
      tally.skipped += settled;
      done += settled;
      if (needed.length === 0) continue;
      pairsToCheck += needed.length;
      const absentFrom = new Set(targets.filter((_, i) => row.targets[i] === undefined).map((t) => t.bucket));
      // Waits for a free slot: while every slot is busy, the merge and the listings behind it wait too.
      await pool.start(() => work(entry, needed, absentFrom));
    }
  } catch (error) {
    // The copies already started finish (and are logged) before the listing's error is reported.
    await pool.drain().catch(() => undefined);
    throw error;
  }
  listing = false;
  log.info('reconcile listed', { source: source.bucket, objects, ignored, targets: targets.map((t) => t.bucket), pairsToCheck });
  progress();
  await pool.drain();
  const summary: ReconcileSummary = { ...tally, objects, ignored, quarantinedBlobs, deferred };
  log.info('reconcile done', { ...summary });
  return summary;
}
