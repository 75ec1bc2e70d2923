/**
 * What the redirects saved, end to end: the local stack (local/stack.ts) with the CloudFront emulator
 * writing a standard access log, pulls by several kinds of client (skopeo, and an HTTP client bound to the
 * overlay's addresses, following redirects as registry clients do), then `registry-edge cost-report` on
 * that log, with blob sizes from a listing of the local primary bucket. Every figure it reports is checked
 * against what the test itself did and what its clients received.
 *
 *   127.0.1.x aws us-east-1 · 127.0.2.x aws eu-west-1 · 127.0.3.x aws ap-south-1 (no bucket: ap-southeast-1)
 *   · 127.0.4.x gcp · 127.0.0.1 the internet. The emulated regional edge cache is eu-west-1.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { AccessLogParser, CLOUDFRONT_LOG_FIELDS, type LogRecord } from '../../layers/costs/access-log';
import { DEFAULT_PRICES, GB, lambdaEdgeInvocationCost, type PriceTable } from '../../layers/costs/prices';
import type { Plan } from '../../layers/costs/plan';
import type { CostReport } from '../../layers/costs/report';
import { type AccessLogEntry, startCloudFrontEmulator } from '../../local/cloudfront/emulator';
import { createStandardLogWriter, type StandardLogWriter } from '../../local/cloudfront/standard-log';
import { type Stack, startStack } from '../../local/stack';
import { BIN, runCli } from '../support/cli';
import { freePort, portIsFree } from '../support/ports';
import { sha256 } from './support/client';
import { hostArchitecture, readSkopeoDir, runLine } from './support/tools';

const EDGE_REGION = 'eu-west-1';
const US_EAST = '127.0.1.10';
const EU_WEST = '127.0.2.10';
const AP_SOUTH = '127.0.3.10';
const GCP = '127.0.4.10';

interface Hop {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Bytes the client read from the connection: status line, headers and body. */
  received: number;
}

