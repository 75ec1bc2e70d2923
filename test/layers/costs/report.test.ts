/**
 * From log lines to the report: several inputs read once (malformed lines counted with where they are),
 * the JSON object, and the table people read.
 */
import { CLOUDFRONT_LOG_FIELDS, formatLogLine, logHeader } from '../../../layers/costs/access-log';
import { analyzeLogs } from '../../../layers/costs/analyze';
import { createRouter } from '../../../layers/costs/attribute';
import type { LogInput } from '../../../layers/costs/log-files';
import { DEFAULT_PRICES, GB } from '../../../layers/costs/prices';
import { sizesOf } from '../../../layers/costs/sizes';
import { buildReport, formatBytes, formatMoney, renderReport } from '../../../layers/costs/report';
import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import type { AwsFeed } from '../../../layers/ranges/feeds';
import { testConfig } from '../../support/configs';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const FEED = {
  syncToken: '1',
  createDate: '2026-11-27-00-00-00',
  prefixes: [{ ip_prefix: '192.0.2.0/26', region: 'eu-west-1', service: 'EC2' }, { ip_prefix: '192.0.2.64/26', region: 'ap-south-1', service: 'EC2' }],
  ipv6_prefixes: [{ ipv6_prefix: '2001:db8::/32', region: 'us-east-1', service: 'EC2' }],
} as AwsFeed;
const router = createRouter(testConfig().edge, loadTable(compileRanges({ aws: FEED, rules: false /* documentation ranges, on purpose */ }).bytes).table);

const line = (time: string, ip: string, uri: string, status: number, scBytes: number, resultType = status === 307 ? 'LambdaGeneratedResponse' : 'Miss') =>
  formatLogLine({ date: '2026-11-27', time, 'c-ip': ip, 'cs-method': 'GET', 'cs-uri-stem': uri, 'sc-status': status, 'sc-bytes': scBytes, 'x-edge-result-type': resultType });

const input = (name: string, text: string): LogInput => ({
  name,
  open: async function* () {
    yield Buffer.from(text);
  },
});

const FIRST = logHeader() + line('10:00:00', '192.0.2.10', `/v2/app/blobs/${A}`, 307, 450) + line('10:00:01', '192.0.2.70', `/v2/app/blobs/${A}`, 307, 450) + 'not a log line\n';
const SECOND = logHeader() + line('11:00:00', '8.8.8.8', `/v2/app/blobs/${B}`, 200, 2048) + line('11:00:01', '8.8.8.8', '/v2/app/manifests/1', 307, 400) + line('09:59:59', '192.0.2.11', `/v2/app/blobs/${B}`, 307, 450);

async function report(sizes = sizesOf(JSON.stringify({ [A]: GB }))) {
  const analysis = await analyzeLogs([input('a.log', FIRST), input('b.log', SECOND)], router, { sizes });
  return { analysis, report: buildReport(analysis, analysis.tally.result(), { routing: { stage: 'test' }, sizes: ['sizes.json (1 digests)'], prices: DEFAULT_PRICES }) };
}

test('inputs are read once, malformed lines counted with their file and line', async () => {
  const { analysis } = await report();
  expect([analysis.files, analysis.lines, analysis.records]).toEqual([2, 6, 5]);
  expect(analysis.malformed).toEqual({ lines: 1, reasons: { 'field-count': 1 }, examples: [{ where: 'a.log:5', reason: 'field-count', detail: `1 fields where #Fields names ${CLOUDFRONT_LOG_FIELDS.length}` }] });
});

test('the JSON report', async () => {
  const { report: r } = await report();
  expect(r.period).toEqual({ from: '2026-11-27T09:59:59Z', to: '2026-11-27T11:00:01Z' });
  // B's size is not known: counted as a download of unknown size, not guessed.
  expect(r.paths.regionalSameRegion).toMatchObject({ requests: 2, downloads: 2, bytes: GB, unknownSize: 1 });
  expect(r.paths.regionalCrossRegion).toMatchObject({ requests: 1, downloads: 1, bytes: GB, unknownSize: 0 });
  expect(r.sizes.unknown).toEqual({ downloads: 1, distinct: 1, exact: true, sample: [B] });
  expect(r.paths.cloudfront).toMatchObject({ requests: 1, downloads: 1, bytes: 2048 });
  expect(r.paths.other).toMatchObject({ requests: 1, downloads: 0 });
  expect(r.other.manifest).toBe(1);
  expect(r.total).toMatchObject({ requests: 5, downloads: 4, bytes: 2 * GB + 2048 });
  expect(r.baseline.bytes).toBe(2 * GB + 2048);
  expect(r.savings.amount).toBeCloseTo(r.baseline.cost - r.total.cost.total, 9);
  expect(r.notes[0]).toMatch(/^1 download\(s\) of 1 blob\(s\) have no known size/);
  expect(JSON.parse(JSON.stringify(r))).toEqual(r);
});

test('the table', async () => {
  const { report: r } = await report();
  const text = renderReport(r);
  expect(text).toMatch(/^registry-edge cost report: 5 requests in 2 file\(s\), 2026-11-27T09:59:59Z to 2026-11-27T11:00:01Z$/m);
  expect(text).toMatch(/^S3, same region +2 +2 +1\.00 GiB \(\+1 unknown\) +\$0\.\d+ +\$0\.\d+ +\$0\.\d+$/m);
  expect(text).toMatch(/^S3, cross-region +1 +1 +1\.00 GiB +\$0\.0200\d* +/m);
  expect(text).toMatch(/^CloudFront +1 +1 +2\.00 KiB +/m);
  expect(text).toMatch(/^total +5 +4 +2\.00 GiB +/m);
  expect(text).toMatch(/^baseline: all from upstream +2\.00 GiB +\$0\.240$/m);
  expect(text).toMatch(/^savings: \$0\.2\d+ \(9\d\.\d % of the baseline\)$/m);
  expect(text).toMatch(/^skipped: 1 malformed line\(s\) \(1 field-count\); first at a\.log:5/m);
  expect(text).toMatch(/^note: 1 download\(s\) of 1 blob\(s\) have no known size/m);
});

test.each([
  [0, '0 B'],
  [1023, '1023 B'],
  [1536, '1.50 KiB'],
  [GB * 12.25, '12.3 GiB'],
  [1024 ** 5 * 3, '3.00 PiB'],
])('%d bytes read as %s', (bytes, text) => {
  expect(formatBytes(bytes)).toBe(text);
});

test.each([
  [0, '$0'],
  [1234.567, '$1,234.57'],
  [0.24, '$0.240'],
  [0.000931, '$0.000931'],
  [3.2e-8, '$0.0000000320'],
  [-0.5, '-$0.500'],
])('$%d reads as %s', (amount, text) => {
  expect(formatMoney(amount)).toBe(text);
});
