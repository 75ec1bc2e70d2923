/**
 * One range update, as the scheduled Lambda and `registry-edge ranges update` run it:
 *
 *   fetch both feeds → parse (schemas) → compile (every CIDR) → read the pointer → judge (rules.ts)
 *   → put the table under its content address → swing the pointer with a conditional write
 *
 * Any failure before the last step leaves the published pointer, and so the last good table, as it was.
 * If another update swings the pointer first, the conditional write fails, and this one reads the new
 * pointer and judges again (it usually finds its table already published: `unchanged`). So the pointer
 * only moves forward, and always names a table that is there.
 */
import { type CompiledRanges, compileRanges, type OverlayRange } from './compile';
import type { FeedRules } from './plausibility';
import { FeedError, parseAwsFeed, parseGcpFeed } from './feeds';
import { FetchError, type FetchOptions, readSource } from './fetch';
import { describeTable, type RangePointer, sha256Hex, tableKey } from './pointer';
import { judgeUpdate, type RefusalReason, unknownRegions } from './rules';
import type { RangeStore } from './store';
import { compareTokens } from './version';
import { tableAges } from './age';

export interface UpdateOptions {
  /** URL or file of each feed; gcp null leaves GCP out of the table. */
  sources: { aws: string; gcp: string | null };
  store: RangeStore;
  /** See RuleOptions.maxShrink. */
  maxShrink: number;
  /** See RuleOptions.maxGrowth (default 4). */
  maxGrowth?: number;
  /** The feeds' plausibility rules (default DEFAULT_FEED_RULES). */
  feedRules?: FeedRules;
  /** Publish past the shrink, growth, regression and rollback guards (never past the order of sync tokens). */
  force?: boolean;
  overlay?: OverlayRange[];
  fetch?: FetchOptions;
  /**
   * The AWS syncToken a change notification announced: a feed older than that was served from a stale
   * cache, which is a failure (the caller retries), not "nothing new".
   */
  expectSyncToken?: string;
  /** Attempts at swinging the pointer while other updates keep getting there first. */
  maxAttempts?: number;
  /** Do everything but write: the result says what would have been published. */
  dryRun?: boolean;
  now?: () => Date;
}

interface Published {
  syncToken: string | null;
  /**
   * Seconds since the AWS feed of the published table was published (its syncToken); null when nothing is
   * published. Not clamped: a negative age is a table from the future, which the alarm should see.
   */
  tableAgeSeconds: number | null;
  /** Seconds since the published table was published (the pointer's publishedAt); null as above. */
  tablePublishedAgeSeconds: number | null;
  /** The published pointer's generation; null when nothing is published. */
  generation: number | null;
}

export type UpdateResult = Published &
  (
    | {
        outcome: 'published';
        key: string;
        sha256: string;
        bytes: number;
        previousSyncToken: string | null;
        gcpSyncToken: string | null;
        entries: number;
        prefixes: { aws: number; gcp: number };
        forcedPast: RefusalReason[];
        unknownRegions: string[];
        warnings: string[];
        compileMs: number;
        attempts: number;
      }
    | { outcome: 'unchanged'; reason: 'same' | 'older'; message: string; fetchedSyncToken: string; unknownRegions: string[] }
    | { outcome: 'would-publish'; key: string; sha256: string; bytes: number; fetchedSyncToken: string; forcedPast: RefusalReason[]; unknownRegions: string[]; warnings: string[] }
    | { outcome: 'refused'; reason: RefusalReason; message: string }
    | { outcome: 'failed'; reason: 'fetch' | 'store'; message: string }
  );

export type UpdateOutcome = UpdateResult['outcome'];

/** Warnings kept in a result (a feed listing thousands of conflicting prefixes would flood the logs). */
const MAX_WARNINGS = 20;

