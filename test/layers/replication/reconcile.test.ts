/**
 * The reconcile's merge and work loop with an instrumented lister and a stand-in replicator (the S3 side
 * is covered against moto in test/e2e/replication-reconcile.test.ts): what it asks the replicator, how it
 * counts, and that the keys it holds at once do not grow with the catalogue.
 */
import { createHash } from 'node:crypto';
import { reconcile, type ReconcileOptions, type ReconcileProgress } from '../../../layers/replication/reconcile';
import type { Bucket, ObjectReport, Replicator } from '../../../layers/replication/replicate';
import type { S3Client } from '../../../layers/s3/client';
import { compareKeys } from '../../../layers/s3/key-order';
import type { ListedObject } from '../../../layers/s3/objects';

const PREFIX = 'containers/images/';
const bucket = (name: string): Bucket => ({ bucket: name, region: 'us-east-1', client: {} as S3Client });
const SOURCE = bucket('primary');
const EU = bucket('regional-eu');
const AP = bucket('regional-ap');

const blobKey = (i: number) => `${PREFIX}sha256:${createHash('sha256').update(String(i)).digest('hex')}`;
const listed = (key: string, etag = `etag-${key.slice(-8)}`): ListedObject => ({ key, size: 10, etag });

/** Listings in pages, in S3's order, counting the entries handed out. */
function lister(contents: Record<string, ListedObject[]>, pageSize: number) {
  const yielded: Record<string, number> = {};
  let finished = 0;
  const listPages = async function* (b: Bucket): AsyncGenerator<ListedObject[]> {
    const entries = [...(contents[b.bucket] ?? [])].sort((x, y) => compareKeys(x.key, y.key));
    yielded[b.bucket] = 0;
    for (let i = 0; i < entries.length; i += pageSize) {
      await new Promise((resolve) => setImmediate(resolve));
      const page = entries.slice(i, i + pageSize);
      yielded[b.bucket] = (yielded[b.bucket] ?? 0) + page.length;
      yield page;
    }
    finished++;
  };
  return { listPages, yielded, finishedListings: () => finished };
}

/** Copies everything it is asked for, a little later; records each call. */
function fakeReplicator(onCall?: () => void) {
  const calls: { key: string; targets: string[]; absentFrom: string[] }[] = [];
  const listedAs = new Map<string, unknown>();
  let completed = 0;
  const replicator: Replicator = {
    async replicate(key, targets = [], hints = {}) {
      calls.push({ key, targets: targets.map((t) => t.bucket), absentFrom: [...(hints.absentFrom ?? [])].sort() });
      listedAs.set(key, hints.listed);
      onCall?.();
      await new Promise((resolve) => setImmediate(resolve));
      completed++;
      const report: ObjectReport = {
        key,
        digest: key.slice(PREFIX.length),
        quarantined: false,
        targets: targets.map((t) => ({ bucket: t.bucket, region: t.region, outcome: { status: 'copied', method: 'single', bytes: 10 } })),
      };
      return report;
    },
  };
  return { replicator, calls, listedAs, completed: () => completed };
}

const base = (more: Partial<ReconcileOptions>): ReconcileOptions => ({
  source: SOURCE,
  targets: [EU, AP],
  blobPrefix: PREFIX,
  copy: { multipartThresholdBytes: 1e9, partSizeBytes: 64 * 1024 ** 2, partConcurrency: 4 },
  concurrency: 4,
  ...more,
});

