/**
 * Puts blobs where the edge expects them: the primary bucket at `<blobPrefix><digest>`, then a copy in
 * every regional bucket, as replication does on AWS.
 *
 * One small function on purpose: when the replication code (layers/replication) and the registry sync
 * (layers/sync) are in, this becomes "sync the demo image into the primary bucket, then replicate".
 */
import { readFileSync } from 'node:fs';
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../layers/config/schema';

export interface LocalBlob {
  digest: string;
  size: number;
  /** The blob's bytes on disk. */
  path: string;
}

export interface PopulateResult {
  uploaded: number;
  copies: number;
}

export async function populateBuckets(s3: S3Client, config: ResolvedConfig, blobs: readonly LocalBlob[]): Promise<PopulateResult> {
  const prefix = config.edge.blobPrefix;
  await Promise.all(
    blobs.map(async (blob) => {
      const body = readFileSync(blob.path);
      if (body.length !== blob.size) throw new Error(`${blob.path} is ${body.length} bytes, ${blob.digest} says ${blob.size}`);
      const [algorithm, hex] = blob.digest.split(':');
      await s3.send(
        new PutObjectCommand({
          Bucket: config.primaryBucket,
          Key: `${prefix}${blob.digest}`,
          Body: body,
          ContentType: 'application/octet-stream',
          // S3 checks the bytes against this on arrival and keeps it, so anyone can verify without reading.
          ...(algorithm === 'sha256' ? { ChecksumSHA256: Buffer.from(hex!, 'hex').toString('base64') } : {}),
        }),
      );
    }),
  );
  const copies = config.replicaBuckets.flatMap((replica) => blobs.map((blob) => ({ replica, key: `${prefix}${blob.digest}` })));
  await Promise.all(
    copies.map(({ replica, key }) =>
      s3.send(new CopyObjectCommand({ Bucket: replica.name, Key: key, CopySource: `${config.primaryBucket}/${encodeURIComponent(key)}` })),
    ),
  );
  return { uploaded: blobs.length, copies: copies.length };
}
