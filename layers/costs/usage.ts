/**
 * Requests and bytes per path, summed over a log, in total and per day. A download from a bucket or the
 * registry is counted at its blob's size, looked up as the line is read (the sizes are loaded first, in
 * a compact structure: ./sizes.ts), so nothing here grows with the number of distinct blobs: a download
 * of unknown size is counted, its digest goes into a distinct counter and, for the first few, a sample.
 *
 * With S3 server access logs (./s3-access-log.ts) the bytes of redirected downloads are measured there
 * instead (`measuredRegional`): the CloudFront log still counts the requests, the S3 log the bytes.
 */
import type { LogRecord } from './access-log';
import { type Attribution, type ClientClass, type OtherReason, type PathName, PATHS } from './attribute';
import { DistinctCounter } from './distinct';
import { ownCopy } from './own-copy';
import { NO_SIZES, type SizeLookup } from './sizes';

export const CLIENT_CLASSES: readonly ClientClass[] = ['gcp', 'aws', 'aws-other-partition', 'internet'];
export const OTHER_REASONS: readonly OtherReason[] = ['manifest', 'generated', 'error', 'aborted', 'mismatch'];

export interface PathUsage {
  /** Requests to the distribution attributed to this path (HEADs and 307s included). */
  requests: number;
  /** GETs that moved blob bytes. */
  downloads: number;
  /** Blob bytes of the downloads whose size is known. */
  bytes: number;
  /** Downloads whose size is not known: not counted in `bytes` or in any cost. */
  unknownSize: number;
  /** `bytes` by client class (egress prices differ). */
  bytesByClient: Record<ClientClass, number>;
  /** Bytes the distribution itself sent for these requests (sc-bytes: whole blobs, or just a 307). */
  edgeBytes: number;
  /** CloudFront fetches from a bucket (misses): one S3 GET and one origin-request invocation each. */
  originFetches: number;
  /** Requests redirected clients then sent to a bucket. */
  bucketRequests: number;
}

export interface DayUsage {
  /** "YYYY-MM-DD" (UTC, as the logs are). */
  day: string;
  paths: Record<PathName, PathUsage>;
}

export interface UnknownDigests {
  /** Distinct digests downloaded whose size is not known. */
  distinct: number;
  /** False once there were too many to count exactly (then `distinct` is an estimate within a few %). */
  exact: boolean;
  /** The first few of them, to look into. */
  sample: string[];
}

export interface Usage {
  paths: Record<PathName, PathUsage>;
  /** Per day, in date order (records without a date are only in `paths`). */
  days: DayUsage[];
  /** Requests in "other", by why they moved no blob bytes. */
  other: Record<OtherReason, number>;
  /** Blob requests the policy sent to a bucket but the edge served through CloudFront (not replicated yet). */
  fallbacks: number;
  /** Blob requests no bucket could serve, redirected to the upstream registry by the origin-response function. */
  upstreamFallbacks: number;
  /** Records without sc-bytes: the distribution's own bytes for them are unknown. */
  withoutScBytes: number;
  unknownDigests: UnknownDigests;
  period: { from?: string; to?: string };
}

export const emptyPathUsage = (): PathUsage => ({
  requests: 0,
  downloads: 0,
  bytes: 0,
  unknownSize: 0,
  bytesByClient: { gcp: 0, aws: 0, 'aws-other-partition': 0, internet: 0 },
  edgeBytes: 0,
  originFetches: 0,
  bucketRequests: 0,
});

const emptyPaths = () => Object.fromEntries(PATHS.map((p) => [p, emptyPathUsage()])) as Record<PathName, PathUsage>;

/** Distinct days kept at most (three years of logs); a log spanning more is refused line by line. */
export const MAX_DAYS = 1100;
const SAMPLE = 10;

export interface TallyOptions {
  sizes?: SizeLookup;
  /** Bytes of redirected downloads come from S3 access logs (addMeasured), not from sizes. */
  measuredRegional?: boolean;
}

const isRegional = (path: PathName) => path === 'regionalSameRegion' || path === 'regionalCrossRegion';

function count(usage: PathUsage, record: LogRecord, attribution: Attribution, unknown: boolean, bytes: number | undefined): void {
  usage.requests++;
  if (record.scBytes !== undefined) usage.edgeBytes += record.scBytes;
  if (attribution.originFetch) usage.originFetches++;
  usage.bucketRequests += attribution.bucketRequests;
  if (!attribution.download) return;
  usage.downloads++;
  if (unknown) usage.unknownSize++;
  else if (bytes !== undefined) {
    usage.bytes += bytes;
    usage.bytesByClient[attribution.clientClass] += bytes;
  }
}

