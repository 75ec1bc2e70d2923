/**
 * The bundled viewer-request function (the artefact serverless ships), called with CloudFront viewer-request
 * events as AWS documents them. A local HTTP server stands in for the regional buckets so that the
 * existence check is exercised for real.
 */
import fc from 'fast-check';
import type { CloudFrontRequest, CloudFrontResultResponse } from '../../layers/cloudfront/events';
import { viewerRequestEvent } from '../../layers/cloudfront/events';
import { validateResult } from '../../local/cloudfront/validate';
import { buildTemporary, type EdgeHandler, type TemporaryBuild } from '../../tools/bundles';
import { TEST_CONFIG } from '../support/configs';
import { startServer, type TestServer } from '../support/http';

const present = `sha256:${'1'.repeat(64)}`;
const missing = `sha256:${'2'.repeat(64)}`;
const slow = `sha256:${'3'.repeat(64)}`;

/** Blobs that appear in the buckets during a test. */
const arrived = new Set<string>();
let buckets: TestServer;
let build: TemporaryBuild;
let handler: EdgeHandler;

beforeAll(async () => {
  buckets = await startServer((req, res) => {
    if (req.url?.endsWith(slow)) return; // never answers: the check must time out
    res.statusCode = req.url?.endsWith(present) || [...arrived].some((d) => req.url?.endsWith(d)) ? 200 : 404;
    res.end();
  });
  build = await buildTemporary({
    stage: 'test',
    config: TEST_CONFIG,
    override: {
      buckets: { publicEndpoint: `${buckets.url}/{bucket}` },
      routing: { verify: { timeoutMs: 200, negativeCacheSeconds: 1 }, policy: { gcp: 'cdn' }, cdn: { baseUrl: 'https://cdn.example.net/blobs/' } },
      ranges: {
        refreshSeconds: 0,
        overlay: [
          { cidr: '198.51.100.0/24', cloud: 'aws', region: 'eu-west-1' },
          { cidr: '198.51.101.0/24', cloud: 'gcp', region: 'us-central1' },
        ],
      },
    },
    only: ['edge-viewer-request'],
  });
  handler = build.load('edge-viewer-request');
}, 60_000);

afterAll(async () => {
  build?.dispose();
  await buckets?.close();
});

const EU_CLIENT = '198.51.100.7'; // the overlay's eu-west-1
const GCP_CLIENT = '198.51.101.7'; // the overlay's GCP, sent to the CDN in this build
const call = (ip: string, uri: string, extra: { method?: string; querystring?: string; headers?: Record<string, string> } = {}) =>
  handler(viewerRequestEvent({ clientIp: ip, method: extra.method ?? 'GET', uri, querystring: extra.querystring ?? '', headers: extra.headers ?? {} }));