/** One request on its own connection, so `received` is exactly what the server sent for it. */
function fetchOnce(url: string, options: { method?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<Hop> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (res) => {
      const socket = res.socket;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), received: socket.bytesRead }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Puts bytes into a bucket under their digest, as a promoted blob is stored. */
async function putBlob(stack: Stack, bucket: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${stack.config.edge.blobPrefix}${digest}`, Body: bytes }));
  return digest;
}

describe('registry-edge cost-report on the local stack\'s access log', () => {
  let stack: Stack;
  let work: string;
  let logFile: string;
  let configFile: string;
  let writer: StandardLogWriter | undefined;
  const entries: AccessLogEntry[] = [];
  /** What each request made by fetchOnce received, by the emulator's request id. */
  const received = new Map<string, number>();

  // What the test does, to check the report against.
  let sizeOf: (digest: string) => number;
  let payload: { digest: string; size: number };
  let config: { digest: string; size: number };
  let skopeoBlobs: string[];
  let notReplicated: { digest: string; size: number };
  let regionalOnly: string;

  const edge = (path: string) => `${stack.endpoint}${path}`;
  const blobPath = (digest: string) => `/v2/${stack.image.repository}/blobs/${digest}`;
  /** A request through the edge, and the next hop when it is a redirect (from the same address). */
  async function pull(path: string, options: { method?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<Hop[]> {
    const first = await fetchOnce(edge(path), options);
    received.set(String(first.headers['x-amz-cf-id']), first.received);
    if (first.status !== 307) return [first];
    return [first, await fetchOnce(String(first.headers.location), options)];
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cost-report-e2e-'));
    logFile = join(work, 'access.log');
    // The stack's own readiness checks are not part of the test: the log starts once it is up.
    stack = await startStack({ port: 0, edgeRegion: EDGE_REGION, relays: true, onAccess: (e) => writer && (entries.push(e), writer.write(e)) });
    writer = createStandardLogWriter(logFile);
    configFile = join(work, 'local.json');
    writeFileSync(configFile, JSON.stringify(stack.config.stage));
    const sizes = new Map(stack.image.blobs.map((b) => [b.digest, b.size]));
    sizeOf = (digest) => sizes.get(digest) ?? notReplicated.size;
    payload = stack.image.blobs.reduce((a, b) => (b.size > a.size ? b : a));
    const host = stack.image.manifests.find((m) => m.platform.architecture === hostArchitecture)!;
    config = host.config;
    skopeoBlobs = [host.config.digest, ...host.layers.map((l) => l.digest)].sort();

    // A blob only the primary holds (replication has not caught up): the edge serves it through CloudFront.
    const fresh = randomBytes(64 * 1024);
    notReplicated = { digest: await putBlob(stack, stack.buckets.primary, fresh), size: fresh.length };
    // A blob only eu-west-1 holds: redirected there, but absent from the primary's listing (size unknown).
    regionalOnly = await putBlob(stack, stack.buckets.regional['eu-west-1']!, randomBytes(1000));

    // 1. A real client in eu-west-1: skopeo, through its relay.
    const relay = stack.clients.find((c) => c.address === EU_WEST)!.relay!.address;
    expect(await runLine(stack.pullCommand(join(work, 'skopeo-eu'), relay))).toMatchObject({ code: 0 });
    expect(readSkopeoDir(join(work, 'skopeo-eu')).blobs).toEqual(skopeoBlobs);
    // 2. us-east-1: the payload from its own region's bucket; a HEAD of the config (no bytes).
    expect((await pull(blobPath(payload.digest), { localAddress: US_EAST })).map((h) => h.status)).toEqual([307, 200]);
    expect((await pull(blobPath(config.digest), { localAddress: US_EAST, method: 'HEAD' })).map((h) => h.status)).toEqual([307, 200]);
    // 3. ap-south-1 has no bucket: payload and config from ap-southeast-1.
    for (const digest of [payload.digest, config.digest]) {
      const hops = await pull(blobPath(digest), { localAddress: AP_SOUTH });
      expect([hops[0]!.headers.location, sha256(hops[1]!.body)]).toEqual([`${stack.s3Endpoint}/${stack.buckets.regional['ap-southeast-1']}/${stack.config.edge.blobPrefix}${digest}`, digest]);
    }
    // 4. GCP: the payload from the upstream registry.
    const gcp = await pull(blobPath(payload.digest), { localAddress: GCP });
    expect([gcp[0]!.headers.location, sha256(gcp[1]!.body)]).toEqual([`${stack.registryUrl}${blobPath(payload.digest)}`, payload.digest]);
    // 5. The internet: the payload through CloudFront, a range of it, a HEAD.
    expect(sha256((await pull(blobPath(payload.digest)))[0]!.body)).toBe(payload.digest);
    const range = await pull(blobPath(payload.digest), { headers: { range: 'bytes=0-99' } });
    expect([range[0]!.status, range[0]!.body.length]).toEqual([206, 100]);
    expect((await pull(blobPath(payload.digest), { method: 'HEAD' }))[0]!.status).toBe(200);
    // 6. eu-west-1 asks for the blob that is not replicated yet: CloudFront, failing over to the primary.
    const fallback = await pull(blobPath(notReplicated.digest), { localAddress: EU_WEST });
    expect([fallback.length, fallback[0]!.status, sha256(fallback[0]!.body)]).toEqual([1, 200, notReplicated.digest]);
    // 7. eu-west-1 asks for the blob only its bucket holds.
    expect((await pull(blobPath(regionalOnly), { localAddress: EU_WEST })).map((h) => h.status)).toEqual([307, 200]);
    // 8. No blob bytes: a manifest (upstream), the API root, a blob nobody has.
    expect((await pull(`/v2/${stack.image.repository}/manifests/${stack.image.tag}`, { headers: { accept: stack.image.index.mediaType } })).map((h) => h.status)).toEqual([307, 200]);
    expect((await pull('/v2/'))[0]!.status).toBe(200);
    // A blob nobody has: no bucket holds it, so the origin-response function sends the client to the
    // upstream registry, which has not got it either.
    expect((await pull(blobPath(`sha256:${'0'.repeat(64)}`))).map((h) => h.status)).toEqual([307, 404]);
  }, 180_000);

  afterAll(async () => {
    const ports = stack ? [stack.ports.edge, stack.ports.s3, stack.ports.registry] : [];
    await stack?.stop();
    writer?.close();
    rmSync(work, { recursive: true, force: true });
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });

  const logRecords = (): LogRecord[] => {
    const parser = new AccessLogParser();
    return readFileSync(logFile, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const outcome = parser.line(line);
        if (outcome.kind === 'malformed') throw new Error(`malformed line in the emulator's log: ${outcome.detail}: ${line}`);
        return outcome.kind === 'record' ? [outcome.record] : [];
      });
  };

  it('writes one standard log line per request, with the bytes each client really received', () => {
    const text = readFileSync(logFile, 'utf8');
    expect(text.startsWith(`#Version: 1.0\n#Fields: ${CLOUDFRONT_LOG_FIELDS.join(' ')}\n`)).toBe(true);
    const records = logRecords();
    expect(records).toHaveLength(entries.length);
    const lines = text.trimEnd().split('\n').slice(2).map((l) => l.split('\t'));
    const field = (line: string[], name: string) => line[CLOUDFRONT_LOG_FIELDS.indexOf(name as (typeof CLOUDFRONT_LOG_FIELDS)[number])]!;
    // us-east-1 2, ap-south-1 2, GCP 1, internet 3, the two eu-west-1 blobs, manifest, /v2/, missing blob.
    expect(received.size).toBe(13);
    for (const [requestId, bytes] of received) {
      const line = lines.find((l) => field(l, 'x-edge-request-id') === requestId);
      expect([requestId, Number(field(line!, 'sc-bytes'))]).toEqual([requestId, bytes]);
    }
    const ranged = lines.find((l) => field(l, 'sc-status') === '206')!;
    expect([field(ranged, 'sc-range-start'), field(ranged, 'sc-range-end'), field(ranged, 'sc-content-len')]).toEqual(['0', '99', '100']);
    expect(lines.filter((l) => field(l, 'cs(User-Agent)').startsWith('skopeo')).length).toBeGreaterThan(skopeoBlobs.length);
  });

  describe('the report', () => {
    let report: CostReport;
    let stderr: string;

    beforeAll(() => {
      const result = runCli(['cost-report', '--config', configFile, '--s3-endpoint', stack.s3Endpoint, '--bucket', stack.buckets.primary, '--json', logFile]);
      if (result.status !== 0) throw new Error(`cost-report failed (${result.status}): ${result.stderr}`);
      expect(result.lines).toHaveLength(1);
      report = result.lines[0] as CostReport;
      stderr = result.stderr;
    });

    it('reads every line, and judges it by the stack\'s own configuration', () => {
      expect(report.input).toEqual({ files: 1, lines: entries.length, records: entries.length, malformed: { lines: 0, reasons: {}, examples: [] } });
      expect(report.routing).toMatchObject({ stage: 'local', config: configFile });
      expect(report.sizes.sources).toEqual([expect.stringMatching(new RegExp(`^s3://${stack.buckets.primary}/containers/images/ at ${stack.s3Endpoint} \\(\\d+ objects listed\\)$`))]);
      expect(report.prices).toEqual(DEFAULT_PRICES);
    });

    it('attributes each request and byte to the path it took', () => {
      const sum = (digests: string[]) => digests.reduce((total, d) => total + sizeOf(d), 0);
      const bytesOf = (requestIds: string[]) => requestIds.reduce((total, id) => total + received.get(id)!, 0);
      const cloudfrontIds = entries.filter((e) => e.uri.includes('/blobs/') && e.status < 300).map((e) => e.requestId);
      const cloudfrontGets = entries.filter((e) => cloudfrontIds.includes(e.requestId) && e.method === 'GET').map((e) => e.requestId);
      const skopeoOther = entries.filter((e) => e.clientIp === EU_WEST && !e.uri.includes('/blobs/'));
      expect(report.paths.regionalSameRegion).toMatchObject({
        // skopeo's blobs, and the blob only eu-west-1 holds; us-east-1's payload and HEAD.
        requests: skopeoBlobs.length + 1 + 2,
        downloads: skopeoBlobs.length + 1 + 1,
        bytes: sum(skopeoBlobs) + payload.size,
        unknownSize: 1,
        bucketRequests: skopeoBlobs.length + 3,
        originFetches: 0,
        bytesByClient: { aws: sum(skopeoBlobs) + payload.size, gcp: 0, internet: 0, 'aws-other-partition': 0 },
      });
      expect(report.paths.regionalCrossRegion).toMatchObject({ requests: 2, downloads: 2, bytes: payload.size + config.size, unknownSize: 0, bucketRequests: 2 });
      // GCP's payload; and the blob nobody has, which the origin-response function sent upstream (its size
      // is unknown: it is in no bucket's listing).
      expect(report.paths.upstream).toMatchObject({ requests: 2, downloads: 2, bytes: payload.size, unknownSize: 1, originFetches: 1, bytesByClient: { gcp: payload.size, aws: 0, internet: 0, 'aws-other-partition': 0 } });
      expect(report.upstreamFallbacks).toBe(1);
      // Through CloudFront: the internet's GET, range and HEAD, and eu-west-1's fallback; the bytes are what
      // the clients received. The emulator's cache answered some of them: only its misses went to a bucket.
      expect(cloudfrontIds).toHaveLength(4);
      const misses = entries.filter((e) => cloudfrontIds.includes(e.requestId) && e.resultType === 'Miss').length;
      expect(misses).toBeGreaterThanOrEqual(2); // the first GET of the payload, and the not-replicated blob
      expect(report.paths.cloudfront).toMatchObject({ requests: 4, downloads: 3, bytes: bytesOf(cloudfrontGets), edgeBytes: bytesOf(cloudfrontIds), originFetches: misses, unknownSize: 0 });
      expect(report.paths.cloudfront.bytes).toBeGreaterThan(payload.size + 100 + notReplicated.size);
      expect(report.fallbacks).toBe(1);
      // Nothing else moved blob bytes: skopeo's /v2/ and manifests, our manifest and /v2/.
      expect(report.paths.other).toMatchObject({ requests: skopeoOther.length + 2, downloads: 0, bytes: 0 });
      expect(report.other).toEqual({
        manifest: skopeoOther.filter((e) => e.uri.includes('/manifests/')).length + 1,
        generated: skopeoOther.filter((e) => e.uri === '/v2/').length + 1,
        error: 0,
        aborted: 0,
        mismatch: 0,
      });
      expect(report.sizes.unknown).toEqual({ downloads: 2, distinct: 2, exact: true, sample: [regionalOnly, `sha256:${'0'.repeat(64)}`].sort() });
      expect(stderr).toMatch(/2 download\(s\) of 2 blob\(s\) have no known size/);
      expect(report.total).toMatchObject({ requests: entries.length, downloads: skopeoBlobs.length + 2 + 2 + 1 + 3 + 1 });
      // The distribution's bytes, path by path, add up to every byte the emulator sent.
      const edgeBytes = Object.values(report.paths).reduce((total, p) => total + p.edgeBytes, 0);
      expect(edgeBytes).toBe(entries.reduce((total, e) => total + e.bytesSent, 0));
    });

    it('prices each path, the baseline and the savings', () => {
      const prices: PriceTable = DEFAULT_PRICES;
      const invocation = lambdaEdgeInvocationCost(prices);
      const gb = (bytes: number) => bytes / GB;
      for (const [name, p] of Object.entries(report.paths)) {
        const transfer =
          name === 'regionalCrossRegion' ? gb(p.bytes) * 0.02 : name === 'upstream' ? gb(p.bytesByClient.gcp!) * 0.01 + gb(p.bytes - p.bytesByClient.gcp!) * 0.12 : 0;
        const expected = {
          transfer,
          cloudfrontTransfer: gb(p.edgeBytes) * 0.085,
          cloudfrontRequests: p.requests * 0.000001,
          lambdaEdge: (p.requests + 2 * p.originFetches) * invocation,
          s3Requests: (p.bucketRequests + p.originFetches) * 0.0000004,
        };
        for (const [item, value] of Object.entries(expected)) expect([name, item, p.cost[item as keyof typeof expected]]).toEqual([name, item, expect.closeTo(value, 8)]);
      }
      // Baseline: every known blob byte from the registry: GCP's at $0.01/GB, everyone else's at $0.12/GB.
      const blobBytes = report.total.bytes;
      expect(report.baseline.bytes).toBe(blobBytes);
      expect(report.baseline.cost).toBeCloseTo(gb(payload.size) * 0.01 + gb(blobBytes - payload.size) * 0.12, 8);
      expect(report.savings.amount).toBeCloseTo(report.baseline.cost - report.total.cost.total, 8);
      expect(report.savings.percent).toBeCloseTo((report.savings.amount / report.baseline.cost) * 100, 1);
      expect(report.savings.percent!).toBeGreaterThan(50);
    });

    it('plan-regions on the same log, the catalogue listed from the primary bucket', () => {
      const result = runCli(['plan-regions', '--config', configFile, '--s3-endpoint', stack.s3Endpoint, '--json', logFile]);
      if (result.status !== 0) throw new Error(`plan-regions failed (${result.status}): ${result.stderr}`);
      const plan = result.lines[0] as Plan;
      // ap-south-1 pulled (cross-region, from ap-southeast-1) and has no bucket: the one candidate.
      expect(plan.candidates.map((c) => c.region)).toEqual(['ap-south-1']);
      // Log times are whole seconds: the period ends with the last line's second.
      const perMonth = (730 * 3600) / ((Date.parse(plan.period.to) - Date.parse(plan.period.from)) / 1000 + 1);
      expect(plan.candidates[0]!.monthlyBytes).toBe(Math.round((payload.size + config.size) * perMonth));
      expect(plan.existing.map((e) => e.region).sort()).toEqual(Object.keys(stack.buckets.regional).sort());
      expect(plan.existing.find((e) => e.primary)?.region).toBe('us-east-1');
      // The catalogue is what the primary bucket holds: the demo image's blobs and the one not replicated yet.
      const listed = new Set([...stack.image.blobs.map((b) => b.digest), notReplicated.digest]);
      expect(plan.catalogue.blobs).toBe(listed.size);
      expect(plan.catalogue.bytes).toBe([...listed].reduce((total, d) => total + sizeOf(d), 0));
    });

    it('prints the same figures as a table, and takes other prices from a file', () => {
      const pricesFile = join(work, 'prices.json');
      writeFileSync(pricesFile, JSON.stringify({ perGB: { cloudfrontToInternet: 1 }, asOf: '2027-01', source: 'test contract' }));
      const table = runCli(['cost-report', '--config', configFile, '--s3-endpoint', stack.s3Endpoint, '--prices', pricesFile, logFile]);
      expect(table.status).toBe(0);
      process.stdout.write(`\n${table.stdout}\n`);
      expect(table.stdout).toMatch(new RegExp(`^registry-edge cost report: ${entries.length} requests in 1 file\\(s\\), `, 'm'));
      expect(table.stdout).toMatch(/^ {2}prices: USD, as of 2027-01: test contract$/m);
      expect(table.stdout).toMatch(new RegExp(`^S3, same region +${skopeoBlobs.length + 3} +${skopeoBlobs.length + 2} +[\\d.]+ [KM]iB \\(\\+1 unknown\\) +`, 'm'));
      expect(table.stdout).toMatch(/^S3, cross-region +2 +2 +/m);
      expect(table.stdout).toMatch(/^upstream registry +2 +2 +1\.\d\d MiB \(\+1 unknown\) +/m);
      expect(table.stdout).toMatch(/^upstream fallbacks: 1 blob request\(s\) no bucket held/m);
      expect(table.stdout).toMatch(/^CloudFront +4 +3 +/m);
      const cloudfrontCost = report.paths.cloudfront.edgeBytes / GB; // $1/GB now
      const row = table.stdout.split('\n').find((l) => l.startsWith('CloudFront'))!;
      expect(row.split(/\s{2,}/)[4]).toBe(`$${cloudfrontCost.toFixed(2 - Math.floor(Math.log10(cloudfrontCost)))}`);
      // At $1/GB, CloudFront costs more than the registry's egress would have: the savings turn negative.
      expect(table.stdout).toMatch(/^savings: -\$0\.\d+ \(-\d+\.\d % of the baseline\)$/m);
    });
  });

  it('an unreadable input is a clear error and exit 1', () => {
    const broken = join(work, 'broken.gz');
    writeFileSync(broken, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4]));
    for (const [args, message] of [
      [[broken], /^registry-edge: .*broken\.gz: not a readable gzip file/m],
      [[join(work, 'missing')], /^registry-edge: .*missing: no such file or folder$/m],
      [[configFile], /^registry-edge: no log records in .*local\.json: 1 line\(s\), all malformed \(first at .*local\.json:1: a data line before any #Fields line\)$/m],
    ] as const) {
      const result = runCli(['cost-report', '--config', configFile, ...args]);
      expect([result.status, result.stdout]).toEqual([1, '']);
      expect(result.stderr).toMatch(message);
    }
    expect(runCli(['cost-report', logFile]).stderr).toMatch(/--stage <stage> or --config <file>/);
  });
});

