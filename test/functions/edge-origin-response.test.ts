/**
 * The bundled origin-response function (the artefact serverless ships), called with origin-response events
 * shaped as AWS documents them: the origin group's final answer for a blob, and the origin request with the
 * headers the origin request policy forwards. Each result is checked the way CloudFront checks it
 * (local/cloudfront/validate.ts) before anything else.
 */
import type { CloudFrontResponse, CloudFrontResponseEvent } from '../../layers/cloudfront/origin-response';
import { originResponseEvent, type OriginResponseEventInput } from '../../layers/cloudfront/events';
import { validateOriginResponse } from '../../local/cloudfront/validate';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { BLOB_CACHE_CONTROL, NO_STORE } from '../../tools/stacks/cache-policy';
import { TEST_CONFIG } from '../support/configs';
import { captureJsonOutput, type CapturedOutput } from '../support/output-capture';

type OriginResponseHandler = (event: CloudFrontResponseEvent) => Promise<CloudFrontResponse>;

const digest = `sha256:${'b'.repeat(64)}`;
const key = `/containers/images/${digest}`;
const repository = { 'x-registry-edge-repository': 'k8s/pause' };

const S3_HEADERS = {
  'content-type': 'application/octet-stream',
  'content-length': '1234',
  'accept-ranges': 'bytes',
  'last-modified': 'Tue, 01 Dec 2026 08:00:00 GMT',
  etag: '"9b2cf535f27731c974343645a3985328"',
  server: 'AmazonS3',
  'x-amz-id-2': 'abc',
  'x-amz-request-id': 'XYZ',
  'x-amz-server-side-encryption': 'AES256',
  'x-amz-version-id': 'null',
};

let builds: TemporaryBuild[] = [];
let handler: OriginResponseHandler;
let noFallback: OriginResponseHandler;
let mirror: OriginResponseHandler;
let output: CapturedOutput;

beforeAll(async () => {
  const build = (override: Record<string, unknown>) => buildTemporary({ stage: 'test', config: TEST_CONFIG, override, only: ['edge-origin-response'] });
  builds = await Promise.all([build({}), build({ routing: { fallback: { enabled: false } } }), build({ routing: { fallback: { url: 'https://mirror.example.net', pathPrefix: 'cache' } } })]);
  [handler, noFallback, mirror] = builds.map((b) => b.load('edge-origin-response') as unknown as OriginResponseHandler) as [OriginResponseHandler, OriginResponseHandler, OriginResponseHandler];
}, 60_000);

beforeEach(() => {
  output = captureJsonOutput();
});
afterEach(() => output.restore());
afterAll(() => {
  for (const b of builds) b.dispose();
});

/** Calls the function and validates its result as CloudFront would; returns the result and what would be sent. */
async function call(input: OriginResponseEventInput, fn: OriginResponseHandler = handler) {
  const event = originResponseEvent(input);
  const result = await fn(event);
  const outcome = validateOriginResponse(event.Records[0]!.cf.response, result);
  if (outcome.kind !== 'origin-response') throw new Error(`CloudFront would refuse this result: ${JSON.stringify(outcome)}`);
  const headers = Object.fromEntries(outcome.response.headers.map(([k, v]) => [k.toLowerCase(), v]));
  for (const value of Object.values(headers)) expect(value).not.toMatch(/[\r\n]/);
  return { result, status: outcome.response.status, headers, body: outcome.response.body?.toString('utf8') ?? null };
}

