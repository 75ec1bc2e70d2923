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
 */
import { type CopySettings, copyObject } from '../s3/copy';
import { type DigestCheck, digestFromBlobKey, fullObjectSha256, parseBlobDigest, verifyDigest } from '../s3/digest';
import type { Limiter } from '../s3/limit';
import { createLimiter } from '../s3/limit';
import { addObjectTags, deleteObject, headObject, isNotFound, type ObjectInfo } from '../s3/objects';
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

  async function replicate(key: string, targets: Bucket[] = options.targets, hints: ReplicateHints = {}): Promise<ObjectReport> {
    const digest = digestFromBlobKey(blobPrefix, key);
    if (digest === undefined) {
      log.debug('not a blob key: ignored', { key });
      return { key, quarantined: false, targets: [] };
    }
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
    if (check && !check.ok) {
      report.quarantined = true;
      const detail = { key, bucket: source.bucket, expected: check.expected, actual: check.actual, method: check.method, size: check.size, dryRun };
      log.error('digest mismatch: source quarantined, not copied', detail);
      if (!dryRun) {
        try {
          await limit(() => addObjectTags(source.client, source.bucket, key, { [QUARANTINE_TAG.key]: QUARANTINE_TAG.value }));
        } catch (error) {
          // Untagged, the quarantine is not finished: fail these targets so that a retry tags it.
          log.error('could not tag the quarantined source', { key, error: describe(error) });
          for (const r of reports) if (r.outcome.status === 'quarantined') r.outcome = { status: 'failed', error: `quarantine tag: ${describe(error)}` };
        }
      }
    }
    return report;
  }

  return { replicate };
}
