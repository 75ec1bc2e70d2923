/**
 * CloudFront standard access logs, in the W3C form AWS documents
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html):
 *
 *   #Version: 1.0
 *   #Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status ...
 *   2026-11-27<TAB>16:03:04<TAB>IAD89-C1<TAB>1542<TAB>3.92.144.159<TAB>GET<TAB>...
 *
 * Tab-separated, "-" for an empty value. Reading is driven by the `#Fields` line, so the order and the set
 * of fields may differ (standard logging v2 lets operators pick fields; older files have fewer). A line
 * that cannot be read is counted, with its reason, and skipped: one bad line must not cost the report.
 *
 * Pure: no files here (./log-files.ts reads them). The emulator writes its log with `formatLogLine`.
 */
import { parseAddress } from '../net/ip';

/** Every field of a legacy standard log, in AWS's order (the emulator writes all of them). */
export const CLOUDFRONT_LOG_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
] as const;

export type CloudFrontLogField = (typeof CLOUDFRONT_LOG_FIELDS)[number];

/** Without these a request cannot be routed again, so a `#Fields` line lacking one makes its lines unusable. */
export const REQUIRED_FIELDS = ['c-ip', 'cs-method', 'cs-uri-stem', 'sc-status'] as const;

/** One request, as much of it as the report uses. */
export interface LogRecord {
  /** "2026-11-27T16:03:04Z", when the log has date and time. */
  timestamp?: string;
  clientIp: string;
  method: string;
  /** As logged (the path the viewer asked for, before any function changed it). */
  uri: string;
  /** Without "?"; empty when the log says "-" or has no cs-uri-query field. */
  querystring: string;
  /** 0 when CloudFront logged "000" (the viewer went away before a response). */
  status: number;
  /** Bytes CloudFront sent to the viewer, headers included; undefined when the log has no sc-bytes. */
  scBytes?: number;
  /** Hit, RefreshHit, Miss, Error, LambdaGeneratedResponse, ... */
  resultType?: string;
  detailedResultType?: string;
}

/** Why a line was skipped (the keys the report counts by). */
export type MalformedReason =
  | 'no-fields-header'
  | 'fields-header-lacks-required'
  | 'field-count'
  | 'bad-client-ip'
  | 'bad-method'
  | 'bad-uri'
  | 'bad-status'
  | 'bad-bytes'
  | 'bad-date'
  | 'too-long'
  /** sc-bytes more than the largest blob could take (analyze.ts: the catalogue's largest, or S3's limit). */
  | 'implausible-bytes'
  /** A date beyond the MAX_DAYS distinct days a report keeps (usage.ts). */
  | 'too-many-days';

export type LineOutcome = { kind: 'record'; record: LogRecord } | { kind: 'skip' } | { kind: 'malformed'; reason: MalformedReason; detail: string };

/** The longest line read; longer ones are counted as malformed (real lines are well under 16 KiB). */
export const MAX_LINE_BYTES = 64 * 1024;

const METHOD = /^[A-Z]{1,16}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
/** A path as CloudFront logs it: starts with "/", no whitespace or control characters. */
const URI = /^\/[\x21-\x7e]*$/;

/** The fields the report reads; a field's place in this list is its slot in the parser's scratch array. */
const USED_FIELDS = ['c-ip', 'cs-method', 'cs-uri-stem', 'sc-status', 'cs-uri-query', 'sc-bytes', 'date', 'time', 'x-edge-result-type', 'x-edge-detailed-result-type'] as const;
type UsedField = (typeof USED_FIELDS)[number];
const USED_AT = Object.fromEntries(USED_FIELDS.map((name, i) => [name, i])) as Record<UsedField, number>;

interface FieldIndex {
  count: number;
  /** Per position in a line: the slot of a used field, or -1. */
  slots: Int32Array;
  /**
   * A line of exactly `count` fields, the used ones captured: one match cuts a line faster than a search
   * for each tab (the fields are many, the used ones few), and fails exactly when the count is wrong.
   */
  pattern: RegExp | null;
  /** The slot of each capture of `pattern`, in order. */
  captured: number[];
  missing: string[];
}