export async function runRangeUpdate(options: UpdateOptions): Promise<UpdateResult> {
  const now = options.now ?? (() => new Date());
  const { store } = options;
  const ageOf = (pointer: RangePointer | null): Published => {
    if (pointer === null) return { syncToken: null, tableAgeSeconds: null, tablePublishedAgeSeconds: null, generation: null };
    const ages = tableAges(pointer, now().getTime());
    return { syncToken: pointer.syncToken, tableAgeSeconds: ages.feedAgeSeconds, tablePublishedAgeSeconds: ages.publishedAgeSeconds, generation: pointer.generation };
  };
  // A run that stops before judging still reports the published table's age (the alarm watches it), if the
  // bucket answers.
  const publishedNow = async (): Promise<Published> => ageOf(await store.readPointer().then((read) => read.pointer, () => null));

  let compiled: CompiledRanges;
  let compileMs: number;
  try {
    const [awsText, gcpText] = await Promise.all([readSource(options.sources.aws, options.fetch), options.sources.gcp ? readSource(options.sources.gcp, options.fetch) : null]);
    const started = performance.now();
    const aws = parseAwsFeed(awsText, options.sources.aws);
    const gcp = gcpText === null ? undefined : parseGcpFeed(gcpText, options.sources.gcp!);
    compiled = compileRanges({ aws, ...(gcp ? { gcp } : {}), overlay: options.overlay ?? [], ...(options.feedRules ? { rules: options.feedRules } : {}), now: now(), sources: { aws: options.sources.aws, ...(options.sources.gcp ? { gcp: options.sources.gcp } : {}) } });
    compileMs = Math.round((performance.now() - started) * 10) / 10;
  } catch (error) {
    if (error instanceof FetchError) {
      return error.tooLarge
        ? { ...(await publishedNow()), outcome: 'refused', reason: 'too-large', message: error.message }
        : { ...(await publishedNow()), outcome: 'failed', reason: 'fetch', message: error.message };
    }
    if (error instanceof FeedError) return { ...(await publishedNow()), outcome: 'refused', reason: error.kind, message: error.message };
    throw error;
  }

  const fetched = compiled.metadata.aws as { syncToken: string };
  if (options.expectSyncToken !== undefined && compareTokens(fetched.syncToken, options.expectSyncToken) < 0) {
    return {
      ...(await publishedNow()),
      outcome: 'failed',
      reason: 'fetch',
      message: `${options.sources.aws} served syncToken ${fetched.syncToken}, older than the announced ${options.expectSyncToken} (a stale copy; try again later)`,
    };
  }
  const newRegions = unknownRegions(compiled.stats.aws.regions);
  const warnings = [...(newRegions.length > 0 ? [`AWS regions the topology does not know: ${newRegions.join(', ')}`] : []), ...compiled.warnings];

  const sha256 = await sha256Hex(compiled.bytes);
  const key = tableKey(store.pointerKey, sha256);
  let tableStored = false;
  const maxAttempts = options.maxAttempts ?? 5;
  let published: RangePointer | null = null;
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const read = await store.readPointer();
      published = read.pointer;
      if (read.problem) warnings.unshift(`the published pointer is unreadable and will be replaced: ${read.problem}`);
      const verdict = judgeUpdate(compiled, published, { maxShrink: options.maxShrink, ...(options.maxGrowth !== undefined ? { maxGrowth: options.maxGrowth } : {}), force: options.force ?? false, sha256 });
      if (verdict.verdict === 'unchanged') {
        return { ...ageOf(published), outcome: 'unchanged', reason: verdict.reason, message: verdict.message, fetchedSyncToken: fetched.syncToken, unknownRegions: newRegions };
      }
      if (verdict.verdict === 'refused') return { ...ageOf(published), outcome: 'refused', reason: verdict.reason, message: verdict.message };
      if (options.dryRun) {
        return {
          ...ageOf(published),
          outcome: 'would-publish',
          key,
          sha256,
          bytes: compiled.bytes.length,
          fetchedSyncToken: fetched.syncToken,
          forcedPast: verdict.forcedPast ?? [],
          unknownRegions: newRegions,
          warnings: warnings.slice(0, MAX_WARNINGS),
        };
      }

      if (!tableStored) {
        await store.putTable(key, compiled.bytes);
        tableStored = true;
      }
      const { aws, gcp } = compiled.stats;
      const pointer = describeTable({
        key,
        sha256,
        bytes: compiled.bytes.length,
        metadata: compiled.metadata,
        counts: { aws: { v4: aws.v4, v6: aws.v6 }, gcp: compiled.metadata.gcp ? { v4: gcp.v4, v6: gcp.v6 } : null, overlay: compiled.stats.overlay, entries: compiled.stats.entries },
        publishedAt: now(),
        forced: (verdict.forcedPast ?? []).length > 0,
        replacing: published,
      });
      if ((await store.swapPointer(pointer, read.etag)) === 'conflict') continue;
      // Read back: S3 makes the conditional write atomic, but S3-compatible stores may not (moto checks,
      // then writes). Should a pointer of a lower generation have slipped in over ours, the next round
      // judges again against it. (A higher one is a later publication or a rollback: it stands.)
      const check = await store.readPointer();
      if (check.pointer === null || check.pointer.generation < pointer.generation) continue;
      return {
        ...ageOf(pointer),
        outcome: 'published',
        key,
        sha256,
        bytes: compiled.bytes.length,
        previousSyncToken: published?.syncToken ?? null,
        gcpSyncToken: pointer.gcp?.syncToken ?? null,
        entries: compiled.stats.entries,
        prefixes: { aws: aws.v4 + aws.v6, gcp: gcp.v4 + gcp.v6 },
        forcedPast: verdict.forcedPast ?? [],
        unknownRegions: newRegions,
        warnings: warnings.slice(0, MAX_WARNINGS),
        compileMs,
        attempts: attempt,
      };
    }
  } catch (error) {
    return { ...ageOf(published), outcome: 'failed', reason: 'store', message: `${store.location}: ${(error as Error).message}` };
  }
  return { ...ageOf(published), outcome: 'failed', reason: 'store', message: `${store.location}: the pointer changed under each of ${maxAttempts} attempts` };
}
