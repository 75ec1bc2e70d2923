/**
 * The S3 helpers and the replicator against moto_server: HEAD and checksums, digest verification (by
 * checksum and by stream), server-side copies (single and multipart) keeping content headers and
 * metadata, tags, paginated listings, and delete propagation.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { createBucket, localS3Client, type Moto, startMoto } from '../../local/moto';
import { createReplicator, DIGEST_METADATA, type Bucket } from '../../layers/replication/replicate';
import { copyObject } from '../../layers/s3/copy';
import { verifyDigest } from '../../layers/s3/digest';
import { addObjectTags, getObjectTags, headObject, listObjects, objectExists } from '../../layers/s3/objects';
import { freePort } from '../support/ports';
import { getBytes, makeBlob, makeMismatchedBlob, putBlob } from '../support/replication-stack';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const COPY = { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 3 };
let moto: Moto;
let s3: S3Client;

beforeAll(async () => {
  moto = await startMoto(await freePort());
  s3 = localS3Client(moto.endpoint);
  for (const bucket of ['src', 'dst', 'dst2']) await createBucket(s3, bucket);
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('headObject', () => {
  test('reports size, ETag, checksum, content headers and metadata; undefined when missing', async () => {
    const blob = makeBlob(1234);
    await putBlob(s3, 'src', blob, { contentType: 'application/x-test', metadata: { a: 'b' } });

    const info = await headObject(s3, 'src', blob.key);

    expect(info).toMatchObject({ size: 1234, contentType: 'application/x-test', metadata: { a: 'b' } });
    expect(info?.etag).toBe(createHash('md5').update(blob.bytes).digest('hex'));
    expect(Buffer.from(info!.checksumSha256!, 'base64').toString('hex')).toBe(blob.digest.slice(7));
    expect(await headObject(s3, 'src', 'containers/images/missing')).toBeUndefined();
    expect(await objectExists(s3, 'src', blob.key)).toBe(true);
    expect(await objectExists(s3, 'src', 'nothing')).toBe(false);
  });
});

describe('verifyDigest', () => {
  test.each([
    ['by S3 checksum', true, 'checksum'],
    ['by streaming the bytes', false, 'stream'],
  ])('a matching blob, %s', async (_name, checksum, method) => {
    const blob = makeBlob(5000);
    await putBlob(s3, 'src', blob, { checksum });
    expect(await verifyDigest(s3, 'src', blob.key, blob.digest)).toEqual({ ok: true, expected: blob.digest, actual: blob.digest, method, size: 5000 });
  });

  test.each([
    ['by S3 checksum', true, 'checksum'],
    ['by streaming the bytes', false, 'stream'],
  ])('a mismatched blob, %s', async (_name, checksum, method) => {
    const blob = makeMismatchedBlob(700);
    await putBlob(s3, 'src', blob, { checksum });
    expect(await verifyDigest(s3, 'src', blob.key, blob.digest)).toEqual({ ok: false, expected: blob.digest, actual: sha256(blob.bytes), method, size: 700 });
  });

  test('a sha512 blob is always streamed (S3 has no SHA-512 checksum)', async () => {
    const bytes = Buffer.from('sha512 content');
    const digest = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: `containers/images/${digest}`, Body: bytes }));
    expect(await verifyDigest(s3, 'src', `containers/images/${digest}`, digest)).toMatchObject({ ok: true, method: 'stream' });
  });

  test('a missing object is undefined; a key that is not a digest is an error', async () => {
    expect(await verifyDigest(s3, 'src', 'containers/images/sha256:' + '0'.repeat(64), 'sha256:' + '0'.repeat(64))).toBeUndefined();
    await expect(verifyDigest(s3, 'src', 'x', 'sha256:XYZ')).rejects.toThrow(/not a sha256 or sha512 blob digest/);
  });

  test('an object replaced after its HEAD is not hashed in its new form', async () => {
    const blob = makeBlob(900);
    await putBlob(s3, 'src', blob, { checksum: false });
    const stale = await headObject(s3, 'src', blob.key);
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: blob.key, Body: Buffer.alloc(900, 3) }));

    await expect(verifyDigest(s3, 'src', blob.key, blob.digest, stale)).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });
});

describe('copyObject', () => {
  test('a single server-side copy keeps content headers and metadata, adds ours, not the tags, and reports the SHA-256', async () => {
    const blob = makeBlob(3000);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'src',
        Key: blob.key,
        Body: blob.bytes,
        ContentType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        CacheControl: 'public, max-age=31536000, immutable',
        ContentDisposition: 'attachment',
        ContentLanguage: 'en',
        Metadata: { origin: 'promoter' },
        Tagging: 'lifecycle=keep',
      }),
    );
    const info = (await headObject(s3, 'src', blob.key))!;

    const result = await copyObject(s3, { source: { bucket: 'src', key: blob.key, info }, target: { bucket: 'dst', key: blob.key }, extraMetadata: { [DIGEST_METADATA]: blob.digest } }, COPY);

    expect(result).toMatchObject({ method: 'single', parts: 1, bytes: 3000, etag: info.etag });
    expect(Buffer.from(result.checksumSha256!, 'base64').toString('hex')).toBe(blob.digest.slice(7));
    const copy = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: blob.key }));
    expect(copy).toMatchObject({
      ContentType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      CacheControl: 'public, max-age=31536000, immutable',
      ContentDisposition: 'attachment',
      ContentLanguage: 'en',
      Metadata: { origin: 'promoter', [DIGEST_METADATA]: blob.digest },
    });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'dst', Key: blob.key }))).TagSet).toEqual([]);
    expect(await getBytes(s3, 'dst', blob.key)).toEqual(blob.bytes);
  });

  test('above the threshold: UploadPartCopy parts, same bytes, same headers', async () => {
    const blob = makeBlob(11 * MiB);
    await putBlob(s3, 'src', blob, { contentType: 'application/x-big', metadata: { m: '1' } });
    const info = (await headObject(s3, 'src', blob.key))!;

    const result = await copyObject(s3, { source: { bucket: 'src', key: blob.key, info }, target: { bucket: 'dst', key: blob.key } }, COPY);

    expect(result).toMatchObject({ method: 'multipart', parts: 3, bytes: 11 * MiB });
    expect(result.etag).toMatch(/-3$/);
    const copy = await s3.send(new HeadObjectCommand({ Bucket: 'dst', Key: blob.key }));
    expect(copy).toMatchObject({ ContentType: 'application/x-big', Metadata: { m: '1' }, ContentLength: 11 * MiB });
    expect(sha256(await getBytes(s3, 'dst', blob.key))).toBe(blob.digest);
  });
});

describe('tags and listings', () => {
  test('addObjectTags keeps the tags already there', async () => {
    const blob = makeBlob(10);
    await putBlob(s3, 'src', blob);
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'src', Key: blob.key, Tagging: { TagSet: [{ Key: 'owner', Value: 'promoter' }] } }));

    await addObjectTags(s3, 'src', blob.key, { 'registry-edge-quarantine': 'digest-mismatch' });

    expect(await getObjectTags(s3, 'src', blob.key)).toEqual({ owner: 'promoter', 'registry-edge-quarantine': 'digest-mismatch' });
  });

  test('listObjects follows continuation tokens to the end', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `paged/${i}`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'dst2', Key: key, Body: key }));
    const seen = [];
    for await (const entry of listObjects(s3, 'dst2', 'paged/', 3)) seen.push(entry);
    expect(seen.map((e) => e.key)).toEqual(keys);
    expect(seen[0]).toEqual({ key: 'paged/0', size: 7, etag: createHash('md5').update('paged/0').digest('hex') });
  });
});

describe('the replicator', () => {
  const bucket = (name: string): Bucket => ({ bucket: name, region: 'local', client: s3 });
  const replicatorWith = (options: { propagateDeletes?: boolean; dryRun?: boolean } = {}) =>
    createReplicator({ source: bucket('src'), targets: [bucket('dst'), bucket('dst2')], blobPrefix: 'containers/images/', copy: COPY, propagateDeletes: false, ...options });

  test('overwrites a target holding other bytes of the same size', async () => {
    const blob = makeBlob(400);
    await putBlob(s3, 'src', blob);
    await s3.send(new PutObjectCommand({ Bucket: 'dst', Key: blob.key, Body: Buffer.alloc(400, 9) }));

    const report = await replicatorWith().replicate(blob.key);

    expect(report.targets.map((t) => t.outcome.status)).toEqual(['copied', 'copied']);
    expect(await getBytes(s3, 'dst', blob.key)).toEqual(blob.bytes);
  });

  test('with propagateDeletes: a stale "removed" changes nothing while the source exists; once it is gone, the copies go too', async () => {
    const blob = makeBlob(300);
    await putBlob(s3, 'src', blob);
    const replicator = replicatorWith({ propagateDeletes: true });
    await replicator.replicate(blob.key);

    expect((await replicator.replicate(blob.key)).targets.map((t) => t.outcome)).toEqual([
      { status: 'skipped', reason: 'same' },
      { status: 'skipped', reason: 'same' },
    ]);
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: blob.key }));

    const dry = await replicatorWith({ propagateDeletes: true, dryRun: true }).replicate(blob.key);
    expect(dry.targets.map((t) => t.outcome)).toEqual([
      { status: 'deleted', dryRun: true },
      { status: 'deleted', dryRun: true },
    ]);
    expect(await objectExists(s3, 'dst', blob.key)).toBe(true);

    const report = await replicator.replicate(blob.key);
    expect(report.targets.map((t) => t.outcome.status)).toEqual(['deleted', 'deleted']);
    expect(await objectExists(s3, 'dst', blob.key)).toBe(false);
    expect(await objectExists(s3, 'dst2', blob.key)).toBe(false);
    // Without propagateDeletes, a gone source leaves the targets alone.
    expect((await replicatorWith().replicate(blob.key)).targets.map((t) => t.outcome)).toEqual([
      { status: 'skipped', reason: 'source-missing' },
      { status: 'skipped', reason: 'source-missing' },
    ]);
  });

  test('a dry run verifies and reports but writes nothing', async () => {
    const good = makeBlob(200);
    const bad = makeMismatchedBlob(200);
    await putBlob(s3, 'src', good);
    await putBlob(s3, 'src', bad, { checksum: false });
    const replicator = replicatorWith({ dryRun: true });

    const [g, b] = [await replicator.replicate(good.key), await replicator.replicate(bad.key)];

    expect(g.targets.map((t) => t.outcome)).toEqual([
      { status: 'copied', method: 'single', bytes: 200, dryRun: true },
      { status: 'copied', method: 'single', bytes: 200, dryRun: true },
    ]);
    expect(b).toMatchObject({ quarantined: true, verification: { ok: false, method: 'stream' } });
    expect(await objectExists(s3, 'dst', good.key)).toBe(false);
    expect(await getObjectTags(s3, 'src', bad.key)).toEqual({});
  });
});
