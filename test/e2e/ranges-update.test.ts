/**
 * The range updater end to end: moto_server as the config bucket (a real S3 API on loopback), a local
 * HTTP server serving the feeds as the clouds do. Each test gets a bucket of its own.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createBucket, type Moto, startMoto } from '../../local/moto';
import { loadTable } from '../../layers/net/load';
import { compileRanges } from '../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../layers/ranges/feeds';
import { type RangeStore, s3RangeStore } from '../../layers/ranges/store';
import { runRangeUpdate, type UpdateOptions, type UpdateResult } from '../../layers/ranges/update';
import { createS3Client, type S3Client } from '../../layers/s3/client';
import { startServer, type TestServer } from '../support/http';
import { freePort } from '../support/ports';
import { AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText, type Feed, GCP_TOKEN, gcpFeedText, keepFraction } from '../support/range-feeds';

jest.setTimeout(60_000);

let moto: Moto;
let s3: S3Client;
let feeds: TestServer;
/** What the feed server answers, by path. */
const served = new Map<string, { status: number; body: string }>();
let bucketCounter = 0;

beforeAll(async () => {
  moto = await startMoto(await freePort());
  s3 = createS3Client({ endpoint: moto.endpoint });
  feeds = await startServer((req, res) => {
    const answer = served.get(req.url ?? '') ?? { status: 404, body: 'not found' };
    res.statusCode = answer.status;
    res.setHeader('content-type', 'application/json');
    res.end(answer.body);
  });
}, 60_000);

afterAll(async () => {
  await feeds?.close();
  await moto?.stop();
});

function serve(path: string, body: string, status = 200): string {
  served.set(path, { status, body });
  return `${feeds.url}${path}`;
}

const AWS_URL = () => serve('/ip-ranges.json', awsFeedText());
const GCP_URL = () => serve('/cloud.json', gcpFeedText());
const bump = (by: number) => (feed: Feed) => {
  feed.syncToken = String(Number(AWS_TOKEN) + by);
};

async function freshBucket(): Promise<{ bucket: string; options: (aws: string, extra?: Partial<UpdateOptions>) => UpdateOptions }> {
  const bucket = `ranges-${++bucketCounter}-${process.pid}`;
  await createBucket(s3, bucket);
  const store = s3RangeStore(s3, bucket, 'ranges/current.json');
  return { bucket, options: (aws, extra = {}) => ({ store, sources: { aws, gcp: GCP_URL() }, maxShrink: 0.1, fetch: { backoffMs: 1, retries: 1 }, ...extra }) };
}

async function getText(bucket: string, key: string): Promise<string> {
  return (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());
}
/** An object's bytes; tables are stored gzip-encoded, which this checks and undoes. */
async function getBytes(bucket: string, key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = await object.Body!.transformToByteArray();
  if (!key.endsWith('.bin')) return body;
  expect(object.ContentEncoding).toBe('gzip');
  return gunzipSync(body);
}
async function keys(bucket: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
}

/** The published pointer, checked: its table exists, matches its checksum, and decodes to its version. */
async function published(bucket: string) {
  const pointer = JSON.parse(await getText(bucket, 'ranges/current.json'));
  const bytes = await getBytes(bucket, pointer.key);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(pointer.sha256);
  expect(bytes.length).toBe(pointer.bytes);
  const { metadata } = loadTable(bytes, { check: true });
  expect((metadata.aws as { syncToken: string }).syncToken).toBe(pointer.syncToken);
  return { pointer, bytes };
}

