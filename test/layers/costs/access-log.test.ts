/**
 * Reading CloudFront standard logs: real-format lines (the 33 fields AWS documents, in its order), other
 * orders and subsets driven by #Fields, and hostile lines, each counted with its reason.
 */
import { AccessLogParser, CLOUDFRONT_LOG_FIELDS, formatLogLine, logHeader, type LineOutcome, logValue } from '../../../layers/costs/access-log';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const FIELDS_LINE = `#Fields: ${CLOUDFRONT_LOG_FIELDS.join(' ')}`;

/** A line as CloudFront writes it (shape of AWS's documented example, with a registry request). */
const REAL_LINE = [
  '2026-11-27', '16:03:04', 'IAD89-C3', '1542', '3.92.144.159', 'GET', 'd111111abcdef8.cloudfront.net', `/v2/org/app/blobs/${DIGEST}`, '307',
  '-', 'containerd/v1.7.2', 'ns=docker.io', '-', 'LambdaGeneratedResponse', '2kP01Cgw2cMXMKlogaJwkCt7MVHA8Flxtt_ncRESDd9POQpVWSM64w==', 'registry.example.org',
  'https', '214', '0.004', '-', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'LambdaGeneratedResponse', 'HTTP/2.0', '-', '-', '61052', '0.004', 'LambdaGeneratedResponse',
  'application/json', '-', '-', '-',
].join('\t');

function parse(lines: string[]): LineOutcome[] {
  const parser = new AccessLogParser();
  return lines.map((line) => parser.line(line));
}

const records = (outcomes: LineOutcome[]) => outcomes.flatMap((o) => (o.kind === 'record' ? [o.record] : []));
const problems = (outcomes: LineOutcome[]) => outcomes.flatMap((o) => (o.kind === 'malformed' ? [o.reason] : []));

describe('a real log file', () => {
  test('headers are skipped, a documented line gives the request', () => {
    const out = parse(['#Version: 1.0', FIELDS_LINE, REAL_LINE]);
    expect(out.slice(0, 2)).toEqual([{ kind: 'skip' }, { kind: 'skip' }]);
    expect(records(out)).toEqual([
      {
        timestamp: '2026-11-27T16:03:04Z',
        clientIp: '3.92.144.159',
        method: 'GET',
        uri: `/v2/org/app/blobs/${DIGEST}`,
        querystring: 'ns=docker.io',
        status: 307,
        scBytes: 1542,
        resultType: 'LambdaGeneratedResponse',
        detailedResultType: 'LambdaGeneratedResponse',
      },
    ]);
  });

  test('"-" is empty: no query string, no result type', () => {
    const values = REAL_LINE.split('\t');
    values[11] = '-';
    values[13] = '-';
    values[28] = '-';
    const [record] = records(parse([FIELDS_LINE, values.join('\t')]));
    expect(record).toMatchObject({ querystring: '' });
    expect(record!.resultType).toBeUndefined();
    expect(record!.detailedResultType).toBeUndefined();
  });

  test('CRLF line ends, blank lines and IPv6 viewers', () => {
    const v6 = REAL_LINE.replace('3.92.144.159', '2600:1f18:4a3:6900::1');
    const out = parse([`${FIELDS_LINE}\r`, '', '   ', `${v6}\r`]);
    expect(records(out).map((r) => [r.clientIp, r.resultType])).toEqual([['2600:1f18:4a3:6900::1', 'LambdaGeneratedResponse']]);
    expect(problems(out)).toEqual([]);
  });

  test('"000": the viewer went away before an answer', () => {
    const [record] = records(parse([FIELDS_LINE, REAL_LINE.replace('\t307\t', '\t000\t')]));
    expect(record!.status).toBe(0);
  });
});

