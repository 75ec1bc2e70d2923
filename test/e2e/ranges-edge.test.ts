/**
 * The bundled viewer-request function follows range updates without a redeploy: the real updater
 * publishes to moto_server (the config bucket), and the function, started from the table compiled into
 * its bundle, takes up what was published, checked against its checksum. Each "instance" is the bundle
 * loaded afresh (a cold start).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CloudFrontRequest, CloudFrontResultResponse } from '../../layers/cloudfront/events';
import { viewerRequestEvent } from '../../layers/cloudfront/events';
import type { RefreshStatus } from '../../layers/ranges/refresh';
import { s3RangeStore } from '../../layers/ranges/store';
import { runRangeRollback } from '../../layers/ranges/rollback';
import { runRangeUpdate } from '../../layers/ranges/update';
import { createS3Client, type S3Client } from '../../layers/s3/client';
import { createBucket, LOCAL_CREDENTIALS, type Moto, startMoto } from '../../local/moto';
import { buildTemporary, type EdgeHandler, type TemporaryBuild } from '../../tools/bundles';
import { TEST_CONFIG } from '../support/configs';
import { startServer, type TestServer } from '../support/http';
import { freePort } from '../support/ports';
import { ADDED_IN_LATER, AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText, type Feed, gcpFeedText } from '../support/range-feeds';

jest.setTimeout(60_000);

const CONFIG_BUCKET = 'edge-test-config'; // TEST_CONFIG's: <prefix>-<stage>-config
const BLOB = `/v2/pause/blobs/sha256:${'5'.repeat(64)}`;

let moto: Moto;
let s3: S3Client;
let feeds: TestServer;
let build: TemporaryBuild;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

interface Instance {
  handler: EdgeHandler;
  rangeRefresh: { status(): RefreshStatus; idle(): Promise<void> };
}

beforeAll(async () => {
  moto = await startMoto(await freePort());
  s3 = createS3Client({ endpoint: moto.endpoint });
  feeds = await startServer((req, res) => {
    const later = req.url === '/later.json';
    const older = req.url === '/older.json';
    res.end(req.url === '/cloud.json' ? gcpFeedText() : awsFeedText(older ? (f: Feed) => (f.syncToken = String(Number(AWS_TOKEN) - 1)) : undefined, later ? 'aws-ip-ranges-2026-08-22.json' : undefined));
  });
  build = await buildTemporary({
    stage: 'test',
    config: TEST_CONFIG,
    override: {
      buckets: { apiEndpoint: `${moto.endpoint}/{bucket}`, publicEndpoint: 'https://{bucket}.s3.{region}.amazonaws.com' },
      routing: { verify: { enabled: false } },
      ranges: { refreshSeconds: 1, refreshBudgetMs: 2000 },
    },
    only: ['edge-viewer-request'],
  });
  // The Lambda runtime sets these for the function's role; moto wants a signed request for a private bucket.
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
}, 120_000);

afterAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  build?.dispose();
  await feeds?.close();
  await moto?.stop();
});

let bucketCreated = false;
beforeEach(async () => {
  if (!bucketCreated) await createBucket(s3, CONFIG_BUCKET);
  bucketCreated = true;
});

/** The bundle, loaded as a new Lambda instance would load it. */
function coldStart(): Instance {
  const file = build.functions['edge-viewer-request']!.file;
  let instance: Instance | undefined;
  jest.isolateModules(() => {
    instance = require(file) as Instance;
  });
  return instance!;
}

const publish = (feed: string, extra: { force?: boolean } = {}) =>
  runRangeUpdate({ store: s3RangeStore(s3, CONFIG_BUCKET, 'ranges/current.json'), sources: { aws: `${feeds.url}/${feed}`, gcp: `${feeds.url}/cloud.json` }, maxShrink: 0.1, ...extra });

/** Where the instance sends a blob request from the address the later feed added (eu-west-1). */
async function route(instance: Instance): Promise<string> {
  const result = await instance.handler(viewerRequestEvent({ clientIp: ADDED_IN_LATER, method: 'GET', uri: BLOB }));
  if ('status' in result) return `${(result as CloudFrontResultResponse).status} ${(result as CloudFrontResultResponse).headers!.location![0]!.value}`;
  return `forward ${(result as CloudFrontRequest).uri}`;
}

