/**
 * Where range tables are published: the private config bucket. Tables go under content-addressed keys
 * (rewriting one rewrites the same bytes); the pointer is swung with a conditional write (If-Match on the
 * ETag that was read, If-None-Match: * for the first one), so of two concurrent updates exactly one wins
 * and the other sees the winner before deciding again. Requires S3's conditional writes (August 2024).
 *
 * The AWS-facing half of the updater: the only module here that speaks the S3 API.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, isPreconditionFailed } from '../s3/objects';
import { MAX_POINTER_BYTES, parsePointer, type RangePointer } from './pointer';

export type PointerRead =
  | { pointer: RangePointer; etag: string; problem?: undefined }
  /** No pointer yet; or one this code cannot read (`problem` says why), which a publication replaces. */
  | { pointer: null; etag: string | null; problem?: string };

export interface RangeStore {
  /** "s3://bucket/ranges/current.json", for messages. */
  readonly location: string;
  readonly pointerKey: string;
  readPointer(): Promise<PointerRead>;
  /** Stores a table under its key; `sha256` (hex) lets S3 check what it received. */
  putTable(key: string, bytes: Uint8Array, sha256: string): Promise<void>;
  /** Replaces the pointer if it is still the one with `expectedEtag` (null: if there is none). */
  swapPointer(pointer: RangePointer, expectedEtag: string | null): Promise<'swapped' | 'conflict'>;
  /** A table's bytes, or null when there is no such object. */
  readTable(key: string): Promise<Uint8Array | null>;
}

/** Another conditional write to the same key was in flight (S3 answers 409 to one of them). */
function isConflict(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 409;
}

export function s3RangeStore(client: S3Client, bucket: string, pointerKey: string): RangeStore {
  return {
    location: `s3://${bucket}/${pointerKey}`,
    pointerKey,

    async readPointer() {
      let text: string;
      let etag: string;
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: pointerKey }));
        etag = object.ETag ?? '';
        if ((object.ContentLength ?? 0) > MAX_POINTER_BYTES) {
          await object.Body?.transformToByteArray();
          return { pointer: null, etag, problem: `the pointer is ${object.ContentLength} bytes` };
        }
        text = (await object.Body?.transformToString('utf8')) ?? '';
      } catch (error) {
        if (isNotFound(error)) return { pointer: null, etag: null };
        throw error;
      }
      const pointer = parsePointer(text);
      return typeof pointer === 'string' ? { pointer: null, etag, problem: pointer } : { pointer, etag };
    },

    async putTable(key, bytes, sha256) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: 'application/octet-stream',
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
        }),
      );
    },

    async swapPointer(pointer, expectedEtag) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: pointerKey,
            Body: `${JSON.stringify(pointer, null, 2)}\n`,
            ContentType: 'application/json',
            // Readers must not be served an old pointer by a cache in between.
            CacheControl: 'no-cache',
            ...(expectedEtag === null ? { IfNoneMatch: '*' } : { IfMatch: expectedEtag }),
          }),
        );
        return 'swapped';
      } catch (error) {
        if (isPreconditionFailed(error) || isConflict(error)) return 'conflict';
        // If-Match on an object deleted meanwhile answers 404.
        if (expectedEtag !== null && isNotFound(error)) return 'conflict';
        throw error;
      }
    },

    async readTable(key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
  };
}
