/**
 * Blob sizes from a listing of the primary bucket (S3's paginated ListObjectsV2, through layers/s3), into
 * the compact catalogue (./sizes.ts): a bucket of millions of blobs costs its listing requests and 16
 * bytes a blob. Its own paging rather than layers/s3's listObjects, because the sizes want each object's
 * LastModified too (how fast the catalogue grows, for plan-regions).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { digestOfKey, SizesBuilder } from './sizes';

export interface ListSizesOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of the blobs ("containers/images/"). */
  prefix: string;
  into?: SizesBuilder;
  pageSize?: number;
}

export async function listBlobSizes(options: ListSizesOptions): Promise<{ sizes: SizesBuilder; listed: number }> {
  const sizes = options.into ?? new SizesBuilder();
  let listed = 0;
  try {
    let token: string | undefined;
    do {
      const page = await options.client.send(
        new ListObjectsV2Command({ Bucket: options.bucket, Prefix: options.prefix, ...(options.pageSize ? { MaxKeys: options.pageSize } : {}), ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const object of page.Contents ?? []) {
        listed++;
        const digest = object.Key === undefined ? undefined : digestOfKey(object.Key);
        if (digest) sizes.add(digest, object.Size ?? 0, object.LastModified?.toISOString());
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    throw new Error(`cannot list s3://${options.bucket}/${options.prefix}: ${e.name}: ${e.message}${status}`);
  }
  return { sizes, listed };
}