describe('reconcile (merge and work loop)', () => {
  test('one replicator call per blob, for exactly the targets that need it, with the targets that lack it as hints', async () => {
    const [k1, k2, k3, k4] = [1, 2, 3, 4].map(blobKey).sort(compareKeys) as [string, string, string, string];
    const { listPages } = lister(
      {
        primary: [listed(k1), listed(k2), listed(k3), listed(k4), listed(`${PREFIX}README`)],
        // EU: k1 the same, k2 with another ETag (e.g. our multipart copy), k4 missing; a key only EU has.
        'regional-eu': [listed(k1), listed(k2, 'other-3'), listed(k3), listed(blobKey(99))],
        'regional-ap': [listed(k1), { ...listed(k3), size: 11 }],
      },
      2,
    );
    const fake = fakeReplicator();

    const summary = await reconcile(base({ listPages, replicator: fake.replicator }));

    expect(fake.calls.sort((a, b) => compareKeys(a.key, b.key))).toEqual([
      { key: k2, targets: ['regional-eu', 'regional-ap'], absentFrom: ['regional-ap'] },
      { key: k3, targets: ['regional-ap'], absentFrom: [] },
      { key: k4, targets: ['regional-eu', 'regional-ap'], absentFrom: ['regional-ap', 'regional-eu'] },
    ]);
    // The source as listed (size and ETag): what a back-fill copy is pinned to, with no HEAD.
    for (const key of [k2, k3, k4]) expect(fake.listedAs.get(key)).toEqual({ size: 10, etag: `etag-${key.slice(-8)}` });
    expect(summary).toMatchObject({ objects: 4, ignored: 1, checked: 8, skipped: 3, copied: 5, failed: 0, deferred: 0 });
  });

  test('keys above U+FFFF and above U+E000 among the blobs merge in S3 order (UTF-8, not UTF-16)', async () => {
    // Only keys that are not blobs can hold such characters after the prefix, but the merge still has to
    // take them in S3's order, or it would refuse the listing (or pair the wrong entries).
    const odd = [`${PREFIX}😀`, `${PREFIX}\uFF01`, `${PREFIX}\uE000/x`, `${PREFIX}\u{10FFFF}`].map((k) => listed(k));
    const blobs = [1, 2].map(blobKey);
    const { listPages } = lister({ primary: [...odd, ...blobs.map((k) => listed(k))], 'regional-eu': [...odd, listed(blobs[0]!)] }, 1);
    const fake = fakeReplicator();
    const summary = await reconcile(base({ targets: [EU], listPages, replicator: fake.replicator }));
    expect(summary).toMatchObject({ objects: 2, ignored: 4, checked: 2, skipped: 1, copied: 1 });
    expect(fake.calls.map((c) => c.key)).toEqual([blobs[1]]);
  });

  test.each([2_000, 20_000])('holds a bounded number of keys at once, whatever the catalogue size (%i blobs)', async (n) => {
    const pageSize = 100;
    const concurrency = 8;
    const keys = Array.from({ length: n }, (_, i) => blobKey(i));
    // EU holds every other blob, AP none: a mix of pairs settled by the listings and pairs to copy.
    const { listPages, yielded, finishedListings } = lister(
      { primary: keys.map((k) => listed(k)), 'regional-eu': keys.filter((_, i) => i % 2 === 0).map((k) => listed(k)) },
      pageSize,
    );
    let progress: ReconcileProgress = { listed: 0, listing: true, done: 0, total: 0 };
    let mostHeld = 0;
    let callsWhileListing = 0;
    const fake = fakeReplicator(() => {
      if (finishedListings() < 2) callsWhileListing++;
    });
    const onProgress = (p: ReconcileProgress) => {
      progress = p;
      // Pairs whose source key has been handed out by the lister but that are not settled yet.
      mostHeld = Math.max(mostHeld, (yielded.primary ?? 0) * 2 - p.done);
    };

    const summary = await reconcile(base({ listPages, replicator: fake.replicator, concurrency, onProgress }));

    expect(summary).toMatchObject({ objects: n, checked: 2 * n, skipped: n / 2, copied: (3 * n) / 2 });
    expect(progress).toEqual({ listed: n + n / 2, listing: false, done: 2 * n, total: 2 * n });
    // At most the page being merged and the blobs in the pool, each with both its pairs.
    expect(mostHeld).toBeLessThanOrEqual(2 * (pageSize + concurrency));
    expect(mostHeld).toBeGreaterThan(0);
    // Copies started long before the listings ended.
    expect(callsWhileListing).toBeGreaterThan(n / 2);
  });

  test('past the deadline no blob is started; the pairs are counted as deferred', async () => {
    const keys = [1, 2, 3].map(blobKey);
    const { listPages } = lister({ primary: keys.map((k) => listed(k)), 'regional-eu': [listed(keys[0]!)] }, 2);
    const fake = fakeReplicator();
    const summary = await reconcile(base({ listPages, replicator: fake.replicator, deadline: 1000, now: () => 1000 }));
    expect(fake.calls).toEqual([]);
    expect(summary).toMatchObject({ objects: 3, checked: 1, skipped: 1, copied: 0, deferred: 5 });
  });

  test('a failing listing fails the reconcile, after the copies already started have finished', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => blobKey(i)).sort(compareKeys);
    const listPages = async function* (b: Bucket): AsyncGenerator<ListedObject[]> {
      if (b.bucket === 'primary') {
        yield keys.slice(0, 5).map((k) => listed(k));
        throw Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' });
      }
    };
    const fake = fakeReplicator();
    await expect(reconcile(base({ targets: [EU], listPages, replicator: fake.replicator }))).rejects.toThrow('The specified bucket does not exist');
    expect(fake.calls).toHaveLength(5);
    expect(fake.completed()).toBe(5);
  });
});
