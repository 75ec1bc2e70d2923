/**
 * What the edge metrics make of a decision and of the range refresher's state (the end-to-end test,
 * test/e2e/edge-metrics.test.ts, runs the bundled functions; these are the cases it cannot provoke).
 */
import { actionOf, bucketPrefixes, createOriginMetrics, createViewerMetrics, tableAgeSeconds, tableGeneration } from '../../../layers/metrics/edge';
import type { RefreshStatus } from '../../../layers/ranges/refresh';
import type { Decision } from '../../../layers/routing/policy';
import { emfPoints, total } from '../../support/emf';
import { testConfig } from '../../support/configs';

const { edge } = testConfig();
const buckets = bucketPrefixes(edge);
const UPSTREAM = edge.upstream.origin;
const toBucket = (region: string): Decision => ({ action: 'redirect', status: 307, location: `https://${edge.buckets[region]}.s3.dualstack.${region}.amazonaws.com/containers/images/sha256:${'a'.repeat(64)}?x=1` });
const forward: Decision = { action: 'forward', uri: '/containers/images/sha256:a', querystring: '', repository: 'x' };

test.each<[string, Decision | null, Decision, { action: string; bucketRegion: string }]>([
  ['a redirect to a bucket, by its Location', toBucket('eu-west-1'), toBucket('eu-west-1'), { action: 'regional', bucketRegion: 'eu-west-1' }],
  ['a redirect elsewhere (the docs)', { action: 'redirect', status: 307, location: edge.docsUrl }, { action: 'redirect', status: 307, location: edge.docsUrl }, { action: 'redirect', bucketRegion: 'none' }],
  ['a forward', forward, forward, { action: 'cloudfront', bucketRegion: 'none' }],
  ['a generated answer', { action: 'respond', status: 404, headers: {}, body: '' }, { action: 'respond', status: 404, headers: {}, body: '' }, { action: 'respond', bucketRegion: 'none' }],
  ['a failed handler (nothing planned)', null, { action: 'respond', status: 500, headers: {}, body: '' }, { action: 'error', bucketRegion: 'none' }],
])('%s', (_name, planned, decision, expected) => {
  expect(actionOf(planned, decision, UPSTREAM, buckets)).toEqual(expected);
});

test('an upstream redirect is "upstream", also for a host that merely starts like the upstream\'s', () => {
  const upstream: Decision = { action: 'redirect', status: 307, location: `${UPSTREAM}/v2/org/images/x/manifests/1` };
  expect(actionOf(upstream, upstream, UPSTREAM, buckets).action).toBe('upstream');
  const lookalike: Decision = { action: 'redirect', status: 307, location: `${UPSTREAM}.evil.example/v2/x` };
  expect(actionOf(lookalike, lookalike, UPSTREAM, buckets).action).toBe('redirect');
});

test('a redirect to the configured CDN is "cdn"; without a CDN configured it is a plain redirect', () => {
  const cdn: Decision = { action: 'redirect', status: 307, location: `https://cdn.example.net/containers/images/sha256:${'a'.repeat(64)}` };
  expect(actionOf(cdn, cdn, UPSTREAM, buckets, 'https://cdn.example.net/containers/images/')).toEqual({ action: 'cdn', bucketRegion: 'none' });
  expect(actionOf(cdn, cdn, UPSTREAM, buckets).action).toBe('redirect');
});

const status = (metadata: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ source: 'embedded', version: { aws: '1785313625', gcp: null }, metadata, ...extra }) as unknown as RefreshStatus;

test('table age: from the AWS feed\'s createDate; none when the table records none', () => {
  const created = Date.UTC(2026, 6, 29, 8, 27, 5);
  expect(tableAgeSeconds(status({ aws: { createDate: '2026-07-29-08-27-05' } }), created + 90_500)).toBe(91);
  expect(tableAgeSeconds(status({}), created)).toBeNull();
  expect(tableAgeSeconds(status({ aws: { createDate: 'yesterday' } }), created)).toBeNull();
});

test('table generation: nothing until the refresher reports one (the hook for issue 10)', () => {
  expect(tableGeneration(status({}))).toBeNull();
  expect(tableGeneration(status({}, { generation: 42 }))).toBe(42);
  expect(tableGeneration(status({}, { generation: '42' }))).toBeNull();
});

