/**
 * S3 server access logs, in the format AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html): one request a line, fields
 * separated by spaces, the time in [brackets], the request URI, referrer and user agent in "quotes":
 *
 *   owner bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 requester reqid REST.GET.OBJECT key "GET /key HTTP/1.1"
 *   200 - 1234 1234 7 6 "-" "containerd/1.7" - hostid SigV4 cipher AuthHeader host TLSv1.2 - -
 *
 * A redirected download leaves no other record: CloudFront logs only the 307, so without these logs the
 * report counts a blob's full size. Here the bytes a bucket really sent are read. AWS appends new fields
 * now and then, so more fields than known are fine; fewer than the user agent, or a line that does not
 * tokenise (an unclosed quote or bracket), is malformed, as is a value that cannot be: a date that is no
 * calendar date, more bytes sent than the object holds, an object larger than S3 allows.
 *
 * Pure: the caller reads the files (./log-files.ts) and decides what the records mean.
 */
import { parseAddress } from '../net/ip';
import { isCalendarDate, isClockTime, MAX_LINE_BYTES } from './access-log';

export interface S3LogRecord {
  bucket: string;
  /** "2019-02-06T00:00:38Z". */
  timestamp: string;
  remoteIp: string;
  /** REST.GET.OBJECT, REST.HEAD.OBJECT, REST.COPY.OBJECT_GET, ... */
  operation: string;
  /** Decoded. */
  key: string;
  status: number;
  bytesSent: number;
  objectSize?: number;
  userAgent: string;
}

export type S3MalformedReason = 'tokens' | 'field-count' | 'bad-time' | 'bad-remote-ip' | 'bad-operation' | 'bad-key' | 'bad-status' | 'bad-bytes' | 'implausible-bytes' | 'too-long';

export type S3LineOutcome = { kind: 'record'; record: S3LogRecord } | { kind: 'skip' } | { kind: 'malformed'; reason: S3MalformedReason; detail: string };

/** S3's largest object: 5 TiB. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** Bucket owner .. user agent: the fields every S3 access log has had since 2006. */
const MIN_FIELDS = 18;
const MAX_FIELDS = 64;

const MONTHS: Record<string, string> = { Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06', Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12' };
const TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-])(\d{2})(\d{2})$/;
const OPERATION = /^[A-Z0-9_.]{1,64}$/;
const STATUS = /^\d{3}$/;
const COUNT = /^\d{1,16}$/;

/** Space-separated tokens, with [..] and "..." (backslash escapes inside quotes) as one token each. */
export function tokenize(line: string): string[] | null {
  const tokens: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (tokens.length >= MAX_FIELDS) return null;
    const open = line[i];
    if (open === '[') {
      const end = line.indexOf(']', i + 1);
      if (end < 0) return null;
      tokens.push(line.slice(i + 1, end));
      i = end + 1;
    } else if (open === '"') {
      let out = '';
      let j = i + 1;
      for (;;) {
        if (j >= n) return null;
        const c = line[j]!;
        if (c === '\\' && j + 1 < n) {
          out += line[j + 1];
          j += 2;
        } else if (c === '"') break;
        else {
          out += c;
          j++;
        }
      }
      tokens.push(out);
      i = j + 1;
    } else {
      let end = line.indexOf(' ', i);
      if (end < 0) end = n;
      tokens.push(line.slice(i, end));
      i = end;
    }
    if (i < n && line[i] !== ' ') return null;
  }
  return tokens;
}

const shown = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
const bad = (reason: S3MalformedReason, field: string, value: string): S3LineOutcome => ({ kind: 'malformed', reason, detail: `${field} ${shown(value)}` });

/** "06/Feb/2019:00:00:38 +0000" → "2019-02-06T00:00:38Z" (offsets applied), or undefined when it is no time. */
export function s3Time(text: string): string | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  const month = MONTHS[m[2]!];
  if (!month) return undefined;
  const date = `${m[3]}-${month}-${m[1]}`;
  if (!isCalendarDate(date) || !isClockTime(m[4]!) || Number(m[6]) > 14 || Number(m[7]) > 59) return undefined;
  const offsetMs = (m[5] === '-' ? -1 : 1) * (Number(m[6]) * 60 + Number(m[7])) * 60_000;
  const utc = new Date(Date.parse(`${date}T${m[4]}Z`) - offsetMs);
  return utc.toISOString().replace('.000Z', 'Z');
}

