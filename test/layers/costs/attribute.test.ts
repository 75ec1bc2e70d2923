/**
 * Where a logged request's bytes came from: the routing decision made again (the viewer's own code, over
 * a small range table) combined with the status CloudFront logged. One row per kind of request.
 *
 * Buckets (test config): us-east-1 (primary), eu-west-1, ap-southeast-1. Upstream in GCP.
 */
import type { LogRecord } from '../../../layers/costs/access-log';
import { type Attribution, attribute, clientClassOf, createRouter } from '../../../layers/costs/attribute';
import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import type { AwsFeed, GcpFeed } from '../../../layers/ranges/feeds';
import { testConfig } from '../../support/configs';

const aws = (ip_prefix: string, region: string) => ({ ip_prefix, region, service: 'EC2' });
const AWS_FEED = {
  syncToken: '1764201600',
  createDate: '2026-11-27-00-00-00',
  prefixes: [aws('192.0.2.0/26', 'us-east-1'), aws('192.0.2.64/26', 'eu-west-1'), aws('192.0.2.128/26', 'ap-south-1'), aws('198.51.100.0/25', 'GLOBAL'), aws('198.51.100.128/25', 'us-gov-west-1')],
  ipv6_prefixes: [{ ipv6_prefix: '2001:db8:1::/48', region: 'eu-west-1', service: 'EC2' }],
} as AwsFeed;
const GCP_FEED = { syncToken: '1', creationTime: '2026-11-27T00:00:00', prefixes: [{ ipv4Prefix: '203.0.113.0/24', scope: 'us-central1' }] } as GcpFeed;

const US_EAST = '192.0.2.10';
const EU_WEST = '192.0.2.70';
const AP_SOUTH = '192.0.2.130'; // no bucket: ap-southeast-1 serves it
const GLOBAL = '198.51.100.10';
const GOV = '198.51.100.200';
const GCP = '203.0.113.5';
const INTERNET = '8.8.8.8';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const BLOB = `/v2/org/app/blobs/${DIGEST}`;

function routerFor(override: Record<string, unknown> = {}) {
  const config = testConfig(override);
  const { table } = loadTable(compileRanges({ aws: AWS_FEED, gcp: GCP_FEED, rules: false /* documentation ranges, on purpose */ }).bytes);
  return createRouter(config.edge, table);
}

const router = routerFor();

function log(clientIp: string, status: number, rest: Partial<LogRecord> = {}): LogRecord {
  return { clientIp, method: 'GET', uri: BLOB, querystring: '', status, scBytes: 500, resultType: status === 307 ? 'LambdaGeneratedResponse' : 'Miss', ...rest };
}

const by = (path: Attribution['path'], more: Partial<Attribution>): Partial<Attribution> => ({ path, ...more });

