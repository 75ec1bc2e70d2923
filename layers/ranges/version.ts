/**
 * Which of two range tables is newer. A table's version is the pair of its feeds' sync tokens (AWS first,
 * GCP second); the updater and the edge both decide with these functions, so "newer" means the same thing
 * where a table is published and where it is taken up.
 *
 * Plain code with no dependencies: the edge bundle imports it.
 */
import type { TableMetadata } from '../net/codec';

export interface TableVersion {
  /** AWS `syncToken` (a decimal number in a string, seconds since the epoch). */
  aws: string;
  /** GCP `syncToken` (milliseconds), null when the table was compiled without the GCP feed. */
  gcp: string | null;
}

const DECIMAL = /^[0-9]{1,20}$/;

export const isSyncToken = (value: unknown): value is string => typeof value === 'string' && DECIMAL.test(value);

/** Compares two decimal sync tokens exactly (they may exceed 2^53): negative, zero or positive. */
export function compareTokens(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, '');
  const y = b.replace(/^0+(?=.)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The version a table's metadata records; null when it records none (not a table this project wrote). */
export function versionOf(metadata: TableMetadata): TableVersion | null {
  const aws = (metadata.aws as { syncToken?: unknown } | undefined)?.syncToken;
  if (!isSyncToken(aws)) return null;
  const gcp = (metadata.gcp as { syncToken?: unknown } | undefined)?.syncToken;
  return { aws, gcp: isSyncToken(gcp) ? gcp : null };
}

/**
 * `next` against `current`, feed by feed:
 * - `newer`: one feed moved forward and none moved back;
 * - `same`: both feeds are where they were;
 * - `older`: one moved back and none forward (a stale cache, an out-of-order notification);
 * - `mixed`: one forward, the other back (or dropped): worth a human look.
 * A feed that is absent counts as older than any token.
 */
export function compareVersions(next: TableVersion, current: TableVersion): 'newer' | 'same' | 'older' | 'mixed' {
  const aws = Math.sign(compareTokens(next.aws, current.aws));
  const gcp = next.gcp === current.gcp ? 0 : next.gcp === null ? -1 : current.gcp === null ? 1 : Math.sign(compareTokens(next.gcp, current.gcp));
  if (aws === 0 && gcp === 0) return 'same';
  if (aws >= 0 && gcp >= 0) return 'newer';
  if (aws <= 0 && gcp <= 0) return 'older';
  return 'mixed';
}

/**
 * The edge's rule: take `next` only when its AWS token is newer, or equal with a newer GCP token. A table
 * is never replaced by one with an older AWS token, whatever was published.
 */
export function supersedes(next: TableVersion, current: TableVersion | null): boolean {
  if (current === null) return true;
  const aws = compareTokens(next.aws, current.aws);
  if (aws !== 0) return aws > 0;
  if (next.gcp === null) return false;
  return current.gcp === null || compareTokens(next.gcp, current.gcp) > 0;
}

/** UTC epoch milliseconds of a calendar date and time, NaN when any field is out of its range. */
export function calendarMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 April over to 1 May (and 2026-13-45 into 2027); a calendar date survives the round trip.
  return new Date(ms).getUTCDate() === day ? ms : Number.NaN;
}

/** AWS `createDate` ("2026-07-29-08-27-05", UTC) as epoch milliseconds; NaN when it is not a calendar date. */
export function awsCreateDateMs(createDate: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$/.exec(createDate);
  if (!m) return Number.NaN;
  return calendarMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** A sync token as epoch milliseconds: AWS counts seconds, GCP milliseconds. Approximate past 2^53. */
export const tokenMs = (token: string, unit: 'seconds' | 'milliseconds'): number => Number(token) * (unit === 'seconds' ? 1000 : 1);
