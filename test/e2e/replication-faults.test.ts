/**
 * A thousand blobs through the bundled replication function while S3 misbehaves: random 500s, dropped
 * connections (before the request, and mid-response after it took effect), one region refusing a part
 * of the blobs for good and another refusing some for a while; events duplicated, shuffled, stale
 * "removed" events mixed in; blobs deleted before their copy; blobs whose bytes do not match their key.
 *
 * What must hold: every invocation either succeeds (possibly after Lambda's retries) or lands in the DLQ;
 * after replaying the DLQ, every region holds exactly the good blobs, each hashing to its key.
 */
import { DeleteObjectCommand, GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { loadStageConfig } from '../../tools/build';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { type FaultyProxy, type ProxiedRequest, startFaultyProxy } from '../support/faulty-proxy';
import { seeded } from '../support/seeded';
import { type AsyncHandler, type AsyncInvocation, invokeAsync } from '../support/lambda-async';
import { type CapturedOutput, captureJsonOutput } from '../support/output-capture';
import {
  auditBucket,
  type Blob,
  drainQueue,
  eventKeys,
  makeBlob,
  makeMismatchedBlob,
  putBlob,
  queueDepth,
  receiveOnce,
  type ReplicationStack,
  sendMessage,
  startReplicationStack,
} from '../support/replication-stack';
import { runCliAsync } from '../support/cli';
import { mapLimit } from '../../layers/s3/limit';

jest.setTimeout(240_000);

const config = loadStageConfig({ stage: 'local' });
const PRIMARY = config.primaryBucket;
const [EU, AP] = config.replicaBuckets.map((b) => b.name) as [string, string];

let stack: ReplicationStack;
let proxy: FaultyProxy;
let build: TemporaryBuild;
let output: CapturedOutput;

beforeAll(async () => {
  stack = await startReplicationStack({ primary: PRIMARY, targets: [EU, AP] });
  proxy = await startFaultyProxy(stack.moto.endpoint, { seed: 7 });
  build = await buildTemporary({ stage: 'local', override: { buckets: { apiEndpoint: `${proxy.endpoint}/{bucket}` } }, only: ['replicate'] });
  output = captureJsonOutput();
});

afterAll(async () => {
  output?.restore();
  build?.dispose();
  await proxy?.close();
  await stack?.stop();
});

test('1,000 blobs under injected faults: none lost, none corrupted, every failure retried to success or in the DLQ', async () => {
  const random = seeded(42);
  const good: Blob[] = Array.from({ length: 1000 }, () => makeBlob(256 + Math.floor(random() * 8000)));
  const mismatched = Array.from({ length: 10 }, () => makeMismatchedBlob(1000));
  const deletedEarly = Array.from({ length: 10 }, () => makeBlob(1000));
  /** The first two hex digits of the digest a request is about. */
  const digestOf = (r: ProxiedRequest) => /sha256:([0-9a-f]{2})/.exec(r.path)?.[1] ?? '';

  // Blobs deleted before their copy, and blobs whose bytes do not match their key; their events are held
  // back and mixed into the stream below.
  for (const blob of mismatched) await putBlob(stack.s3, PRIMARY, blob);
  for (const blob of deletedEarly) {
    await putBlob(stack.s3, PRIMARY, blob, { checksum: false });
    await stack.s3.send(new DeleteObjectCommand({ Bucket: PRIMARY, Key: blob.key }));
  }
  const early = await drainQueue(stack.sqs, stack.eventsQueue, (got) => eventKeys(got).length >= mismatched.length + 2 * deletedEarly.length);

  proxy.setRules([
    // EU refuses blobs whose digest starts with 00-07 (1 in 32) for the whole run: these end in the DLQ.
    { fault: 'error-500', match: (r) => r.path.startsWith(`/${EU}/`) && /^0[0-7]/.test(digestOf(r)) },
    // AP refuses blobs starting with 1 for a while (beyond the SDK's own retries): Lambda's retries fix it.
    { fault: 'error-500', match: (r) => r.path.startsWith(`/${AP}/`) && digestOf(r).startsWith('1'), times: 120 },
    { fault: 'error-500', probability: 0.03 },
    { fault: 'error-500-after', match: (r) => r.headers['x-amz-copy-source'] !== undefined, probability: 0.03 },
    { fault: 'reset-before', probability: 0.01 },
    { fault: 'reset-after', probability: 0.01 },
  ]);
  const handler = build.load('replicate') as unknown as AsyncHandler;
  const runs: AsyncInvocation[] = [];
  let deadLettered = 0;

  // The promoter writes the blobs (one in ten without a checksum: verified by streaming) while events are
  // consumed as they arrive (moto's SQS slows down with its length). Delivery is at least once and out of
  // order: a tenth of the events twice, stale "removed" events, each picked at random from those waiting.
  const pending: unknown[] = early.filter((b) => Array.isArray((b as { Records?: unknown }).Records));
  const events: unknown[] = [...pending];
  let producing = true;
  const producer = (async () => {
    await mapLimit(good, 8, (blob, i) => putBlob(stack.s3, PRIMARY, blob, { checksum: i % 10 !== 0 }));
    producing = false;
  })();
  const expectedEvents = good.length + mismatched.length + 2 * deletedEarly.length;
  const consumer = (async () => {
    const deadline = Date.now() + 180_000;
    while (producing || eventKeys(events).length < expectedEvents) {
      if (Date.now() > deadline) throw new Error(`only ${events.length} of ${expectedEvents} S3 events arrived`);
      const bodies = await receiveOnce(stack.sqs, stack.eventsQueue);
      if (bodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const body of bodies.filter((b) => Array.isArray((b as { Records?: unknown }).Records))) {
        events.push(body);
        pending.push(body);
        if (random() < 0.1) pending.push(body);
        if (random() < 0.02) pending.push(JSON.parse(JSON.stringify(body).replace(/ObjectCreated:Put/g, 'ObjectRemoved:Delete')));
      }
    }
  })();
  let consuming = true;
  void consumer.finally(() => (consuming = false));
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (consuming || pending.length > 0) {
        if (pending.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const [event] = pending.splice(Math.floor(random() * pending.length), 1);
        runs.push(
          await invokeAsync(handler, event, {
            onFailure: async (record) => {
              deadLettered++;
              await sendMessage(stack.sqs, stack.dlq, record);
            },
          }),
        );
      }
    }),
  );
  await producer;
  await consumer;
  proxy.setRules([]);
  expect(events).toHaveLength(expectedEvents);

  // Every invocation succeeded, possibly after retries, or is in the DLQ.
  expect(runs.length).toBeGreaterThan(events.length);
  const failedRuns = runs.filter((r) => !r.ok);
  expect(failedRuns.length).toBe(deadLettered);
  expect(await queueDepth(stack.sqs, stack.dlq)).toBe(deadLettered);
  expect(runs.filter((r) => r.ok && r.attempts > 1).length).toBeGreaterThan(0);
  const refusedByEu = events.filter((e) => eventKeys([e]).some((k) => /sha256:0[0-7]/.test(k) && good.some((g) => g.key === k))).length;
  expect(refusedByEu).toBeGreaterThan(0);
  expect(deadLettered).toBeGreaterThanOrEqual(refusedByEu);
  expect(proxy.faults.length).toBeGreaterThan(200);
  const kinds = new Set(proxy.faults.map((f) => f.fault));
  expect([...kinds].sort()).toEqual(['error-500', 'error-500-after', 'reset-after', 'reset-before']);

  // The operator replays the DLQ.
  const replay = await runCliAsync(['replay-dlq', '--queue-url', stack.dlq, '--sqs-endpoint', stack.moto.endpoint, '--s3-endpoint', stack.moto.endpoint, '--source', PRIMARY, '--targets', `${EU},${AP}`]);
  expect(replay.status).toBe(0);
  expect(replay.lines).toEqual([expect.objectContaining({ messages: deadLettered, replayed: deadLettered, retained: 0, failed: 0 })]);
  expect(await queueDepth(stack.sqs, stack.dlq)).toBe(0);

  // 0 lost, 0 corrupted, nothing that should not be there.
  const expected = good.map((b) => b.key).sort();
  for (const bucket of [EU, AP]) {
    const audit = await auditBucket(stack.s3, bucket);
    expect(audit.corrupt).toEqual([]);
    expect([...audit.keys].sort()).toEqual(expected);
  }
  for (const blob of mismatched) {
    const tags = await stack.s3.send(new GetObjectTaggingCommand({ Bucket: PRIMARY, Key: blob.key }));
    expect(tags.TagSet).toContainEqual({ Key: 'registry-edge-quarantine', Value: 'digest-mismatch' });
  }
  expect(output.metrics().Quarantined).toBeGreaterThanOrEqual(mismatched.length);
});