describe('blob requests', () => {
  test.each<[string, LogRecord, Partial<Attribution>]>([
    ['us-east-1 client, 307: the us-east-1 bucket, same region', log(US_EAST, 307), by('regionalSameRegion', { download: { digest: DIGEST }, clientClass: 'aws', bucketRequests: 1, originFetch: false })],
    ['eu-west-1 client, 307: same region', log(EU_WEST, 307), by('regionalSameRegion', { download: { digest: DIGEST }, clientClass: 'aws' })],
    ['eu-west-1 client over IPv6, 307: same region', log('2001:db8:1::7', 307), by('regionalSameRegion', { clientClass: 'aws' })],
    ['ap-south-1 client (no bucket), 307: ap-southeast-1, cross-region', log(AP_SOUTH, 307), by('regionalCrossRegion', { download: { digest: DIGEST }, clientClass: 'aws', bucketRequests: 1 })],
    ['GCP client, 307: the upstream registry', log(GCP, 307), by('upstream', { download: { digest: DIGEST }, clientClass: 'gcp', bucketRequests: 0 })],
    ['HEAD redirected to a bucket: a bucket request, no bytes', log(EU_WEST, 307, { method: 'HEAD' }), by('regionalSameRegion', { download: null, bucketRequests: 1 })],
    ['HEAD redirected upstream: no bytes', log(GCP, 307, { method: 'HEAD' }), by('upstream', { download: null })],
    ['internet client, 200 (miss): CloudFront, sc-bytes, one origin fetch', log(INTERNET, 200, { scBytes: 1_048_999 }), by('cloudfront', { download: { bytes: 1_048_999 }, clientClass: 'internet', originFetch: true })],
    ['internet client, 200 (hit): no origin fetch', log(INTERNET, 200, { resultType: 'Hit' }), by('cloudfront', { originFetch: false })],
    ['internet client, 206 (a range): CloudFront, the range\'s bytes', log(INTERNET, 206, { scBytes: 4_500 }), by('cloudfront', { download: { bytes: 4_500 } })],
    ['internet client, 304: CloudFront', log(INTERNET, 304, { scBytes: 300 }), by('cloudfront', { download: { bytes: 300 } })],
    ['HEAD through CloudFront: edge bytes only, no download', log(INTERNET, 200, { method: 'HEAD', scBytes: 420 }), by('cloudfront', { download: null })],
    ['a log without sc-bytes: a CloudFront download of unknown size', log(INTERNET, 200, { scBytes: undefined }), by('cloudfront', { download: { unknownBytes: true } })],
    ['a log without result types: a miss is assumed (the costlier case)', log(INTERNET, 200, { resultType: undefined }), by('cloudfront', { originFetch: true })],
    ['AWS GLOBAL range, 200: CloudFront, internet prices', log(GLOBAL, 200), by('cloudfront', { clientClass: 'internet' })],
    ['GovCloud, 200: CloudFront, another partition', log(GOV, 200), by('cloudfront', { clientClass: 'aws-other-partition' })],
    ['eu-west-1 client, 200: the bucket lacked the blob, the edge fell back', log(EU_WEST, 200), by('cloudfront', { fallback: true, download: { bytes: 500 } })],
    ['000 after part of a blob was sent: CloudFront, the bytes sent', log(INTERNET, 0, { scBytes: 70_000 }), by('cloudfront', { download: { bytes: 70_000 } })],
    ['000 with nothing sent: other, aborted', log(INTERNET, 0, { scBytes: 0 }), by('other', { reason: 'aborted', download: null })],
    ['404 through CloudFront (in no bucket): other, error, the origin was asked', log(INTERNET, 404, { resultType: 'Error' }), by('other', { reason: 'error', originFetch: true })],
    ['503 from a failing viewer function: the origin was not asked', log(INTERNET, 503, { resultType: 'Error', detailedResultType: 'LambdaExecutionError' }), by('other', { reason: 'error', originFetch: false })],
    ['429 from WAF on a redirect-class client: other, error', log(EU_WEST, 429, { resultType: 'Error' }), by('other', { reason: 'error' })],
    ['307 written by the viewer for an internet client (the decision forwards): a mismatch, not a guess', log(INTERNET, 307), by('other', { reason: 'mismatch', download: null })],
    ['307 after a miss for an internet client: no bucket held it, the origin-response function sent it upstream', log(INTERNET, 307, { resultType: 'Miss' }), by('upstream', { download: { digest: DIGEST }, upstreamFallback: true, originFetch: true, clientClass: 'internet' })],
    ['307 after a miss for an eu-west-1 client (bucket decision): the viewer forwarded, then upstream', log(EU_WEST, 307, { resultType: 'Miss' }), by('upstream', { upstreamFallback: true, clientClass: 'aws' })],
    ['a 307 without a result type for an internet client: an upstream fallback (the viewer never redirects it)', log(INTERNET, 307, { resultType: undefined }), by('upstream', { upstreamFallback: true })],
    ['HEAD sent upstream after a miss: no bytes', log(INTERNET, 307, { method: 'HEAD', resultType: 'Miss' }), by('upstream', { download: null, upstreamFallback: true })],
  ])('%s', (_name, record, expected) => {
    const attribution = attribute(record, router.route(record));
    expect(attribution).toMatchObject(expected);
    if (expected.fallback === undefined) expect(attribution.fallback).toBeUndefined();
  });
});

describe('everything else moves no blob bytes', () => {
  test.each<[string, LogRecord, Partial<Attribution>]>([
    ['a manifest, 307 upstream', log(EU_WEST, 307, { uri: '/v2/org/app/manifests/1.0' }), by('other', { reason: 'manifest', download: null, bucketRequests: 0 })],
    ['a tag list, 307 upstream', log(INTERNET, 307, { uri: '/v2/org/app/tags/list', querystring: 'n=10' }), by('other', { reason: 'manifest' })],
    ['referrers, 307 upstream', log(GCP, 307, { uri: `/v2/org/app/referrers/${DIGEST}` }), by('other', { reason: 'manifest' })],
    ['the API root, 200 from the viewer function', log(INTERNET, 200, { uri: '/v2/', resultType: 'LambdaGeneratedResponse' }), by('other', { reason: 'generated', originFetch: false })],
    ['"/", 307 to the docs', log(INTERNET, 307, { uri: '/' }), by('other', { reason: 'generated' })],
    ['an invalid digest, 400 from the viewer function', log(EU_WEST, 400, { uri: '/v2/org/app/blobs/sha256:nothex' }), by('other', { reason: 'error' })],
    ['a write, 405', log(EU_WEST, 405, { method: 'PUT' }), by('other', { reason: 'error', download: null })],
    ['a 200 where the policy redirects (configuration drift)', log(INTERNET, 200, { uri: '/v2/org/app/manifests/1.0' }), by('other', { reason: 'mismatch' })],
  ])('%s', (_name, record, expected) => {
    expect(attribute(record, router.route(record))).toMatchObject(expected);
  });
});