describe('driven by #Fields', () => {
  test.each([
    ['another order', '#Fields: sc-status cs-uri-stem c-ip cs-method sc-bytes', `200\t/v2/a/blobs/${DIGEST}\t10.0.0.1\tGET\t99`, { status: 200, clientIp: '10.0.0.1', method: 'GET', scBytes: 99, querystring: '' }],
    ['the required four only', '#Fields: c-ip cs-method cs-uri-stem sc-status', `10.0.0.1\tHEAD\t/v2/\t200`, { status: 200, method: 'HEAD', uri: '/v2/' }],
    ['v2-style extra fields', '#Fields: timestamp(ms) c-ip c-country cs-method cs-uri-stem sc-status sc-bytes', `1764259384000\t10.0.0.1\tDE\tGET\t/v2/\t200\t12`, { scBytes: 12 }],
  ])('%s', (_name, fields, line, expected) => {
    const out = parse([fields, line]);
    expect(problems(out)).toEqual([]);
    expect(records(out)[0]).toMatchObject(expected);
    expect(records(out)[0]!.timestamp).toBeUndefined();
  });

  test('a later #Fields line replaces the earlier one (concatenated files)', () => {
    const out = parse(['#Fields: c-ip cs-method cs-uri-stem sc-status', '10.0.0.1\tGET\t/v2/\t200', '#Fields: sc-status c-ip cs-method cs-uri-stem', '404\t10.0.0.2\tGET\t/x']);
    expect(records(out).map((r) => [r.clientIp, r.status])).toEqual([['10.0.0.1', 200], ['10.0.0.2', 404]]);
  });

  test('fields the later #Fields line lacks are not carried over from lines of the earlier one', () => {
    const out = parse([FIELDS_LINE, REAL_LINE, '#Fields: c-ip cs-method cs-uri-stem sc-status', '10.0.0.2\tGET\t/x\t404']);
    const [, second] = records(out);
    expect(records(out)[0]).toMatchObject({ scBytes: expect.any(Number), timestamp: expect.any(String), resultType: expect.any(String) });
    expect([second!.clientIp, second!.scBytes, second!.timestamp, second!.resultType, second!.querystring]).toEqual(['10.0.0.2', undefined, undefined, undefined, '']);
  });

  test('a #Fields line without a required field makes its lines unusable, naming what is missing', () => {
    const out = parse(['#Fields: date time c-ip cs-method sc-status', '2026-11-27\t16:00:00\t10.0.0.1\tGET\t200']);
    expect(out[1]).toEqual({ kind: 'malformed', reason: 'fields-header-lacks-required', detail: 'the #Fields line has no cs-uri-stem' });
  });
});