describe('runRangeUpdate against moto_server', () => {
  test('publishes a good table: the table under its checksum, then the pointer naming it', async () => {
    const { bucket, options } = await freshBucket();
    const result = await runRangeUpdate(options(AWS_URL()));
    const expected = compileRanges({ aws: parseAwsFeed(awsFeedText()), gcp: parseGcpFeed(gcpFeedText()) });
    const sha256 = createHash('sha256').update(expected.bytes).digest('hex');
    expect(result).toMatchObject({ outcome: 'published', syncToken: AWS_TOKEN, previousSyncToken: null, gcpSyncToken: GCP_TOKEN, key: `ranges/${sha256}.bin`, sha256, entries: 11809, attempts: 1 });
    expect(await keys(bucket)).toEqual(['ranges/current.json', `ranges/${sha256}.bin`].sort());
    const { pointer, bytes } = await published(bucket);
    expect(Buffer.from(bytes).equals(Buffer.from(expected.bytes))).toBe(true);
    expect(pointer).toMatchObject({
      format: 1,
      syncToken: AWS_TOKEN,
      createDate: '2026-07-29-08-27-05',
      gcp: { syncToken: GCP_TOKEN },
      counts: { aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: 11809 },
      forced: false,
    });
  });

  test('takes the later real publication over the earlier one', async () => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    const later = serve('/later.json', awsFeedText(undefined, 'aws-ip-ranges-2026-08-22.json'));
    expect(await runRangeUpdate(options(later))).toMatchObject({ outcome: 'published', syncToken: AWS_LATER_TOKEN, previousSyncToken: AWS_TOKEN });
    expect((await published(bucket)).pointer.syncToken).toBe(AWS_LATER_TOKEN);
    expect(await keys(bucket)).toHaveLength(3); // both tables stay: an edge may be reading the older one
  });

  test.each([
    ['the same syncToken', 0, 'same'],
    ['an older syncToken', -1, 'older'],
  ])('does nothing for %s, and says so', async (_name, by, reason) => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    const before = await getText(bucket, 'ranges/current.json');
    const result = await runRangeUpdate(options(serve(`/token${by}.json`, awsFeedText(bump(by))), { force: true }));
    expect(result).toMatchObject({ outcome: 'unchanged', reason, syncToken: AWS_TOKEN, fetchedSyncToken: String(Number(AWS_TOKEN) + by) });
    expect(await getText(bucket, 'ranges/current.json')).toBe(before);
    expect(await keys(bucket)).toHaveLength(2);
  });

  const bad: [string, () => string, string, string][] = [
    ['a truncated file', () => awsFeedText(bump(1)).slice(0, 100_000), 'invalid-json', 'not valid JSON (truncated?)'],
    ['an HTML error page', () => '<html><body>503 Service Unavailable</body></html>', 'invalid-json', 'not valid JSON'],
    ['an empty file', () => '', 'invalid-json', 'empty'],
    ['a wrong schema', () => awsFeedText((f) => { bump(1)(f); delete f.createDate; }), 'schema', 'wrong schema: createDate'],
    ['empty prefix lists', () => awsFeedText((f) => { bump(1)(f); f.prefixes = []; f.ipv6_prefixes = []; }), 'schema', 'prefixes: must not be empty'],
    ['an invalid CIDR', () => awsFeedText((f) => { bump(1)(f); f.prefixes[5]!.ip_prefix = '3.5.140.0/33'; }), 'cidr', '/bad-an-invalid-CIDR.json: AWS prefixes[5].ip_prefix: invalid CIDR: "3.5.140.0/33" has a prefix length over 32'],
    ['a field of the wrong type', () => awsFeedText((f) => { bump(1)(f); f.ipv6_prefixes[3]!.region = 42; }), 'schema', 'ipv6_prefixes.3.region: Invalid input: expected string, received number'],
    ['a feed shrunk by 15%', () => awsFeedText((f) => { bump(1)(f); keepFraction(f, 0.85); }), 'shrink', 'AWS has 13960 prefixes, 15.0% fewer than the published 16424 (the limit is 10%)'],
  ];
  test.each(bad)('refuses %s, names the reason, and keeps the last good table', async (name, body, reason, message) => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    const before = await getText(bucket, 'ranges/current.json');
    const result = await runRangeUpdate(options(serve(`/bad-${name.replaceAll(' ', '-')}.json`, body())));
    expect(result).toMatchObject({ outcome: 'refused', reason, message: expect.stringContaining(message) });
    expect(await getText(bucket, 'ranges/current.json')).toBe(before);
    expect(await keys(bucket)).toHaveLength(2);
    expect((await published(bucket)).pointer.syncToken).toBe(AWS_TOKEN);
  });

  test('publishes a shrunk feed when forced, and marks the pointer so', async () => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    const shrunk = serve('/shrunk.json', awsFeedText((f) => { bump(1)(f); keepFraction(f, 0.5); }));
    expect(await runRangeUpdate(options(shrunk, { force: true }))).toMatchObject({ outcome: 'published', forcedPast: ['shrink'] });
    expect((await published(bucket)).pointer).toMatchObject({ forced: true, counts: { aws: { v4: 5272, v6: 2940 } } });
  });

  test.each([
    ['a feed that is not there (404)', 404],
    ['a feed server failing (503, retried)', 503],
  ])('fails on %s, naming the URL, and keeps the last good table', async (_name, status) => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    const before = await getText(bucket, 'ranges/current.json');
    const url = serve(`/status-${status}.json`, 'nope', status);
    // It still reports what is published, and how old it is (the table-age alarm watches that).
    expect(await runRangeUpdate(options(url))).toMatchObject({
      outcome: 'failed',
      reason: 'fetch',
      message: expect.stringContaining(`${url}: HTTP ${status}`),
      syncToken: AWS_TOKEN,
      tableAgeSeconds: expect.any(Number),
    });
    expect(await getText(bucket, 'ranges/current.json')).toBe(before);
  });

  test('fails on a bucket that does not exist, naming it', async () => {
    const store = s3RangeStore(s3, 'no-such-config-bucket', 'ranges/current.json');
    const result = await runRangeUpdate({ store, sources: { aws: AWS_URL(), gcp: null }, maxShrink: 0.1 });
    expect(result).toMatchObject({ outcome: 'failed', reason: 'store', message: expect.stringContaining('s3://no-such-config-bucket/ranges/current.json') });
  });

  test('treats a feed older than the notification announced as a stale copy (a failure, to be retried)', async () => {
    const { options } = await freshBucket();
    const result = await runRangeUpdate(options(AWS_URL(), { expectSyncToken: AWS_LATER_TOKEN }));
    expect(result).toMatchObject({ outcome: 'failed', reason: 'fetch', message: expect.stringContaining(`served syncToken ${AWS_TOKEN}, older than the announced ${AWS_LATER_TOKEN}`) });
  });

  test('replaces an unreadable pointer, and says so', async () => {
    const { bucket, options } = await freshBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranges/current.json', Body: '{"format": 1, "ke' }));
    const result = await runRangeUpdate(options(AWS_URL()));
    expect(result).toMatchObject({ outcome: 'published', warnings: [expect.stringContaining('the published pointer is unreadable and will be replaced: not valid JSON')] });
    expect((await published(bucket)).pointer.syncToken).toBe(AWS_TOKEN);
  });

  test('concurrent updates leave a consistent pointer at the newest version', async () => {
    const { bucket, options } = await freshBucket();
    await runRangeUpdate(options(AWS_URL()));
    // Every update reads the pointer before any of them writes it: they all race for the same ETag, and
    // moto's conditional writes decide (S3's do in production).
    const store = s3RangeStore(s3, bucket, 'ranges/current.json');
    const urls = [1, 2, 3, 4, 5].map((by) => serve(`/concurrent-${by}.json`, awsFeedText(bump(by))));
    const racers = urls.length * 2;
    const waiting: (() => void)[] = [];
    let arrivals = 0;
    let conflicts = 0;
    const racing: RangeStore = {
      ...store,
      async readPointer() {
        const read = await store.readPointer();
        arrivals++;
        if (arrivals < racers) await new Promise<void>((resolve) => waiting.push(resolve));
        else if (arrivals === racers) waiting.splice(0).forEach((resolve) => resolve());
        return read;
      },
      async swapPointer(pointer, etag) {
        const outcome = await store.swapPointer(pointer, etag);
        if (outcome === 'conflict') conflicts++;
        return outcome;
      },
    };
    const results: UpdateResult[] = await Promise.all([...urls, ...urls].map((url) => runRangeUpdate(options(url, { store: racing }))));
    expect(conflicts).toBeGreaterThan(0);
    expect(results.filter((r) => r.outcome !== 'published' && r.outcome !== 'unchanged')).toEqual([]);
    expect(results.some((r) => r.outcome === 'published' && r.syncToken === String(Number(AWS_TOKEN) + 5))).toBe(true);
    const { pointer } = await published(bucket);
    expect(pointer.syncToken).toBe(String(Number(AWS_TOKEN) + 5));
    // Every table any update wrote is complete and named by its checksum.
    for (const key of (await keys(bucket)).filter((k) => k.endsWith('.bin'))) {
      expect(`ranges/${createHash('sha256').update(await getBytes(bucket, key)).digest('hex')}.bin`).toBe(key);
    }
  });
});
