import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../../../layers/config/schema';
import { mergeConfig } from '../../../tools/build';
import { TEST_CONFIG, testConfig } from '../../support/configs';

describe('stage configuration', () => {
  test.each(readdirSync(join(__dirname, '../../../config')).filter((f) => f.endsWith('.json')))('config/%s is valid', (file) => {
    const config = resolveConfig(JSON.parse(readFileSync(join(__dirname, '../../../config', file), 'utf8')), file);
    expect(config.edge.buckets[config.edge.primaryRegion]).toBe(config.primaryBucket);
  });

  test('derives bucket names, replicas, the nearest bucket of every region and the redirect hosts', () => {
    const config = testConfig();
    expect(config.primaryBucket).toBe('edge-test-us-east-1');
    expect(config.replicaBuckets).toEqual([
      { region: 'eu-west-1', name: 'edge-test-eu-west-1' },
      { region: 'ap-southeast-1', name: 'edge-test-ap-southeast-1' },
    ]);
    expect(config.configBucket).toBe('edge-test-config');
    expect(config.edge.nearest).toMatchObject({ 'us-east-1': 'us-east-1', 'sa-east-1': 'us-east-1', 'af-south-1': 'eu-west-1', 'ap-southeast-2': 'ap-southeast-1' });
    expect(config.redirectHosts).toEqual([
      'edge-test-us-east-1.s3.dualstack.us-east-1.amazonaws.com',
      'edge-test-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com',
      'edge-test-ap-southeast-1.s3.dualstack.ap-southeast-1.amazonaws.com',
      'upstream.example.org',
      'docs.example.org',
    ]);
  });

  test('the feed rules default to /8 and /16 and a growth guard of 4 times, and may be set stricter', () => {
    expect(testConfig().stage.ranges).toMatchObject({ shortestPrefix: { ipv4: 8, ipv6: 16 }, maxGrowth: 4 });
    expect(testConfig({ ranges: { shortestPrefix: { ipv4: 12 } } }).stage.ranges.shortestPrefix).toEqual({ ipv4: 12, ipv6: 16 });
  });

  test('the fallback goes to the upstream by default; the cdn and fallback hosts join the redirect hosts', () => {
    const plain = testConfig();
    expect(plain.edge.fallback).toEqual({ enabled: true, origin: 'https://upstream.example.org', pathPrefix: 'org/images' });
    expect(plain.edge.cdn).toBeNull();
    expect(plain.edge.verify.negativeCacheSeconds).toBe(3);
    const custom = testConfig({ routing: { policy: { internet: 'cdn' }, cdn: { baseUrl: 'https://cdn.example.net/containers/images/' }, fallback: { url: 'https://mirror.example.net', pathPrefix: 'cache' } } });
    expect(custom.edge.cdn).toEqual({ baseUrl: 'https://cdn.example.net/containers/images/' });
    expect(custom.edge.policy.internet).toBe('cdn');
    expect(custom.edge.fallback).toEqual({ enabled: true, origin: 'https://mirror.example.net', pathPrefix: 'cache' });
    expect(custom.redirectHosts).toEqual(expect.arrayContaining(['cdn.example.net', 'mirror.example.net']));
    expect(testConfig({ routing: { fallback: { enabled: false } } }).edge.fallback.enabled).toBe(false);
  });

  test('bucket names can be given explicitly (an existing primary bucket)', () => {
    const config = testConfig({ buckets: { names: { 'us-east-1': 'k8s-artifacts-prod' }, primaryExisting: true } });
    expect(config.primaryBucket).toBe('k8s-artifacts-prod');
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['an unknown region', { buckets: { regions: ['us-east-1', 'mars-north-1'] } }, 'buckets.regions.1: "mars-north-1" is not a known commercial AWS region'],
    ['a GovCloud bucket region', { buckets: { regions: ['us-east-1', 'us-gov-west-1'] } }, 'buckets.regions.1: "us-gov-west-1" is not a known commercial AWS region'],
    ['a primary outside the regions', { buckets: { primaryRegion: 'eu-west-2' } }, 'buckets.primaryRegion: "eu-west-2" is not in buckets.regions'],
    ['a region twice', { buckets: { regions: ['us-east-1', 'us-east-1'] } }, 'buckets.regions: lists a region twice'],
    ['a typo in a field name', { bukets: {} }, '(root): Unrecognized key: "bukets"'],
    ['plain http to a public host', { upstream: { url: 'http://upstream.example.org' } }, 'upstream.url: must be an https URL (http only for loopback)'],
    ['a path in the upstream URL', { upstream: { url: 'https://upstream.example.org/v2/x' } }, 'upstream.url: must be scheme and host only'],
    ['an endpoint without {bucket}', { buckets: { publicEndpoint: 'https://s3.amazonaws.com' } }, 'buckets.publicEndpoint: must contain {bucket}'],
    ['an invalid bucket name', { buckets: { names: { 'us-east-1': 'Bad_Name' } } }, 'buckets.names.us-east-1: must be a valid S3 bucket name'],
    ['a bad policy action', { routing: { policy: { gcp: 'regional' } } }, 'routing.policy.gcp: Invalid option'],
    ['a verify timeout above the edge budget', { routing: { verify: { timeoutMs: 10_000 } } }, 'routing.verify.timeoutMs: Too big'],
    ['a nearest override to a region without a bucket', { routing: { nearest: { 'ap-south-1': 'eu-west-2' } } }, 'routing.nearest.ap-south-1: "eu-west-2" holds no bucket'],
    ['a prefix floor of /0 (everyone)', { ranges: { shortestPrefix: { ipv4: 0 } } }, 'ranges.shortestPrefix.ipv4: Too small'],
    ['an IPv6 prefix floor past /128', { ranges: { shortestPrefix: { ipv6: 129 } } }, 'ranges.shortestPrefix.ipv6: Too big'],
    ['a typo in the prefix floor', { ranges: { shortestPrefix: { v4: 8 } } }, 'ranges.shortestPrefix: Unrecognized key: "v4"'],
    ['a growth guard below 1', { ranges: { maxGrowth: 0.5 } }, 'ranges.maxGrowth: Too small'],
    ['the cdn target without a CDN', { routing: { policy: { internet: 'cdn' } } }, 'routing.policy.internet: is "cdn" but routing.cdn.baseUrl is not set'],
    ['a CDN base URL without the trailing "/"', { routing: { cdn: { baseUrl: 'https://cdn.example.net/blobs' } } }, 'routing.cdn.baseUrl: must be a URL ending in "/"'],
    ['a CDN base URL over plain http', { routing: { cdn: { baseUrl: 'http://cdn.example.net/' } } }, 'routing.cdn.baseUrl: must be an https URL'],
    ['a CDN base URL with a query', { routing: { cdn: { baseUrl: 'https://cdn.example.net/?x=/' } } }, 'routing.cdn.baseUrl: must be a URL ending in "/"'],
    ['a fallback URL with a path', { routing: { fallback: { url: 'https://mirror.example.net/v2/' } } }, 'routing.fallback.url: must be scheme and host only'],
    ['a fallback path prefix without a fallback URL', { routing: { fallback: { pathPrefix: 'cache' } } }, 'routing.fallback.pathPrefix: applies only with fallback.url'],
    ['a fallback that is not a boolean', { routing: { fallback: { enabled: 'yes' } } }, 'routing.fallback.enabled: Invalid input'],
    ['negative existence answers kept for a minute and more', { routing: { verify: { negativeCacheSeconds: 120 } } }, 'routing.verify.negativeCacheSeconds: Too big'],
  ])('refuses %s, naming the field', (_name, override, message) => {
    expect(() => resolveConfig(mergeConfig(TEST_CONFIG, override), 'config/test.json')).toThrow(`config/test.json: ${message}`);
  });
});
