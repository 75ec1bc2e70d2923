/**
 * The conversions from routing decisions to CloudFront's result shapes (the end-to-end tests run them
 * through the bundled handlers; these pin the exact shapes the hand-written fast paths must keep).
 */
import { applyDecision, toCloudFrontHeaders, viewerRequestEvent } from '../../../layers/cloudfront/events';
import { REPOSITORY_HEADER } from '../../../layers/cloudfront/origin';

const request = () =>
  viewerRequestEvent({
    clientIp: '3.4.12.4',
    method: 'GET',
    uri: '/v2/library/alpine/blobs/sha256:abc',
    headers: { 'user-agent': 'containerd/v1.7.22', authorization: 'Bearer secret', [REPOSITORY_HEADER]: 'forged', accept: '*/*' },
  }).Records[0]!.cf.request;

test('a redirect is a 307 whose headers are exactly what toCloudFrontHeaders makes of its Location and API version', () => {
  const location = 'https://bucket.s3.dualstack.eu-west-1.amazonaws.com/containers/images/sha256:abc?ns=docker.io';
  const result = applyDecision({ action: 'redirect', status: 307, location }, request());
  expect(result).toEqual({
    status: '307',
    statusDescription: 'Temporary Redirect',
    headers: toCloudFrontHeaders({ location, 'docker-distribution-api-version': 'registry/2.0' }),
  });
  expect(Object.keys((result as { headers: object }).headers)).toEqual(['location', 'docker-distribution-api-version']);
  expect((result as { headers: Record<string, unknown> }).headers.location).toEqual([{ key: 'Location', value: location }]);
});

test('a forward passes the request on without the client credentials and with our repository header, leaving the event as it was', () => {
  const original = request();
  const before = JSON.parse(JSON.stringify(original));
  const forwarded = applyDecision({ action: 'forward', uri: '/containers/images/sha256:abc', querystring: '', repository: 'library/alpine' }, original) as typeof original;
  expect(original).toEqual(before);
  expect(forwarded.uri).toBe('/containers/images/sha256:abc');
  expect(forwarded.clientIp).toBe('3.4.12.4');
  const names = Object.keys(forwarded.headers);
  expect(names).not.toContain('authorization');
  expect(names.filter((n) => n === REPOSITORY_HEADER)).toHaveLength(1);
  expect(forwarded.headers[REPOSITORY_HEADER]).toEqual([{ key: REPOSITORY_HEADER, value: 'library/alpine' }]);
  // Every other header kept, in its order, as the same values.
  const others = Object.keys(before.headers).filter((n) => n !== 'authorization' && n !== REPOSITORY_HEADER);
  expect(names.filter((n) => n !== REPOSITORY_HEADER)).toEqual(others);
  for (const name of others) expect(forwarded.headers[name]).toEqual(before.headers[name]);
});
