/**
 * Hashing a blob as it streams. The verifier passes bytes through while hashing them, refuses a single
 * byte beyond the expected size, and at the end fails unless size and digest match. Because the failure
 * comes before the stream ends, an uploader that completes only at end-of-stream can never store a blob
 * whose bytes do not match its name.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** The bytes a registry served for a digest are not that digest's content. */
export class BlobMismatchError extends Error {
  constructor(
    readonly digest: string,
    readonly reason: string,
  ) {
    super(`${digest}: ${reason}`);
    this.name = 'BlobMismatchError';
  }
}

export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: string;
  private received = 0;

  constructor(
    readonly digest: string,
    readonly size: number,
    private readonly onBytes?: (count: number) => void,
  ) {
    super();
    this.algorithm = digest.slice(0, digest.indexOf(':'));
    if (this.algorithm !== 'sha256' && this.algorithm !== 'sha512') throw new RangeError(`cannot verify ${digest}: unsupported algorithm`);
    this.hash = createHash(this.algorithm);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.received;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.received + chunk.byteLength > this.size) {
      callback(new BlobMismatchError(this.digest, `more than the ${this.size} bytes its descriptor announces`));
      return;
    }
    this.received += chunk.byteLength;
    this.hash.update(chunk);
    this.onBytes?.(chunk.byteLength);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.digest || this.received !== this.size) {
      callback(new BlobMismatchError(this.digest, `the registry served ${this.received} bytes hashing to ${actual} (expected ${this.size} bytes)`));
      return;
    }
    callback();
  }
}
