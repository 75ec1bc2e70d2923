/**
 * The bundled replication function, driven by real S3 event notifications: moto delivers the primary
 * bucket's events to SQS, the test polls them and invokes the handler the way Lambda would (asynchronous
 * invocation with two retries and an on-failure destination). The function reaches S3 through a proxy
 * that injects faults.
 */
import { GetObjectTaggingCommand, HeadObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { loadStageConfig } from '../../tools/build';
import { type FaultyProxy, type ProxiedRequest, startFaultyProxy } from '../support/faulty-proxy';
import { type AsyncHandler, type DestinationRecord, invokeAsync, lambdaContext } from '../support/lambda-async';
import {
  type Blob,
  drainQueue,
  eventKeys,
  eventsFor,
  getBytes,
  makeBlob,
  makeMismatchedBlob,
  putBlob,
  queueDepth,
  type ReplicationStack,
  sendMessage,
  startReplicationStack,
} from '../support/replication-stack';
import { runCliAsync } from '../support/cli';
import { type CapturedOutput, captureJsonOutput } from '../support/output-capture';
import { createHash } from 'node:crypto';

jest.setTimeout(120_000);

const config = loadStageConfig({ stage: 'local' });
const PRIMARY = config.primaryBucket;
const [EU, AP] = config.replicaBuckets.map((b) => b.name) as [string, string];
const MiB = 1024 * 1024;

let stack: ReplicationStack;
let proxy: FaultyProxy;
let build: TemporaryBuild;
let handler: AsyncHandler;
let output: CapturedOutput;

beforeAll(async () => {
  stack = await startReplicationStack({ primary: PRIMARY, targets: [EU, AP] });
  proxy = await startFaultyProxy(stack.moto.endpoint);
  build = await buildTemporary({
    stage: 'local',
    override: {
      buckets: { apiEndpoint: `${proxy.endpoint}/{bucket}` },
      // Lowered so that a 12 MiB blob takes the multipart path (S3's smallest part is 5 MiB).
      replication: { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 },
    },
    only: ['replicate'],
  });
  handler = build.load('replicate') as unknown as AsyncHandler;
  output = captureJsonOutput();
});

afterAll(async () => {
  output?.restore();
  build?.dispose();
  await proxy?.close();
  await stack?.stop();
});

beforeEach(() => proxy.setRules([]));

/** Puts the blobs into the primary and returns the S3 event bodies moto delivered for them. */
async function push(blobs: Blob[], options: Parameters<typeof putBlob>[3] = {}) {
  for (const blob of blobs) await putBlob(stack.s3, PRIMARY, blob, options);
  const keys = new Set(blobs.map((b) => b.key));
  const bodies = await drainQueue(stack.sqs, stack.eventsQueue, (got) => [...keys].every((k) => eventKeys(got).includes(k)));
  return eventsFor(bodies, keys);
}

const dlqRecords: DestinationRecord[] = [];
function invoke(event: unknown, beforeRetry?: (attempt: number) => Promise<void> | void) {
  return invokeAsync(handler, event, {
    ...(beforeRetry ? { beforeRetry } : {}),
    onFailure: async (record) => {
      dlqRecords.push(record);
      await sendMessage(stack.sqs, stack.dlq, record);
    },
  });
}

async function head(bucket: string, key: string) {
  try {
    return await stack.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch {
    return undefined;
  }
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const isCopy = (r: ProxiedRequest) => r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined;
const isPartCopy = (r: ProxiedRequest) => isCopy(r) && /(^|&)partNumber=/.test(r.query);
/** A GET of the object's bytes (not of its tags). */
const isRead = (bucket: string, key: string) => (r: ProxiedRequest) => r.method === 'GET' && r.path === `/${bucket}/${key}` && !/(^|&)tagging/.test(r.query);

describe('replication from S3 event notifications', () => {
  test('a pushed blob reaches every regional bucket intact, with its content type and metadata, without passing through the function', async () => {
    const blob = makeBlob(64 * 1024);
    const [event] = await push([blob], { contentType: 'application/vnd.oci.image.layer.v1.tar+gzip', metadata: { promoter: 'v1' } });
    const seen = proxy.log.length;
    const metricsFrom = output.lines.length;

    const run = await invoke(event);

    expect(run).toMatchObject({ ok: true, attempts: 1, result: { copied: 2, failed: 0, quarantined: 0 } });
    for (const bucket of [EU, AP]) {
      expect(sha256(await getBytes(stack.s3, bucket, blob.key))).toBe(blob.digest);
      const copy = await head(bucket, blob.key);
      expect(copy?.ContentType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect(copy?.Metadata).toEqual({ promoter: 'v1', 'registry-edge-digest': blob.digest });
    }
    // S3's checksum verified the source: not one GET of the blob went through the function.
    expect(proxy.log.slice(seen).filter(isRead(PRIMARY, blob.key))).toEqual([]);
    expect(output.metrics(metricsFrom)).toMatchObject({ Copied: 2, Failed: 0, Quarantined: 0, BytesCopied: 2 * blob.bytes.length });
    expect(output.metrics(metricsFrom).ReplicationLag).toBeGreaterThan(0);
  });

  test('a blob above the threshold is copied in parallel UploadPartCopy parts, surviving a 500 on one part', async () => {
    const blob = makeBlob(12 * MiB + 1);
    const [event] = await push([blob], { contentType: 'application/octet-stream', metadata: { layer: 'big' } });
    const seen = proxy.log.length;
    const faultsBefore = proxy.faults.length;
    proxy.setRules([{ fault: 'error-500', match: (r) => isPartCopy(r) && r.path.startsWith(`/${EU}/`) && /partNumber=2(&|$)/.test(r.query), times: 1 }]);

    const run = await invoke(event);

    expect(run).toMatchObject({ ok: true, attempts: 1, result: { copied: 2, failed: 0 } });
    expect(proxy.faults.slice(faultsBefore).map((f) => f.fault)).toEqual(['error-500']);
    // 3 parts per region, plus the one part retried by the SDK after the 500.
    expect(proxy.log.slice(seen).filter(isPartCopy)).toHaveLength(7);
    expect(proxy.log.slice(seen).filter((r) => isCopy(r) && !isPartCopy(r))).toEqual([]);
    for (const bucket of [EU, AP]) {
      const copy = await head(bucket, blob.key);
      expect(copy?.ETag).toMatch(/-3"$/);
      expect(copy?.Metadata).toEqual({ layer: 'big', 'registry-edge-digest': blob.digest });
      expect(sha256(await getBytes(stack.s3, bucket, blob.key))).toBe(blob.digest);
    }
  });

  test('duplicate and out-of-order events are harmless: the second delivery copies nothing', async () => {
    const blob = makeBlob(10_000);
    const [created] = await push([blob]);
    const removed = JSON.parse(JSON.stringify(created).replace('ObjectCreated:Put', 'ObjectRemoved:Delete'));

    // A stale "removed" first, then the "created" three times, twice in one event.
    const first = await invoke(removed);
    expect(first).toMatchObject({ ok: true, result: { copied: 2 } });
    const seen = proxy.log.length;
    const again = await invoke({ Records: [...(created as { Records: unknown[] }).Records, ...(created as { Records: unknown[] }).Records] });
    const third = await invoke(created);

    expect(again).toMatchObject({ ok: true, result: { objects: 1, copied: 0, skipped: 2 } });
    expect(third).toMatchObject({ ok: true, result: { copied: 0, skipped: 2 } });
    expect(proxy.log.slice(seen).filter(isCopy)).toEqual([]);
    for (const bucket of [EU, AP]) expect(sha256(await getBytes(stack.s3, bucket, blob.key))).toBe(blob.digest);
  });

  test('a digest mismatch is quarantined: never copied, tagged, logged, counted', async () => {
    const withChecksum = makeMismatchedBlob(3000);
    const withoutChecksum = makeMismatchedBlob(3000);
    const events = [...(await push([withChecksum])), ...(await push([withoutChecksum], { checksum: false }))];
    const from = output.lines.length;
    const seen = proxy.log.length;

    const runs = await Promise.all(events.map((event) => invoke(event)));

    // Not a failure: a retry cannot fix the content. The alarm on the metric calls a human.
    for (const run of runs) expect(run).toMatchObject({ ok: true, attempts: 1, result: { quarantined: 2, copied: 0, quarantinedBlobs: 1 } });
    for (const blob of [withChecksum, withoutChecksum]) {
      for (const bucket of [EU, AP]) expect(await head(bucket, blob.key)).toBeUndefined();
      const tags = await stack.s3.send(new GetObjectTaggingCommand({ Bucket: PRIMARY, Key: blob.key }));
      expect(tags.TagSet).toContainEqual({ Key: 'registry-edge-quarantine', Value: 'digest-mismatch' });
    }
    expect(proxy.log.slice(seen).filter(isCopy)).toEqual([]);
    // One blob verified by S3's checksum, the other by streaming its bytes.
    expect(proxy.log.slice(seen).filter(isRead(PRIMARY, withoutChecksum.key))).toHaveLength(1);
    expect(proxy.log.slice(seen).filter(isRead(PRIMARY, withChecksum.key))).toHaveLength(0);
    expect(output.metrics(from)).toMatchObject({ Quarantined: 2, Copied: 0 });
    const errors = output.logs('ERROR', from).filter((l) => String(l.message).startsWith('digest mismatch'));
    expect(errors.map((l) => [l.key, l.expected, l.actual])).toEqual(
      expect.arrayContaining([
        [withChecksum.key, withChecksum.digest, sha256(withChecksum.bytes)],
        [withoutChecksum.key, withoutChecksum.digest, sha256(withoutChecksum.bytes)],
      ]),
    );
  });

  test('a blob deleted before its copy is skipped, not retried', async () => {
    const blob = makeBlob(5000);
    const [event] = await push([blob]);
    await stack.s3.send(new DeleteObjectCommand({ Bucket: PRIMARY, Key: blob.key }));
    await drainQueue(stack.sqs, stack.eventsQueue, (got) => got.length > 0);

    const run = await invoke(event);

    expect(run).toMatchObject({ ok: true, attempts: 1, result: { copied: 0, skipped: 2, sourceMissing: 2, failed: 0 } });
    for (const bucket of [EU, AP]) expect(await head(bucket, blob.key)).toBeUndefined();
  });

  test('keys that are not blobs are ignored', async () => {
    const valid = makeBlob(100);
    const keys = ['containers/images/index.json', `containers/images/${valid.digest.toUpperCase()}`, `elsewhere/${valid.digest}`];
    for (const key of keys) await stack.s3.send(new PutObjectCommand({ Bucket: PRIMARY, Key: key, Body: valid.bytes }));
    const bodies = await drainQueue(stack.sqs, stack.eventsQueue, (got) => keys.every((k) => eventKeys(got).includes(k)));
    const seen = proxy.log.length;

    const runs = await Promise.all(eventsFor(bodies, keys).map((event) => invoke(event)));

    for (const run of runs) expect(run).toMatchObject({ ok: true, result: { checked: 0, ignored: 1 } });
    expect(proxy.log.slice(seen)).toEqual([]);
  });

  test('one failing region does not stop the others; after the retries the event is in the DLQ, and replaying it completes the copy', async () => {
    const blob = makeBlob(20_000);
    const [event] = await push([blob]);
    const seen = proxy.log.length;
    proxy.setRules([{ fault: 'error-500', match: (r) => r.path.startsWith(`/${EU}/`) }]);

    const run = await invoke(event);

    expect(run.ok).toBe(false);
    expect(run.attempts).toBe(3);
    expect(run.errors[0]).toMatch(new RegExp(`ReplicationFailedError: 1 of 2 copies failed: .*${EU}`));
    expect(sha256(await getBytes(stack.s3, AP, blob.key))).toBe(blob.digest);
    expect(await head(EU, blob.key)).toBeUndefined();
    // The healthy region was copied once; the retries found it there and skipped it.
    expect(proxy.log.slice(seen).filter((r) => isCopy(r) && r.path.startsWith(`/${AP}/`))).toHaveLength(1);
    expect(await queueDepth(stack.sqs, stack.dlq)).toBe(1);
    expect(dlqRecords.at(-1)?.requestPayload).toEqual(event);

    proxy.setRules([]);
    const replay = await runCliAsync([
      'replay-dlq',
      '--queue-url', stack.dlq,
      '--sqs-endpoint', stack.moto.endpoint,
      '--s3-endpoint', proxy.endpoint,
      '--source', PRIMARY,
      '--targets', `${EU},${AP}`,
    ]);

    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    expect(replay.lines).toEqual([{ messages: 1, replayed: 1, retained: 0, checked: 2, copied: 1, skipped: 1, quarantined: 0, failed: 0 }]);
    expect(sha256(await getBytes(stack.s3, EU, blob.key))).toBe(blob.digest);
    expect(await queueDepth(stack.sqs, stack.dlq)).toBe(0);
  });

  test('S3 down: the invocation fails, and the retry after S3 is back copies everything', async () => {
    const blob = makeBlob(8000);
    const [event] = await push([blob]);
    await proxy.down();

    const run = await invoke(event, () => proxy.up());

    expect(run).toMatchObject({ ok: true, attempts: 2, result: { copied: 2 } });
    expect(run.errors[0]).toMatch(/ReplicationFailedError/);
    for (const bucket of [EU, AP]) expect(sha256(await getBytes(stack.s3, bucket, blob.key))).toBe(blob.digest);
  });

  test('S3 going down in the middle of a multipart copy: the retry completes it', async () => {
    const blob = makeBlob(11 * MiB);
    const [event] = await push([blob]);
    const seen = proxy.log.length;
    // Down as soon as the first part copy is under way.
    const watcher = (async () => {
      while (!proxy.log.slice(seen).some(isPartCopy)) await new Promise((r) => setTimeout(r, 2));
      await proxy.down();
    })();

    const run = await invoke(event, async () => {
      await watcher;
      await proxy.up();
    });

    expect(run).toMatchObject({ ok: true, attempts: 2, result: { copied: 2 } });
    for (const bucket of [EU, AP]) expect(sha256(await getBytes(stack.s3, bucket, blob.key))).toBe(blob.digest);
  });

  test('a copy that took effect but answered 500 is retried harmlessly', async () => {
    const blob = makeBlob(4000);
    const [event] = await push([blob]);
    const faultsBefore = proxy.faults.length;
    proxy.setRules([{ fault: 'error-500-after', match: (r) => isCopy(r) && r.path.startsWith(`/${AP}/`), times: 1 }]);

    const run = await invoke(event);

    expect(run).toMatchObject({ ok: true, attempts: 1, result: { copied: 2 } });
    expect(proxy.faults.slice(faultsBefore).map((f) => f.fault)).toEqual(['error-500-after']);
    expect(sha256(await getBytes(stack.s3, AP, blob.key))).toBe(blob.digest);
  });

  test('behind SQS, only the messages that failed are reported for retry', async () => {
    const good = makeBlob(1000);
    const bad = makeBlob(1000);
    const events = await push([good, bad]);
    proxy.setRules([{ fault: 'error-500', match: (r) => r.path === `/${EU}/${bad.key}` }]);
    const messages = events.map((body, i) => ({ messageId: `m${i}`, eventSource: 'aws:sqs', body: JSON.stringify(body) }));
    const badMessage = messages.find((m) => m.body.includes(encodeURIComponent(bad.key)) || m.body.includes(bad.digest.slice(7)))!;

    const result = await handler({ Records: messages }, lambdaContext());

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: badMessage.messageId }] });
    expect(sha256(await getBytes(stack.s3, EU, good.key))).toBe(good.digest);
    expect(await head(EU, bad.key)).toBeUndefined();
  });
});
