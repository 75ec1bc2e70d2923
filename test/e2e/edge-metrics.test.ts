/**
 * The edge's metrics, end to end: the bundled viewer- and origin-request functions run in the CloudFront
 * emulator (each in its worker, as Lambda runs them), clients in the local stack's overlay ranges pull
 * through it, and the EMF lines the functions print are parsed, checked against the EMF specification's
 * structure, and compared with what the emulator's access log says happened.
 *
 * The buckets are a small HTTP server standing in for S3, so that each existence-check outcome can be
 * provoked: a blob everywhere, one only in the primary bucket (not replicated yet), one whose HEAD never
 * answers, one whose HEAD fails. The config bucket has no pointer, so the first range refresh fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucketUrl } from '../../layers/config/edge';
import type { ResolvedConfig } from '../../layers/config/schema';
import { awsCreateDateMs } from '../../layers/ranges/version';
import { blobOriginGroup } from '../../local/cloudfront/distribution';
import { type AccessLogEntry, type CloudFrontEmulator, startCloudFrontEmulator } from '../../local/cloudfront/emulator';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { emfPoints, type EmfPoint, total } from '../support/emf';
import { startServer, type TestServer } from '../support/http';
import { send } from './support/client';

jest.setTimeout(120_000);

const FLUSH_SECONDS = 2;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const EVERYWHERE = digest('a');
const PRIMARY_ONLY = digest('b');
const HEAD_HANGS = digest('c');
const HEAD_FAILS = digest('d');
const blob = (d: string) => `/v2/demo/hello/blobs/${d}`;

// The local stack's overlay: 127.0.1.0/24 AWS us-east-1, 127.0.2.0/24 eu-west-1, 127.0.3.0/24 ap-south-1
// (no bucket: ap-southeast-1 is nearest), 127.0.4.0/24 GCP; 127.0.0.1 is an internet client.
const US_EAST_1 = '127.0.1.10';
const EU_WEST_1 = '127.0.2.10';
const AP_SOUTH_1 = '127.0.3.10';
const GCP = '127.0.4.10';
const INTERNET = '127.0.0.1';
const EXTRA_CACHED_PULLS = 40;

let s3: TestServer;
let build: TemporaryBuild;
let config: ResolvedConfig;
let emulator: CloudFrontEmulator;
const access: AccessLogEntry[] = [];
const lines: { fn: string; line: string }[] = [];
let before: AccessLogEntry[];
let viewer: EmfPoint[];
let origin: EmfPoint[];

const get = (path: string, localAddress: string, method = 'GET') => send(`${emulator.url}${path}`, { localAddress, method });

async function waitFor(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  s3 = await startServer((req, res) => {
    const [, bucket = '', ...rest] = (req.url ?? '').split('/');
    const key = rest.join('/');
    const region = bucket.replace(/^registry-edge-local-/, '');
    const name = key.replace(/^containers\/images\//, '');
    if (req.method === 'HEAD' && name === HEAD_HANGS) return; // never answers: the check times out
    if (req.method === 'HEAD' && name === HEAD_FAILS) return void res.writeHead(500).end();
    const held = [EVERYWHERE, HEAD_HANGS, HEAD_FAILS].includes(name) || (name === PRIMARY_ONLY && region === 'us-east-1');
    if (!held) return void res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 5 });
    res.end(req.method === 'HEAD' ? undefined : 'bytes');
  });
  build = await buildTemporary({
    stage: 'local',
    override: {
      buckets: { publicEndpoint: `${s3.url}/{bucket}`, apiEndpoint: `${s3.url}/{bucket}` },
      routing: { verify: { timeoutMs: 100 } },
      edgeMetrics: { flushSeconds: FLUSH_SECONDS },
    },
    only: ['edge-viewer-request', 'edge-origin-request'],
  });
  config = build.config;
  emulator = await startCloudFrontEmulator({
    viewerRequest: build.functions['edge-viewer-request']!.file,
    originRequest: build.functions['edge-origin-request']!.file,
    edgeRegion: 'eu-west-1',
    origins: blobOriginGroup(config.edge),
    onAccess: (entry) => access.push(entry),
    onFunctionLog: (fn, line) => lines.push({ fn, line }),
  });

  // The pulls whose metrics are checked. Sequential, so the counts do not depend on timing.
  await get(blob(EVERYWHERE), EU_WEST_1); // regional eu-west-1, check fetched
  for (let i = 0; i < EXTRA_CACHED_PULLS; i++) await get(blob(EVERYWHERE), EU_WEST_1); // regional, check cached
  await get(blob(EVERYWHERE), US_EAST_1); // regional us-east-1, check fetched
  await get(blob(PRIMARY_ONLY), EU_WEST_1); // miss: through CloudFront, nearest bucket 404, failover to the primary
  await get(blob(PRIMARY_ONLY), EU_WEST_1); // a miss is believed briefly (negativeCacheSeconds): answered from memory
  await get(blob(HEAD_HANGS), AP_SOUTH_1); // timeout, through CloudFront (ap-southeast-1 planned)
  await get(blob(HEAD_FAILS), US_EAST_1); // error, through CloudFront
  await get(blob(EVERYWHERE), INTERNET); // through CloudFront, no check
  await get(blob(EVERYWHERE), GCP); // upstream
  await get('/v2/demo/hello/manifests/1', INTERNET); // upstream
  await get('/v2/demo/hello/tags/list', US_EAST_1); // upstream
  await get('/v2/', INTERNET); // respond
  await get('/v2/demo/hello/manifests/1', INTERNET, 'DELETE'); // respond (405)
  await get('/', INTERNET); // redirect to the docs
  await waitFor('the access log of every pull', () => access.length === EXTRA_CACHED_PULLS + 13);
  before = [...access];

  // Nothing is written until the first request after the interval: this one flushes both functions.
  await new Promise((resolve) => setTimeout(resolve, FLUSH_SECONDS * 1000 + 200));
  await get(blob(EVERYWHERE), INTERNET);
  const of = (fn: string) => emfPoints(lines.filter((l) => l.fn === fn).map((l) => l.line));
  // Lines come through each worker's stdout; a flush may also have happened mid-way on a slow machine.
  const forwarded = before.filter((e) => e.resultType !== 'LambdaGeneratedResponse').length;
  await waitFor('both functions\' EMF lines', () => total(of('viewer-request'), 'Decisions') >= before.length && total(of('origin-request'), 'OriginRequests') >= forwarded);
  // A flush is several lines, each its own write: let the rest of them arrive.
  let seen = -1;
  while (seen !== lines.length) {
    seen = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  viewer = of('viewer-request');
  origin = of('origin-request');
});

afterAll(async () => {
  await emulator?.stop();
  await s3?.close();
  build?.dispose();
});

/** What the emulator saw, in the metrics' terms. */
function actionSeen(entry: AccessLogEntry): string {
  if (entry.resultType !== 'LambdaGeneratedResponse') return 'cloudfront';
  if (entry.status !== 307) return 'respond';
  if (Object.entries(config.edge.buckets).some(([region, bucket]) => entry.location!.startsWith(`${bucketUrl(config.edge.publicEndpoint, bucket, region)}/`))) return 'regional';
  return entry.location!.startsWith(`${config.edge.upstream.origin}/`) ? 'upstream' : 'redirect';
}