describe('the bundled viewer-request handler', () => {
  test('redirects a blob request from a bucket region to its bucket once the blob is there', async () => {
    const result = (await call(EU_CLIENT, `/v2/pause/blobs/${present}`, { querystring: 'ns=registry.k8s.io' })) as CloudFrontResultResponse;
    expect(result).toEqual({
      status: '307',
      statusDescription: 'Temporary Redirect',
      headers: {
        location: [{ key: 'Location', value: `${buckets.url}/edge-test-eu-west-1/containers/images/${present}?ns=registry.k8s.io` }],
        'docker-distribution-api-version': [{ key: 'Docker-Distribution-Api-Version', value: 'registry/2.0' }],
      },
    });
    expect(buckets.requests).toContainEqual({ method: 'HEAD', url: `/edge-test-eu-west-1/containers/images/${present}` });
  });

  test('remembers that a blob is there (blobs are immutable)', async () => {
    const before = buckets.requests.length;
    await call(EU_CLIENT, `/v2/other/blobs/${present}`);
    await call(EU_CLIENT, `/v2/pause/blobs/${present}`, { method: 'HEAD' });
    expect(buckets.requests.length).toBe(before);
  });

  test.each([
    ['missing from the bucket', missing],
    ['in a bucket that does not answer in time', slow],
  ])('never redirects to a blob %s: it goes through CloudFront instead', async (_name, digest) => {
    const event = viewerRequestEvent({ clientIp: EU_CLIENT, method: 'GET', uri: `/v2/pause/blobs/${digest}`, querystring: 'x=1', headers: { authorization: 'Bearer abc' } });
    const result = (await handler(event)) as CloudFrontRequest;
    expect(result.uri).toBe(`/containers/images/${digest}`);
    expect(result.querystring).toBe('x=1');
    expect(result.clientIp).toBe(EU_CLIENT);
    expect(result.headers.authorization).toBeUndefined(); // client credentials never reach the origin
    expect(result.headers.host).toEqual([{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }]);
  });

  test('believes a missing blob missing only briefly: a burst costs one HEAD, and once it arrives clients are redirected to it', async () => {
    const digest = `sha256:${'4'.repeat(64)}`;
    for (let i = 0; i < 5; i++) expect(await call(EU_CLIENT, `/v2/pause/blobs/${digest}`)).toHaveProperty('uri', `/containers/images/${digest}`);
    expect(buckets.requests.filter((r) => r.url.endsWith(digest))).toHaveLength(1);
    arrived.add(digest); // replication caught up
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past negativeCacheSeconds (1 in this build)
    expect(await call(EU_CLIENT, `/v2/pause/blobs/${digest}`)).toHaveProperty('status', '307');
    expect(buckets.requests.filter((r) => r.url.endsWith(digest))).toHaveLength(2);
  });

  test('forwards name the repository for the origin side in a header of their own, replacing a client\'s', async () => {
    const result = (await call('192.0.2.1', `/v2/k8s/pause/blobs/sha256%3A${'1'.repeat(64)}`, { headers: { 'x-registry-edge-repository': 'evil' } })) as CloudFrontRequest;
    expect(result.uri).toBe(`/containers/images/${present}`);
    expect(result.headers['x-registry-edge-repository']).toEqual([{ key: 'x-registry-edge-repository', value: 'k8s/pause' }]);
  });

  test.each([
    ['an encoded ":" in a blob digest', `/v2/pause/blobs/sha256%3a${'1'.repeat(64)}`, `/containers/images/${present}`],
    ['upper-case hex in the escape', `/v2/pause/blobs/sha256%3A${'1'.repeat(64)}`, `/containers/images/${present}`],
  ])('accepts %s and uses the decoded form', async (_name, uri, key) => {
    expect(await call('192.0.2.1', uri)).toMatchObject({ uri: key });
    expect(await call(EU_CLIENT, uri)).toMatchObject({ status: '307', headers: { location: [{ value: `${buckets.url}/edge-test-eu-west-1/containers/images/${present}` }] } });
  });

  test('sends a class of clients configured so to the CDN, query string kept', async () => {
    expect(await call(GCP_CLIENT, `/v2/pause/blobs/sha256%3A${'1'.repeat(64)}`, { querystring: 'ns=k8s' })).toMatchObject({
      status: '307',
      headers: { location: [{ value: `https://cdn.example.net/blobs/${present}?ns=k8s` }] },
    });
  });

  test.each([
    ['an encoded "/"', 'NAME_INVALID', `/v2/a%2Fb/blobs/${present}`],
    ['double encoding', 'NAME_INVALID', `/v2/pause/blobs/sha256%253A${'1'.repeat(64)}`],
    ['an encoded NUL', 'NAME_INVALID', `/v2/pa%00use/blobs/${present}`],
    ['encoded CR/LF', 'NAME_INVALID', `/v2/pause/blobs/${present}%0D%0ALocation:%20https://evil.example`],
    ['".." after decoding', 'NAME_INVALID', `/v2/a/%2E%2E/blobs/${present}`],
    ['a malformed escape', 'NAME_INVALID', `/v2/pause/blobs/sha256%3${'1'.repeat(63)}%`],
    ['a manifest digest that is not one', 'DIGEST_INVALID', '/v2/pause/manifests/sha256:baddigeststring'],
    ['an encoded manifest digest that is not one', 'DIGEST_INVALID', '/v2/pause/manifests/sha256%3Abaddigeststring'],
  ])('refuses %s with 400 %s', async (_name, code, uri) => {
    const result = (await call('192.0.2.1', uri)) as CloudFrontResultResponse;
    expect(result.status).toBe('400');
    expect(JSON.parse(result.body!).errors[0].code).toBe(code);
  });

  test('answers an ordinary internet client through CloudFront, a manifest upstream, /v2/ itself', async () => {
    expect(await call('192.0.2.1', `/v2/pause/blobs/${present}`)).toMatchObject({ uri: `/containers/images/${present}` });
    expect(await call('192.0.2.1', '/v2/pause/manifests/3.9', { querystring: 'ns=k8s' })).toMatchObject({
      status: '307',
      headers: { location: [{ key: 'Location', value: 'https://upstream.example.org/v2/org/images/pause/manifests/3.9?ns=k8s' }] },
    });
    expect(await call('2001:db8::1', '/v2/')).toMatchObject({ status: '200', body: '{}' });
  });

  test('answers bad requests with OCI errors', async () => {
    expect(await call(EU_CLIENT, '/v2/pause/blobs/sha256:nope')).toMatchObject({
      status: '400',
      headers: { 'content-type': [{ key: 'Content-Type', value: 'application/json' }] },
      body: '{"errors":[{"code":"DIGEST_INVALID","message":"invalid or unsupported blob digest (sha256 or sha512, lower-case hex)"}]}',
    });
    expect(await call(EU_CLIENT, '/v2/', { method: 'DELETE' })).toMatchObject({ status: '405', headers: { allow: [{ key: 'Allow', value: 'GET, HEAD' }] } });
  });

  test('survives events that are not what CloudFront sends', async () => {
    for (const event of [{}, { Records: [] }, { Records: [{ cf: {} }] }, null]) {
      expect(await handler(event as never)).toMatchObject({ status: '400' });
    }
  });

  test('never throws and never sends a client off the configured hosts, whatever the request', async () => {
    const allowed = new Set([new URL(buckets.url).host, 'upstream.example.org', 'docs.example.org', 'cdn.example.net']);
    const segment = fc.oneof(
      fc.constantFrom('v2', 'blobs', 'manifests', 'tags', 'list', 'referrers', '_catalog', '..', '.', '', 'pause', present, missing, 'sha256:', '%2F', '%0d%0a', 'a\r\nb', '//evil.example'),
      // Encoded forms: single and double encoding, either case, malformed escapes, what decodes to hostile octets.
      fc.constantFrom(`sha256%3A${'1'.repeat(64)}`, `sha256%3a${'2'.repeat(64)}`, `sha256%253A${'1'.repeat(64)}`, '%76%32', '%2e%2e', '%2E', '%2f', '%00', '%0A', '%0D', '%25', '%', '%4', '%zz', '%C3%A9', '%3A', 'pa%75se', '%2F%2Fevil.example', 'sha256:baddigeststring', 'sha256%3Abad'),
      fc.string({ maxLength: 12 }),
      fc.string({ maxLength: 12 }).map((text) => encodeURIComponent(text)),
    );
    const uri = fc.oneof(fc.array(segment, { maxLength: 7 }).map((parts) => `/${parts.join('/')}`), fc.string({ maxLength: 40 }));
    const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom(EU_CLIENT, GCP_CLIENT, '::ffff:198.51.100.9'), fc.string({ maxLength: 20 }));
    const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), fc.string({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(uri, ip, method, fc.string({ maxLength: 30 }), async (u, i, m, q) => {
        const event = viewerRequestEvent({ clientIp: i, method: m, uri: u, querystring: q });
        const input = structuredClone(event.Records[0]!.cf.request);
        const result = await handler(event);
        // What CloudFront would accept (else it answers 502 itself).
        expect(validateResult('viewer-request', input, result)).not.toMatchObject({ kind: 'invalid' });
        const location = (result as CloudFrontResultResponse).headers?.location?.[0]?.value;
        if (location !== undefined) {
          expect(allowed.has(new URL(location).host)).toBe(true);
          expect(location).not.toMatch(/[\r\n\s]/);
        }
        // No CR/LF anywhere CloudFront would put it on the wire (it answers 502 for one in a header).
        for (const values of Object.values(result.headers ?? {})) for (const { value } of values) expect(value).not.toMatch(/[\r\n\0]/);
        if ('status' in result) {
          expect(Number(result.status)).toBeGreaterThanOrEqual(200);
          expect(Number(result.status)).toBeLessThan(600);
        } else {
          expect(result.uri).toMatch(/^\/containers\/images\/sha(256|512):[0-9a-f]+$/);
          expect(result.headers['x-registry-edge-repository']?.[0]?.value).toMatch(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/);
        }
      }),
      { numRuns: 1500 },
    );
  }, 60_000);
});
