/**
 * The pointer object: a small JSON file in the config bucket (`ranges/current.json` by default) naming the
 * published range table, its checksum and version. The table itself sits beside it under a content-
 * addressed key (`ranges/<sha256>.bin`) and is never overwritten; publishing is "write the table, then
 * swing the pointer", so a reader always finds a complete table behind the pointer it read.
 *
 * Both the updater and the edge read pointers, the edge without a schema library, so the check here is
 * plain code. A pointer is refused unless every field the reader uses is present and well formed.
 *
 * `generation` orders pointers: every publication and every rollback writes the published generation + 1
 * (with a conditional write, so it only ever grows). The edge takes a pointer of a higher generation than
 * its table's, whatever the feed tokens say, which is what lets a rollback to an older table take on warm
 * instances. Pointers written before generations existed read as generation 0.
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

/** Address space covered per cloud: IPv4 in addresses, IPv6 in /64s (the growth guard's measure). */
export interface PointerCoverage {
  aws: { v4: number; v6: number };
  gcp: { v4: number; v6: number };
}

/** A feed version a rollback moved away from: the updater refuses to publish it again unless forced. */
export interface RolledBack {
  syncToken: string;
  gcpSyncToken: string | null;
  key: string;
  /** When it was rolled away from (ISO 8601). */
  at: string;
}

/** The pointer a publication or rollback replaced: what `ranges rollback --previous` puts back. */
export interface PreviousTable {
  key: string;
  sha256: string;
  generation: number;
  syncToken: string;
  gcpSyncToken: string | null;
}

/** Rolled-back versions a pointer remembers (older ones fall off; an updater would find them older anyway). */
export const MAX_ROLLED_BACK = 16;

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
  /** Grows with every publication and rollback; 0 for a pointer written before generations existed. */
  generation: number;
  /** Null when the table does not say (tables compiled before coverage was recorded). */
  coverage: PointerCoverage | null;
  previous: PreviousTable | null;
  rolledBackFrom: RolledBack[];
  /** Set when a rollback wrote this pointer. */
  rollback?: { from: string; at: string };
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9/._-]{0,511}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCounts = (v: unknown): v is FeedCounts => isObject(v) && isCount(v.v4) && isCount(v.v6);
const isShortString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64;
const isKey = (v: unknown): v is string => typeof v === 'string' && KEY.test(v) && !v.includes('..');
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCoverage = (v: unknown): boolean => isObject(v) && isSize(v.v4) && isSize(v.v6);
const isDate = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 && !Number.isNaN(Date.parse(v));
const isRolledBack = (v: unknown): boolean =>
  isObject(v) && isSyncToken(v.syncToken) && (v.gcpSyncToken === null || isSyncToken(v.gcpSyncToken)) && isKey(v.key) && isDate(v.at);
const isPrevious = (v: unknown): boolean =>
  isObject(v) && isKey(v.key) && typeof v.sha256 === 'string' && SHA256.test(v.sha256) && isCount(v.generation) && isSyncToken(v.syncToken) && (v.gcpSyncToken === null || isSyncToken(v.gcpSyncToken));

/** Checks a parsed pointer; returns it typed, or a message naming the first bad field. */
export function checkPointer(value: unknown): RangePointer | string {
  if (!isObject(value)) return 'not a JSON object';
  if (value.format !== POINTER_FORMAT) return `format ${JSON.stringify(value.format)} is not supported (expected ${POINTER_FORMAT})`;
  if (!Number.isSafeInteger(value.tableFormat)) return 'tableFormat: not an integer';
  if (!isKey(value.key)) return 'key: not a valid object key';
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
  // The fields below came with rollbacks; a pointer written before them reads as generation 0.
  if (value.generation !== undefined && !isCount(value.generation)) return 'generation: not a non-negative integer';
  const coverage = value.coverage;
  if (coverage !== undefined && coverage !== null && !(isObject(coverage) && isCoverage(coverage.aws) && isCoverage(coverage.gcp))) return 'coverage: not null or {aws, gcp}';
  if (value.previous !== undefined && value.previous !== null && !isPrevious(value.previous)) return 'previous: not null or {key, sha256, generation, syncToken, gcpSyncToken}';
  const rolled = value.rolledBackFrom;
  if (rolled !== undefined && !(Array.isArray(rolled) && rolled.length <= MAX_ROLLED_BACK && rolled.every(isRolledBack))) return 'rolledBackFrom: not a list of {syncToken, gcpSyncToken, key, at}';
  const rollback = value.rollback;
  if (rollback !== undefined && !(isObject(rollback) && isKey(rollback.from) && isDate(rollback.at))) return 'rollback: not {from, at}';
  return {
    ...(value as unknown as RangePointer),
    generation: (value.generation as number | undefined) ?? 0,
    coverage: (coverage as PointerCoverage | null | undefined) ?? null,
    previous: (value.previous as PreviousTable | null | undefined) ?? null,
    rolledBackFrom: (rolled as RolledBack[] | undefined) ?? [],
  };
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

/**
 * Hex SHA-256, with node:crypto: synchronous, and the edge bundle touches no WebCrypto (`crypto.subtle`
 * costs a load of its own on first use). Callers that `await` it still may. node:crypto is loaded on
 * first use, not at module init (about 1.5 ms at a cold start where the runtime has not loaded it).
 */
export function sha256Hex(bytes: Uint8Array): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex');
}

/** What a pointer says about itself to the one that replaces it. */
export const previousOf = (pointer: RangePointer): PreviousTable => ({
  key: pointer.key,
  sha256: pointer.sha256,
  generation: pointer.generation,
  syncToken: pointer.syncToken,
  gcpSyncToken: pointer.gcp?.syncToken ?? null,
});

/** The coverage a table's metadata records (compile.ts), or null. */
export function coverageOf(metadata: TableMetadata): PointerCoverage | null {
  const coverage = metadata.coverage as Record<string, unknown> | undefined;
  return isObject(coverage) && isCoverage(coverage.aws) && isCoverage(coverage.gcp) ? (coverage as unknown as PointerCoverage) : null;
}

/**
 * The pointer describing a compiled table (metadata as compileRanges writes it), as the successor of
 * `replacing` (the published pointer, or null): one generation on, remembering it as `previous`.
 */
export function describeTable(input: {
  key: string;
  sha256: string;
  bytes: number;
  metadata: TableMetadata;
  counts: RangePointer['counts'];
  publishedAt: Date;
  forced: boolean;
  replacing?: RangePointer | null;
  rolledBackFrom?: RolledBack[];
}): RangePointer {
  const aws = input.metadata.aws as { syncToken: string; createDate: string };
  const gcp = input.metadata.gcp as { syncToken: string; creationTime: string } | undefined;
  const replacing = input.replacing ?? null;
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
    generation: (replacing?.generation ?? 0) + 1,
    coverage: coverageOf(input.metadata),
    previous: replacing ? previousOf(replacing) : null,
    rolledBackFrom: (input.rolledBackFrom ?? replacing?.rolledBackFrom ?? []).slice(-MAX_ROLLED_BACK),
  };
}
