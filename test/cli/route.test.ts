import { runCli } from '../support/cli';

const digest = `sha256:${'a'.repeat(64)}`;

describe('registry-edge route', () => {
  // One process per case costs a bundle build each (about a second); the cases cover each kind of answer.
  test.each<[string, string[], unknown]>([
    [
      'a blob from an AWS region with a bucket: redirect, query kept, no network call',
      ['--ip', '3.4.12.4', `/v2/pause/blobs/${digest}?ns=registry.k8s.io`],
      { action: 'redirect', status: 307, location: `https://registry-edge-prod-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com/containers/images/${digest}?ns=registry.k8s.io` },
    ],
    [
      'a manifest: upstream',
      ['--ip', '8.8.8.8', '--method', 'HEAD', '/v2/pause/manifests/3.9'],
      { action: 'redirect', status: 307, location: 'https://us-central1-docker.pkg.dev/v2/registry-edge-prod/images/pause/manifests/3.9' },
    ],
    [
      'a blob from the internet: forwarded to the S3 origin',
      ['--ip', '8.8.8.8', `/v2/pause/blobs/${digest}`],
      { action: 'forward', uri: `/containers/images/${digest}`, querystring: '', headers: { host: 'd111111abcdef8.cloudfront.net', 'x-registry-edge-repository': 'pause' } },
    ],
    [
      'a write: refused',
      ['--ip', '8.8.8.8', '--method', 'PUT', '/v2/pause/manifests/3.9'],
      {
        action: 'respond',
        status: 405,
        headers: { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json', allow: 'GET, HEAD' },
        body: '{"errors":[{"code":"UNSUPPORTED","message":"this registry is read-only: only GET and HEAD are allowed"}]}',
      },
    ],
  ])('%s', (_name, args, expected) => {
    const result = runCli(['route', ...args]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([expected]);
  });

  test('uses the configuration given with --config, and refuses an invalid one naming the field', () => {
    const sandbox = runCli(['route', '--config', 'config/sandbox.json', '--ip', '3.4.12.4', `/v2/x/blobs/${digest}`]);
    expect(sandbox.lines).toEqual([{ action: 'redirect', status: 307, location: `https://registry-edge-sandbox-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com/containers/images/${digest}` }]);
    const bad = runCli(['route', '--config', 'test/fixtures/config-bad-region.json', '--ip', '3.4.12.4', '/v2/']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('buckets.regions.1: "eu-nowhere-1" is not a known commercial AWS region');
  });
});
