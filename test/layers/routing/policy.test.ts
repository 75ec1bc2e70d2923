import type { Place } from '../../../layers/net/types';
import { type Decision, decide as decideLive, type Forward, plannerFor } from '../../../layers/routing/policy';
import { testConfig } from '../../support/configs';

const config = testConfig().edge;
const digest = `sha256:${'c'.repeat(64)}`;
const blob = `/v2/pause/blobs/${digest}`;
const aws = (region: string): Place => ({ cloud: 'aws', region });
const gcp: Place = { cloud: 'gcp', region: 'us-central1' };
const bucketUrl = (region: string) => `https://edge-test-${region}.s3.dualstack.${region}.amazonaws.com/containers/images/${digest}`;
const forward = (querystring = '', repository = 'pause'): Forward => ({ action: 'forward', uri: `/containers/images/${digest}`, querystring, repository });
/** A redirect, checked first when it names the region of the bucket it sends the client to. */
const redirect = (location: string, verifyRegion?: string, qs = ''): Decision => ({
  action: 'redirect',
  status: 307,
  location,
  ...(verifyRegion ? { verify: { url: bucketUrl(verifyRegion), bucketRegion: verifyRegion, digest, fallback: forward(qs) } } : {}),
});
/** A decision as its data: a check's fallback is built when it is read, and its JSON form reads it. */
const asData = (decision: Decision): Decision => JSON.parse(JSON.stringify(decision)) as Decision;
const decide = (...args: Parameters<typeof decideLive>) => asData(decideLive(...args));
const get = (uri: string, querystring = '') => ({ method: 'GET', uri, querystring });

describe('blob requests, by where the client is', () => {
  test.each<[string, Place | null, Decision]>([
    ['an AWS region with a bucket: that bucket', aws('eu-west-1'), redirect(bucketUrl('eu-west-1'), 'eu-west-1')],
    ['the primary region: the primary bucket', aws('us-east-1'), redirect(bucketUrl('us-east-1'), 'us-east-1')],
    ['a region without a bucket: the nearest (ap-south-1 -> Singapore)', aws('ap-south-1'), redirect(bucketUrl('ap-southeast-1'), 'ap-southeast-1')],
    ['a region without a bucket: the nearest (eu-central-1 -> Ireland)', aws('eu-central-1'), redirect(bucketUrl('eu-west-1'), 'eu-west-1')],
    ['a region without a bucket: the nearest (us-west-2 -> N. Virginia)', aws('us-west-2'), redirect(bucketUrl('us-east-1'), 'us-east-1')],
    ['AWS GLOBAL ranges say nothing of location: CloudFront', aws('GLOBAL'), forward()],
    ['GovCloud is another partition: CloudFront', aws('us-gov-west-1'), forward()],
    ['China is another partition: CloudFront', aws('cn-north-1'), forward()],
    ['the European Sovereign Cloud is another partition: CloudFront', aws('eusc-de-east-1'), forward()],
    ['a region newer than the topology table: CloudFront', aws('xx-new-1'), forward()],
    ['GCP: upstream, which lives there', gcp, redirect(`https://upstream.example.org/v2/org/images/pause/blobs/${digest}`)],
    ['anyone else: CloudFront', null, forward()],
  ])('%s', (_name, place, expected) => {
    expect(decide(get(blob), place, config)).toEqual(expected);
  });

  test('HEAD is routed like GET', () => {
    expect(decide({ method: 'HEAD', uri: blob, querystring: '' }, aws('eu-west-1'), config)).toEqual(decide(get(blob), aws('eu-west-1'), config));
  });

  test('the query string is kept on redirects and forwards', () => {
    expect(decide(get(blob, 'ns=docker.io'), aws('eu-west-1'), config)).toEqual(redirect(`${bucketUrl('eu-west-1')}?ns=docker.io`, 'eu-west-1', 'ns=docker.io'));
    expect(decide(get(blob, 'ns=docker.io'), gcp, config)).toEqual(redirect(`https://upstream.example.org/v2/org/images/pause/blobs/${digest}?ns=docker.io`));
    expect(decide(get(blob, 'a=1&b=%2F'), null, config)).toEqual(forward('a=1&b=%2F'));
  });

  test('the policy is configurable per class of client', () => {
    const custom = testConfig({
      routing: { policy: { gcp: 'cloudfront', 'aws-us-gov': 'regional', 'aws-eusc': 'upstream', internet: 'upstream' }, nearest: { 'ap-south-1': 'eu-west-1' }, verify: { enabled: false } },
    }).edge;
    expect(decide(get(blob), gcp, custom)).toEqual(forward());
    expect(decide(get(blob), aws('us-gov-west-1'), custom)).toEqual(redirect(bucketUrl('us-east-1')));
    expect(decide(get(blob), aws('eusc-de-east-1'), custom)).toEqual(redirect(`https://upstream.example.org/v2/org/images/pause/blobs/${digest}`));
    expect(decide(get(blob), null, custom)).toEqual(redirect(`https://upstream.example.org/v2/org/images/pause/blobs/${digest}`));
    expect(decide(get(blob), aws('ap-south-1'), custom)).toEqual(redirect(bucketUrl('eu-west-1')));
  });
});