describe('hostile lines are counted with a reason, never thrown', () => {
  const set = (index: number, value: string) => {
    const values = REAL_LINE.split('\t');
    values[index] = value;
    return values.join('\t');
  };
  test.each([
    ['a data line before any #Fields', null, REAL_LINE, 'no-fields-header'],
    ['a missing field', FIELDS_LINE, REAL_LINE.split('\t').slice(0, 32).join('\t'), 'field-count'],
    ['an extra field (a tab in a value)', FIELDS_LINE, `${REAL_LINE}\textra`, 'field-count'],
    ['space-separated instead of tabs', FIELDS_LINE, REAL_LINE.replaceAll('\t', ' '), 'field-count'],
    ['a client address that is not one', FIELDS_LINE, set(4, '3.92.144.999'), 'bad-client-ip'],
    ['no client address', FIELDS_LINE, set(4, '-'), 'bad-client-ip'],
    ['a lower-case method', FIELDS_LINE, set(5, 'get'), 'bad-method'],
    ['a path without its slash', FIELDS_LINE, set(7, 'v2/x'), 'bad-uri'],
    ['a path with a control character', FIELDS_LINE, set(7, '/v2/\u0007'), 'bad-uri'],
    ['a status of two digits', FIELDS_LINE, set(8, '20'), 'bad-status'],
    ['a status that is a word', FIELDS_LINE, set(8, 'OK!'), 'bad-status'],
    ['a status of four digits', FIELDS_LINE, set(8, '2000'), 'bad-status'],
    ['a status with a sign', FIELDS_LINE, set(8, '+20'), 'bad-status'],
    ['bytes with a letter in them', FIELDS_LINE, set(3, '12a4'), 'bad-bytes'],
    ['bytes of sixteen digits (more than a double holds exactly)', FIELDS_LINE, set(3, '1'.repeat(16)), 'bad-bytes'],
    ['a method that is only nearly GET', FIELDS_LINE, set(5, 'GETS '), 'bad-method'],
    ['a time with dashes', FIELDS_LINE, set(1, '12-30-00'), 'bad-date'],
    ['a time with a fraction that is not one', FIELDS_LINE, set(1, '12:30:00.x'), 'bad-date'],
    ['negative bytes', FIELDS_LINE, set(3, '-5'), 'bad-bytes'],
    ['bytes beyond any real response', FIELDS_LINE, set(3, '1'.repeat(20)), 'bad-bytes'],
    ['a date that is not one', FIELDS_LINE, set(0, '27/11/2026'), 'bad-date'],
    ['a date shaped right but not on the calendar (30 February)', FIELDS_LINE, set(0, '2026-02-30'), 'bad-date'],
    ['29 February of a year that is not a leap year', FIELDS_LINE, set(0, '2026-02-29'), 'bad-date'],
    ['month 13', FIELDS_LINE, set(0, '2026-13-01'), 'bad-date'],
    ['day 00', FIELDS_LINE, set(0, '2026-11-00'), 'bad-date'],
    ['a time past midnight (24:00:00)', FIELDS_LINE, set(1, '24:00:00'), 'bad-date'],
    ['minute 61', FIELDS_LINE, set(1, '12:61:00'), 'bad-date'],
    ['binary junk', FIELDS_LINE, '\u0000\u0001\ufffd\ufffd', 'field-count'],
  ])('%s', (_name, header, line, reason) => {
    const out = parse([...(header ? [header] : []), line]);
    expect(problems(out)).toEqual([reason]);
    expect(records(out)).toEqual([]);
  });

  test('methods, statuses, byte counts and times other than the usual ones are read too', () => {
    const line = set(1, '12:30:00.250').split('\t');
    line[5] = 'OPTIONS';
    line[8] = '000';
    line[3] = '0012';
    const [record] = records(parse([FIELDS_LINE, line.join('\t')]));
    expect(record).toMatchObject({ method: 'OPTIONS', status: 0, scBytes: 12, timestamp: expect.stringMatching(/T12:30:00\.250Z$/) });
  });

  test('a #Fields line of hundreds of names (cut a tab at a time, not by a pattern): read alike', () => {
    const extra = Array.from({ length: 200 }, (_, i) => `x-extra-${i}`);
    const wide = `${FIELDS_LINE} ${extra.join(' ')}`;
    const line = `${REAL_LINE}\t${extra.map(() => '-').join('\t')}`;
    const [narrow] = records(parse([FIELDS_LINE, REAL_LINE]));
    expect(records(parse([wide, line]))).toEqual([narrow]);
    expect(parse([wide, REAL_LINE])[1]).toEqual({ kind: 'malformed', reason: 'field-count', detail: '33 fields where #Fields names 233' });
  });

  test('a line the reader cut as too long', () => {
    expect(new AccessLogParser().line('', true)).toMatchObject({ kind: 'malformed', reason: 'too-long' });
  });

  test('the detail quotes the value, clipped', () => {
    const out = parse([FIELDS_LINE, set(4, 'x'.repeat(500))]);
    expect(out[1]).toEqual({ kind: 'malformed', reason: 'bad-client-ip', detail: `c-ip "${'x'.repeat(60)}…"` });
  });

  test('good lines around bad ones are still read', () => {
    const out = parse([FIELDS_LINE, REAL_LINE, 'junk', REAL_LINE]);
    expect(records(out)).toHaveLength(2);
    expect(problems(out)).toEqual(['field-count']);
  });
});

describe('writing lines (the emulator\'s log)', () => {
  test('what is written reads back the same', () => {
    const line = formatLogLine({ date: '2026-11-27', time: '16:03:04', 'sc-bytes': 1542, 'c-ip': '127.0.2.10', 'cs-method': 'GET', 'cs-uri-stem': `/v2/a/blobs/${DIGEST}`, 'sc-status': 307, 'cs-uri-query': 'a=1&b=%2F', 'x-edge-result-type': 'LambdaGeneratedResponse' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\t')).toHaveLength(CLOUDFRONT_LOG_FIELDS.length);
    const [, , out] = parse([...logHeader().trimEnd().split('\n'), line.trimEnd()]);
    expect(out).toEqual({
      kind: 'record',
      record: { timestamp: '2026-11-27T16:03:04Z', clientIp: '127.0.2.10', method: 'GET', uri: `/v2/a/blobs/${DIGEST}`, querystring: 'a=1&b=%2F', status: 307, scBytes: 1542, resultType: 'LambdaGeneratedResponse' },
    });
  });

  test.each([
    [undefined, '-'],
    ['', '-'],
    ['skopeo/1.9.3 (linux)', 'skopeo/1.9.3%20(linux)'],
    ['a\tb\nc', 'a%09b%0Ac'],
    ['"quoted"\\', '%22quoted%22%5C'],
    ['café', 'caf%C3%A9'],
    ['100%', '100%'],
    [0, '0'],
  ])('value %j is written as %s', (value, written) => {
    expect(logValue(value as string | number | undefined)).toBe(written);
  });
});