test('the viewer\'s flush carries the table gauges, the fallback by planned region, and the refresher\'s outcomes', () => {
  let clock = Date.UTC(2026, 11, 1);
  const lines: string[] = [];
  const metrics = createViewerMetrics({
    service: 'edge-viewer-request',
    config: edge,
    now: () => clock,
    write: (line) => lines.push(line),
    rangeStatus: () => status({ aws: { createDate: '2026-11-30-00-00-00' } }, { generation: 7 }),
  });
  metrics.decided(toBucket('ap-southeast-1'), forward);
  metrics.refreshLogged({ event: 'ranges-refresh', outcome: 'error', error: 'HTTP 403' });
  metrics.refreshLogged({ event: 'ranges-refresh', outcome: 'swapped' });
  metrics.refreshLogged({ event: 'something-else', outcome: 'error' });
  clock += edge.metrics.flushSeconds * 1000;
  metrics.tick();
  const points = emfPoints(lines);
  expect(total(points, 'VerifyFallbacks', { bucketRegion: 'ap-southeast-1' })).toBe(1);
  expect(total(points, 'Decisions', { action: 'cloudfront' })).toBe(1);
  expect([total(points, 'RangeRefreshFailures'), total(points, 'RangeTableSwaps')]).toEqual([1, 1]);
  expect(total(points, 'TableAgeSeconds')).toBe(24 * 3600 + 10);
  expect(total(points, 'TableSyncToken')).toBe(1785313625);
  expect(total(points, 'TableGeneration')).toBe(7);
});

test('told the planned bucket, the viewer\'s metrics count the same as when they read it from the Location', () => {
  let clock = Date.UTC(2026, 11, 1);
  const run = (hinted: boolean) => {
    const lines: string[] = [];
    const metrics = createViewerMetrics({ service: 'edge-viewer-request', config: edge, now: () => clock, write: (line) => lines.push(line) });
    const planned = toBucket('eu-west-1');
    metrics.decided(planned, planned, hinted ? 'eu-west-1' : undefined);
    metrics.decided(planned, planned, hinted ? 'eu-west-1' : undefined);
    metrics.decided(planned, forward, hinted ? 'eu-west-1' : undefined);
    metrics.decided(forward, forward, null);
    clock += edge.metrics.flushSeconds * 1000;
    metrics.tick();
    return emfPoints(lines);
  };
  for (const points of [run(true), run(false)]) {
    expect(total(points, 'Decisions', { action: 'regional', bucketRegion: 'eu-west-1' })).toBe(2);
    expect(total(points, 'Decisions', { action: 'cloudfront', bucketRegion: 'none' })).toBe(2);
    expect(total(points, 'VerifyFallbacks', { bucketRegion: 'eu-west-1' })).toBe(1);
  }
});

test('the origin function: requests by bucket region and failovers, flushed on the first call after the interval', () => {
  let clock = Date.UTC(2026, 11, 1);
  const lines: string[] = [];
  const metrics = createOriginMetrics({ service: 'edge-origin-request', config: edge, now: () => clock, write: (line) => lines.push(line) });
  metrics.routed({ role: 'nearest', bucketRegion: 'eu-west-1' });
  metrics.routed({ role: 'failover' });
  metrics.tick();
  expect(lines).toEqual([]);
  clock += edge.metrics.flushSeconds * 1000;
  metrics.tick();
  expect(total(emfPoints(lines), 'OriginRequests', { bucketRegion: 'eu-west-1', service: 'edge-origin-request', stage: 'test' })).toBe(1);
  expect(total(emfPoints(lines), 'OriginFailovers')).toBe(1);
});

test.each([
  ['0 (a flush with every request)', 0, /edgeMetrics\.flushSeconds: Too small/],
  ['more than a minute (counts lost with an instance grow with it)', 61, /edgeMetrics\.flushSeconds: Too big/],
  ['a typo', undefined, /edgeMetrics: Unrecognized key: "flushSecs"/],
])('edgeMetrics refused, naming the field: %s', (_name, flushSeconds, message) => {
  expect(() => testConfig({ edgeMetrics: flushSeconds === undefined ? { flushSecs: 5 } : { flushSeconds } })).toThrow(message);
});

test('edgeMetrics.flushSeconds reaches the edge configuration (default 10)', () => {
  expect(testConfig().edge.metrics).toEqual({ flushSeconds: 10 });
  expect(testConfig({ edgeMetrics: { flushSeconds: 3 } }).edge.metrics).toEqual({ flushSeconds: 3 });
});