export function parseS3LogLine(text: string, tooLong = false): S3LineOutcome {
  if (tooLong) return { kind: 'malformed', reason: 'too-long', detail: `longer than ${MAX_LINE_BYTES} bytes` };
  const line = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (line.trim() === '') return { kind: 'skip' };
  const tokens = tokenize(line);
  if (!tokens) return { kind: 'malformed', reason: 'tokens', detail: 'an unclosed quote or bracket, or too many fields' };
  if (tokens.length < MIN_FIELDS) return { kind: 'malformed', reason: 'field-count', detail: `${tokens.length} fields, fewer than the ${MIN_FIELDS} an S3 access log line has` };
  const [, bucket, time, remoteIp, , , operation, rawKey, , status, , bytesSent, objectSize, , , , userAgent] = tokens as [string, string, string, string, string, string, string, string, string, string, string, string, string, string, string, string, string];
  const timestamp = s3Time(time);
  if (!timestamp) return bad('bad-time', 'time', time);
  if (parseAddress(remoteIp, new Uint32Array(4)) === 0) return bad('bad-remote-ip', 'remote IP', remoteIp);
  if (!OPERATION.test(operation)) return bad('bad-operation', 'operation', operation);
  if (!STATUS.test(status)) return bad('bad-status', 'HTTP status', status);
  let key = '';
  if (rawKey !== '-') {
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      return bad('bad-key', 'key', rawKey);
    }
  }
  if (bytesSent !== '-' && !COUNT.test(bytesSent)) return bad('bad-bytes', 'bytes sent', bytesSent);
  if (objectSize !== '-' && !COUNT.test(objectSize)) return bad('bad-bytes', 'object size', objectSize);
  const sent = bytesSent === '-' ? 0 : Number(bytesSent);
  const size = objectSize === '-' ? undefined : Number(objectSize);
  if (sent > MAX_OBJECT_BYTES || (size !== undefined && size > MAX_OBJECT_BYTES)) return bad('implausible-bytes', 'bytes', `${bytesSent} of ${objectSize}`);
  if (size !== undefined && sent > size) return bad('implausible-bytes', 'bytes sent', `${bytesSent}, more than the object's ${objectSize}`);
  const record: S3LogRecord = { bucket, timestamp, remoteIp, operation, key, status: Number(status), bytesSent: sent, userAgent };
  if (size !== undefined) record.objectSize = size;
  return { kind: 'record', record };
}

/** A value as S3 writes it in a log line: "-" when empty, quoted where S3 quotes. */
export function formatS3LogLine(r: { bucket: string; timestamp: Date; remoteIp: string; operation: string; key: string; status: number; bytesSent: number; objectSize: number; userAgent: string; requestId?: string }): string {
  const d = r.timestamp;
  const month = Object.keys(MONTHS)[d.getUTCMonth()]!;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  const key = encodeURIComponent(r.key).replace(/%2F/g, '/');
  const owner = '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be';
  return [
    owner,
    r.bucket,
    `[${time}]`,
    r.remoteIp,
    '-',
    r.requestId ?? '3E57427F3EXAMPLE',
    r.operation,
    key,
    `"GET /${key} HTTP/1.1"`,
    r.status,
    '-',
    r.bytesSent,
    r.objectSize,
    7,
    6,
    '"-"',
    `"${r.userAgent.replace(/["\\]/g, '\\$&')}"`,
    '-',
    's9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6Uk=',
    'SigV4',
    'ECDHE-RSA-AES128-GCM-SHA256',
    '-',
    `${r.bucket}.s3.amazonaws.com`,
    'TLSv1.2',
    '-',
    '-',
  ].join(' ');
}