/** Past this many fields (no real log comes close) lines are cut a tab at a time, not by a pattern. */
const MAX_PATTERN_FIELDS = 128;

/**
 * Reads the lines of one log file (headers apply to the lines after them, so use one parser per file;
 * a later `#Fields` line replaces the earlier one, as when files are concatenated).
 */
export class AccessLogParser {
  private fields: FieldIndex | null = null;
  private readonly scratch = new Uint32Array(4);
  private readonly values: (string | undefined)[] = new Array(USED_FIELDS.length).fill(undefined);
  private lastDate = '';

  /** `tooLong`: the reader cut the line at MAX_LINE_BYTES. */
  line(text: string, tooLong = false): LineOutcome {
    if (tooLong) return { kind: 'malformed', reason: 'too-long', detail: `longer than ${MAX_LINE_BYTES} bytes` };
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line.trim() === '') return { kind: 'skip' };
    if (line.startsWith('#')) {
      if (line.startsWith('#Fields:')) {
        this.fields = indexFields(line.slice('#Fields:'.length));
        // Fields of the old layout the new one lacks must not linger in their slots.
        this.values.fill(undefined);
      }
      // #Version and any other directive: nothing to do (W3C 1.0 is the only version there is).
      return { kind: 'skip' };
    }
    const fields = this.fields;
    if (!fields) return { kind: 'malformed', reason: 'no-fields-header', detail: 'a data line before any #Fields line' };
    if (fields.missing.length > 0) return { kind: 'malformed', reason: 'fields-header-lacks-required', detail: `the #Fields line has no ${fields.missing.join(', ')}` };
    // Only the fields the report reads are cut out of the line (a log line has 33; we use 10): a log of
    // millions of lines is mostly allocation otherwise.
    const values = this.values;
    const match = fields.pattern?.exec(line);
    if (match) {
      // Every field the #Fields line has is captured, so each of their slots is set (the others stay unset).
      const captured = fields.captured;
      for (let i = 0; i < captured.length; i++) {
        const value = match[i + 1]!;
        values[captured[i]!] = value === '-' ? undefined : value;
      }
    } else {
      for (let i = 0; i < values.length; i++) values[i] = undefined;
      let count = 0;
      for (let start = 0; ; count++) {
        const end = line.indexOf('\t', start);
        const slot = count < fields.slots.length ? fields.slots[count]! : -1;
        if (slot >= 0) {
          const value = end < 0 ? line.slice(start) : line.slice(start, end);
          if (value !== '-') values[slot] = value;
        }
        if (end < 0) break;
        start = end + 1;
      }
      count++;
      if (count !== fields.count) return { kind: 'malformed', reason: 'field-count', detail: `${count} fields where #Fields names ${fields.count}` };
    }
    const clientIp = values[USED_AT['c-ip']] ?? '';
    if (parseAddress(clientIp, this.scratch) === 0) return bad('bad-client-ip', 'c-ip', clientIp);
    const method = values[USED_AT['cs-method']] ?? '';
    // The two methods of nearly every line compared first: a pattern costs more than the comparison.
    if (method !== 'GET' && method !== 'HEAD' && !METHOD.test(method)) return bad('bad-method', 'cs-method', method);
    const uri = values[USED_AT['cs-uri-stem']] ?? '';
    if (uri.length > 8192 || !URI.test(uri)) return bad('bad-uri', 'cs-uri-stem', uri);
    const statusText = values[USED_AT['sc-status']] ?? '';
    const status = statusText.length === 3 ? digits(statusText) : -1;
    if (status < 0) return bad('bad-status', 'sc-status', statusText);
    const record: LogRecord = { clientIp, method, uri, querystring: values[USED_AT['cs-uri-query']] ?? '', status };

