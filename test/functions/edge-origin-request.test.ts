/**
 * The bundled origin-request function with origin-request events shaped as AWS documents them: the origin
 * group's first member is rewritten to the bucket nearest the regional edge cache; the failover member
 * (the primary bucket) is left alone.
 */
import type { CloudFrontRequest, CloudFrontRequestEvent } from '../../layers/cloudfront/events';
import { buildTemporary, type EdgeHandler, type TemporaryBuild } from '../../tools/bundles';
import { TEST_CONFIG } from '../support/configs';

const digest = `sha256:${'a'.repeat(64)}`;

function originEvent(role: 'nearest' | 'failover', uri = `/containers/images/${digest}`): CloudFrontRequestEvent {
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'origin-request', requestId: 'r-1' },
          request: {
            clientIp: '203.0.113.178',
            method: 'GET',
            uri,
            querystring: '',
            headers: { host: [{ key: 'Host', value: 'edge-test-us-east-1.s3.us-east-1.amazonaws.com' }] },
            origin: {
              s3: {
                authMethod: 'origin-access-identity',
                customHeaders: { 'x-registry-edge-origin': [{ key: 'x-registry-edge-origin', value: role }] },
                domainName: 'edge-test-us-east-1.s3.us-east-1.amazonaws.com',
                path: '',
                region: 'us-east-1',
              },
            },
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
}

describe('the bundled origin-request handler', () => {
  let aws: TemporaryBuild;
  let local: TemporaryBuild;
  let handler: EdgeHandler;
  let localHandler: EdgeHandler;
  const savedRegion = process.env.AWS_REGION;

  beforeAll(async () => {
    aws = await buildTemporary({ stage: 'test', config: TEST_CONFIG, only: ['edge-origin-request'] });
    local = await buildTemporary({ stage: 'test', config: TEST_CONFIG, override: { buckets: { apiEndpoint: 'http://127.0.0.1:4566/{bucket}' } }, only: ['edge-origin-request'] });
    handler = aws.load('edge-origin-request');
    localHandler = local.load('edge-origin-request');
  }, 60_000);

  afterAll(() => {
    aws?.dispose();
    local?.dispose();
    process.env.AWS_REGION = savedRegion;
  });

  test.each([
    ['eu-west-1', 'eu-west-1'], // a bucket in this edge's region
    ['eu-central-1', 'eu-west-1'], // the nearest one
    ['ap-northeast-1', 'ap-southeast-1'],
    ['us-west-2', 'us-east-1'],
  ])('in a regional edge cache in %s reads from the %s bucket', async (edgeRegion, bucketRegion) => {
    process.env.AWS_REGION = edgeRegion; // set by Lambda in the region the function runs
    const result = (await handler(originEvent('nearest'))) as CloudFrontRequest;
    const domainName = `edge-test-${bucketRegion}.s3.${bucketRegion}.amazonaws.com`;
    expect(result.origin).toEqual({
      s3: { domainName, region: bucketRegion, authMethod: 'none', path: '', customHeaders: { 'x-registry-edge-origin': [{ key: 'x-registry-edge-origin', value: 'rewritten' }] } },
    });
    expect(result.headers.host).toEqual([{ key: 'Host', value: domainName }]);
    expect(result.uri).toBe(`/containers/images/${digest}`);
  });

  test('leaves the failover origin (the primary bucket) as it is', async () => {
    process.env.AWS_REGION = 'eu-west-1';
    const event = originEvent('failover');
    expect(await handler(event)).toEqual(event.Records[0]!.cf.request);
  });

  test('leaves requests that are not for blobs alone', async () => {
    process.env.AWS_REGION = 'eu-west-1';
    const event = originEvent('nearest', '/v2/whatever');
    expect(await handler(event)).toEqual(event.Records[0]!.cf.request);
  });

  test('without a known region, reads from the primary bucket', async () => {
    delete process.env.AWS_REGION;
    expect(((await handler(originEvent('nearest'))) as CloudFrontRequest).origin?.s3?.domainName).toBe('edge-test-us-east-1.s3.us-east-1.amazonaws.com');
  });

  test('turns a path-style endpoint (the local stack) into a custom origin', async () => {
    process.env.AWS_REGION = 'ap-south-1';
    const result = (await localHandler(originEvent('nearest'))) as CloudFrontRequest;
    expect(result.origin).toEqual({
      custom: {
        domainName: '127.0.0.1',
        port: 4566,
        protocol: 'http',
        path: '/edge-test-ap-southeast-1',
        sslProtocols: ['TLSv1.2'],
        readTimeout: 30,
        keepaliveTimeout: 5,
        customHeaders: { 'x-registry-edge-origin': [{ key: 'x-registry-edge-origin', value: 'rewritten' }] },
      },
    });
    expect(result.headers.host).toEqual([{ key: 'Host', value: '127.0.0.1:4566' }]);
  });
});