describe('the cdn target', () => {
  const withCdn = testConfig({ routing: { policy: { internet: 'cdn', gcp: 'cdn', 'aws-cn': 'cdn' }, cdn: { baseUrl: 'https://cdn.example.net/blobs/' } } }).edge;
  test.each<[string, Place | null]>([
    ['internet clients', null],
    ['GCP', gcp],
    ['a partition set to cdn', aws('cn-north-1')],
  ])('%s are sent to the CDN base URL with the digest (and the query string)', (_name, place) => {
    expect(decide(get(blob, 'ns=k8s'), place, withCdn)).toEqual(redirect(`https://cdn.example.net/blobs/${digest}?ns=k8s`));
  });

  test('other classes keep their targets; manifests still go upstream', () => {
    expect(decide(get(blob), aws('eu-west-1'), withCdn)).toMatchObject({ location: bucketUrl('eu-west-1') });
    expect(decide(get(blob), aws('GLOBAL'), withCdn)).toEqual(forward());
    expect(decide(get('/v2/pause/manifests/3.9'), null, withCdn)).toMatchObject({ location: 'https://upstream.example.org/v2/org/images/pause/manifests/3.9' });
  });

  test('the forward names the canonical repository for the origin side', () => {
    expect(decide(get(`/v2/k8s/pause/blobs/sha256%3a${'c'.repeat(64)}`), null, config)).toEqual(forward('', 'k8s/pause'));
  });
});

describe('percent-encoded paths are answered in their canonical form', () => {
  test.each<[string, string, Partial<Decision> & Record<string, unknown>]>([
    ['an encoded ":" of a blob digest (lower-case hex)', `/v2/pause/blobs/sha256%3a${'c'.repeat(64)}`, { location: `https://upstream.example.org/v2/org/images/pause/blobs/${digest}` }],
    ['an encoded ":" of a blob digest (upper-case hex)', `/v2/pause/blobs/sha256%3A${'c'.repeat(64)}`, { location: `https://upstream.example.org/v2/org/images/pause/blobs/${digest}` }],
    ['a manifest digest', `/v2/pause/manifests/sha256%3A${'c'.repeat(64)}`, { location: `https://upstream.example.org/v2/org/images/pause/manifests/${digest}` }],
    ['a tag with encoded letters', '/v2/pause/manifests/3%2E9', { location: 'https://upstream.example.org/v2/org/images/pause/manifests/3.9' }],
    ['tags/list', '/v2/pau%73e/tags/list', { location: 'https://upstream.example.org/v2/org/images/pause/tags/list' }],
    ['referrers', `/v2/pause/referrers/sha256%3A${'c'.repeat(64)}`, { location: `https://upstream.example.org/v2/org/images/pause/referrers/${digest}` }],
  ])('%s', (_name, uri, expected) => {
    expect(decide(get(uri), gcp, config)).toMatchObject(expected);
  });

  test('the S3 key of a forwarded blob is the decoded digest', () => {
    expect(decide(get(`/v2/pause/blobs/sha256%3A${'c'.repeat(64)}`), null, config)).toEqual(forward());
  });
});

