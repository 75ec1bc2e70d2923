import { describeLocation, parseEndpoint, parseImage, SmokeUsageError } from '../../../layers/smoke/smoke';

describe('where a redirect points', () => {
  test.each([
    ['https://registry-edge-prod-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com/containers/images/sha256:ab', { target: 'bucket', bucket: 'registry-edge-prod-eu-west-1', region: 'eu-west-1' }],
    ['https://my.bucket.s3.ap-south-1.amazonaws.com/containers/images/sha256:ab', { target: 'bucket', bucket: 'my.bucket', region: 'ap-south-1' }],
    ['https://legacy.s3.amazonaws.com/containers/images/sha256:ab', { target: 'bucket', bucket: 'legacy', region: 'us-east-1' }],
    ['https://s3.sa-east-1.amazonaws.com/blobs-sa/containers/images/sha256:ab', { target: 'bucket', bucket: 'blobs-sa', region: 'sa-east-1' }],
    ['http://127.0.0.1:4566/registry-edge-local-ap-southeast-1/containers/images/sha256:ab', { target: 'bucket', bucket: 'registry-edge-local-ap-southeast-1', region: 'ap-southeast-1' }],
    ['http://127.0.0.1:4566/some-bucket/containers/images/sha256:ab', { target: 'bucket', bucket: 'some-bucket' }],
    ['https://us-central1-docker.pkg.dev/v2/org/images/demo/blobs/sha256:ab?ns=x', { target: 'registry', host: 'us-central1-docker.pkg.dev' }],
  ])('%s', (location, expected) => {
    const described = describeLocation(location);
    expect(described).toMatchObject(expected);
    if (!('region' in expected)) expect(described.region).toBeUndefined();
  });
});

describe('arguments', () => {
  test.each([
    ['demo/hello:1', { name: 'demo/hello', reference: ':1' }],
    ['localhost-ish/a_b.c:v1.2-rc', { name: 'localhost-ish/a_b.c', reference: ':v1.2-rc' }],
    [`demo@sha256:${'a'.repeat(64)}`, { name: 'demo', reference: `@sha256:${'a'.repeat(64)}` }],
  ])('image %s', (text, expected) => {
    expect(parseImage(text)).toEqual(expected);
  });

  test.each(['demo', 'Demo:1', 'demo:', 'demo:-x', 'demo@sha256:xyz', 'demo/x:1/y', '../etc:1'])('refuses image %s', (text) => {
    expect(() => parseImage(text)).toThrow(SmokeUsageError);
  });

  test.each(['https://d111.cloudfront.net', 'https://registry.example.org/', 'http://127.0.0.1:8080'])('endpoint %s', (text) => {
    expect(parseEndpoint(text).pathname).toBe('/');
  });

  test.each(['d111.cloudfront.net', 'https://registry.example.org/v2/', 'https://registry.example.org/?x=1', 'https://user@registry.example.org', 'file:///etc'])('refuses endpoint %s', (text) => {
    expect(() => parseEndpoint(text)).toThrow(SmokeUsageError);
  });
});
