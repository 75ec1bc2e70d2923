/**
 * The pointer object: a small JSON file in the config bucket (`ranges/current.json` by default) naming the
 * published range table, its checksum and version. The table itself sits beside it under a content-
 * addressed key (`ranges/<sha256>.bin`) and is never overwritten; publishing is "write the table, then
 * swing the pointer", so a reader always finds a complete table behind the pointer it read.
 *
 * Both the updater and the edge read pointers, the edge without a schema library, so the check here is
 * plain code. A pointer is refused unless every field the reader uses is present and well formed.
 */
import { TABLE_FORMAT_VERSION, type TableMetadata } from '../net/codec';
import { isSyncToken, type TableVersion } from './version';

export const POINTER_FORMAT = 1;
/** Far above any real table (the AWS and GCP feeds compile to about 165 KB); a bound for readers. */
export const MAX_TABLE_BYTES = 16 * 1024 * 1024;
/** Pointers are a few hundred bytes; a reader refuses anything bigger than this. */
export const MAX_POINTER_BYTES = 64 * 1024;

export interface FeedCounts {
  v4: number;
  v6: number;
}

export interface RangePointer {
  format: typeof POINTER_FORMAT;
  /** The wire format of the table it names (layers/net/codec.ts). */
  tableFormat: number;
  key: string;
  /** Hex SHA-256 of the table's bytes. */
  sha256: string;
  bytes: number;
  /** The AWS feed's syncToken and createDate. */
  syncToken: string;
  createDate: string;
  gcp: { syncToken: string; creationTime: string } | null;
  counts: { aws: FeedCounts; gcp: FeedCounts | null; overlay: number; entries: number };
  publishedAt: string;
  /** True when the publication overrode the shrink or order guard (`--force`). */
  forced: boolean;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9/._-]{0,511}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCounts = (v: unknown): v is FeedCounts => isObject(v) && isCount(v.v4) && isCount(v.v6);
const isShortString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64;

/** Checks a parsed pointer; returns it typed, or a message naming the first bad field. */
export function checkPointer(value: unknown): RangePointer | string {
  if (!isObject(value)) return 'not a JSON object';
  if (value.format !== POINTER_FORMAT) return `format ${JSON.stringify(value.format)} is not supported (expected ${POINTER_FORMAT})`;
  if (!Number.isSafeInteger(value.tableFormat)) return 'tableFormat: not an integer';
  if (typeof value.key !== 'string' || !KEY.test(value.key) || value.key.includes('..')) return 'key: not a valid object key';
  if (typeof value.sha256 !== 'string' || !SHA256.test(value.sha256)) return 'sha256: not 64 lower-case hex digits';
  if (!Number.isSafeInteger(value.bytes) || (value.bytes as number) <= 0 || (value.bytes as number) > MAX_TABLE_BYTES) return 'bytes: out of range';
  if (!isSyncToken(value.syncToken)) return 'syncToken: not a decimal string';
  if (!isShortString(value.createDate)) return 'createDate: not a string';
  const gcp = value.gcp;
  if (gcp !== null && !(isObject(gcp) && isSyncToken(gcp.syncToken) && isShortString(gcp.creationTime))) return 'gcp: not null or {syncToken, creationTime}';
  const counts = value.counts;
  if (!isObject(counts) || !isCounts(counts.aws) || !(counts.gcp === null || isCounts(counts.gcp)) || !isCount(counts.overlay) || !isCount(counts.entries)) {
    return 'counts: not {aws, gcp, overlay, entries}';
  }
  if (typeof value.publishedAt !== 'string' || Number.isNaN(Date.parse(value.publishedAt))) return 'publishedAt: not a date';
  if (typeof value.forced !== 'boolean') return 'forced: not a boolean';
  return value as unknown as RangePointer;
}

/** Parses pointer text; returns the pointer or a message naming the problem. */
export function parsePointer(text: string): RangePointer | string {
  if (text.length > MAX_POINTER_BYTES) return `larger than ${MAX_POINTER_BYTES} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
  return checkPointer(value);
}

export const pointerVersion = (pointer: RangePointer): TableVersion => ({ aws: pointer.syncToken, gcp: pointer.gcp?.syncToken ?? null });

/** True when this build can read the table format the pointer names. */
export const readableFormat = (pointer: RangePointer): boolean => pointer.tableFormat === TABLE_FORMAT_VERSION;

/** Where a table is stored: beside the pointer, named by its checksum. */
export function tableKey(pointerKey: string, sha256: string): string {
  const slash = pointerKey.lastIndexOf('/');
  return `${slash < 0 ? '' : pointerKey.slice(0, slash + 1)}${sha256}.bin`;
}

/** Hex SHA-256 with WebCrypto (global in Node 20 and 22, the edge runtime included). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** The pointer describing a compiled table (metadata as compileRanges writes it). */
export function describeTable(input: {
  key: string;
  sha256: string;
  bytes: number;
  metadata: TableMetadata;
  counts: RangePointer['counts'];
  publishedAt: Date;
  forced: boolean;
}): RangePointer {
  const aws = input.metadata.aws as { syncToken: string; createDate: string };
  const gcp = input.metadata.gcp as { syncToken: string; creationTime: string } | undefined;
  return {
    format: POINTER_FORMAT,
    tableFormat: TABLE_FORMAT_VERSION,
    key: input.key,
    sha256: input.sha256,
    bytes: input.bytes,
    syncToken: aws.syncToken,
    createDate: aws.createDate,
    gcp: gcp ? { syncToken: gcp.syncToken, creationTime: gcp.creationTime } : null,
    counts: input.counts,
    publishedAt: input.publishedAt.toISOString(),
    forced: input.forced,
  };
}
