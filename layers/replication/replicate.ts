/**
 * One blob, every target: the single code path behind event-driven replication, the reconcile and DLQ
 * replays. It reads current state rather than trusting the event, so duplicate, late and reordered events
 * all converge on the same result:
 *
 *   source missing         → nothing to copy (or, with propagateDeletes, delete it from the targets)
 *   target holds the same  → skip (size, then S3's SHA-256, our digest mark, or an equal ETag)
 *   otherwise              → verify the source against its key once (checksum, else stream and hash)
 *                              mismatch → quarantine: tag the source, copy nothing
 *                              match    → server-side copy, marked with the verified digest
 *
 * Each target's outcome is independent: one failing region does not stop the others.
 *
 * Reconcile's back-fill (targets a listing just showed without the key, `hints.listed`) takes a shorter
 * path, one request per blob and target as `aws s3 sync` makes: no source HEAD, no download. It verifies the
 * copy, not the source: CopyObject pinned to the listed ETag returns the SHA-256 S3 computed over the bytes
 * it wrote; a copy that does not hash to the key's digest is deleted at once (If-Match its own ETag) and
 * the source quarantined as above. See `copyAsListed` for why that brief presence is acceptable.
 */
import { type CopySettings, copyListedObject, copyObject, type ListedCopyResult, MAX_SINGLE_COPY_BYTES } from '../s3/copy';
import { type DigestCheck, digestFromBlobKey, fullObjectSha256, parseBlobDigest, verifyDigest } from '../s3/digest';
import type { Limiter } from '../s3/limit';
import { createLimiter } from '../s3/limit';
import { addObjectTags, deleteObject, headObject, isNotFound, isPreconditionFailed, type ObjectInfo } from '../s3/objects';
import type { S3Client } from '../s3/client';

/** User metadata on every copy we make: the digest the source was verified against. */
export const DIGEST_METADATA = 'registry-edge-digest';
/** Tag set on a source whose content does not match its key. */
export const QUARANTINE_TAG = { key: 'registry-edge-quarantine', value: 'digest-mismatch' } as const;

export interface Bucket {
  bucket: string;
  region: string;
  client: S3Client;
}