export class UsageTally {
  private readonly paths = emptyPaths();
  private readonly days = new Map<string, Record<PathName, PathUsage>>();
  private readonly other = Object.fromEntries(OTHER_REASONS.map((r) => [r, 0])) as Record<OtherReason, number>;
  private readonly unknown = new DistinctCounter();
  private readonly sample: string[] = [];
  private readonly sizes: SizeLookup;
  private readonly measuredRegional: boolean;
  private fallbacks = 0;
  private upstreamFallbacks = 0;
  private withoutScBytes = 0;
  private from?: string;
  private to?: string;

  constructor(options: TallyOptions = {}) {
    this.sizes = options.sizes ?? NO_SIZES;
    this.measuredRegional = options.measuredRegional ?? false;
  }

  /** False when a record of this date would be one day too many (MAX_DAYS). */
  acceptsDate(timestamp: string | undefined): boolean {
    return timestamp === undefined || this.days.size < MAX_DAYS || this.days.has(timestamp.slice(0, 10));
  }

  private lastDay = '';
  private lastDayPaths: Record<PathName, PathUsage> | undefined;

  private day(timestamp: string | undefined): Record<PathName, PathUsage> | undefined {
    if (timestamp === undefined) return undefined;
    // Logs come in time order, a day's lines together: remember the last day rather than look it up.
    if (this.lastDayPaths && timestamp.startsWith(this.lastDay)) return this.lastDayPaths;
    const day = timestamp.slice(0, 10);
    let paths = this.days.get(day);
    if (!paths) this.days.set(day, (paths = emptyPaths()));
    this.lastDay = day;
    this.lastDayPaths = paths;
    return paths;
  }

  private seen(timestamp: string | undefined) {
    if (timestamp === undefined) return;
    if (this.from === undefined || timestamp < this.from) this.from = timestamp;
    if (this.to === undefined || timestamp > this.to) this.to = timestamp;
  }

  /** Counts one request; returns the bytes of the blob it downloaded, when known. */
  add(record: LogRecord, attribution: Attribution): number | undefined {
    const day = this.day(record.timestamp);
    this.seen(record.timestamp);
    if (record.scBytes === undefined) this.withoutScBytes++;
    if (attribution.reason) this.other[attribution.reason]++;
    if (attribution.fallback) this.fallbacks++;
    if (attribution.upstreamFallback) this.upstreamFallbacks++;
    const download = attribution.download;
    let bytes: number | undefined;
    // What the download adds to `bytes`: nothing when unknown, or when S3 logs measure it (addMeasured).
    let counted: number | undefined;
    let unknown = false;
    if (download && 'bytes' in download) counted = bytes = download.bytes;
    else if (download && 'digest' in download) {
      bytes = this.sizes.get(download.digest);
      if (this.measuredRegional && isRegional(attribution.path)) counted = undefined;
      else if (bytes === undefined) {
        unknown = true;
        this.unknown.add(download.digest);
        if (this.sample.length < SAMPLE && !this.sample.includes(download.digest)) this.sample.push(ownCopy(download.digest));
      } else counted = bytes;
    } else if (download) unknown = true;
    count(this.paths[attribution.path], record, attribution, unknown, counted);
    if (day) count(day[attribution.path], record, attribution, unknown, counted);
    return bytes;
  }

  /** Bytes an S3 access log shows a bucket sent straight to a client (a redirected download). */
  addMeasured(path: 'regionalSameRegion' | 'regionalCrossRegion', clientClass: ClientClass, bytes: number, timestamp: string | undefined): void {
    const day = this.day(timestamp);
    for (const usage of day ? [this.paths[path], day[path]] : [this.paths[path]]) {
      usage.bytes += bytes;
      usage.bytesByClient[clientClass] += bytes;
    }
  }

  result(): Usage {
    return {
      paths: structuredClone(this.paths),
      days: [...this.days.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([day, paths]) => ({ day, paths: structuredClone(paths) })),
      other: { ...this.other },
      fallbacks: this.fallbacks,
      upstreamFallbacks: this.upstreamFallbacks,
      withoutScBytes: this.withoutScBytes,
      unknownDigests: { distinct: this.unknown.count(), exact: this.unknown.exactCount, sample: [...this.sample].sort() },
      period: { ...(this.from ? { from: this.from } : {}), ...(this.to ? { to: this.to } : {}) },
    };
  }
}
