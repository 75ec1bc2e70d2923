/**
 * The replication settings of a stage, from its resolved configuration: which bucket is the source, which
 * are the targets (with a client for each bucket's region), how copies are made.
 */
import type { ResolvedConfig } from '../config/schema';
import { clientOptionsForTemplate, clientsByRegion, createS3Client, type S3Client } from '../s3/client';
import type { CopySettings } from '../s3/copy';
import type { Bucket } from './replicate';

export interface ReplicationSetup {
  source: Bucket;
  targets: Bucket[];
  blobPrefix: string;
  copy: CopySettings;
  concurrency: number;
  propagateDeletes: boolean;
}

/**
 * `clientFor` defaults to clients for the stage's `buckets.apiEndpoint` (AWS's regional endpoints, or the
 * local stack's S3 server), one per region.
 */
export function replicationSetup(config: ResolvedConfig, clientFor?: (region: string) => S3Client): ReplicationSetup {
  const { buckets } = config.stage;
  const { replication } = config.stage;
  const client = clientFor ?? clientsByRegion((region) => createS3Client(clientOptionsForTemplate(buckets.apiEndpoint, region)));
  return {
    source: { bucket: config.primaryBucket, region: buckets.primaryRegion, client: client(buckets.primaryRegion) },
    targets: config.replicaBuckets.map(({ region, name }) => ({ bucket: name, region, client: client(region) })),
    blobPrefix: buckets.blobPrefix,
    copy: {
      multipartThresholdBytes: replication.multipartThresholdBytes,
      partSizeBytes: replication.partSizeBytes,
      partConcurrency: replication.partConcurrency,
    },
    concurrency: replication.concurrency,
    propagateDeletes: replication.propagateDeletes,
  };
}
