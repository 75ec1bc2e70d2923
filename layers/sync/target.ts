/**
 * Where sync puts blobs. The S3 implementation is in s3-target.ts; tests can use any other.
 */
import type { Readable } from 'node:stream';

export interface BlobTarget {
  /** Human-readable location of a blob, for messages (e.g. s3://bucket/containers/images/sha256:...). */
  describe(digest: string): string;
  /** The stored blob's size, or undefined when it is not there. Errors (e.g. access denied) throw. */
  stat(digest: string): Promise<{ size: number } | undefined>;
  /**
   * Stores `body` as the blob `digest` of `size` bytes. Contract: the blob must not become visible under
   * its key unless `body` ends successfully; when `body` errors (digest mismatch, interruption), nothing
   * may remain (no object, no multipart upload), and put rejects with that error once cleanup is done.
   */
  put(digest: string, size: number, body: Readable): Promise<void>;
}
