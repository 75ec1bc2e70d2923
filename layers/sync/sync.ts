/**
 * Bulk sync: walk a registry (catalog or named repositories -> tags -> manifests -> blobs) and store every
 * blob the target lacks, verified. One pipeline, three stages running at once:
 *   walk  (tag lists and manifests, `walkConcurrency` at a time; the client's rate limit applies)
 *   plan  (each distinct blob once: already in the target? skip : copy)
 *   copy  (`concurrency` blobs at a time, streamed from the registry through a DigestVerifier into the target)
 * Resuming is the plan stage: a blob in the target is skipped, and the target never holds a partial or
 * unverified blob (see BlobTarget.put), so a rerun after any interruption copies exactly what is missing.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RegistryClient } from '../registry/client';
import { isAbortError, RegistryError } from '../registry/errors';
import type { Descriptor } from '../registry/manifest';
import { sleep } from '../registry/rate-limit';
import { walkImage } from '../registry/walk';
import { TaskPool } from './pool';
import type { BlobTarget } from './target';
import { BlobMismatchError, DigestVerifier } from './verify';

export interface SyncOptions {
  client: RegistryClient;
  target: BlobTarget;
  /** Repositories to sync; undefined = every repository in the catalog. */
  repositories?: readonly string[];
  /** Walk and check, copy nothing. */
  dryRun?: boolean;
  /** Blob transfers in parallel (default 4). */
  concurrency?: number;
  /** Tag lists and manifests fetched in parallel (default 4). */
  walkConcurrency?: number;
  /** Tries per blob for transient failures (default 3). */
  attempts?: number;
  /** Stops the run: nothing new starts, transfers in flight are cancelled and cleaned up. */
  signal?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
  /** Delay before a blob's next try (default 1 s, 2 s, 4 s ...); tests pass 0. */
  retryDelayMs?: number;
}

/**
 * The summary line (the same keys as reconcile's). checked = copied + skipped + quarantined + failed
 * (+ missing in a dry run): distinct blobs, plus each repository, tag list or manifest that could not be
 * read (a hole in the walk that may hide blobs, so it counts as checked and failed).
 */
export interface SyncSummary {
  checked: number;
  copied: number;
  /** Already in the target. */
  skipped: number;
  /** Served with bytes that do not match their digest: refused, nothing stored. */
  quarantined: number;
  /** Blobs not copied because of an error, plus repositories, tag lists and manifests that could not be read. */
  failed: number;
}

export interface SyncResult {
  summary: SyncSummary;
  /** Dry run: distinct blobs the target lacks. */
  missing: number;
  /** Bytes stored in the target. */
  bytes: number;
  interrupted: boolean;
}

export type BlobOutcome = 'copied' | 'skipped' | 'missing' | 'quarantined' | 'failed';

export type SyncEvent =
  /** A distinct blob was found (the progress total grows). */
  | { type: 'blob-found'; digest: string; size: number; repository: string }
  /** Bytes streamed (negative when a failed try's bytes are taken back). */
  | { type: 'bytes'; count: number }
  | { type: 'blob'; outcome: BlobOutcome; digest: string; size: number; repository: string; message?: string }
  | { type: 'manifest'; repository: string; reference: string; digest: string; mediaType: string }
  /** Something that could not be walked; counted in `failed`. */
  | { type: 'problem'; repository?: string; reference?: string; message: string }
  /** Worth telling the operator, not a failure. */
  | { type: 'warning'; message: string };

