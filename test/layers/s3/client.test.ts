import { clientOptionsForTemplate, clientsByRegion, createS3Client, isLoopbackEndpoint } from '../../../layers/s3/client';

describe('clientOptionsForTemplate', () => {
  test.each([
    ['AWS, virtual-hosted', 'https://{bucket}.s3.{region}.amazonaws.com', 'eu-west-1', { region: 'eu-west-1' }],
    ['AWS, dual-stack', 'https://{bucket}.s3.dualstack.{region}.amazonaws.com', 'us-east-1', { region: 'us-east-1' }],
    ['a local server, path-style', 'http://127.0.0.1:4566/{bucket}', 'ap-southeast-1', { region: 'ap-southeast-1', endpoint: 'http://127.0.0.1:4566' }],
    ['a local server under a path', 'http://127.0.0.1:4566/s3/{bucket}', 'us-east-1', { region: 'us-east-1', endpoint: 'http://127.0.0.1:4566/s3' }],
  ])('%s', (_name, template, region, expected) => {
    expect(clientOptionsForTemplate(template, region)).toEqual(expected);
  });

  test('a non-AWS virtual-hosted template is refused, naming the field', () => {
    expect(() => clientOptionsForTemplate('https://{bucket}.minio.example', 'us-east-1')).toThrow(/buckets.apiEndpoint .* must put \{bucket\} in the path/);
  });
});

test.each([
  ['http://127.0.0.1:4566', true],
  ['http://127.3.2.1', true],
  ['http://localhost:9000', true],
  ['http://[::1]:9000', true],
  ['https://s3.amazonaws.com', false],
  ['http://10.0.0.1:4566', false],
  ['not a url', false],
])('isLoopbackEndpoint(%j) = %s', (endpoint, expected) => {
  expect(isLoopbackEndpoint(endpoint)).toBe(expected);
});

test('clientsByRegion makes one client per region, on first use', () => {
  const made: string[] = [];
  const clientFor = clientsByRegion((region) => {
    made.push(region);
    return createS3Client({ region });
  });
  const a = clientFor('eu-west-1');
  expect(clientFor('eu-west-1')).toBe(a);
  expect(clientFor('us-east-1')).not.toBe(a);
  expect(made).toEqual(['eu-west-1', 'us-east-1']);
});

test('a loopback endpoint gets path-style addressing and local credentials', async () => {
  const client = createS3Client({ endpoint: 'http://127.0.0.1:4566' });
  expect(client.config.forcePathStyle).toBe(true);
  await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'registry-edge-local' });
});