    const bytes = values[USED_AT['sc-bytes']];
    if (bytes !== undefined) {
      const count = bytes.length <= 15 ? digits(bytes) : -1;
      if (count < 0) return bad('bad-bytes', 'sc-bytes', bytes);
      record.scBytes = count;
    }
    const date = values[USED_AT['date']];
    const time = values[USED_AT['time']];
    if (date !== undefined || time !== undefined) {
      // A log file holds an hour or a day: the date is checked once for all the lines that share it.
      const dateOk = date !== undefined && (date === this.lastDate || isCalendarDate(date));
      if (!dateOk || time === undefined || !isClockTime(time)) return bad('bad-date', 'date/time', `${date ?? '-'} ${time ?? '-'}`);
      this.lastDate = date;
      record.timestamp = `${date}T${time}Z`;
    }
    const resultType = values[USED_AT['x-edge-result-type']];
    if (resultType !== undefined) record.resultType = resultType;
    const detailed = values[USED_AT['x-edge-detailed-result-type']];
    if (detailed !== undefined) record.detailedResultType = detailed;
    return { kind: 'record', record };
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** "2026-02-29" has the shape of a date but is none: only real calendar days (from 1970) pass. */
export function isCalendarDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (year < 1970 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * The value of a text of decimal digits (at most 15: exact as a double), or -1 when it is empty or has
 * anything else. By character codes: the numbers of every line (status, bytes) are read with it.
 */
function digits(text: string): number {
  if (text.length === 0) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}

/** "23:59:60" is allowed (a leap second); "24:00:00" and "12:61:00" are not. */
export function isClockTime(text: string): boolean {
  // By character codes rather than slices: this runs on every line.
  const hours = digitAt(text, 0) * 10 + digitAt(text, 1);
  const minutes = digitAt(text, 3) * 10 + digitAt(text, 4);
  const seconds = digitAt(text, 6) * 10 + digitAt(text, 7);
  // "hh:mm:ss" (the digits are checked above); the pattern for the rest (fractions of a second).
  if (text.length === 8 && text.charCodeAt(2) === 0x3a && text.charCodeAt(5) === 0x3a) return hours < 24 && minutes < 60 && seconds <= 60;
  return hours < 24 && minutes < 60 && seconds <= 60 && TIME.test(text);
}

function indexFields(list: string): FieldIndex {
  const names = list.trim().split(/\s+/).filter(Boolean);
  const slots = new Int32Array(names.length).fill(-1);
  const seen = new Set<string>();
  names.forEach((name, i) => {
    // The first of a repeated name wins; AWS never repeats one.
    if (seen.has(name)) return;
    seen.add(name);
    const slot = (USED_AT as Record<string, number | undefined>)[name];
    if (slot !== undefined) slots[i] = slot;
  });
  let pattern: RegExp | null = null;
  const captured: number[] = [];
  if (names.length <= MAX_PATTERN_FIELDS) {
    const parts = [...slots].map((slot) => {
      if (slot < 0) return '[^\\t]*';
      captured.push(slot);
      return '([^\\t]*)';
    });
    pattern = new RegExp(`^${parts.join('\\t')}$`);
  }
  return { count: names.length, slots, pattern, captured, missing: REQUIRED_FIELDS.filter((name) => !seen.has(name)) };
}

/** Quotes a value for a message: short, and without control characters. */
function shown(value: string): string {
  const clipped = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return JSON.stringify(clipped);
}

function bad(reason: MalformedReason, field: string, value: string): LineOutcome {
  return { kind: 'malformed', reason, detail: `${field} ${shown(value)}` };
}

// ---- Writing (the local CloudFront emulator's log) ----

/** The two header lines of a log file, each ending in a newline. */
export function logHeader(fields: readonly string[] = CLOUDFRONT_LOG_FIELDS): string {
  return `#Version: 1.0\n#Fields: ${fields.join(' ')}\n`;
}

/**
 * A value as CloudFront writes it: "-" when empty; characters that would break the line (tab, newline, other
 * controls), spaces and anything outside printable ASCII percent-encoded (as UTF-8), as CloudFront does
 * for user agents. "%" itself is left alone: paths and queries arrive encoded already.
 */
export function logValue(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  const text = String(value);
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== '\\') out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One data line (with its newline), the values in the order of `fields`. */
export function formatLogLine(values: Partial<Record<string, string | number | undefined | null>>, fields: readonly string[] = CLOUDFRONT_LOG_FIELDS): string {
  return `${fields.map((name) => logValue(values[name])).join('\t')}\n`;
}