describe('the emulator\'s accessLogFile option', () => {
  it('appends standard log lines to a file, with the header once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-log-'));
    const viewer = join(dir, 'viewer.js');
    writeFileSync(viewer, "exports.handler = async () => ({ status: '200', headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] }, body: 'hello' });");
    const file = join(dir, 'access.log');
    const origin = { custom: { domainName: '127.0.0.1', port: 9, protocol: 'http' as const, path: '', sslProtocols: ['TLSv1.2'], readTimeout: 5, keepaliveTimeout: 5, customHeaders: {} } };
    try {
      for (const round of [1, 2]) {
        const emulator = await startCloudFrontEmulator({ viewerRequest: viewer, origins: [origin], port: 0, accessLogFile: file });
        try {
          const hop = await fetchOnce(`${emulator.url}/hello?round=${round}`, { headers: { 'user-agent': 'test client/1.0' } });
          expect([hop.status, hop.body.toString()]).toEqual([200, 'hello']);
        } finally {
          await emulator.stop();
        }
      }
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines.filter((l) => l.startsWith('#'))).toHaveLength(2);
      const parser = new AccessLogParser();
      const records = lines.flatMap((l) => {
        const o = parser.line(l);
        return o.kind === 'record' ? [o.record] : [];
      });
      expect(records.map((r) => [r.clientIp, r.method, r.uri, r.querystring, r.status, r.resultType])).toEqual([
        ['127.0.0.1', 'GET', '/hello', 'round=1', 200, 'LambdaGeneratedResponse'],
        ['127.0.0.1', 'GET', '/hello', 'round=2', 200, 'LambdaGeneratedResponse'],
      ]);
      expect(lines[2]!.split('\t')[CLOUDFRONT_LOG_FIELDS.indexOf('cs(User-Agent)')]).toBe('test%20client/1.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The file's line count once it has not changed for 300 ms (and has reached `atLeast`, or 10 s passed). */
async function settledLineCount(file: string, atLeast = 0): Promise<number> {
  const count = () => readFileSync(file, 'utf8').trimEnd().split('\n').length;
  const deadline = Date.now() + 10_000;
  let last = count();
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const now = count();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (now >= atLeast && Date.now() - stableSince >= 300) {
      break;
    }
  }
  return last;
}

describe('registry-edge stack --access-log', () => {
  it('writes the stack\'s standard log, says how to report on it, and cost-report reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-access-log-'));
    const file = join(dir, 'access.log');
    const port = await freePort();
    // Its own process group, so that whatever happens nothing outlives the test.
    const child = spawn(process.execPath, [BIN, 'stack', '--port', String(port), '--quiet', '--access-log', file, '--dist', join(dir, 'dist')], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!/^ready: /m.test(output)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ready: line:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const s3 = /^ {2}S3 \(moto_server\) +(http:\/\/127\.0\.0\.1:\d+)/m.exec(output)![1]!;
      expect(output).toContain(`  access log (CloudFront standard log format): ${file}; report on it with: registry-edge cost-report --stage local --s3-endpoint ${s3} ${file}`);
      // Written from the first request on: the stack's own readiness checks are in it too. A line is
      // written once its response has ended, which the other process may do just after we read the
      // response: count lines once the file has stopped growing.
      const before = await settledLineCount(file);
      expect((await fetchOnce(`http://127.0.0.1:${port}/v2/`)).status).toBe(200);
      expect((await fetchOnce(`http://127.0.0.1:${port}/v2/demo/hello/tags/list`, { localAddress: AP_SOUTH })).status).toBe(307);
      expect(await settledLineCount(file, before + 2)).toBe(before + 2);
      const report = runCli(['cost-report', '--stage', 'local', '--s3-endpoint', s3, '--json', file]);
      expect(report.status).toBe(0);
      const { input, other, total } = report.lines[0] as CostReport;
      // The lines before ours (less the two header lines), and our two; none of them moved blob bytes.
      expect([input.records, input.malformed.lines, total.downloads]).toEqual([before, 0, 0]);
      expect(other.generated).toBeGreaterThanOrEqual(1);
      expect(other.manifest).toBeGreaterThanOrEqual(1);
      expect(other.generated + other.manifest).toBe(input.records);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(output).toMatch(/^stopped$/m);
    expect(await portIsFree(port)).toBe(true);
  }, 120_000);
});