export async function runSync(options: SyncOptions): Promise<SyncResult> {
  const { client, target, signal } = options;
  const emit = options.onEvent ?? (() => {});
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const summary: SyncSummary = { checked: 0, copied: 0, skipped: 0, quarantined: 0, failed: 0 };
  let missing = 0;
  let bytes = 0;
  const seenManifests = new Set<string>();
  const seenBlobs = new Set<string>();

  const bug = (error: unknown) => {
    summary.checked++;
    summary.failed++;
    emit({ type: 'problem', message: `internal error: ${(error as Error).stack ?? String(error)}` });
  };
  const walk = new TaskPool(options.walkConcurrency ?? 4, bug);
  const copy = new TaskPool(options.concurrency ?? 4, bug);
  const stopped = () => signal?.aborted === true;
  const onAbort = () => {
    walk.clear();
    copy.clear();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const problem = (message: string, repository?: string, reference?: string) => {
    summary.checked++;
    summary.failed++;
    emit({ type: 'problem', message, ...(repository ? { repository } : {}), ...(reference ? { reference } : {}) });
  };

  const copyBlob = async (repository: string, descriptor: Descriptor) => {
    const { digest, size } = descriptor;
    const done = (outcome: BlobOutcome, message?: string) => {
      summary.checked++;
      if (outcome === 'missing') missing++;
      else summary[outcome]++;
      emit({ type: 'blob', outcome, digest, size, repository, ...(message ? { message } : {}) });
    };
    if (stopped()) return;
    let existing: { size: number } | undefined;
    try {
      existing = await target.stat(digest);
    } catch (error) {
      return done('failed', `${target.describe(digest)}: cannot tell whether it exists: ${(error as Error).message}`);
    }
    if (existing) {
      // The key names the content, and nothing unverified is ever stored there: a size that disagrees
      // means the manifest lies (or someone wrote the key by hand). Leave it for an operator to look at.
      if (existing.size !== size) return done('failed', `${target.describe(digest)} exists with ${existing.size} bytes, the descriptor in ${repository} says ${size}`);
      return done('skipped');
    }
    if (options.dryRun) return done('missing');

    for (let attempt = 1; ; attempt++) {
      let streamed = 0;
      let body: Readable | undefined;
      try {
        const blob = await client.blob(repository, digest, signal);
        body = blob.body;
        if (blob.size !== undefined && blob.size !== size) {
          throw new BlobMismatchError(digest, `the registry announces ${blob.size} bytes, the descriptor ${size}`);
        }
        const verifier = new DigestVerifier(digest, size, (count) => {
          streamed += count;
          emit({ type: 'bytes', count });
        });
        // Errors of either side reach the target through the verifier; the target's own answer is the one
        // that counts, so this promise is only kept from being unhandled.
        pipeline(blob.body, verifier).catch(() => {});
        await target.put(digest, size, verifier);
        bytes += size;
        return done('copied');
      } catch (error) {
        body?.destroy(); // the target may have stopped reading: let go of the connection
        if (streamed) emit({ type: 'bytes', count: -streamed });
        if (stopped() || (isAbortError(error) && signal?.aborted)) return; // interrupted: neither copied nor failed
        if (error instanceof BlobMismatchError) return done('quarantined', `${repository}: ${error.message}`);
        const permanent = error instanceof RegistryError && (error.code === 'INVALID_REFERENCE' || (error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429));
        if (permanent || attempt >= attempts) return done('failed', `${repository}@${digest}: ${(error as Error).message}`);
        try {
          await sleep(retryDelayMs * 2 ** (attempt - 1), signal);
        } catch {
          return;
        }
      }
    }
  };

  const walkTag = async (repository: string, tag: string) => {
    if (stopped()) return;
    try {
      for await (const item of walkImage(client, repository, tag, { seen: seenManifests, signal })) {
        if (item.kind === 'manifest') {
          emit({ type: 'manifest', repository: item.repository, reference: item.reference, digest: item.digest, mediaType: item.mediaType });
        } else if (item.kind === 'error') {
          problem(item.error.message, item.repository, item.reference);
        } else if (!seenBlobs.has(item.descriptor.digest)) {
          seenBlobs.add(item.descriptor.digest);
          emit({ type: 'blob-found', digest: item.descriptor.digest, size: item.descriptor.size, repository });
          const descriptor = item.descriptor;
          copy.add(() => copyBlob(repository, descriptor));
        }
      }
    } catch (error) {
      if (!stopped()) problem((error as Error).message, repository, tag);
    }
  };

  const walkRepository = async (repository: string, named: boolean) => {
    if (stopped()) return;
    let tags = 0;
    try {
      for await (const tag of client.tags(repository, { signal })) {
        tags++;
        walk.add(() => walkTag(repository, tag));
      }
      if (tags === 0) emit({ type: 'warning', message: `${repository}: no tags` });
    } catch (error) {
      if (stopped()) return;
      // A catalog may list a repository whose tags are all deleted; Distribution then answers 404 here.
      if (!named && error instanceof RegistryError && error.status === 404) {
        emit({ type: 'warning', message: `${repository}: listed in the catalog but has no tags (404)` });
        return;
      }
      problem((error as Error).message, repository);
    }
  };

  try {
    await client.ping(signal);
    if (options.repositories) {
      for (const repository of options.repositories) walk.add(() => walkRepository(repository, true));
    } else {
      walk.add(async () => {
        try {
          for await (const repository of client.catalog({ signal })) walk.add(() => walkRepository(repository, false));
        } catch (error) {
          if (!stopped()) problem(`the catalog: ${(error as Error).message}`);
        }
      });
    }
    await walk.idle();
    await copy.idle();
  } catch (error) {
    if (!stopped()) problem((error as Error).message);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Whatever happened above, no transfer may still be running when we report.
    await walk.idle();
    await copy.idle();
  }
  return { summary, missing, bytes, interrupted: stopped() };
}
