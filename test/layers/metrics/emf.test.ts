/**
 * The edge's EMF aggregator: counts in memory, one line per dimension set per flush, a flush only on the
 * first call after the interval, a bounded number of dimension sets.
 */
import { createMetricsAggregator, DEFAULT_MAX_DIMENSION_SETS, type MetricsAggregator } from '../../../layers/metrics/emf';
import { emfPoints, parseEmf, total } from '../../support/emf';

const BASE = { service: 'edge-viewer-request', stage: 'test' };
const START = Date.UTC(2026, 11, 1, 9, 0, 0);

function setup(options: { flushMs?: number; maxDimensionSets?: number } = {}) {
  let clock = START;
  const lines: string[] = [];
  const metrics: MetricsAggregator = createMetricsAggregator({ namespace: 'RegistryEdge', baseDimensions: BASE, flushMs: options.flushMs ?? 10_000, now: () => clock, write: (line) => lines.push(line), ...(options.maxDimensionSets ? { maxDimensionSets: options.maxDimensionSets } : {}) });
  return { metrics, lines, advance: (ms: number) => (clock += ms) };
}

test('a thousand requests within the interval write nothing; the first call after it writes one line per dimension set', () => {
  const { metrics, lines, advance } = setup();
  for (let i = 0; i < 1000; i++) {
    metrics.tick();
    metrics.count('Decisions', { action: i % 4 === 0 ? 'regional' : 'cloudfront', bucketRegion: i % 4 === 0 ? 'eu-west-1' : 'none' });
    advance(5); // 5 s in all: still inside the 10 s interval
  }
  expect(lines).toEqual([]);
  advance(5_000);
  metrics.tick();
  expect(lines).toHaveLength(2);
  const points = emfPoints(lines);
  expect(total(points, 'Decisions', { action: 'regional', bucketRegion: 'eu-west-1' })).toBe(250);
  expect(total(points, 'Decisions', { action: 'cloudfront' })).toBe(750);
  // Stamped with the window's first point, not the flush.
  expect(points.every((p) => p.timestamp === START)).toBe(true);
  expect(metrics.pendingSets()).toBe(0);
});

test('a document is EMF: namespace, one dimension set with its values at the top level, every metric with its unit and value', () => {
  const { metrics, lines } = setup();
  metrics.count('BlobChecks', { result: 'hit', cached: 'true' }, 3);
  metrics.count('BlobChecks', { result: 'hit', cached: 'true' });
  metrics.gauge('TableAgeSeconds', 120, 'Seconds', { result: 'hit', cached: 'true' });
  metrics.flush();
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toEqual({
    _aws: {
      Timestamp: START,
      CloudWatchMetrics: [{ Namespace: 'RegistryEdge', Dimensions: [['service', 'stage', 'result', 'cached']], Metrics: [{ Name: 'BlobChecks', Unit: 'Count' }, { Name: 'TableAgeSeconds', Unit: 'Seconds' }] }],
    },
    service: 'edge-viewer-request',
    stage: 'test',
    result: 'hit',
    cached: 'true',
    BlobChecks: 4,
    TableAgeSeconds: 120,
  });
  expect(parseEmf(lines[0]!)).toHaveLength(2);
});

test('counters start again from zero after a flush; a quiet instance writes nothing at all', () => {
  const { metrics, lines, advance } = setup({ flushMs: 1_000 });
  metrics.count('Decisions', { action: 'upstream', bucketRegion: 'none' }, 2);
  advance(1_000);
  metrics.tick();
  metrics.count('Decisions', { action: 'upstream', bucketRegion: 'none' });
  advance(60_000);
  metrics.tick();
  advance(60_000);
  metrics.tick();
  metrics.flush();
  expect(emfPoints(lines).map((p) => p.value)).toEqual([2, 1]);
  expect(emfPoints(lines).map((p) => p.timestamp)).toEqual([START, START + 1_000]);
});