/** Structured log lines (Powertools' Logger fits; so does a console shim). */
export interface Log {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export type TargetOutcome =
  | { status: 'copied'; method: 'single' | 'multipart'; bytes: number; dryRun?: boolean }
  | { status: 'skipped'; reason: 'same' | 'source-missing' }
  | { status: 'deleted'; dryRun?: boolean }
  | { status: 'quarantined' }
  | { status: 'failed'; error: string };

export interface TargetReport {
  bucket: string;
  region: string;
  outcome: TargetOutcome;
}

export interface ObjectReport {
  key: string;
  /** Absent for keys that are not blobs (ignored, no target touched). */
  digest?: string;
  targets: TargetReport[];
  /** The source's verification, when one was needed. */
  verification?: DigestCheck;
  /** The source failed verification (and was tagged, unless a dry run). */
  quarantined: boolean;
}

export interface ReplicatorOptions {
  source: Bucket;
  targets: Bucket[];
  blobPrefix: string;
  copy: CopySettings;
  propagateDeletes: boolean;
  /** Read everything, write nothing (no copy, tag or delete); outcomes say what would happen. */
  dryRun?: boolean;
  /** Bounds the target operations of all objects together (the multipart parts have their own bound). */
  limit?: Limiter;
  log?: Log;
}

/** Whether `target` already holds the blob `digest` that `source` holds. */
export function sameContent(source: ObjectInfo, target: ObjectInfo, digest: string): boolean {
  if (source.size !== target.size) return false;
  const parsed = parseBlobDigest(digest);
  const targetSha256 = fullObjectSha256(target);
  // S3's own full-object checksum is evidence about the bytes; it overrules everything else.
  if (parsed?.algorithm === 'sha256' && targetSha256 !== undefined) return targetSha256 === parsed.hex;
  // Our copies carry the digest their source was verified against; multipart copies have no other proof
  // (their ETag depends on the part size, their SHA-256 is per part).
  if (target.metadata[DIGEST_METADATA] === digest) return true;
  // Equal ETags: the same MD5 (single part) or the same part MD5s: the same bytes as the source.
  return source.etag !== '' && source.etag === target.etag;
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}${status ? ` (HTTP ${status})` : ''}`;
}

export interface ReplicateHints {
  /** Target buckets a listing just showed without the key: their HEAD is skipped. Should the key have
   * appeared since, the copy overwrites it with the same verified bytes, which is harmless. */
  absentFrom?: ReadonlySet<string>;
  /** The source as that listing showed it. When every target is in `absentFrom`, the blob fits one
   * CopyObject and its digest is a SHA-256, the copies are verified instead of the source (no HEAD). */
  listed?: { size: number; etag: string };
}

/** A base64 checksum as hex, when it is a whole SHA-256 (32 bytes). */
function sha256Hex(base64: string | undefined): string | undefined {
  if (!base64) return undefined;
  const bytes = Buffer.from(base64, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

export interface Replicator {
  /** Brings `targets` (default: all) in line with the source for `key`. Never throws: failures are outcomes. */
  replicate(key: string, targets?: Bucket[], hints?: ReplicateHints): Promise<ObjectReport>;
}

export function createReplicator(options: ReplicatorOptions): Replicator {
  const { source, blobPrefix, copy, propagateDeletes } = options;
  const dryRun = options.dryRun ?? false;
  const limit = options.limit ?? createLimiter(64);
  const log = options.log ?? silentLog;

  const failAll = (key: string, digest: string, targets: Bucket[], error: unknown): ObjectReport => {
    const message = describe(error);
    log.error('replication failed', { key, error: message });
    return { key, digest, quarantined: false, targets: targets.map((t) => ({ bucket: t.bucket, region: t.region, outcome: { status: 'failed', error: message } })) };
  };

  async function sourceGone(key: string, digest: string, targets: Bucket[]): Promise<ObjectReport> {
    const reports = await Promise.all(
      targets.map(async (target): Promise<TargetReport> => {
        const where = { bucket: target.bucket, region: target.region };
        if (!propagateDeletes) return { ...where, outcome: { status: 'skipped', reason: 'source-missing' } };
        try {
          const present = await limit(() => headObject(target.client, target.bucket, key));
          if (!present) return { ...where, outcome: { status: 'skipped', reason: 'source-missing' } };
          if (!dryRun) await limit(() => deleteObject(target.client, target.bucket, key));
          log.info('deleted from target (source is gone)', { key, target: target.bucket, dryRun });
          return { ...where, outcome: { status: 'deleted', ...(dryRun ? { dryRun } : {}) } };
        } catch (error) {
          log.error('delete failed', { key, target: target.bucket, error: describe(error) });
          return { ...where, outcome: { status: 'failed', error: describe(error) } };
        }
      }),
    );
    if (!propagateDeletes) log.info('source is gone: nothing to copy', { key });
    return { key, digest, quarantined: false, targets: reports };
  }

  /** Tags a source whose content does not match its key; untagged, the quarantine is not finished. */
  async function quarantine(report: ObjectReport, check: DigestCheck, message: string): Promise<void> {
    report.quarantined = true;
    report.verification = check;
    const detail = { key: report.key, bucket: source.bucket, expected: check.expected, actual: check.actual, method: check.method, size: check.size, dryRun };
    log.error(message, detail);
    if (dryRun) return;
    try {
      await limit(() => addObjectTags(source.client, source.bucket, report.key, { [QUARANTINE_TAG.key]: QUARANTINE_TAG.value }));
    } catch (error) {
      // Fail these targets so that a retry tags it.
      log.error('could not tag the quarantined source', { key: report.key, error: describe(error) });
      for (const r of report.targets) if (r.outcome.status === 'quarantined') r.outcome = { status: 'failed', error: `quarantine tag: ${describe(error)}` };
    }
  }

  async function replicate(key: string, targets: Bucket[] = options.targets, hints: ReplicateHints = {}): Promise<ObjectReport> {
    const digest = digestFromBlobKey(blobPrefix, key);
    if (digest === undefined) {
      log.debug('not a blob key: ignored', { key });
      return { key, quarantined: false, targets: [] };
    }
    const { listed, absentFrom } = hints;
    const copyable =
      listed !== undefined &&
      !dryRun &&
      targets.length > 0 &&
      targets.every((t) => absentFrom?.has(t.bucket)) &&
      parseBlobDigest(digest)?.algorithm === 'sha256' &&
      listed.size <= Math.min(copy.multipartThresholdBytes, MAX_SINGLE_COPY_BYTES);
    return copyable ? copyAsListed(key, digest, targets, listed) : replicateVerified(key, digest, targets, hints);
  }

  /** Verify the source once (its HEAD's checksum, else its bytes), then copy to the targets that need it. */
  async function replicateVerified(key: string, digest: string, targets: Bucket[], hints: ReplicateHints): Promise<ObjectReport> {
    let info: ObjectInfo | undefined;
    try {
      info = await limit(() => headObject(source.client, source.bucket, key));
    } catch (error) {
      return failAll(key, digest, targets, error);
    }
    if (!info) return sourceGone(key, digest, targets);
    const sourceInfo = info;

    // Verified at most once per call, and only if some target needs a copy: duplicates cost a HEAD each.
    let verification: Promise<DigestCheck | undefined> | undefined;
    const verify = () => (verification ??= limit(() => verifyDigest(source.client, source.bucket, key, digest, sourceInfo)));
    let check: DigestCheck | undefined;

    const one = async (target: Bucket): Promise<TargetReport> => {
      const where = { bucket: target.bucket, region: target.region };
      try {
        const existing = hints.absentFrom?.has(target.bucket) ? undefined : await limit(() => headObject(target.client, target.bucket, key));
        if (existing && sameContent(sourceInfo, existing, digest)) {
          log.debug('target holds the blob: skipped', { key, target: target.bucket });
          return { ...where, outcome: { status: 'skipped', reason: 'same' } };
        }
        check = await verify();
        if (!check) return { ...where, outcome: { status: 'skipped', reason: 'source-missing' } };
        if (!check.ok) return { ...where, outcome: { status: 'quarantined' } };
        if (dryRun) {
          const method = sourceInfo.size > copy.multipartThresholdBytes ? 'multipart' : 'single';
          return { ...where, outcome: { status: 'copied', method, bytes: sourceInfo.size, dryRun } };
        }
        const result = await limit(() =>
          copyObject(
            target.client,
            { source: { bucket: source.bucket, key, info: sourceInfo }, target: { bucket: target.bucket, key }, extraMetadata: { [DIGEST_METADATA]: digest } },
            copy,
          ),
        );
        // S3 computed the copy's SHA-256: a source replaced between verification and copy shows here
        // (servers that ignore x-amz-copy-source-if-match). The bad copy must not stay behind our mark.
        const parsed = parseBlobDigest(digest)!;
        if (result.checksumSha256 && parsed.algorithm === 'sha256') {
          const copied = Buffer.from(result.checksumSha256, 'base64').toString('hex');
          if (copied !== parsed.hex) {
            await deleteObject(target.client, target.bucket, key).catch(() => undefined);
            throw new Error(`the copy hashes to sha256:${copied}, not ${digest}: the source changed during the copy`);
          }
        }
        log.info('copied', { key, target: target.bucket, region: target.region, method: result.method, parts: result.parts, bytes: result.bytes });
        return { ...where, outcome: { status: 'copied', method: result.method, bytes: result.bytes } };
      } catch (error) {
        // Deleted between our HEAD and the copy: the same as "gone", not a failure to retry.
        if (isNotFound(error)) {
          log.info('source vanished during the copy', { key, target: target.bucket });
          return { ...where, outcome: { status: 'skipped', reason: 'source-missing' } };
        }
        log.error('copy failed', { key, target: target.bucket, region: target.region, error: describe(error) });
        return { ...where, outcome: { status: 'failed', error: describe(error) } };
      }
    };

    const reports = await Promise.all(targets.map(one));
    const report: ObjectReport = { key, digest, targets: reports, quarantined: false, ...(check ? { verification: check } : {}) };
    if (check && !check.ok) await quarantine(report, check, 'digest mismatch: source quarantined, not copied');
    return report;
  }

  /**
   * The back-fill of targets that lack the key: one CopyObject each, pinned to the listed ETag, checked by
   * the SHA-256 S3 computed for the copy; no source HEAD, no download.
   *
   * A source whose bytes do not match its key is then present in a target from the end of its CopyObject
   * to the end of the DeleteObject that follows (one round trip, milliseconds), and never afterwards. That
   * is accepted, for these reasons:
   * - no client takes the bytes for the blob: every registry client verifies a blob against its digest,
   *   and the same bytes are what the primary bucket (CloudFront's origin) serves for that digest anyway;
   * - the edge's existence check (layers/routing/blob-check.ts) could see the copy only if a HEAD for that
   *   very digest from that very edge instance, with nothing cached, fell inside those milliseconds. It
   *   would then believe "there" for routing.verify.cacheSeconds (default an hour) and redirect clients of
   *   that instance to a key that now answers 404, where they would have gone through CloudFront. The
   *   blob's pulls fail in both cases until the source is repaired (the primary holds the bad bytes); after
   *   a repair the replicator copies the good bytes to the same key and the cached answer is right again.
   *   The only loss is an operator who deletes the bad blob to fall back on the upstream registry: for at
   *   most cacheSeconds, the clients of an instance that hit the window get a 404 instead. Rare (a
   *   corrupted source is already an alarm) times rare (a request in a window of milliseconds), bounded.
   * - the variant that never exposes the bytes (copy to a key outside the blob prefix, check, copy again
   *   to the real key, delete the first) costs three requests per blob and target instead of one, for
   *   every blob, to shield against a case that the quarantine alarm reports anyway.
   * Servers that return no checksum for a copy: the copy itself is verified (HEAD, else its bytes).
   */
  async function copyAsListed(key: string, digest: string, targets: Bucket[], listed: { size: number; etag: string }): Promise<ObjectReport> {
    const expected = parseBlobDigest(digest)!.hex;
    let check: DigestCheck | undefined;
    // Targets whose copy found the source replaced since the listing: the verified path reads it afresh.
    const replaced: Bucket[] = [];
    // Targets whose CopyObject failed, so that nothing was written there.
    const notWritten = new Set<string>();

    const one = async (target: Bucket): Promise<TargetReport | undefined> => {
      const where = { bucket: target.bucket, region: target.region };
      let copied: ListedCopyResult;
      try {
        copied = await limit(() => copyListedObject(target.client, { source: { bucket: source.bucket, key, etag: listed.etag }, target: { bucket: target.bucket, key } }));
      } catch (error) {
        if (isNotFound(error)) {
          log.info('source vanished since it was listed', { key, target: target.bucket });
          return { ...where, outcome: { status: 'skipped', reason: 'source-missing' } };
        }
        if (isPreconditionFailed(error)) {
          replaced.push(target);
          return undefined;
        }
        log.error('copy failed', { key, target: target.bucket, region: target.region, error: describe(error) });
        notWritten.add(target.bucket);
        return { ...where, outcome: { status: 'failed', error: describe(error) } };
      }
      let mismatch = false;
      try {
        const hex = sha256Hex(copied.checksumSha256);
        const verdict: DigestCheck | undefined =
          hex !== undefined
            ? { ok: hex === expected, expected: digest, actual: `sha256:${hex}`, method: 'copy', size: listed.size }
            : await limit(() => verifyDigest(target.client, target.bucket, key, digest));
        if (!verdict) throw new Error(`the copy in ${target.bucket} vanished before it was verified`);
        if (verdict.ok) {
          log.info('copied', { key, target: target.bucket, region: target.region, method: 'single', parts: 1, bytes: listed.size, verified: verdict.method });
          return { ...where, outcome: { status: 'copied', method: 'single', bytes: listed.size } };
        }
        check = verdict;
        mismatch = true;
      } catch (error) {
        log.error('could not verify the copy: deleting it', { key, target: target.bucket, error: describe(error) });
      }
      // A copy that does not match its digest, or could not be checked, must not stay. If-Match its own
      // ETag: whatever was written over it since (a verified copy) is left alone.
      try {
        await limit(() => deleteObject(target.client, target.bucket, key, copied.etag ? { etag: copied.etag } : {}));
      } catch (error) {
        if (!isPreconditionFailed(error) && !isNotFound(error)) {
          const message = `a copy that is not verified could not be deleted (${describe(error)}): delete s3://${target.bucket}/${key} by hand`;
          log.error('copy left unverified in the target', { key, target: target.bucket, error: message });
          return { ...where, outcome: { status: 'failed', error: message } };
        }
      }
      if (mismatch) return { ...where, outcome: { status: 'quarantined' } };
      return { ...where, outcome: { status: 'failed', error: 'the copy could not be verified, and was deleted' } };
    };

    const settled = await Promise.all(targets.map(one));
    // Still absent as far as anyone knows: the verified path copies without a target HEAD, as reconcile does.
    const again = replaced.length > 0 ? await replicateVerified(key, digest, replaced, { absentFrom: new Set(replaced.map((t) => t.bucket)) }) : undefined;
    const redone = new Map(again?.targets.map((r) => [r.bucket, r]));
    const reports = targets.map((t, i) => settled[i] ?? redone.get(t.bucket)!);
    const report: ObjectReport = { key, digest, targets: reports, quarantined: again?.quarantined ?? false, ...(again?.verification ? { verification: again.verification } : {}) };
    if (check && !check.ok) {
      // Another target's copy proved the source bad: where the copy failed, none is wanted anyway (the
      // verified path would not have tried), so these pairs are settled as quarantined, not to be retried.
      for (const r of reports) if (notWritten.has(r.bucket)) r.outcome = { status: 'quarantined' };
      await quarantine(report, check, 'digest mismatch: source quarantined, its copies deleted');
    }
    return report;
  }

  return { replicate };
}