const tally = (values: string[]) => values.reduce<Record<string, number>>((out, v) => ({ ...out, [v]: (out[v] ?? 0) + 1 }), {});
const byDimension = (points: EmfPoint[], metric: string, dimension: string) =>
  points.filter((p) => p.metric === metric).reduce<Record<string, number>>((out, p) => ({ ...out, [p.dimensions[dimension]!]: (out[p.dimensions[dimension]!] ?? 0) + p.value }), {});

test('every line is an EMF document in the RegistryEdge namespace with the function\'s service and stage', () => {
  for (const [points, service] of [[viewer, 'edge-viewer-request'], [origin, 'edge-origin-request']] as const) {
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) {
      expect(p.namespace).toBe('RegistryEdge');
      expect(p.dimensions).toMatchObject({ service, stage: 'local' });
    }
  }
});

test('decisions by action match what the emulator answered, request for request', () => {
  expect(byDimension(viewer, 'Decisions', 'action')).toEqual(tally(before.map(actionSeen)));
  expect(byDimension(viewer, 'Decisions', 'action')).toEqual({ regional: EXTRA_CACHED_PULLS + 2, cloudfront: 5, upstream: 3, respond: 2, redirect: 1 });
  expect(total(viewer, 'Decisions', { action: 'regional', bucketRegion: 'eu-west-1' })).toBe(EXTRA_CACHED_PULLS + 1);
  expect(total(viewer, 'Decisions', { action: 'regional', bucketRegion: 'us-east-1' })).toBe(1);
  expect(total(viewer, 'Decisions', { bucketRegion: 'none' })).toBe(11);
});

