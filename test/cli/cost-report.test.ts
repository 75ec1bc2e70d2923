/**
 * `registry-edge cost-report` options that need no servers: --s3-logs (the buckets' S3 server access logs
 * measure the redirected downloads), --html when the ranking cannot be made, and the errors an operator
 * sees for a bad option.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GB } from '../../layers/costs/prices';
import type { CostReport } from '../../layers/costs/report';
import { formatS3LogLine } from '../../layers/costs/s3-access-log';
import { runCli } from '../support/cli';
import { CLIENTS, costConfig, COST_STAGE_CONFIG, digestOf, logText, redirects } from '../support/cost-logs';

const BIG = digestOf('big');
const DAY0 = new Date('2026-11-01T00:00:00Z');
const buckets = costConfig().edge.buckets;
let dir: string;
let base: string[];
let log: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cost-report-cli-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  log = file('cf.log', logText([...redirects(CLIENTS.euWest, BIG, 4, DAY0, 1), ...redirects(CLIENTS.apSouth, BIG, 2, DAY0, 1)]));
  base = ['--config', file('test.json', JSON.stringify(COST_STAGE_CONFIG)), '--sizes', file('sizes.json', JSON.stringify({ [BIG]: GB }))];
  const s3 = (bucket: string, remoteIp: string, bytesSent: number, hour: number) =>
    formatS3LogLine({ bucket, timestamp: new Date(DAY0.getTime() + hour * 3_600_000), remoteIp, operation: 'REST.GET.OBJECT', key: `containers/images/${BIG}`, status: bytesSent < GB ? 206 : 200, bytesSent, objectSize: GB, userAgent: 'containerd/1.7.24' });
  // Four eu-west-1 downloads, one of them cut short; ap-south-1's two from ap-southeast-1, one a range.
  file('s3-eu.log', [1, 2, 3].map((h) => s3(buckets['eu-west-1']!, CLIENTS.euWest, GB, h)).concat(s3(buckets['eu-west-1']!, CLIENTS.euWest, GB / 4, 4), 'not an S3 log line').join('\n'));
  file('s3-ap.log', [s3(buckets['ap-southeast-1']!, CLIENTS.apSouth, GB, 5), s3(buckets['ap-southeast-1']!, CLIENTS.apSouth, 1000, 6)].join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('--s3-logs: the bytes the buckets sent replace the blob sizes', () => {
  const estimated = runCli(['cost-report', ...base, '--json', log]).lines[0] as CostReport;
  expect([estimated.paths.regionalSameRegion.bytes, estimated.paths.regionalCrossRegion.bytes]).toEqual([4 * GB, 2 * GB]);
  const result = runCli(['cost-report', ...base, '--s3-logs', join(dir, 's3-eu.log'), '--s3-logs', join(dir, 's3-ap.log'), '--json', log]);
  expect(result.status).toBe(0);
  const report = result.lines[0] as CostReport;
  expect(report.paths.regionalSameRegion).toMatchObject({ requests: 4, downloads: 4, bytes: 3 * GB + GB / 4 });
  expect(report.paths.regionalCrossRegion).toMatchObject({ requests: 2, downloads: 2, bytes: GB + 1000 });
  expect(report.s3Logs).toMatchObject({ files: 2, lines: 7, downloads: 6, bytes: 4 * GB + GB / 4 + 1000, malformed: { lines: 1, reasons: { 'field-count': 1 } } });
  const table = runCli(['cost-report', ...base, '--s3-logs', dir.replace(/\/?$/, '/s3-ap.log'), log]).stdout;
  expect(table).toMatch(/^ {2}S3 access logs: 2 line\(s\) in 1 file\(s\), 2 blob download\(s\) measured, 1\.00 GiB$/m);
});

test('--html without a catalogue size: the page says why there is no ranking', () => {
  const html = join(dir, 'no-plan.html');
  const result = runCli(['cost-report', '--config', base[1]!, '--html', html, log]);
  expect(result.status).toBe(0);
  expect(readFileSync(html, 'utf8')).toContain("No ranking: the catalogue&#39;s size is unknown: give --catalog-bytes N, or blob sizes with --sizes FILE or --bucket B.");
});

test.each([
  ['an --s3-logs path that is not there', ['--s3-logs', join(tmpdir(), 'no-such-s3-logs')], /no-such-s3-logs: no such file or folder/],
  ['an --html file that cannot be written', ['--html', join(tmpdir(), 'no-such-dir', 'r.html')], /^registry-edge: cannot write the HTML report .*r\.html: ENOENT/m],
  ['a --catalog-bytes that is no number', ['--catalog-bytes', '1e12'], /--catalog-bytes: "1e12" is not a number of bytes/],
])('%s: exit 1, one line', (_name, more, message) => {
  const result = runCli(['cost-report', ...base, ...more, log]);
  expect([result.status, result.stdout]).toEqual([1, '']);
  expect(result.stderr).toMatch(message);
});
