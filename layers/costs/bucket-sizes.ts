/**
 * Blob sizes from a listing of the primary bucket (S3's paginated ListObjectsV2, through layers/s3).
 * Only the digests the report asks about are kept, so a bucket of millions of blobs costs its listing
 * requests but not the memory to hold them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../s3/objects';
import { digestOfKey, type Sizes } from './sizes';

export interface ListSizesOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of the blobs ("containers/images/"). */
  prefix: string;
  /** Keep only these digests (all when absent). */
  wanted?: ReadonlySet<string>;
  into?: Sizes;
  pageSize?: number;
}

export async function listBlobSizes(options: ListSizesOptions): Promise<{ sizes: Sizes; listed: number }> {
  const sizes = options.into ?? new Map<string, number>();
  let listed = 0;
  try {
    for await (const object of listObjects(options.client, options.bucket, options.prefix, options.pageSize)) {
      listed++;
      const digest = digestOfKey(object.key);
      if (digest && (!options.wanted || options.wanted.has(digest))) sizes.set(digest, object.size);
    }
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    throw new Error(`cannot list s3://${options.bucket}/${options.prefix}: ${e.name}: ${e.message}${status}`);
  }
  return { sizes, listed };
}