test('existence checks by result, cached or not, and the fallbacks they caused by planned bucket region', () => {
  const checks = Object.fromEntries(viewer.filter((p) => p.metric === 'BlobChecks').map((p) => [`${p.dimensions.result}/${p.dimensions.cached}`, p.value]));
  expect(checks).toEqual({ 'hit/false': 2, 'hit/true': EXTRA_CACHED_PULLS, 'miss/false': 1, 'miss/true': 1, 'timeout/false': 1, 'error/false': 1 });
  expect(byDimension(viewer, 'VerifyFallbacks', 'bucketRegion')).toEqual({ 'eu-west-1': 2, 'ap-southeast-1': 1, 'us-east-1': 1 });
});

test('the origin function counts each blob sent to the nearest bucket, and each failover to the primary', () => {
  const missed = before.filter((e) => e.resultType !== 'LambdaGeneratedResponse');
  expect(total(origin, 'OriginRequests', { bucketRegion: 'eu-west-1' })).toBe(missed.length);
  expect(total(origin, 'OriginFailovers')).toBe(missed.filter((e) => e.origins.length === 2).length);
  expect(total(origin, 'OriginFailovers')).toBe(2);
});

test('the range table: its age and syncToken, and the refresh that found no pointer', () => {
  const feed = JSON.parse(readFileSync(join(__dirname, '../../data/aws-ip-ranges.json'), 'utf8')) as { syncToken: string; createDate: string };
  expect(total(viewer, 'TableSyncToken')).toBe(Number(feed.syncToken));
  const age = viewer.find((p) => p.metric === 'TableAgeSeconds')!;
  expect(age.unit).toBe('Seconds');
  expect(Math.abs(age.value - (Date.now() - awsCreateDateMs(feed.createDate)) / 1000)).toBeLessThan(120);
  expect(total(viewer, 'RangeRefreshFailures')).toBe(1);
  expect(total(viewer, 'RangeTableSwaps')).toBe(0);
});

test('one line per dimension set per flush, not one per request', () => {
  const viewerLines = lines.filter((l) => l.fn === 'viewer-request' && l.line.includes('"_aws"'));
  const flushes = new Set(viewer.map((p) => p.timestamp)).size;
  const sets = new Set(viewer.map((p) => `${p.timestamp} ${JSON.stringify(p.dimensions)}`));
  expect(viewerLines.length).toBe(sets.size);
  // 6 decision sets, 6 check sets, 3 fallback sets, 1 for the table: 16 per flush, whatever the traffic.
  expect(viewerLines.length).toBeLessThanOrEqual(16 * flushes);
  expect(viewerLines.length).toBeLessThan(before.length / 2);
});
