/**
 * Reading what a bucket holds: HEAD (with its checksum), paginated listings, tags, deletes. Errors are the
 * SDK's, except "not there", which is an answer (undefined), not an error.
 */
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** What a HEAD tells about an object: enough to compare it and to copy it faithfully. */
export interface ObjectInfo {
  size: number;
  /** Without quotes. Single-part: the MD5 of the content; multipart: "<md5 of part md5s>-<parts>". */
  etag: string;
  /** base64 SHA-256 as S3 reports it (full-object or composite, see `checksumType`). */
  checksumSha256?: string;
  checksumType?: string;
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  metadata: Record<string, string>;
  lastModified?: Date;
}

/** A listing entry: size and ETag only (a listing carries no checksum values or metadata). */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

/** "No such object" in its several spellings (HEAD has no body, so only the status says it). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** The source changed under a conditional request (If-Match / x-amz-copy-source-if-match). */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^(W\/)?"|"$/g, '');
}

/** A multipart ETag ("…-12") is not the MD5 of the content. */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+$/.test(etag);
}

/** HEAD with checksum mode on; undefined when the object does not exist. */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<ObjectInfo | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    return {
      size: head.ContentLength ?? 0,
      etag: unquoteEtag(head.ETag),
      ...(head.ChecksumSHA256 ? { checksumSha256: head.ChecksumSHA256 } : {}),
      ...(head.ChecksumType ? { checksumType: head.ChecksumType } : {}),
      ...(head.ContentType ? { contentType: head.ContentType } : {}),
      ...(head.CacheControl ? { cacheControl: head.CacheControl } : {}),
      ...(head.ContentDisposition ? { contentDisposition: head.ContentDisposition } : {}),
      ...(head.ContentEncoding ? { contentEncoding: head.ContentEncoding } : {}),
      ...(head.ContentLanguage ? { contentLanguage: head.ContentLanguage } : {}),
      metadata: head.Metadata ?? {},
      ...(head.LastModified ? { lastModified: head.LastModified } : {}),
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Whether `key` exists (a HEAD). Other engineers' code (sync) asks this before uploading. */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await headObject(client, bucket, key)) !== undefined;
}

/** Every object under `prefix`, page by page (S3 gives up to 1,000 a page), in S3's key order. */
export async function* listObjects(client: S3Client, bucket: string, prefix = '', pageSize?: number): AsyncGenerator<ListedObject> {
  for await (const page of listObjectPages(client, bucket, prefix, pageSize)) yield* page;
}

/** The same listing as whole pages: one request each, asked for only when the previous page was taken. */
export async function* listObjectPages(client: S3Client, bucket: string, prefix = '', pageSize?: number): AsyncGenerator<ListedObject[]> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(pageSize ? { MaxKeys: pageSize } : {}), ...(token ? { ContinuationToken: token } : {}) }),
    );
    const entries: ListedObject[] = [];
    for (const entry of page.Contents ?? []) {
      if (entry.Key === undefined) continue;
      entries.push({ key: entry.Key, size: entry.Size ?? 0, etag: unquoteEtag(entry.ETag) });
    }
    yield entries;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Adds `tags` to the object's tag set (PutObjectTagging replaces the whole set, so the others are read
 * first and kept). S3 allows 10 tags per object; ours replace any of the same key.
 */
export async function addObjectTags(client: S3Client, bucket: string, key: string, tags: Record<string, string>): Promise<void> {
  const current = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  const merged = new Map((current.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  for (const [name, value] of Object.entries(tags)) merged.set(name, value);
  await client.send(
    new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [...merged].map(([Key, Value]) => ({ Key, Value })) } }),
  );
}

export async function getObjectTags(client: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  const current = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((current.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** With `etag`, only that version is deleted (If-Match): an object written over it since stays. */
export async function deleteObject(client: S3Client, bucket: string, key: string, options: { etag?: string } = {}): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(options.etag ? { IfMatch: `"${options.etag}"` } : {}) }));
}
