/**
 * The emulator's cache and its origin-response functions, with small functions written for the test and
 * two throwaway origins (the group's "nearest" member and the "primary" it fails over to), under the
 * packaged blob behaviour's cache settings (tools/stacks/cache-policy.ts) and a clock the test moves.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccessLogEntry, type CloudFrontEmulator, type CloudFrontOrigin, startCloudFrontEmulator } from '../../local/cloudfront/emulator';
import { standardLogLine } from '../../local/cloudfront/standard-log';
import { CLOUDFRONT_LOG_FIELDS } from '../../layers/costs/access-log';
import { BLOB_CACHE } from '../../tools/stacks/cache-policy';
import { startServer, type TestServer } from '../support/http';
import { send } from './support/client';

const VIEWER = 'exports.handler = async (event) => event.Records[0].cf.request;';

// Stands in for the blob behaviour's origin-response function: S3's 403/404 become a never-cached 307,
// a 200 loses S3's own headers and gains a lifetime. Paths named after a fault provoke one.
const ORIGIN_RESPONSE = `
exports.handler = async (event) => {
  const { request, response } = event.Records[0].cf;
  const name = request.uri.split('/').pop();
  console.log('origin-response ' + name + ' ' + response.status + ' ' + request.origin.custom.path);
  if (name.startsWith('throws')) throw new Error('boom');
  if (name.startsWith('no-status')) return { headers: response.headers };
  if (name.startsWith('sets-via')) return { ...response, headers: { ...response.headers, via: [{ key: 'Via', value: 'mine' }] } };
  if (name.startsWith('huge-body')) return { ...response, body: 'x'.repeat(1024 * 1024) };
  if (name.startsWith('replaced')) return { status: '200', headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] }, body: 'replaced by the function' };
  if (name.startsWith('drops-transfer-encoding')) return { status: '200', headers: {}, body: '' };
  // Transfer-Encoding and Via are read-only: a new set of headers must carry them over as they came.
  const readOnly = {};
  for (const k of ['transfer-encoding', 'via']) if (response.headers[k]) readOnly[k] = response.headers[k];
  if (response.status === '403' || response.status === '404') {
    return { status: '307', statusDescription: 'Temporary Redirect', body: '', headers: { ...readOnly,
      location: [{ key: 'Location', value: 'http://upstream.example/v2/x/blobs/' + name }],
      'cache-control': [{ key: 'Cache-Control', value: 'no-store, no-cache, max-age=0, private' }] } };
  }
  const headers = {};
  for (const [k, v] of Object.entries(response.headers)) if (!k.startsWith('x-amz-') && k !== 'server') headers[k] = v;
  if (response.status.startsWith('2') && !headers['cache-control']) headers['cache-control'] = [{ key: 'Cache-Control', value: 'public, max-age=60' }];
  return { ...response, headers };
};
`;

/** 4 KiB of bytes particular to `name`. */
const bytesOf = (name: string) => Buffer.concat(Array.from({ length: 128 }, (_, i) => createHash('sha256').update(`${name}/${i}`).digest()));

