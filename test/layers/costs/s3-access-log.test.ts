/**
 * S3 server access logs: the documented format read field by field, hostile lines counted as malformed,
 * and, through analyzeLogs, the bytes buckets sent straight to clients replacing the sizes of the
 * CloudFront log's redirected downloads.
 */
import { analyzeLogs } from '../../../layers/costs/analyze';
import type { LogInput } from '../../../layers/costs/log-files';
import { GB } from '../../../layers/costs/prices';
import { buildReport } from '../../../layers/costs/report';
import { formatS3LogLine, parseS3LogLine, s3Time, tokenize } from '../../../layers/costs/s3-access-log';
import { sizesOf } from '../../../layers/costs/sizes';
import { DEFAULT_PRICES } from '../../../layers/costs/prices';
import { CLIENTS, costConfig, costRouter, digestOf, logText, redirects } from '../../support/cost-logs';

// AWS's own example line (https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html).
const AWS_EXAMPLE =
  '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes';

const config = costConfig();
const BIG = digestOf('big');
const KEY = `containers/images/${BIG}`;
const line = (over: Partial<Parameters<typeof formatS3LogLine>[0]> = {}) =>
  formatS3LogLine({ bucket: config.edge.buckets['eu-west-1']!, timestamp: new Date('2026-11-01T10:00:00Z'), remoteIp: CLIENTS.euWest, operation: 'REST.GET.OBJECT', key: KEY, status: 200, bytesSent: GB, objectSize: GB, userAgent: 'containerd/1.7.24 (linux)', ...over });

