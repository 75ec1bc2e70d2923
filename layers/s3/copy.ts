/**
 * Server-side copies: the bytes move inside S3, never through this process. CopyObject up to the
 * threshold (S3 allows 5 GiB), above it a multipart upload whose parts are UploadPartCopy ranges, copied
 * in parallel. Content type, the other content headers and user metadata are kept; tags are not (they are
 * the source bucket's bookkeeping, e.g. a quarantine mark, and reading them needs another permission).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mapLimit } from './limit';
import { type ObjectInfo, unquoteEtag } from './objects';

/** S3's limits: parts of 5 MiB to 5 GiB, at most 10,000 of them, single copies up to 5 GiB. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

export interface CopySettings {
  /** Objects larger than this are copied in parts. */
  multipartThresholdBytes: number;
  partSizeBytes: number;
  partConcurrency: number;
}

export interface CopyRequest {
  source: { bucket: string; key: string; info: ObjectInfo };
  target: { bucket: string; key: string };
  /** User metadata added to the source's (the copy's own bookkeeping). */
  extraMetadata?: Record<string, string>;
}

export interface CopyResult {
  method: 'single' | 'multipart';
  parts: number;
  bytes: number;
  etag: string;
  /** base64 SHA-256 S3 computed for the new object (single copies only). */
  checksumSha256?: string;
}

/** "bucket/key" with the key's segments URL-encoded, as x-amz-copy-source wants it. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Part size for `size` bytes: the configured one, grown if it would take more than 10,000 parts. */
export function partSizeFor(size: number, configured: number): number {
  const mib = 1024 * 1024;
  const needed = Math.ceil(size / MAX_PARTS / mib) * mib;
  return Math.max(configured, needed, MIN_PART_BYTES);
}

function contentHeaders(info: ObjectInfo) {
  return {
    ...(info.contentType ? { ContentType: info.contentType } : {}),
    ...(info.cacheControl ? { CacheControl: info.cacheControl } : {}),
    ...(info.contentDisposition ? { ContentDisposition: info.contentDisposition } : {}),
    ...(info.contentEncoding ? { ContentEncoding: info.contentEncoding } : {}),
    ...(info.contentLanguage ? { ContentLanguage: info.contentLanguage } : {}),
  };
}

/**
 * Copies source to target with the client of the target's region. The source is pinned to the ETag of
 * `info` (x-amz-copy-source-if-match): if it was replaced since, the copy fails instead of copying bytes
 * that nobody verified.
 */
export async function copyObject(client: S3Client, request: CopyRequest, settings: CopySettings): Promise<CopyResult> {
  const { source, target } = request;
  const { info } = source;
  const metadata = { ...info.metadata, ...request.extraMetadata };
  const threshold = Math.min(settings.multipartThresholdBytes, MAX_SINGLE_COPY_BYTES);
  if (info.size <= threshold) {
    const response = await client.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource(source.bucket, source.key),
        CopySourceIfMatch: `"${info.etag}"`,
        // REPLACE, to add our metadata; the source's content headers are carried over by hand.
        MetadataDirective: 'REPLACE',
        ...contentHeaders(info),
        Metadata: metadata,
        TaggingDirective: 'REPLACE',
        // S3 computes the new object's SHA-256 and returns it: the copy is checked, still without the bytes.
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    return {
      method: 'single',
      parts: 1,
      bytes: info.size,
      etag: unquoteEtag(response.CopyObjectResult?.ETag),
      ...(response.CopyObjectResult?.ChecksumSHA256 ? { checksumSha256: response.CopyObjectResult.ChecksumSHA256 } : {}),
    };
  }
  return copyMultipart(client, request, settings, metadata);
}

async function copyMultipart(client: S3Client, request: CopyRequest, settings: CopySettings, metadata: Record<string, string>): Promise<CopyResult> {
  const { source, target } = request;
  const { info } = source;
  const partSize = partSizeFor(info.size, settings.partSizeBytes);
  const count = Math.ceil(info.size / partSize);
  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...contentHeaders(info), Metadata: metadata }),
  );
  const uploadId = created.UploadId!;
  try {
    const parts = await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      settings.partConcurrency,
      async (i) => {
        const start = i * partSize;
        const end = Math.min(info.size, start + partSize) - 1;
        const response = await client.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: copySource(source.bucket, source.key),
            CopySourceIfMatch: `"${info.etag}"`,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        return { PartNumber: i + 1, ETag: response.CopyPartResult?.ETag };
      },
    );
    const done = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
    return { method: 'multipart', parts: count, bytes: info.size, etag: unquoteEtag(done.ETag) };
  } catch (error) {
    // Parts already copied are stored (and billed) until aborted. If this abort fails too, the bucket's
    // AbortIncompleteMultipartUpload lifecycle rule collects them.
    await client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

export interface ListedCopyRequest {
  /** The source as a listing showed it: its ETag pins that version (x-amz-copy-source-if-match). */
  source: { bucket: string; key: string; etag: string };
  target: { bucket: string; key: string };
}

export interface ListedCopyResult {
  /** Without quotes: what a conditional delete of this very copy names. */
  etag: string;
  /** base64 SHA-256 S3 computed over the bytes it wrote; undefined from servers that compute none. */
  checksumSha256?: string;
}

/**
 * One CopyObject from what a listing knows (key and ETag), with no HEAD before it: metadata and content
 * headers are copied as they are (MetadataDirective COPY, so nothing is added to them), tags are not, and
 * S3 returns the SHA-256 of the object it wrote, which is the caller's proof of the bytes. For objects up
 * to MAX_SINGLE_COPY_BYTES (larger ones need parts, whose checksum is composite, not the object's).
 */
export async function copyListedObject(client: S3Client, request: ListedCopyRequest): Promise<ListedCopyResult> {
  const response = await client.send(
    new CopyObjectCommand({
      Bucket: request.target.bucket,
      Key: request.target.key,
      CopySource: copySource(request.source.bucket, request.source.key),
      CopySourceIfMatch: `"${request.source.etag}"`,
      MetadataDirective: 'COPY',
      TaggingDirective: 'REPLACE',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const checksum = response.CopyObjectResult?.ChecksumSHA256;
  return { etag: unquoteEtag(response.CopyObjectResult?.ETag), ...(checksum ? { checksumSha256: checksum } : {}) };
}