const THROUGH_CLOUDFRONT = `forward /containers/images/sha256:${'5'.repeat(64)}`;
const TO_EU_BUCKET = `307 https://edge-test-eu-west-1.s3.eu-west-1.amazonaws.com/containers/images/sha256:${'5'.repeat(64)}`;

describe('the bundled viewer-request function and the config bucket', () => {
  test('with nothing published, it keeps the embedded table and says why', async () => {
    const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const instance = coldStart();
      expect(await route(instance)).toBe(THROUGH_CLOUDFRONT);
      await instance.rangeRefresh.idle();
      expect(instance.rangeRefresh.status()).toMatchObject({ source: 'embedded', version: { aws: AWS_TOKEN }, failures: 1, lastError: 'pointer ranges/current.json: HTTP 404' });
      expect(logs).toHaveBeenCalledWith(expect.stringContaining('"outcome":"error"'));
    } finally {
      logs.mockRestore();
    }
  });

  test('takes the published table even when its feeds are older than the embedded one: what is published decides', async () => {
    const result = await publish('older.json');
    expect(result).toMatchObject({ outcome: 'published', syncToken: String(Number(AWS_TOKEN) - 1), generation: 1 });
    const instance = coldStart();
    await route(instance);
    await instance.rangeRefresh.idle();
    expect(instance.rangeRefresh.status()).toMatchObject({ source: (result as { key: string }).key, generation: 1, version: { aws: String(Number(AWS_TOKEN) - 1) }, failures: 0, swaps: 1 });
  });

  test('takes up a newer table at cold start, and a running instance takes up a later one without a redeploy', async () => {
    const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const running = coldStart();
      expect(await route(running)).toBe(THROUGH_CLOUDFRONT); // the embedded table places 66.36.3.1 nowhere
      await running.rangeRefresh.idle();

      const result = await publish('later.json');
      expect(result).toMatchObject({ outcome: 'published', syncToken: AWS_LATER_TOKEN });
      const key = (result as { key: string }).key;

      // A new instance: its first request waits (within the budget) for the cold-start refresh.
      const fresh = coldStart();
      await route(fresh);
      await fresh.rangeRefresh.idle();
      expect(await route(fresh)).toBe(TO_EU_BUCKET);
      expect(fresh.rangeRefresh.status()).toMatchObject({ source: key, version: { aws: AWS_LATER_TOKEN }, swaps: 1 });

      // The instance that was already running looks again once refreshSeconds (1 s here) have passed.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await route(running);
      await running.rangeRefresh.idle();
      expect(await route(running)).toBe(TO_EU_BUCKET);
      expect(logs).toHaveBeenCalledWith(expect.stringContaining(`"outcome":"swapped","key":"${key}","generation":2,"syncToken":"${AWS_LATER_TOKEN}"`));
    } finally {
      logs.mockRestore();
    }
  });

  test('a warm instance takes a rollback within refreshSeconds, refuses a pointer of lower generation, never takes a bad checksum', async () => {
    const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const store = s3RangeStore(s3, CONFIG_BUCKET, 'ranges/current.json');
    const pointerText = async () => (await s3.send(new GetObjectCommand({ Bucket: CONFIG_BUCKET, Key: 'ranges/current.json' }))).Body!.transformToString();
    const putPointer = (pointer: unknown) => s3.send(new PutObjectCommand({ Bucket: CONFIG_BUCKET, Key: 'ranges/current.json', Body: JSON.stringify(pointer), ContentType: 'application/json' }));
    const afterRefreshSeconds = async (instance: Instance) => {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // refreshSeconds is 1 here
      await route(instance);
      await instance.rangeRefresh.idle();
    };
    try {
      // The later table is published (by the test before this one) and a warm instance routes with it.
      const laterPointer = JSON.parse(await pointerText());
      expect(laterPointer).toMatchObject({ syncToken: AWS_LATER_TOKEN, generation: 2, previous: { syncToken: String(Number(AWS_TOKEN) - 1) } });
      const warm = coldStart();
      await route(warm);
      await warm.rangeRefresh.idle();
      expect(await route(warm)).toBe(TO_EU_BUCKET);
      expect(warm.rangeRefresh.status()).toMatchObject({ source: laterPointer.key, generation: 2 });

      // Rolled back to the older table: its feed tokens are older than the warm instance's, its generation higher.
      const rollback = await runRangeRollback({ store, target: { previous: true } });
      expect(rollback).toMatchObject({ outcome: 'rolled-back', key: laterPointer.previous.key, generation: 3, rolledAwayFrom: { key: laterPointer.key, generation: 2 } });
      await afterRefreshSeconds(warm);
      expect(await route(warm)).toBe(THROUGH_CLOUDFRONT);
      expect(warm.rangeRefresh.status()).toMatchObject({ source: laterPointer.previous.key, generation: 3, version: { aws: String(Number(AWS_TOKEN) - 1) }, failures: 0 });

      // The old pointer put back by hand (what the docs used to say): a lower generation, refused.
      await putPointer(laterPointer);
      await afterRefreshSeconds(warm);
      expect(await route(warm)).toBe(THROUGH_CLOUDFRONT);
      expect(warm.rangeRefresh.status()).toMatchObject({ generation: 3, lastError: expect.stringContaining('has generation 2, lower than the current table\'s 3') });

      // A higher generation naming the later table with another checksum: never taken.
      await putPointer({ ...laterPointer, generation: 10, sha256: 'f'.repeat(64) });
      await new Promise((resolve) => setTimeout(resolve, 2100)); // the backoff after one failure is 2 s
      await route(warm);
      await warm.rangeRefresh.idle();
      expect(await route(warm)).toBe(THROUGH_CLOUDFRONT);
      expect(warm.rangeRefresh.status()).toMatchObject({ generation: 3, lastError: expect.stringContaining(`has SHA-256 ${laterPointer.sha256}, the pointer says ${'f'.repeat(64)}`) });
    } finally {
      logs.mockRestore();
    }
    // The updater repairs the pointer: same feeds, but not the table the pointer names, so it publishes.
    expect(await publish('later.json')).toMatchObject({ outcome: 'published', generation: 11 });
  });

  test('ignores a table that does not match its checksum, and keeps routing with the one it has', async () => {
    expect(await publish('later.json')).toMatchObject({ outcome: expect.stringMatching(/^(published|unchanged)$/) });
    const pointer = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: CONFIG_BUCKET, Key: 'ranges/current.json' }))).Body!.transformToString());
    expect(pointer.syncToken).toBe(AWS_LATER_TOKEN);
    // Someone (or something) overwrites the table: same size, one bit flipped (stored gzip-encoded, as the
    // updater stores tables, so that it is the checksum that catches it).
    const stored = await (await s3.send(new GetObjectCommand({ Bucket: CONFIG_BUCKET, Key: pointer.key }))).Body!.transformToByteArray();
    const bytes = gunzipSync(stored);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 1;
    await s3.send(new PutObjectCommand({ Bucket: CONFIG_BUCKET, Key: pointer.key, Body: gzipSync(bytes), ContentEncoding: 'gzip' }));

    const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const instance = coldStart();
      expect(await route(instance)).toBe(THROUGH_CLOUDFRONT);
      await instance.rangeRefresh.idle();
      expect(await route(instance)).toBe(THROUGH_CLOUDFRONT);
      expect(instance.rangeRefresh.status()).toMatchObject({ source: 'embedded', version: { aws: AWS_TOKEN }, failures: 1, lastError: expect.stringContaining(`table ${pointer.key} has SHA-256`) });
      expect(logs).toHaveBeenCalledWith(expect.stringContaining('the pointer says'));
    } finally {
      logs.mockRestore();
    }
  });

  test('without credentials it asks unsigned, and a private bucket refuses (the table stays)', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const instance = coldStart();
      await route(instance);
      await instance.rangeRefresh.idle();
      expect(instance.rangeRefresh.status()).toMatchObject({ source: 'embedded', lastError: 'pointer ranges/current.json: HTTP 403' });
    } finally {
      logs.mockRestore();
      process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    }
  });
});