describe('everything else', () => {
  test.each<[string, { method: string; uri: string; querystring: string }, Partial<Decision> & Record<string, unknown>]>([
    ['manifests go upstream with the query string', get('/v2/pause/manifests/3.9', 'ns=k8s.io'), { action: 'redirect', status: 307, location: 'https://upstream.example.org/v2/org/images/pause/manifests/3.9?ns=k8s.io' }],
    ['manifests by digest go upstream', get(`/v2/pause/manifests/${digest}`), { action: 'redirect', location: `https://upstream.example.org/v2/org/images/pause/manifests/${digest}` }],
    ['tags go upstream', get('/v2/a/b/tags/list', 'n=10&last=x'), { action: 'redirect', location: 'https://upstream.example.org/v2/org/images/a/b/tags/list?n=10&last=x' }],
    ['referrers go upstream', get(`/v2/pause/referrers/${digest}`), { action: 'redirect', location: `https://upstream.example.org/v2/org/images/pause/referrers/${digest}` }],
    ['/ goes to the documentation', get('/'), { action: 'redirect', status: 307, location: 'https://docs.example.org/registry' }],
    ['/v2/ answers 200 without an auth challenge', get('/v2/'), { action: 'respond', status: 200, headers: { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json' }, body: '{}' }],
    ['/v2 too', get('/v2'), { action: 'respond', status: 200 }],
    ['HEAD /v2/ has the body GET has (CloudFront sends its length, not the body)', { method: 'HEAD', uri: '/v2/', querystring: '' }, { action: 'respond', status: 200, body: '{}' }],
    ['the catalog is not served', get('/v2/_catalog'), { action: 'respond', status: 404, body: '{"errors":[{"code":"UNSUPPORTED","message":"catalog listing is not supported"}]}' }],
    ['POST is refused with Allow', { method: 'POST', uri: '/v2/pause/blobs/uploads/', querystring: '' }, { action: 'respond', status: 405, headers: expect.objectContaining({ allow: 'GET, HEAD' }) }],
    ['PUT is refused', { method: 'PUT', uri: '/v2/pause/manifests/latest', querystring: '' }, { action: 'respond', status: 405 }],
    ['OPTIONS is refused', { method: 'OPTIONS', uri: '/v2/', querystring: '' }, { action: 'respond', status: 405 }],
    ['a manifest "digest" that is not one is refused at the edge, not sent upstream', get('/v2/pause/manifests/sha256:baddigeststring'), { action: 'respond', status: 400, body: expect.stringContaining('"code":"DIGEST_INVALID"') }],
    ['a manifest digest of another algorithm still goes upstream', get(`/v2/pause/manifests/sha384:${'c'.repeat(96)}`), { action: 'redirect', location: `https://upstream.example.org/v2/org/images/pause/manifests/sha384:${'c'.repeat(96)}` }],
    ['a malformed digest is an OCI error, not a redirect', get('/v2/pause/blobs/sha256:zz'), { action: 'respond', status: 400, body: expect.stringContaining('"code":"DIGEST_INVALID"') }],
    ['an encoded slash is refused', get(`/v2/a%2Fb/blobs/${digest}`), { action: 'respond', status: 400, body: expect.stringContaining('NAME_INVALID') }],
    ['CR/LF in the query string is refused', get(blob, 'a=1\r\nLocation: https://evil.example'), { action: 'respond', status: 400 }],
    ['a space in the query string is refused', get(blob, 'a=1 2'), { action: 'respond', status: 400 }],
    ['an error answer to HEAD has the body GET has', { method: 'HEAD', uri: '/v2/nope', querystring: '' }, { action: 'respond', status: 404, body: expect.stringContaining('UNSUPPORTED') }],
  ])('%s', (_name, request, expected) => {
    expect(decide(request, null, config)).toMatchObject(expected);
  });
});

describe('the plan the viewer gets: for a bucket redirect, the check of that bucket (its region, the digest) and the fallback', () => {
  const planner = plannerFor(config);
  test.each<[string, { method: string; uri: string; querystring: string }, Place | null, string | null]>([
    ['a redirect to a bucket names it', get(blob), aws('eu-central-1'), 'eu-west-1'],
    ['an upstream redirect names none', get(blob), gcp, null],
    ['a forward names none', get(blob), null, null],
    ['a manifest names none', get('/v2/pause/manifests/3.9'), aws('eu-west-1'), null],
    ['an error names none', get('/v2/pause/blobs/sha256:zz'), aws('eu-west-1'), null],
  ])('%s', (_name, request, place, bucketRegion) => {
    const plan = planner.plan(request, place);
    expect(asData(plan)).toEqual(decide(request, place, config));
    const check = plan.action === 'redirect' ? plan.verify : undefined;
    expect(check?.bucketRegion ?? null).toBe(bucketRegion);
    expect(check?.digest ?? null).toBe(bucketRegion === null ? null : digest);
  });

  test('a check\'s fallback, built when it is read, is the forward the request would get with no bucket', () => {
    const plan = planner.plan(get(blob, 'ns=docker.io'), aws('eu-west-1'));
    const check = plan.action === 'redirect' ? plan.verify : undefined;
    expect(check?.fallback).toEqual(forward('ns=docker.io'));
    expect(check?.fallback).not.toBe(check?.fallback);
    expect(check?.fallback).toEqual(decideLive(get(blob, 'ns=docker.io'), null, config));
  });

  test('one planner per configuration; a place\'s target is worked out once and stays right for every digest', () => {
    expect(plannerFor(config)).toBe(planner);
    expect(plannerFor(testConfig().edge)).not.toBe(planner);
    const place = aws('ap-south-1');
    for (const hex of ['a', 'b', 'c']) {
      const other = `sha256:${hex.repeat(64)}`;
      expect(planner.plan(get(`/v2/pause/blobs/${other}`), place)).toMatchObject({ location: `https://edge-test-ap-southeast-1.s3.dualstack.ap-southeast-1.amazonaws.com/containers/images/${other}` });
    }
  });
});