describe('the decision follows the configuration', () => {
  test('with GCP clients sent through CloudFront, a GCP 200 is a CloudFront download', () => {
    const custom = routerFor({ routing: { policy: { gcp: 'cloudfront' } } });
    expect(attribute(log(GCP, 200), custom.route(log(GCP, 200)))).toMatchObject({ path: 'cloudfront', clientClass: 'gcp' });
    expect(attribute(log(GCP, 307), custom.route(log(GCP, 307)))).toMatchObject({ path: 'other', reason: 'mismatch' });
  });

  test('a pinned nearest region makes ap-south-1 go to eu-west-1: still cross-region', () => {
    const custom = routerFor({ routing: { nearest: { 'ap-south-1': 'eu-west-1' } } });
    expect(custom.route(log(AP_SOUTH, 307)).destination).toEqual({ kind: 'bucket', region: 'eu-west-1' });
  });

  test('internet clients sent to the cdn target: a 307 is a download from the CDN', () => {
    const cdn = routerFor({ routing: { cdn: { baseUrl: 'https://cdn.example.org/blobs/' }, policy: { internet: 'cdn' } } });
    expect(attribute(log(INTERNET, 307), cdn.route(log(INTERNET, 307)))).toMatchObject({ path: 'cdn', download: { digest: DIGEST }, clientClass: 'internet', bucketRequests: 0 });
    expect(attribute(log(EU_WEST, 307), cdn.route(log(EU_WEST, 307)))).toMatchObject({ path: 'regionalSameRegion' });
  });

  test('GovCloud sent to a bucket: cross-region, priced as another partition', () => {
    const custom = routerFor({ routing: { policy: { 'aws-us-gov': 'regional' } } });
    expect(attribute(log(GOV, 307), custom.route(log(GOV, 307)))).toMatchObject({ path: 'regionalCrossRegion', clientClass: 'aws-other-partition' });
  });
});

describe('routes are worked out once per client range and request', () => {
  test('two addresses in one range share a route; another range gets its own', () => {
    const local = routerFor();
    const first = local.route(log(EU_WEST, 307));
    // One decision shared (the same object), in a route of the request's own.
    expect(local.route(log('192.0.2.71', 307))).toEqual(first);
    expect(local.route(log('192.0.2.71', 307)).destination).toBe(first.destination);
    expect(local.route(log(US_EAST, 307)).destination).not.toBe(first.destination);
    expect(local.route(log(US_EAST, 307)).destination).toEqual({ kind: 'bucket', region: 'us-east-1' });
  });

  test('blobs with different digests share the decision, each route naming its own digest', () => {
    const local = routerFor();
    const other = `sha512:${'e'.repeat(128)}`;
    const a = local.route(log(EU_WEST, 307));
    const b = local.route(log(EU_WEST, 307, { uri: `/v2/org/app/blobs/${other}` }));
    expect([a.digest, b.digest]).toEqual([DIGEST, other]);
    expect(b.destination).toEqual({ kind: 'bucket', region: 'eu-west-1' });
    // An encoded ":" (some clients send it; the edge decodes it) is the same blob, the same decision.
    const encoded = local.route(log(EU_WEST, 307, { uri: `/v2/org/app/blobs/${DIGEST.replace(':', '%3A')}` }));
    expect([encoded.digest, encoded.destination]).toEqual([DIGEST, { kind: 'bucket', region: 'eu-west-1' }]);
    // A digest that is not well formed is not a blob: the edge answers it with an error itself.
    const bad = local.route(log(EU_WEST, 400, { uri: `/v2/org/app/blobs/sha256:${'D'.repeat(64)}` }));
    expect([bad.digest, bad.destination]).toEqual([undefined, { kind: 'generated' }]);
  });

  test('still right once more requests than it remembers have gone by', () => {
    const local = routerFor();
    for (let i = 0; i < 70_000; i++) expect(local.route(log(i % 2 ? GCP : AP_SOUTH, 307, { querystring: `n=${i}` })).destination.kind).toBe(i % 2 ? 'upstream' : 'bucket');
    expect(local.route(log(AP_SOUTH, 307, { querystring: 'n=0' })).destination).toEqual({ kind: 'bucket', region: 'ap-southeast-1' });
    expect(local.route(log(INTERNET, 200, { querystring: 'n=1' })).destination).toEqual({ kind: 'cloudfront' });
  });
});

test('client classes', () => {
  expect([clientClassOf(null), clientClassOf({ cloud: 'gcp', region: 'x' }), clientClassOf({ cloud: 'aws', region: 'GLOBAL' }), clientClassOf({ cloud: 'aws', region: 'cn-north-1' }), clientClassOf({ cloud: 'aws', region: 'eu-west-1' })]).toEqual([
    'internet',
    'gcp',
    'internet',
    'aws-other-partition',
    'aws',
  ]);
});