test('points for one dimension set, however many, share one line', () => {
  const { metrics, lines } = setup();
  metrics.count('Decisions', { action: 'respond', bucketRegion: 'none' });
  metrics.count('Decisions', { action: 'respond', bucketRegion: 'none' });
  metrics.flush();
  expect(lines).toHaveLength(1);
});

test('dimension sets are bounded: points for sets beyond the limit are dropped and counted as MetricsDropped', () => {
  const { metrics, lines } = setup({ maxDimensionSets: 4 });
  for (let i = 0; i < 100; i++) metrics.count('Decisions', { action: 'regional', bucketRegion: `region-${i % 10}` });
  expect(metrics.pendingSets()).toBe(4);
  metrics.count('RangeRefreshFailures'); // the base set is always admitted
  metrics.flush();
  const points = emfPoints(lines);
  expect(lines).toHaveLength(5);
  expect(total(points, 'Decisions')).toBe(40);
  expect(points.find((p) => p.metric === 'MetricsDropped')).toMatchObject({ value: 60, dimensions: BASE });
  expect(total(points, 'RangeRefreshFailures')).toBe(1);
});

test('the default limit holds memory to a fixed number of sets however many distinct values arrive', () => {
  const { metrics } = setup();
  for (let i = 0; i < 10_000; i++) metrics.count('Decisions', { action: 'regional', bucketRegion: `r${i}` });
  expect(metrics.pendingSets()).toBe(DEFAULT_MAX_DIMENSION_SETS);
});

test('beforeFlush sets gauges read at flush time, and runs only when there is something to flush', () => {
  let clock = START;
  const lines: string[] = [];
  let reads = 0;
  const metrics = createMetricsAggregator({
    namespace: 'RegistryEdge',
    baseDimensions: BASE,
    flushMs: 1_000,
    now: () => clock,
    write: (line) => lines.push(line),
    beforeFlush: (m) => m.gauge('TableAgeSeconds', ++reads * 100, 'Seconds'),
  });
  metrics.tick();
  expect(reads).toBe(0);
  metrics.count('Decisions', { action: 'respond', bucketRegion: 'none' });
  clock += 1_000;
  metrics.tick();
  expect(reads).toBe(1);
  expect(total(emfPoints(lines), 'TableAgeSeconds')).toBe(100);
});

test('a bound counter counts as count does: into the same set, again from zero after each flush, dropped (and counted as dropped) when the sets are full', () => {
  const { metrics, lines, advance } = setup({ flushMs: 1_000, maxDimensionSets: 2 });
  const regional = metrics.counter('Decisions', { action: 'regional', bucketRegion: 'eu-west-1' });
  regional();
  regional(2);
  metrics.count('Decisions', { action: 'regional', bucketRegion: 'eu-west-1' });
  advance(1_000);
  metrics.tick();
  expect(lines).toHaveLength(1);
  expect(total(emfPoints(lines), 'Decisions', { action: 'regional', bucketRegion: 'eu-west-1' })).toBe(4);
  expect(emfPoints(lines).every((p) => p.timestamp === START)).toBe(true);

  // The next window: the counter's point was written and the set is gone; it opens a new one.
  lines.length = 0;
  advance(500);
  regional();
  expect(metrics.pendingSets()).toBe(1);
  metrics.count('Decisions', { action: 'cloudfront', bucketRegion: 'none' }); // the second (last) set allowed
  const overflow = metrics.counter('Decisions', { action: 'upstream', bucketRegion: 'none' });
  overflow();
  overflow(5);
  advance(1_000);
  metrics.tick();
  const points = emfPoints(lines);
  expect(total(points, 'Decisions', { action: 'regional', bucketRegion: 'eu-west-1' })).toBe(1);
  expect(total(points, 'Decisions', { action: 'upstream' })).toBe(0);
  expect(total(points, 'MetricsDropped', {})).toBe(2);
  expect(points.filter((p) => p.metric === 'Decisions').every((p) => p.timestamp === START + 1_500)).toBe(true);
});
