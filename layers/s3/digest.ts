/**
 * Content addressing: a blob's key names its content ("<prefix>sha256:<hex>"), so the key is the checksum
 * to verify against. S3's own full-object SHA-256 (validated by S3 when the object was written) answers
 * for free; otherwise the bytes are streamed and hashed.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isBlobDigest } from '../oci/paths';
import { headObject, isMultipartEtag, isNotFound, type ObjectInfo } from './objects';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** "sha256:<64 hex>" or "sha512:<128 hex>", lower case; anything else is not a blob digest we store. */
export function parseBlobDigest(digest: string): ParsedDigest | undefined {
  if (!isBlobDigest(digest)) return undefined;
  const [algorithm, hex] = digest.split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

/** The digest a blob key names, or undefined for keys that are not blobs (other prefixes, odd names). */
export function digestFromBlobKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  return isBlobDigest(rest) ? rest : undefined;
}

export function blobKey(prefix: string, digest: string): string {
  return `${prefix}${digest}`;
}

/**
 * The object's SHA-256 as lower-case hex, when S3 holds one for the whole object. A multipart object's
 * SHA-256 is a checksum of part checksums ("COMPOSITE", or "…-N"), which says nothing about the digest;
 * S3 offers full-object checksums for multipart uploads only with CRC algorithms.
 */
export function fullObjectSha256(info: Pick<ObjectInfo, 'checksumSha256' | 'checksumType' | 'etag'>): string | undefined {
  const value = info.checksumSha256;
  if (!value || /-\d+$/.test(value) || info.checksumType === 'COMPOSITE') return undefined;
  // Some S3 servers omit the checksum type; a multipart ETag then tells a composite value apart.
  if (info.checksumType !== 'FULL_OBJECT' && isMultipartEtag(info.etag)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

/** Hashes a stream to its end. */
export async function hashStream(stream: AsyncIterable<Uint8Array>, algorithm: DigestAlgorithm): Promise<{ hex: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest('hex'), size };
}

/**
 * Streams the object and hashes it. With `etag`, only that version is read (If-Match): an object replaced
 * meanwhile fails with PreconditionFailed instead of being hashed in its new form.
 * Undefined when the object does not exist.
 */
export async function hashObject(
  client: S3Client,
  bucket: string,
  key: string,
  algorithm: DigestAlgorithm,
  options: { etag?: string } = {},
): Promise<{ hex: string; size: number } | undefined> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(options.etag ? { IfMatch: `"${options.etag}"` } : {}) }));
    return await hashStream(response.Body as Readable, algorithm);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export interface DigestCheck {
  ok: boolean;
  /** The digest the key names. */
  expected: string;
  /** What the content hashes to ("sha256:<hex>"). */
  actual: string;
  /** S3's full-object checksum, the bytes streamed through this process, or the SHA-256 S3 computed for
   * a copy of the object (reconcile's back-fill verifies the copy instead of the source). */
  method: 'checksum' | 'stream' | 'copy';
  size: number;
}

/**
 * Whether the object's content has `digest`. Uses `info` (a HEAD with checksum mode) when given, else
 * makes one. Undefined when the object does not exist. A streamed size that differs from the HEAD's is a
 * changed object, reported as an error rather than a verdict.
 */
export async function verifyDigest(client: S3Client, bucket: string, key: string, digest: string, info?: ObjectInfo): Promise<DigestCheck | undefined> {
  const parsed = parseBlobDigest(digest);
  if (!parsed) throw new Error(`"${digest}" is not a sha256 or sha512 blob digest`);
  const head = info ?? (await headObject(client, bucket, key));
  if (!head) return undefined;
  if (parsed.algorithm === 'sha256') {
    const fromChecksum = fullObjectSha256(head);
    if (fromChecksum !== undefined) {
      return { ok: fromChecksum === parsed.hex, expected: digest, actual: `sha256:${fromChecksum}`, method: 'checksum', size: head.size };
    }
  }
  const hashed = await hashObject(client, bucket, key, parsed.algorithm, { etag: head.etag });
  if (!hashed) return undefined;
  if (hashed.size !== head.size) throw new Error(`s3://${bucket}/${key} changed while it was read (${hashed.size} bytes, expected ${head.size})`);
  return { ok: hashed.hex === parsed.hex, expected: digest, actual: `${parsed.algorithm}:${hashed.hex}`, method: 'stream', size: hashed.size };
}
