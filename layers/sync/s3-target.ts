/**
 * The primary bucket as a sync target (AWS-facing: SDK v3 and @aws-sdk/lib-storage).
 *
 * Why this is safe with unverified input: lib-storage sends a body that fits one part as a single
 * PutObject, and a larger one as a multipart upload it completes, in both cases only after the body
 * stream has *ended*. The body we give it is a DigestVerifier, which errors instead of ending when the
 * bytes do not match the digest; lib-storage then aborts the multipart upload (and awaits the abort)
 * before rejecting. So a mismatched blob never exists under containers/images/, not even briefly, and
 * an interrupted one leaves no multipart upload behind. No staging key, and no server-side copy (which
 * would need UploadPartCopy above 5 GB).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { headObject } from '../s3/objects';
import type { BlobTarget } from './target';

export interface S3BlobTargetOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of blobs (default containers/images/, as the image promoter writes them). */
  prefix?: string;
  /** Multipart part size (at least 5 MiB, S3's minimum; default 8 MiB, grown to stay within 10,000 parts). */
  partSize?: number;
  /** Parts in flight per blob (default 2): memory is about concurrency x (queueSize + 1) x partSize. */
  queueSize?: number;
}

const MIB = 1024 * 1024;

export function createS3BlobTarget(options: S3BlobTargetOptions): BlobTarget & { key(digest: string): string } {
  const prefix = options.prefix ?? 'containers/images/';
  const key = (digest: string) => `${prefix}${digest}`;
  return {
    key,
    describe: (digest) => `s3://${options.bucket}/${key(digest)}`,

    async stat(digest) {
      const info = await headObject(options.client, options.bucket, key(digest));
      return info ? { size: info.size } : undefined;
    },

    async put(digest, size, body: Readable) {
      const partSize = Math.max(options.partSize ?? 8 * MIB, 5 * MIB, Math.ceil(size / 10_000));
      // A blob that fits one part goes up as one PutObject: send its SHA-256 along, so that S3 checks the
      // bytes it receives and keeps a full-object checksum, which replication then verifies for free.
      // (Not for multipart uploads: lib-storage would send the value with every part.)
      const [algorithm, hex] = digest.split(':') as [string, string];
      const checksum = size <= partSize && algorithm === 'sha256' ? { ChecksumAlgorithm: 'SHA256' as const, ChecksumSHA256: Buffer.from(hex, 'hex').toString('base64') } : {};
      const upload = new Upload({
        client: options.client,
        params: { Bucket: options.bucket, Key: key(digest), Body: body, ContentLength: size, ContentType: 'application/octet-stream', ...checksum },
        partSize,
        queueSize: options.queueSize ?? 2,
        leavePartsOnError: false,
      });
      await upload.done();
    },
  };
}