describe('reading a line', () => {
  test('AWS\'s documented example', () => {
    expect(parseS3LogLine(AWS_EXAMPLE)).toEqual({
      kind: 'record',
      record: { bucket: 'awsexamplebucket1', timestamp: '2019-02-06T00:00:38Z', remoteIp: '192.0.2.3', operation: 'REST.GET.VERSIONING', key: '', status: 200, bytesSent: 113, userAgent: 'S3Console/0.4' },
    });
  });

  test('our own lines read back, quotes in the user agent included', () => {
    const outcome = parseS3LogLine(line({ userAgent: 'say "hi" \\ there' }));
    expect(outcome).toMatchObject({ kind: 'record', record: { key: KEY, bytesSent: GB, objectSize: GB, userAgent: 'say "hi" \\ there', timestamp: '2026-11-01T10:00:00Z' } });
  });

  test('times with an offset are turned into UTC; impossible times are refused', () => {
    expect(s3Time('06/Feb/2019:01:30:00 +0130')).toBe('2019-02-06T00:00:00Z');
    expect(s3Time('29/Feb/2024:00:00:00 +0000')).toBe('2024-02-29T00:00:00Z');
    for (const bad of ['29/Feb/2026:00:00:00 +0000', '31/Apr/2026:00:00:00 +0000', '06/Foo/2019:00:00:38 +0000', '06/Feb/2019:24:00:00 +0000', '06/Feb/2019:00:00:38']) expect([bad, s3Time(bad)]).toEqual([bad, undefined]);
  });

  test.each([
    ['an unclosed quote', AWS_EXAMPLE.replace('"S3Console/0.4"', '"S3Console/0.4'), 'tokens'],
    ['an unclosed bracket', AWS_EXAMPLE.replace('+0000]', '+0000'), 'tokens'],
    ['too few fields', AWS_EXAMPLE.split(' ').slice(0, 12).join(' '), 'field-count'],
    ['a date that is no date', line().replace('01/Nov/2026', '31/Nov/2026'), 'bad-time'],
    ['a remote IP that is no address', line({ remoteIp: '300.1.1.1' }), 'bad-remote-ip'],
    ['an operation with spaces smuggled in quotes', line().replace('REST.GET.OBJECT', '"REST GET"'), 'bad-operation'],
    ['a key that does not decode', line().replace(/ containers\/images\/\S+ "/, ' containers/%E0%A4%A "'), 'bad-key'],
    ['a status that is not three digits', line().replace(' 200 - ', ' 2000 - '), 'bad-status'],
    ['bytes that are not a number', line().replace(` ${GB} ${GB} `, ` 12x ${GB} `), 'bad-bytes'],
    ['more bytes sent than the object holds', line({ bytesSent: GB + 1 }), 'implausible-bytes'],
    ['an object larger than S3 allows', line({ bytesSent: 6 * 1024 ** 4, objectSize: 6 * 1024 ** 4 }), 'implausible-bytes'],
    ['a line cut at the length limit', '', 'too-long'],
  ])('%s is malformed', (name, text, reason) => {
    expect(parseS3LogLine(text, name === 'a line cut at the length limit')).toMatchObject({ kind: 'malformed', reason });
  });

  test('tokens: brackets and quotes are one field each', () => {
    expect(tokenize('a [b c] "d \\" e" -')).toEqual(['a', 'b c', 'd " e', '-']);
    expect(tokenize('a "b"c')).toBeNull();
  });
});

describe('measured downloads', () => {
  const router = costRouter(config);
  const input = (name: string, text: string): LogInput => ({ name, open: async function* () { yield Buffer.from(text); } });
  const DAY0 = new Date('2026-11-01T00:00:00Z');
  const eu = config.edge.buckets['eu-west-1']!;
  const apse = config.edge.buckets['ap-southeast-1']!;

  test('the bytes in the S3 logs replace the blob sizes of the redirected downloads', async () => {
    // CloudFront saw 3 redirects to eu-west-1 and 2 to ap-southeast-1 (from ap-south-1).
    const cloudfront = logText([...redirects(CLIENTS.euWest, BIG, 3, DAY0, 1), ...redirects(CLIENTS.apSouth, BIG, 2, DAY0, 1)]);
    const s3 = [
      line({ bucket: eu }), // a whole blob
      line({ bucket: eu, status: 206, bytesSent: 1000 }), // a client that resumed with a range
      line({ bucket: apse, remoteIp: CLIENTS.apSouth, bytesSent: GB / 2 }), // one that stopped half way
      line({ bucket: eu, remoteIp: CLIENTS.cloudfront, userAgent: 'Amazon CloudFront' }), // a CloudFront miss
      line({ bucket: eu, operation: 'REST.COPY.OBJECT_GET' }), // replication
      line({ bucket: eu, operation: 'REST.HEAD.OBJECT', bytesSent: 0 }),
      line({ bucket: 'someone-else' }),
      line({ bucket: eu, status: 404, bytesSent: 0 }),
      line({ bucket: eu, key: 'containers/index.html' }),
      'garbage "unclosed',
    ].join('\n');
    const sizes = sizesOf(JSON.stringify({ [BIG]: GB }));
    const analysis = await analyzeLogs([input('cf.log', cloudfront)], router, {
      sizes,
      s3Logs: { inputs: [input('s3.log', s3)], bucketRegions: Object.fromEntries(Object.entries(config.edge.buckets).map(([r, b]) => [b, r])), blobPrefix: 'containers/images/' },
    });
    expect(analysis.s3).toEqual({
      files: 1,
      lines: 10,
      downloads: 3,
      bytes: GB + 1000 + GB / 2,
      ignored: { 'via CloudFront': 1, 'REST.COPY.OBJECT_GET': 1, 'REST.HEAD.OBJECT': 1, 'another bucket': 1, 'status 404': 1, 'not a blob key': 1 },
      malformed: { lines: 1, reasons: { tokens: 1 }, examples: [{ where: 's3.log:10', reason: 'tokens', detail: expect.any(String) }] },
    });
    const usage = analysis.tally.result();
    // Requests and downloads from the CloudFront log; bytes measured.
    expect(usage.paths.regionalSameRegion).toMatchObject({ requests: 3, downloads: 3, bytes: GB + 1000, unknownSize: 0, bytesByClient: { aws: GB + 1000 } });
    expect(usage.paths.regionalCrossRegion).toMatchObject({ requests: 2, downloads: 2, bytes: GB / 2, unknownSize: 0 });
    const report = buildReport(analysis, usage, { routing: {}, sizes: [], prices: DEFAULT_PRICES });
    expect(report.s3Logs?.downloads).toBe(3);
    expect(report.notes.join('\n')).toMatch(/redirected downloads are measured: 3 blob GET\(s\)/);
    expect(report.days.map((d) => [d.day, d.bytes.regionalSameRegion])).toEqual([['2026-11-01', GB + 1000]]);
  });
});
