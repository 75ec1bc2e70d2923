/**
 * Where range tables are published: the private config bucket. Tables go under content-addressed keys
 * (rewriting one rewrites the same bytes); the pointer is swung with a conditional write (If-Match on the
 * ETag that was read, If-None-Match: * for the first one), so of two concurrent updates exactly one wins
 * and the other sees the winner before deciding again. Requires S3's conditional writes (August 2024).
 *
 * Tables are stored gzip-compressed with `Content-Encoding: gzip` (about 81 KB instead of 770 KB): the edge's
 * fetch inflates them on the way in, and the pointer's SHA-256 is that of the table itself.
 *
 * The AWS-facing half of the updater: the only module here that speaks the S3 API.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, isPreconditionFailed } from '../s3/objects';
import { MAX_POINTER_BYTES, MAX_TABLE_BYTES, parsePointer, type RangePointer } from './pointer';

export type PointerRead =
  | { pointer: RangePointer; etag: string; problem?: undefined }
  /** No pointer yet; or one this code cannot read (`problem` says why), which a publication replaces. */
  | { pointer: null; etag: string | null; problem?: string };

export interface RangeStore {
  /** "s3://bucket/ranges/current.json", for messages. */
  readonly location: string;
  readonly pointerKey: string;
  readPointer(): Promise<PointerRead>;
  /** Stores a table under its key (compressed; S3 checks the upload against its SHA-256). */
  putTable(key: string, bytes: Uint8Array): Promise<void>;
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

    async putTable(key, bytes) {
      const body = gzipSync(bytes, { level: 9 });
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/octet-stream',
          ContentEncoding: 'gzip',
          // The key never changes content, so caches may keep it (the pointer is what says which is current).
          CacheControl: 'public, max-age=31536000, immutable',
          ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
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
        const body = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
        return /\bgzip\b/.test(object.ContentEncoding ?? '') ? new Uint8Array(gunzipSync(body, { maxOutputLength: MAX_TABLE_BYTES })) : body;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
  };
}
