/**
 * Puts the upstream registry's blobs where the edge expects them, with the code production uses for it:
 * `sync` (layers/sync: walk the registry, stream every blob into the primary bucket, verified against its
 * digest), then `reconcile` (layers/replication: copy what the regional buckets lack, server-side, with the
 * replicator's checks). So the local stack also exercises both on every start.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../layers/config/schema';
import { RegistryClient } from '../layers/registry/client';
import { reconcile } from '../layers/replication/reconcile';
import { replicationSetup } from '../layers/replication/setup';
import { createS3BlobTarget } from '../layers/sync/s3-target';
import { runSync, type SyncEvent } from '../layers/sync/sync';

export interface PopulateResult {
  /** Blobs stored in the primary bucket (or found there already). */
  blobs: number;
  /** Copies made into regional buckets. */
  copies: number;
}

export async function populateBuckets(options: { s3: S3Client; config: ResolvedConfig; registryUrl: string; repositories: string[] }): Promise<PopulateResult> {
  const { s3, config } = options;
  const problems: string[] = [];
  const onEvent = (event: SyncEvent) => {
    if (event.type === 'problem') problems.push(event.message);
    if (event.type === 'blob' && (event.outcome === 'failed' || event.outcome === 'quarantined')) problems.push(`${event.digest}: ${event.outcome} ${event.message ?? ''}`);
  };
  const synced = await runSync({
    client: new RegistryClient({ url: options.registryUrl, retries: 1 }),
    target: createS3BlobTarget({ client: s3, bucket: config.primaryBucket, prefix: config.edge.blobPrefix }),
    repositories: options.repositories,
    retryDelayMs: 100,
    onEvent,
  });
  if (synced.summary.failed + synced.summary.quarantined > 0) throw new Error(`sync into ${config.primaryBucket} failed: ${problems.join('; ')}`);

  const setup = replicationSetup(config, () => s3);
  const replicated = await reconcile({ source: setup.source, targets: setup.targets, blobPrefix: setup.blobPrefix, copy: setup.copy, concurrency: setup.concurrency });
  if (replicated.failed + replicated.quarantined > 0) throw new Error(`replication to ${setup.targets.map((t) => t.bucket).join(', ')}: ${replicated.failed} failed, ${replicated.quarantined} quarantined`);
  return { blobs: synced.summary.copied + synced.summary.skipped, copies: replicated.copied };
}