/** A bucket-like origin: 200 (Range honoured) with S3's own headers, or 404 with an XML body. */
function bucket(holds: (name: string) => boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const name = (req.url ?? '').split('/').pop()!;
    const s3 = { server: 'AmazonS3', 'x-amz-request-id': 'R1', 'x-amz-id-2': 'I2' };
    if (name.startsWith('error400')) return void res.writeHead(400, { ...s3, 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code></Error>');
    if (!holds(name)) return void res.writeHead(404, { ...s3, 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
    const body = bytesOf(name);
    const extra = name.startsWith('no-store') ? { 'cache-control': 'no-store' } : {};
    if (name.startsWith('drops-transfer-encoding')) return void res.writeHead(200, s3).end(body); // no length: chunked
    if (name.startsWith('cut-short')) {
      res.writeHead(200, { ...s3, 'content-length': body.length });
      res.write(body.subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.writeHead(206, { ...s3, ...extra, etag: `"${name}"`, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
      return void res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    }
    res.writeHead(200, { ...s3, ...extra, etag: `"${name}"`, 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

describe('CloudFront emulator: cache and origin-response', () => {
  let dir: string;
  let nearest: TestServer;
  let primary: TestServer;
  let emulator: CloudFrontEmulator;
  let now = Date.parse('2026-12-01T10:00:00Z');
  const log: AccessLogEntry[] = [];
  const functionLines: string[] = [];

  const origin = (server: TestServer, path: string): CloudFrontOrigin => ({
    custom: { domainName: '127.0.0.1', port: server.port, protocol: 'http', path, sslProtocols: ['TLSv1.2'], readTimeout: 5, keepaliveTimeout: 5, customHeaders: {} },
  });
  const get = (name: string, options: Parameters<typeof send>[1] = {}) => send(`${emulator.url}/blobs/${name}`, options);
  const entryOf = (reply: { headers: Record<string, unknown> }) => log.find((e) => e.requestId === reply.headers['x-amz-cf-id'])!;
  const originCalls = (name: string) => [...nearest.requests, ...primary.requests].filter((r) => r.url.endsWith(`/${name}`)).length;
  const functionCalls = (name: string) => functionLines.filter((l) => l.startsWith(`origin-response: origin-response ${name} `));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-cache-test-'));
    writeFileSync(join(dir, 'viewer.js'), VIEWER);
    writeFileSync(join(dir, 'origin-response.js'), ORIGIN_RESPONSE);
    nearest = await startServer(bucket((name) => !name.startsWith('only-primary') && !name.startsWith('nowhere')));
    primary = await startServer(bucket((name) => !name.startsWith('nowhere')));
    emulator = await startCloudFrontEmulator({
      viewerRequest: join(dir, 'viewer.js'),
      originResponse: join(dir, 'origin-response.js'),
      origins: [origin(nearest, '/nearest'), origin(primary, '/primary')],
      cache: { behaviour: BLOB_CACHE, maxBytes: 64 * 1024, now: () => now },
      port: 0,
      onAccess: (entry) => log.push(entry),
      onFunctionLog: (fn, line) => functionLines.push(`${fn}: ${line}`),
    });
  });

  afterAll(async () => {
    await emulator?.stop();
    await Promise.all([nearest?.close(), primary?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a miss goes to the origin and through the origin-response function; the same request again is a hit that reaches neither', async () => {
    const first = await get('blob-a');
    expect([first.status, first.headers['x-cache']]).toEqual([200, 'Miss from cloudfront']);
    expect(first.body).toEqual(bytesOf('blob-a'));
    // What the function made of S3's answer is what the viewer gets (and what is stored).
    expect(first.headers).toMatchObject({ 'cache-control': 'public, max-age=60', etag: '"blob-a"' });
    expect(first.headers['x-amz-request-id']).toBeUndefined();
    expect(first.headers.server).toBeUndefined();
    expect(entryOf(first)).toMatchObject({ resultType: 'Miss', cached: true });

    now += 5_000;
    const second = await get('blob-a');
    expect([second.status, second.headers['x-cache'], second.headers.age]).toEqual([200, 'Hit from cloudfront', '5']);
    expect(second.body).toEqual(bytesOf('blob-a'));
    expect(second.headers['cache-control']).toBe('public, max-age=60');
    expect(entryOf(second)).toMatchObject({ resultType: 'Hit', cacheHit: true, origins: [] });
    expect([originCalls('blob-a'), functionCalls('blob-a').length]).toEqual([1, 1]);
    // The standard log tells them apart.
    const resultType = (entry: AccessLogEntry) => standardLogLine(entry).split('\t')[CLOUDFRONT_LOG_FIELDS.indexOf('x-edge-result-type')];
    expect([resultType(entryOf(first)), resultType(entryOf(second))]).toEqual(['Miss', 'Hit']);
  });

  it('serves ranges and HEAD of a cached object from the cache', async () => {
    await get('blob-r');
    const size = bytesOf('blob-r').length;
    const cases: [string, number, Buffer, string | undefined][] = [
      ['bytes=10-19', 206, bytesOf('blob-r').subarray(10, 20), `bytes 10-19/${size}`],
      ['bytes=4000-', 206, bytesOf('blob-r').subarray(4000), `bytes 4000-${size - 1}/${size}`],
      ['bytes=-6', 206, bytesOf('blob-r').subarray(size - 6), `bytes ${size - 6}-${size - 1}/${size}`],
      [`bytes=${size}-`, 416, Buffer.alloc(0), `bytes */${size}`],
    ];
    for (const [range, status, body, contentRange] of cases) {
      const reply = await get('blob-r', { headers: { range } });
      expect([range, reply.status, reply.headers['x-cache'], reply.headers['content-range']]).toEqual([range, status, status < 400 ? 'Hit from cloudfront' : 'Error from cloudfront', contentRange]);
      expect(reply.body).toEqual(body);
    }
    const head = await get('blob-r', { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length, head.headers['x-cache']]).toEqual([200, String(size), 0, 'Hit from cloudfront']);
    const conditional = await get('blob-r', { headers: { 'if-none-match': '"blob-r"' } });
    expect([conditional.status, conditional.body.length]).toEqual([304, 0]);
    expect(originCalls('blob-r')).toBe(1);
  });

  it('a Range miss goes to the origin with its Range; the part is kept for ranges inside it, and a full GET fills the cache', async () => {
    const partial = await get('blob-m', { headers: { range: 'bytes=100-199' } });
    expect([partial.status, partial.headers['x-cache'], partial.body]).toEqual([206, 'Miss from cloudfront', bytesOf('blob-m').subarray(100, 200)]);
    expect(entryOf(partial).cached).toBe(true);
    const inside = await get('blob-m', { headers: { range: 'bytes=150-159' } });
    expect([inside.status, inside.headers['x-cache'], inside.headers['content-range'], inside.body]).toEqual([206, 'Hit from cloudfront', 'bytes 150-159/4096', bytesOf('blob-m').subarray(150, 160)]);
    expect((await get('blob-m', { headers: { range: 'bytes=0-9' } })).headers['x-cache']).toBe('Miss from cloudfront');
    expect((await get('blob-m')).headers['x-cache']).toBe('Miss from cloudfront');
    const after = await get('blob-m', { headers: { range: 'bytes=300-399' } });
    expect([after.status, after.headers['x-cache'], after.body]).toEqual([206, 'Hit from cloudfront', bytesOf('blob-m').subarray(300, 400)]);
    expect(originCalls('blob-m')).toBe(3);
  });

  it('runs the origin-response function once, on the final answer after the origin group failed over', async () => {
    const reply = await get('only-primary-1');
    expect([reply.status, reply.body]).toEqual([200, bytesOf('only-primary-1')]);
    expect(entryOf(reply).origins.map((o) => o.status)).toEqual([404, 200]);
    expect(functionCalls('only-primary-1')).toEqual(['origin-response: origin-response only-primary-1 200 /primary']);
  });

  it('a no-store answer (the fallback 307) is never cached: each request goes to the origins again', async () => {
    for (let round = 1; round <= 2; round++) {
      const reply = await get('nowhere-1');
      expect([reply.status, reply.headers.location, reply.headers['x-cache'], reply.body.length]).toEqual([307, 'http://upstream.example/v2/x/blobs/nowhere-1', 'Miss from cloudfront', 0]);
      expect(entryOf(reply)).toMatchObject({ resultType: 'Miss', location: 'http://upstream.example/v2/x/blobs/nowhere-1' });
      expect(entryOf(reply).cached).toBeUndefined();
      expect(entryOf(reply).origins.map((o) => o.status)).toEqual([404, 404]);
    }
    expect(functionCalls('nowhere-1')).toHaveLength(2);
    // The origin's own no-store too (MinTTL is 0 in the blob behaviour).
    await get('no-store-1');
    expect((await get('no-store-1')).headers['x-cache']).toBe('Miss from cloudfront');
  });

  it('keeps an object for its TTL, then asks the origin again', async () => {
    await get('blob-ttl');
    now += 59_000;
    expect((await get('blob-ttl')).headers['x-cache']).toBe('Hit from cloudfront');
    now += 1_000;
    expect((await get('blob-ttl')).headers['x-cache']).toBe('Miss from cloudfront');
    expect(originCalls('blob-ttl')).toBe(2);
  });

  it('caches a 400 for the default error caching time (10 s), marked Error', async () => {
    const first = await get('error400-1');
    expect([first.status, first.headers['x-cache'], entryOf(first).cached]).toEqual([400, 'Error from cloudfront', true]);
    const second = await get('error400-1');
    expect([second.status, second.headers['x-cache'], entryOf(second).resultType, entryOf(second).cacheHit]).toEqual([400, 'Error from cloudfront', 'Error', true]);
    now += 10_000;
    await get('error400-1');
    expect(originCalls('error400-1')).toBe(2);
  });

  it('never stores a body the origin cut short', async () => {
    await get('cut-short-1').catch(() => undefined);
    await get('cut-short-1').catch(() => undefined);
    expect(originCalls('cut-short-1')).toBe(2);
  });

  it('evicts the least recently used objects to stay within its size', async () => {
    for (let i = 0; i < 20; i++) await get(`fill-${i}`); // 20 x 4 KiB > 64 KiB
    const stats = emulator.cache!.stats();
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.evicted).toBeGreaterThan(0);
    expect((await get('fill-19')).headers['x-cache']).toBe('Hit from cloudfront');
    expect((await get('fill-0')).headers['x-cache']).toBe('Miss from cloudfront');
  });

  it('sends a body the function wrote instead of the origin\'s', async () => {
    const reply = await get('replaced-1');
    expect([reply.status, reply.body.toString(), reply.headers['content-length']]).toEqual([200, 'replaced by the function', '24']);
  });

  it.each([
    ['throws-1', 503, 'LambdaExecutionError', /origin-response: .*boom/],
    ['no-status-1', 502, 'LambdaValidationError', /must return the response/],
    ['sets-via-1', 502, 'LambdaValidationError', /read-only header "via"/],
    ['drops-transfer-encoding-1', 502, 'LambdaValidationError', /read-only header "transfer-encoding"/],
    ['huge-body-1', 502, 'LambdaValidationError', /over the origin-response limit of 1048576/],
  ])('%s: answered %d (%s), as CloudFront answers a failing origin-response function', async (name, status, resultType, reason) => {
    const reply = await get(name);
    expect([reply.status, entryOf(reply).resultType]).toEqual([status, resultType]);
    expect(entryOf(reply).error).toMatch(reason);
    expect(entryOf(reply).cached).toBeUndefined();
  });

  it('CreateInvalidation-style: an invalidated path is a miss again', async () => {
    await get('blob-inv');
    expect(emulator.cache!.invalidate(['/blobs/blob-inv'])).toBe(1);
    expect((await get('blob-inv')).headers['x-cache']).toBe('Miss from cloudfront');
  });
});

describe('CloudFront emulator: answers generated by request functions', () => {
  it('one from the origin-request function is cached by its Cache-Control; one from viewer-request never is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-generated-test-'));
    writeFileSync(
      join(dir, 'viewer.js'),
      `exports.handler = async (event) => {
        const request = event.Records[0].cf.request;
        if (request.uri === '/at-viewer') return { status: '200', headers: { 'cache-control': [{ key: 'Cache-Control', value: 'max-age=600' }] }, body: 'viewer' };
        return request;
      };`,
    );
    writeFileSync(
      join(dir, 'origin.js'),
      `let calls = 0;
      exports.handler = async () => ({ status: '200', headers: { 'cache-control': [{ key: 'Cache-Control', value: 'max-age=600' }] }, body: 'origin call ' + ++calls });`,
    );
    const origin: CloudFrontOrigin = { custom: { domainName: '127.0.0.1', port: 9, protocol: 'http', path: '', sslProtocols: ['TLSv1.2'], readTimeout: 5, keepaliveTimeout: 5, customHeaders: {} } };
    const emulator = await startCloudFrontEmulator({ viewerRequest: join(dir, 'viewer.js'), originRequest: join(dir, 'origin.js'), origins: [origin], cache: { behaviour: BLOB_CACHE }, port: 0 });
    try {
      const answers = [];
      for (const path of ['/at-origin', '/at-origin', '/at-viewer', '/at-viewer']) {
        const reply = await send(`${emulator.url}${path}`);
        answers.push([path, reply.body.toString(), reply.headers['x-cache']]);
      }
      expect(answers).toEqual([
        ['/at-origin', 'origin call 1', 'LambdaGeneratedResponse from cloudfront'],
        ['/at-origin', 'origin call 1', 'Hit from cloudfront'],
        ['/at-viewer', 'viewer', 'LambdaGeneratedResponse from cloudfront'],
        ['/at-viewer', 'viewer', 'LambdaGeneratedResponse from cloudfront'],
      ]);
      expect(emulator.cache!.stats()).toMatchObject({ objects: 1, hits: 1 });
    } finally {
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
