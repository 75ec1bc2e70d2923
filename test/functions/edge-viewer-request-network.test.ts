/**
 * The bundled viewer-request function's network, in a Node of its own (the Lambda runtime's, with the
 * runtime's credentials in the environment): its first request HEADs the blob and takes up a newer range
 * table from the config bucket (a signed pointer GET, a signed gzip-encoded table GET), and all of it
 * without touching fetch, Request, Response, Headers or WebCrypto. Those load Node's fetch implementation
 * (undici) or WebCrypto on first use, which cost the first request of every instance about 20 ms.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import { viewerRequestEvent } from '../../layers/cloudfront/events';
import { compileRanges } from '../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../layers/ranges/feeds';
import { describeTable, tableKey } from '../../layers/ranges/pointer';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { lambdaNode } from '../../tools/runtime';
import { TEST_CONFIG } from '../support/configs';
import { startServer, type TestServer } from '../support/http';
import { AWS_LATER_TOKEN, awsFeedText, gcpFeedText } from '../support/range-feeds';

const BLOB = `sha256:${'5'.repeat(64)}`;
const CONFIG_BUCKET = 'edge-test-config';

/** The newer table, published as the updater does (gzip-encoded, under its checksum, generation 1). */
const newer = compileRanges({ aws: parseAwsFeed(awsFeedText(undefined, 'aws-ip-ranges-2026-08-22.json')), gcp: parseGcpFeed(gcpFeedText()) });
const sha256 = createHash('sha256').update(newer.bytes).digest('hex');
const key = tableKey('ranges/current.json', sha256);
const pointer = JSON.stringify({
  ...describeTable({
    key,
    sha256,
    bytes: newer.bytes.length,
    metadata: newer.metadata,
    counts: { aws: { v4: newer.stats.aws.v4, v6: newer.stats.aws.v6 }, gcp: { v4: 1, v6: 1 }, overlay: 0, entries: newer.stats.entries },
    publishedAt: new Date(),
    forced: false,
  }),
  generation: 1,
});
const stored = gzipSync(Buffer.from(newer.bytes));

const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
let buckets: TestServer;
let build: TemporaryBuild;

beforeAll(async () => {
  buckets = await startServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.method === 'HEAD') return res.writeHead(req.url?.endsWith(BLOB) ? 200 : 404, { 'content-length': '0' }).end();
    if (req.url === `/${CONFIG_BUCKET}/ranges/current.json`) return res.writeHead(200, { etag: '"p1"' }).end(pointer);
    if (req.url === `/${CONFIG_BUCKET}/${key}`) return res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': stored.length }).end(stored);
    res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
  });
  build = await buildTemporary({
    stage: 'test',
    config: TEST_CONFIG,
    override: {
      buckets: { publicEndpoint: `${buckets.url}/{bucket}`, apiEndpoint: `${buckets.url}/{bucket}` },
      routing: { verify: { timeoutMs: 2000 } },
      ranges: { refreshBudgetMs: 2000 },
    },
    only: ['edge-viewer-request'],
  });
}, 60_000);

afterAll(async () => {
  build?.dispose();
  await buckets?.close();
});

/** What the child reports: the first answer, the refresher's status, and which web globals were read. */
interface Report {
  status: string;
  location: string;
  swaps: number;
  source: string;
  version: { aws: string };
  lastError: string | null;
  touched: string[];
}

function firstRequestInFreshNode(): Promise<Report> {
  // An EC2 address in eu-west-1, in the embedded table and the published one alike.
  const event = viewerRequestEvent({ clientIp: '52.208.0.10', method: 'GET', uri: `/v2/pause/blobs/${BLOB}` });
  // Every web global that would load undici or WebCrypto is watched: read, it is recorded (and still works).
  const script = `
const touched = [];
for (const name of ['fetch', 'Request', 'Response', 'Headers', 'FormData', 'WebSocket', 'EventSource', 'crypto']) {
  const own = Object.getOwnPropertyDescriptor(globalThis, name);
  if (!own) continue;
  Object.defineProperty(globalThis, name, { configurable: true, enumerable: own.enumerable, get() { touched.push(name); return own.get ? own.get.call(globalThis) : own.value; } });
}
const fn = require(${JSON.stringify(build.functions['edge-viewer-request']!.file)});
(async () => {
  const result = await fn.handler(${JSON.stringify(event)});
  await fn.rangeRefresh.idle();
  const status = fn.rangeRefresh.status();
  process.stdout.write('\\n' + JSON.stringify({ status: result.status, location: result.headers?.location?.[0]?.value ?? JSON.stringify(result), swaps: status.swaps, source: status.source, version: status.version, lastError: status.lastError, touched }));
})().catch((error) => { console.error(error); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '', AWS_ACCESS_KEY_ID: 'ASIAEDGE', AWS_SECRET_ACCESS_KEY: 'edge-secret', AWS_SESSION_TOKEN: 'edge-session' };
    const child = spawn(lambdaNode(), ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the function's process failed (${code}): ${stderr}`));
      resolve(JSON.parse(stdout.slice(stdout.lastIndexOf('\n') + 1)) as Report);
    });
  });
}

test('the first request of an instance checks the blob and takes up a newer table, and reads no fetch, Headers or WebCrypto', async () => {
  const report = await firstRequestInFreshNode();
  expect(report).toEqual({
    status: '307',
    location: `${buckets.url}/edge-test-eu-west-1/containers/images/${BLOB}`,
    swaps: 1,
    source: key,
    version: expect.objectContaining({ aws: AWS_LATER_TOKEN }),
    lastError: null,
    touched: [],
  });
  // The HEAD goes unsigned (the buckets are public); the config bucket's GETs are signed with the runtime's credentials.
  expect(seen.map((s) => `${s.method} ${s.url}`).sort()).toEqual([`GET /${CONFIG_BUCKET}/${key}`, `GET /${CONFIG_BUCKET}/ranges/current.json`, `HEAD /edge-test-eu-west-1/containers/images/${BLOB}`]);
  for (const { method, headers } of seen) {
    if (method === 'HEAD') expect(headers.authorization).toBeUndefined();
    else {
      expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAEDGE\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
      expect(headers['x-amz-security-token']).toBe('edge-session');
    }
  }
}, 30_000);
