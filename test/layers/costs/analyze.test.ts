/**
 * What analyzeLogs refuses and what it keeps small: implausible byte counts and too many distinct days
 * are malformed lines; a flood of distinct unknown digests is a count and a sample, never a list; a leap
 * day is a day. The distinct counter is checked against exact counts.
 */
import { analyzeLogs } from '../../../layers/costs/analyze';
import { DistinctCounter } from '../../../layers/costs/distinct';
import type { LogInput } from '../../../layers/costs/log-files';
import { DEFAULT_PRICES, GB } from '../../../layers/costs/prices';
import { buildReport } from '../../../layers/costs/report';
import { MAX_OBJECT_BYTES } from '../../../layers/costs/s3-access-log';
import { sizesOf } from '../../../layers/costs/sizes';
import { MAX_DAYS } from '../../../layers/costs/usage';
import { blobUri, CLIENTS, costRouter, digestOf, type LogLineSpec, logText, redirects } from '../../support/cost-logs';

const router = costRouter();
const input = (text: string): LogInput => ({ name: 'cf.log', open: async function* () { yield Buffer.from(text); } });
const BIG = digestOf('big');
const DAY0 = new Date('2026-11-01T00:00:00Z');
const served = (scBytes: number, at = DAY0): LogLineSpec => ({ at, ip: CLIENTS.internet, uri: blobUri(BIG), status: 200, scBytes });

test('sc-bytes beyond the largest blob (with room for headers) is malformed; without sizes, beyond S3\'s largest object', async () => {
  const lines = [served(GB), served(GB + 60_000), served(GB + 70_000), served(MAX_OBJECT_BYTES + 1)];
  const withSizes = await analyzeLogs([input(logText(lines))], router, { sizes: sizesOf(JSON.stringify({ [BIG]: GB })) });
  expect([withSizes.records, withSizes.malformed.reasons]).toEqual([2, { 'implausible-bytes': 2 }]);
  expect(withSizes.malformed.examples[0]!.detail).toMatch(/^sc-bytes 1073811824, more than the largest blob \(1073741824 bytes\)/);
  const withoutSizes = await analyzeLogs([input(logText(lines))], router);
  expect([withoutSizes.records, withoutSizes.malformed.reasons]).toEqual([3, { 'implausible-bytes': 1 }]);
});

test('a leap day is a day; a log spanning more days than a report keeps has the rest refused', async () => {
  const leap = await analyzeLogs([input(logText([served(100, new Date('2028-02-29T12:00:00Z'))]))], router);
  expect(leap.tally.result().days.map((d) => d.day)).toEqual(['2028-02-29']);
  const lines = Array.from({ length: MAX_DAYS + 5 }, (_, i) => served(100, new Date(DAY0.getTime() + i * 86_400_000)));
  const long = await analyzeLogs([input(logText(lines))], router);
  expect([long.records, long.malformed.reasons, long.tally.result().days.length]).toEqual([MAX_DAYS, { 'too-many-days': 5 }, MAX_DAYS]);
});

test('20,000 distinct unknown digests: the JSON report holds a count and a sample of ten', async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => redirects(CLIENTS.euWest, digestOf(String(i)), 1, DAY0, 1)[0]!);
  const analysis = await analyzeLogs([input(logText(lines))], router);
  const report = buildReport(analysis, analysis.tally.result(), { routing: {}, sizes: [], prices: DEFAULT_PRICES });
  expect(report.sizes.unknown.downloads).toBe(20_000);
  expect(report.sizes.unknown.exact).toBe(false);
  expect(Math.abs(report.sizes.unknown.distinct - 20_000) / 20_000).toBeLessThan(0.05);
  expect(report.sizes.unknown.sample).toHaveLength(10);
  expect(JSON.stringify(report).length).toBeLessThan(12_000);
  expect(report.notes[0]).toMatch(/^20000 download\(s\) of about \d+ blob\(s\) have no known size/);
});

describe('the distinct counter', () => {
  test.each([0, 1, 500, 10_000])('exact up to its limit: %d', (n) => {
    const counter = new DistinctCounter();
    for (let i = 0; i < n; i++) counter.add(`x${i}`);
    expect([counter.count(), counter.exactCount]).toEqual([n, true]);
  });

  // Digests, and strings that differ in a digit or two (a hostile log need not send real digests).
  test.each<[number, (i: number) => string]>([
    [20_000, (i) => digestOf(String(i))],
    [200_000, (i) => digestOf(String(i))],
    [100_000, (i) => `sha256:${String(i).padStart(64, '0')}`],
  ])('within 5 %% past it: %d', (n, text) => {
    const counter = new DistinctCounter();
    for (let i = 0; i < n; i++) counter.add(text(i));
    // Repeats do not count.
    for (let i = 0; i < n; i += 7) counter.add(text(i));
    expect(counter.exactCount).toBe(false);
    expect(Math.abs(counter.count() - n) / n).toBeLessThan(0.05);
  });
});
