import { createInvocationHandler, ReplicationFailedError } from '../../../layers/replication/invocation';
import { type ObjectReport, type Replicator, silentLog, type TargetOutcome } from '../../../layers/replication/replicate';
import type { MetricUnit } from '../../../layers/replication/tally';

const key = (c: string) => `containers/images/sha256:${c.repeat(64)}`;
const record = (k: string, bucket = 'primary', eventTime = '2026-01-01T00:00:00.000Z') => ({
  eventSource: 'aws:s3',
  eventName: 'ObjectCreated:Put',
  eventTime,
  s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(k) } },
});

/** A replicator that answers from a table and remembers what it was asked. */
function fakeReplicator(outcomes: Record<string, TargetOutcome[]>) {
  const calls: string[] = [];
  const replicator: Replicator = {
    async replicate(k) {
      calls.push(k);
      const list = outcomes[k];
      if (!list) return { key: k, quarantined: false, targets: [] } satisfies ObjectReport;
      return {
        key: k,
        digest: k.slice('containers/images/'.length),
        quarantined: list.some((o) => o.status === 'quarantined'),
        targets: list.map((outcome, i) => ({ bucket: `target-${i}`, region: `r${i}`, outcome })),
      };
    },
  };
  return { replicator, calls };
}

function recorder() {
  const values: Record<string, number[]> = {};
  return { values, addMetric: (name: string, _unit: MetricUnit, value: number) => void (values[name] ??= []).push(value) };
}

const copied: TargetOutcome = { status: 'copied', method: 'single', bytes: 10 };
const skipped: TargetOutcome = { status: 'skipped', reason: 'same' };
const failed: TargetOutcome = { status: 'failed', error: 'InternalError' };

test('each key is worked on once however often it is named; counts are per (blob, target) pair', async () => {
  const { replicator, calls } = fakeReplicator({ [key('a')]: [copied, copied], [key('b')]: [skipped, skipped] });
  const metrics = recorder();
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 4, log: silentLog, metrics, now: () => Date.parse('2026-01-01T00:00:02.000Z') });

  const result = await handle({ Records: [record(key('a')), record(key('b')), record(key('a'))] });

  expect(calls.sort()).toEqual([key('a'), key('b')]);
  expect(result).toEqual({ mode: 'direct', summary: expect.objectContaining({ objects: 2, checked: 4, copied: 2, skipped: 2, failed: 0, bytes: 20 }) });
  expect(metrics.values).toMatchObject({ Copied: [2], Skipped: [2], Failed: [0], Quarantined: [0], BytesCopied: [20], ReplicationLag: [2000, 2000] });
});

test('a failure fails the invocation only after every key was attempted, naming what failed', async () => {
  const { replicator, calls } = fakeReplicator({ [key('a')]: [copied, failed], [key('b')]: [copied, copied] });
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 1, log: silentLog });

  const outcome = handle({ Records: [record(key('a')), record(key('b'))] });

  await expect(outcome).rejects.toThrow(ReplicationFailedError);
  await expect(outcome).rejects.toThrow(`1 of 4 copies failed: ${key('a')} → target-1: InternalError`);
  expect(calls).toEqual([key('a'), key('b')]);
});

test('a quarantine is not a failure (a retry cannot fix the content), but it is counted by blob', async () => {
  const { replicator } = fakeReplicator({ [key('q')]: [{ status: 'quarantined' }, { status: 'quarantined' }] });
  const metrics = recorder();
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 1, log: silentLog, metrics });

  const result = await handle({ Records: [record(key('q'))] });

  expect(result.summary).toMatchObject({ quarantined: 2, quarantinedBlobs: 1, failed: 0 });
  expect(metrics.values.Quarantined).toEqual([1]);
});

test('behind SQS, only the messages naming a failed key are reported', async () => {
  const { replicator } = fakeReplicator({ [key('a')]: [copied], [key('b')]: [failed], [key('c')]: [skipped] });
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 2, log: silentLog });
  const message = (id: string, ...keys: string[]) => ({ eventSource: 'aws:sqs', messageId: id, body: JSON.stringify({ Records: keys.map((k) => record(k)) }) });

  const result = await handle({ Records: [message('m1', key('a')), message('m2', key('b'), key('c')), message('m3', key('c')), message('m4', key('b'))] });

  expect(result).toMatchObject({ mode: 'sqs', batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm4' }] });
});

test('events for other buckets and keys that are not blobs are ignored', async () => {
  const { replicator, calls } = fakeReplicator({});
  const warnings: unknown[] = [];
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 1, log: { ...silentLog, warn: (...args) => void warnings.push(args) } });

  const result = await handle({ Records: [record(key('a'), 'someone-elses-bucket'), record('containers/images/README')] });

  expect(calls).toEqual(['containers/images/README']);
  expect(result.summary).toMatchObject({ objects: 0, ignored: 2, checked: 0 });
  expect(warnings).toHaveLength(1);
});

test('an unreadable event is dropped with an error log, not retried', async () => {
  const { replicator } = fakeReplicator({});
  const errors: unknown[] = [];
  const handle = createInvocationHandler({ replicator, sourceBucket: 'primary', concurrency: 1, log: { ...silentLog, error: (...args) => void errors.push(args) } });

  await expect(handle({ something: 'else' })).resolves.toMatchObject({ mode: 'direct', summary: { invalid: 1 } });
  expect(errors).toHaveLength(1);
});