describe('the bundled origin-response handler: blobs the buckets hold', () => {
  test.each([
    ['a whole blob', 200, {}],
    ['a range of it', 206, { 'content-range': 'bytes 0-99/1234', 'content-length': '100' }],
  ])('%s: named by its digest, S3 internals dropped, cached for a year, body untouched', async (_name, status, extra) => {
    const { status: sent, headers, body } = await call({ uri: key, status, headers: { ...S3_HEADERS, ...extra }, requestHeaders: repository });
    expect(sent).toBe(status);
    expect(body).toBeNull(); // the origin's bytes go out as they came
    expect(headers).toEqual({
      'content-type': 'application/octet-stream',
      'content-length': extra['content-length' as keyof typeof extra] ?? '1234',
      'accept-ranges': 'bytes',
      'last-modified': 'Tue, 01 Dec 2026 08:00:00 GMT',
      ...extra,
      'docker-content-digest': digest,
      'docker-distribution-api-version': 'registry/2.0',
      etag: `"${digest}"`,
      'cache-control': BLOB_CACHE_CONTROL,
    });
    expect(output.lines).toEqual([]);
  });

  test("S3's own Cache-Control or Expires metadata does not shorten a blob's life", async () => {
    const { headers } = await call({ uri: key, status: 200, headers: { ...S3_HEADERS, 'cache-control': 'no-cache', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' } });
    expect([headers['cache-control'], headers.expires]).toEqual([BLOB_CACHE_CONTROL, undefined]);
  });
});

describe('blobs neither bucket holds (the final answer after failover)', () => {
  test.each([403, 404])('S3 %i: a never-cached 307 to the upstream blob URL of the repository asked, counted once', async (s3Status) => {
    const { status, headers, body } = await call({ uri: key, status: s3Status, headers: { 'content-type': 'application/xml', server: 'AmazonS3', 'x-amz-request-id': 'R' }, requestHeaders: repository });
    expect(status).toBe(307);
    expect(headers).toEqual({
      location: `https://upstream.example.org/v2/org/images/k8s/pause/blobs/${digest}`,
      'cache-control': NO_STORE,
      'docker-distribution-api-version': 'registry/2.0',
    });
    expect(body).toBe(''); // S3's XML is replaced
    expect(output.metrics()).toEqual({ UpstreamFallback: 1 });
    expect(output.lines).toHaveLength(1);
    expect(output.lines[0]).toMatchObject({
      event: 'blob-fallback',
      service: 'edge-origin-response',
      stage: 'test',
      digest,
      repository: 'k8s/pause',
      originStatus: s3Status,
      _aws: { CloudWatchMetrics: [{ Namespace: 'RegistryEdge', Dimensions: [['service', 'stage']], Metrics: [{ Name: 'UpstreamFallback', Unit: 'Count' }] }] },
    });
  });

  test('HEAD falls back the same way', async () => {
    const { status, headers } = await call({ uri: key, method: 'HEAD', status: 404, requestHeaders: repository });
    expect([status, headers.location]).toEqual([307, `https://upstream.example.org/v2/org/images/k8s/pause/blobs/${digest}`]);
  });

  test('the read-only headers CloudFront gave stay as they were', async () => {
    const { headers } = await call({ uri: key, status: 404, headers: { via: '1.1 abc.cloudfront.net (CloudFront)', 'transfer-encoding': 'chunked' }, requestHeaders: repository });
    expect([headers.via, headers['transfer-encoding']]).toEqual(['1.1 abc.cloudfront.net (CloudFront)', 'chunked']);
  });

  test('a configured fallback registry instead of the upstream', async () => {
    const { headers } = await call({ uri: key, status: 404, requestHeaders: repository }, mirror);
    expect(headers.location).toBe(`https://mirror.example.net/v2/cache/k8s/pause/blobs/${digest}`);
  });

  test('fallback off: 404 BLOB_UNKNOWN as OCI JSON, never cached, nothing counted', async () => {
    const { status, headers, body } = await call({ uri: key, status: 404, headers: { 'content-type': 'application/xml' }, requestHeaders: repository }, noFallback);
    expect(status).toBe(404);
    expect(headers).toEqual({ 'content-type': 'application/json', 'cache-control': NO_STORE, 'docker-distribution-api-version': 'registry/2.0' });
    expect(JSON.parse(body!)).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
    expect(output.metrics()).toEqual({});
  });

  test.each([
    ['no repository header', {}],
    ['a repository header that is not a repository name', { 'x-registry-edge-repository': '../evil.example/x' }],
    ['one with CR/LF', { 'x-registry-edge-repository': 'a\r\nlocation: https://evil.example' }],
  ])('%s: 404 BLOB_UNKNOWN, no redirect anywhere', async (_name, requestHeaders) => {
    const { status, headers, body } = await call({ uri: key, status: 404, requestHeaders });
    expect(status).toBe(404);
    expect(headers.location).toBeUndefined();
    expect(body).toContain('BLOB_UNKNOWN');
  });
});

describe('S3 failures become OCI errors', () => {
  test.each([
    [500, 502, 'UNKNOWN', undefined],
    [502, 502, 'UNKNOWN', undefined],
    [503, 503, 'UNAVAILABLE', '1'],
    [504, 504, 'UNAVAILABLE', '1'],
  ])('S3 %i -> %i %s, never cached, logged and counted', async (s3Status, expected, code, retryAfter) => {
    const { status, headers, body } = await call({ uri: key, status: s3Status, headers: { 'content-type': 'application/xml', server: 'AmazonS3', 'x-amz-request-id': 'R' }, requestHeaders: repository });
    expect(status).toBe(expected);
    expect(headers['cache-control']).toBe(NO_STORE);
    expect(headers['retry-after']).toBe(retryAfter);
    expect([headers.server, headers['x-amz-request-id'], headers['content-type']]).toEqual([undefined, undefined, 'application/json']);
    expect(JSON.parse(body!).errors[0].code).toBe(code);
    expect(output.metrics()).toEqual({ BlobStoreError: 1 });
  });

  test('a range past the end: 416 as OCI JSON, with the Content-Range S3 gave', async () => {
    const { status, headers, body } = await call({ uri: key, status: 416, headers: { 'content-range': 'bytes */1234', 'content-type': 'application/xml' } });
    expect([status, headers['content-range'], headers['content-type']]).toEqual([416, 'bytes */1234', 'application/json']);
    expect(body).toContain('BLOB_UNKNOWN');
  });

  test('a 304 keeps its (empty) body; only S3 internals go', async () => {
    const { status, headers, body } = await call({ uri: key, status: 304, headers: { etag: '"x"', server: 'AmazonS3', 'x-amz-id-2': 'a' } });
    expect([status, body, headers.server, headers['x-amz-id-2'], headers.etag]).toEqual([304, null, undefined, undefined, '"x"']);
  });
});

test('answers for anything but a blob key pass untouched', async () => {
  const input = { uri: '/other/thing', status: 404, headers: { server: 'AmazonS3', 'content-type': 'application/xml' } };
  const event = originResponseEvent(input);
  expect(await handler(event)).toEqual(event.Records[0]!.cf.response);
});
