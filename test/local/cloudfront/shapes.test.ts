import { blobOriginGroup } from '../../../local/cloudfront/distribution';
import { clientIpOf, cloudFrontHeadersFromRaw, originEvent, viewerEvent } from '../../../local/cloudfront/shapes';
import { resolveConfig } from '../../../layers/config/schema';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('clientIpOf', () => {
  it.each([
    ['::ffff:127.0.2.10', '127.0.2.10'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:abcd', '::ffff:abcd'],
    [undefined, ''],
  ])('%s -> %s', (peer, ip) => expect(clientIpOf(peer)).toBe(ip));
});

describe('cloudFrontHeadersFromRaw', () => {
  it('keys by lower-case name, keeps the spelling, keeps repeats in order, hides what CloudFront hides', () => {
    const raw = ['Host', 'edge:8080', 'Accept', 'a', 'accept', 'b', 'Connection', 'keep-alive', 'X-Real-IP', '1.2.3.4', 'X-Amz-Cf-Id', 'spoof', 'User-Agent', 'skopeo'];
    expect(cloudFrontHeadersFromRaw(raw)).toEqual({
      host: [{ key: 'Host', value: 'edge:8080' }],
      accept: [
        { key: 'Accept', value: 'a' },
        { key: 'accept', value: 'b' },
      ],
      'user-agent': [{ key: 'User-Agent', value: 'skopeo' }],
    });
  });
});

describe('events', () => {
  it('builds a viewer-request event as AWS documents it', () => {
    const event = viewerEvent({ clientIp: '127.0.2.10', method: 'HEAD', url: '/v2/a/manifests/1?x=1&y=%2F', rawHeaders: ['Host', 'h'], distributionDomainName: 'd.cloudfront.net', requestId: 'req-1' });
    expect(event.Records).toHaveLength(1);
    expect(event.Records[0]!.cf).toEqual({
      config: { distributionDomainName: 'd.cloudfront.net', distributionId: expect.any(String), eventType: 'viewer-request', requestId: 'req-1' },
      request: { clientIp: '127.0.2.10', method: 'HEAD', uri: '/v2/a/manifests/1', querystring: 'x=1&y=%2F', headers: { host: [{ key: 'Host', value: 'h' }] } },
    });
  });

  it('builds an origin-request event with the origin, only forwarded headers, and the headers CloudFront adds', () => {
    const config = resolveConfig(JSON.parse(readFileSync(join(__dirname, '../../../config/local.json'), 'utf8')));
    const [nearest, failover] = blobOriginGroup(config.edge);
    const request = {
      clientIp: '127.0.0.1',
      method: 'GET',
      uri: '/containers/images/sha256:aa',
      querystring: 'acl',
      headers: {
        host: [{ key: 'Host', value: 'edge' }],
        range: [{ key: 'Range', value: 'bytes=0-9' }],
        cookie: [{ key: 'Cookie', value: 'secret' }],
        'x-forwarded-for': [{ key: 'X-Forwarded-For', value: '10.0.0.1' }],
      },
    };
    const event = originEvent({ request, origin: nearest!, forwardHeaders: ['range'], forwardQueryString: false, distributionDomainName: 'd', requestId: 'r' });
    const cf = event.Records[0]!.cf;
    expect(cf.config.eventType).toBe('origin-request');
    expect(cf.request.querystring).toBe('');
    expect(Object.keys(cf.request.headers).sort()).toEqual(['host', 'range', 'user-agent', 'via', 'x-forwarded-for']);
    expect(cf.request.headers.host).toEqual([{ key: 'Host', value: '127.0.0.1' }]);
    expect(cf.request.headers['x-forwarded-for']).toEqual([{ key: 'X-Forwarded-For', value: '10.0.0.1, 127.0.0.1' }]);
    expect(cf.request.origin).toEqual(nearest);
    expect(cf.request.origin).not.toBe(nearest);
    // Member 1 is the primary bucket tagged "nearest", member 2 the same bucket tagged "failover".
    expect(nearest!.custom).toMatchObject({ domainName: '127.0.0.1', port: 4566, protocol: 'http', path: `/${config.primaryBucket}` });
    expect(nearest!.custom!.customHeaders['x-registry-edge-origin']).toEqual([{ key: 'x-registry-edge-origin', value: 'nearest' }]);
    expect(failover!.custom!.customHeaders['x-registry-edge-origin']).toEqual([{ key: 'x-registry-edge-origin', value: 'failover' }]);
  });
});
