/**
 * Requests and bytes per path, summed over a log. Downloads from buckets and the registry are counted by
 * digest first and turned into bytes once the sizes are known (`resolve`), so the logs are read once and
 * only the digests they name are looked up.
 */
import type { LogRecord } from './access-log';
import { type Attribution, type ClientClass, type OtherReason, type PathName, PATHS } from './attribute';
import type { Sizes } from './sizes';

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

export interface Usage {
  paths: Record<PathName, PathUsage>;
  /** Requests in "other", by why they moved no blob bytes. */
  other: Record<OtherReason, number>;
  /** Blob requests the policy sent to a bucket but the edge served through CloudFront (not replicated yet). */
  fallbacks: number;
  /** Records without sc-bytes: the distribution's own bytes for them are unknown. */
  withoutScBytes: number;
  /** Digests of downloads whose size is unknown (sorted). */
  unknownDigests: string[];
  period: { from?: string; to?: string };
}

const emptyPath = (): PathUsage => ({
  requests: 0,
  downloads: 0,
  bytes: 0,
  unknownSize: 0,
  bytesByClient: { gcp: 0, aws: 0, 'aws-other-partition': 0, internet: 0 },
  edgeBytes: 0,
  originFetches: 0,
  bucketRequests: 0,
});

export class UsageTally {
  private readonly paths = Object.fromEntries(PATHS.map((p) => [p, emptyPath()])) as Record<PathName, PathUsage>;
  private readonly other = Object.fromEntries(OTHER_REASONS.map((r) => [r, 0])) as Record<OtherReason, number>;
  /** digest -> "path|class" -> downloads */
  private readonly pending = new Map<string, Map<string, number>>();
  private fallbacks = 0;
  private withoutScBytes = 0;
  private from?: string;
  private to?: string;

  add(record: LogRecord, attribution: Attribution): void {
    const usage = this.paths[attribution.path];
    usage.requests++;
    if (record.scBytes === undefined) this.withoutScBytes++;
    else usage.edgeBytes += record.scBytes;
    if (attribution.originFetch) usage.originFetches++;
    usage.bucketRequests += attribution.bucketRequests;
    if (attribution.reason) this.other[attribution.reason]++;
    if (attribution.fallback) this.fallbacks++;
    if (record.timestamp) {
      if (this.from === undefined || record.timestamp < this.from) this.from = record.timestamp;
      if (this.to === undefined || record.timestamp > this.to) this.to = record.timestamp;
    }
    const download = attribution.download;
    if (!download) return;
    usage.downloads++;
    if ('bytes' in download) {
      usage.bytes += download.bytes;
      usage.bytesByClient[attribution.clientClass] += download.bytes;
    } else if ('digest' in download) {
      let byKey = this.pending.get(download.digest);
      if (!byKey) this.pending.set(download.digest, (byKey = new Map()));
      const key = `${attribution.path}|${attribution.clientClass}`;
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    } else {
      usage.unknownSize++;
    }
  }

  /** The digests whose sizes the report needs. */
  wantedDigests(): Set<string> {
    return new Set(this.pending.keys());
  }

  /** The totals, with each pending download counted at its blob's size (or as unknown). */
  resolve(sizes: Sizes): Usage {
    const paths = structuredClone(this.paths);
    const unknown: string[] = [];
    for (const [digest, byKey] of this.pending) {
      const size = sizes.get(digest);
      if (size === undefined) unknown.push(digest);
      for (const [key, count] of byKey) {
        const [path, clientClass] = key.split('|') as [PathName, ClientClass];
        if (size === undefined) paths[path].unknownSize += count;
        else {
          paths[path].bytes += size * count;
          paths[path].bytesByClient[clientClass] += size * count;
        }
      }
    }
    return {
      paths,
      other: { ...this.other },
      fallbacks: this.fallbacks,
      withoutScBytes: this.withoutScBytes,
      unknownDigests: unknown.sort(),
      period: { ...(this.from ? { from: this.from } : {}), ...(this.to ? { to: this.to } : {}) },
    };
  }
}
