/**
 * Where the bytes of one logged request came from. The log says what CloudFront answered (a 307, a 200,
 * an error) but not where a 307 pointed, so the routing decision is made again, with the same pure code
 * the viewer-request function runs (`decide` and the stage's range table), and combined with the status:
 *
 *   307 on a blob, decision "bucket"    → the client fetched the blob from that bucket: same region as the
 *                                          client, or another region when the client's has no bucket
 *   307 on a blob, decision "upstream"  → from the upstream registry (GCP clients, by default)
 *   307 on a blob, decision "cdn"       → from the CDN the configuration names (routing.cdn)
 *   2xx/304 on a blob                   → served by CloudFront (sc-bytes); when the decision was a bucket,
 *                                          the edge fell back because the bucket did not hold it yet
 *   307 on a forwarded blob (a Miss)    → no bucket held it: the origin-response function redirected the
 *                                          client to the upstream registry (an upstream fallback)
 *   anything else                       → moved no blob bytes: manifests and tag lists (redirected to the
 *                                          upstream registry, with or without registry-edge), the API root,
 *                                          generated answers, errors
 *
 * A 307 the decision cannot explain (the configuration or range table differ from the deployed ones) is
 * counted as a mismatch rather than guessed at.
 */
import type { EdgeConfig } from '../config/edge';
import type { RangeTable } from '../net/table';
import type { Place } from '../net/types';
import { isBlobDigest, parseRegistryPath } from '../oci/paths';
import { blobActionFor, decide } from '../routing/policy';
import { partitionOf } from '../topology/regions';
import type { LogRecord } from './access-log';
import { ownCopy } from './own-copy';

/** The ways a request can be served, as the report shows them. */
export const PATHS = ['regionalSameRegion', 'regionalCrossRegion', 'upstream', 'cdn', 'cloudfront', 'other'] as const;
export type PathName = (typeof PATHS)[number];

/**
 * Who the client is, as far as prices go: egress from GCP to GCP is cheap, from S3 to another AWS region
 * is cheap, from S3 to another AWS partition (GovCloud, China) is internet traffic.
 */
export type ClientClass = 'gcp' | 'aws' | 'aws-other-partition' | 'internet';

/** Why a request in "other" moved no blob bytes. */
export type OtherReason = 'manifest' | 'generated' | 'error' | 'aborted' | 'mismatch';

/** Where the policy sends a request (before the status says what happened). */
export type Destination =
  | { kind: 'bucket'; region: string }
  | { kind: 'upstream' }
  /** The `cdn` policy target: another front for the same blobs (routing.cdn). */
  | { kind: 'cdn' }
  | { kind: 'cloudfront' }
  /** The viewer function answers itself: /v2/, the docs redirect, OCI errors. */
  | { kind: 'generated' };

export interface Route {
  place: Place | null;
  /** The blob's digest, when the path is a blob path the edge accepts. */
  digest?: string;
  /** A manifest, tag list or referrers path (redirected upstream). */
  metadata: boolean;
  destination: Destination;
}

export interface Attribution {
  path: PathName;
  /** Blob bytes moved: a known count (CloudFront's sc-bytes), a digest whose size is looked up, or none. */
  download: { bytes: number } | { digest: string } | { unknownBytes: true } | null;
  clientClass: ClientClass;
  /** CloudFront went to the origin (a miss): one origin-request invocation and one S3 GET. */
  originFetch: boolean;
  /** Requests the client then sent to a bucket (the redirected GET or HEAD). */
  bucketRequests: number;
  /** Set for path "other". */
  reason?: OtherReason;
  /** The policy named a bucket, but the edge served the blob through CloudFront (not replicated yet). */
  fallback?: boolean;
  /** No bucket held the blob: the origin-response function sent the client to the upstream registry. */
  upstreamFallback?: boolean;
}

export interface Router {
  route(record: Pick<LogRecord, 'clientIp' | 'method' | 'uri' | 'querystring'>): Route;
  /** Where an address is (null: in no published range). */
  place(ip: string): Place | null;
}

/**
 * Routes remembered at most; a month of logs asks for the same few thousand blobs over and over. Kept
 * small on purpose: a log of millions of distinct requests gains nothing from a bigger cache, only
 * garbage that lives long enough to be promoted (the bench's peak memory fell by a third going from
 * 65,536 entries to 4,096, when each key still kept its whole log line alive; keys are copies now).
 */
const ROUTE_CACHE_ENTRIES = 4_096;

/** The viewer's decision, made again for logged requests (no existence checks: the status tells). */
export function createRouter(config: EdgeConfig, table: RangeTable): Router {
  const decideFor = (place: Place | null, record: Pick<LogRecord, 'method' | 'uri' | 'querystring'>): Route => {
    const decision = decide({ method: record.method, uri: record.uri, querystring: record.querystring }, place, config);
    const path = parseRegistryPath(record.uri);
    const digest = 'kind' in path && path.kind === 'blob' ? path.digest : undefined;
    const metadata = 'kind' in path && (path.kind === 'manifest' || path.kind === 'tags' || path.kind === 'referrers');
    const base = { place, metadata, ...(digest ? { digest } : {}) };
    if (decision.action === 'respond') return { ...base, destination: { kind: 'generated' } };
    if (decision.action === 'forward') return { ...base, destination: { kind: 'cloudfront' } };
    if (digest === undefined) return { ...base, destination: metadata ? { kind: 'upstream' } : { kind: 'generated' } };
    const { action, region } = blobActionFor(place, config);
    if (action === 'regional' && region !== undefined) return { ...base, destination: { kind: 'bucket', region } };
    if (action === 'cdn') return { ...base, destination: { kind: 'cdn' } };
    return { ...base, destination: { kind: 'upstream' } };
  };
  // A route depends only on the client's range (its table slot) and the request, so it is computed once
  // per distinct pair; Route objects are never changed after this, so they can be shared. A blob's digest
  // changes nothing in the decision but the names in it (any well-formed digest is routed alike), so a blob
  // request is cached by its path without the digest, one table per algorithm: a log of millions of
  // distinct blobs then needs a handful of decisions, not one per line.
  //
  // Nested maps (path, then slot, then method and query) rather than one map keyed by a string joined from
  // them: the joined key would be built, flattened and hashed on every line, which cost more than the rest
  // of the routing together; each of these keys is short, and the slot a number.
  type BySlot = Map<number, Map<string, Route>>;
  const byPath = { other: new Map<string, BySlot>(), sha256: new Map<string, BySlot>(), sha512: new Map<string, BySlot>() };
  let entries = 0;
  let lastPaths: Map<string, BySlot> | undefined;
  let lastShape = '';
  let lastBySlot: BySlot | undefined;
  const STAND_IN = { sha256: `sha256:${'0'.repeat(64)}`, sha512: `sha512:${'0'.repeat(128)}` };
  return {
    place(ip) {
      const slot = table.lookup(ip);
      return slot < 0 ? null : table.place(slot);
    },
    route(record) {
      const slot = table.lookup(record.clientIp);
      const uri = record.uri;
      // The path without its digest, when it ends in /blobs/<digest>.
      let shape = uri;
      let digest: string | undefined;
      let algorithm: 'sha256' | 'sha512' | undefined;
      const slash = uri.lastIndexOf('/');
      if (slash >= 6 && uri.startsWith('/blobs', slash - 6)) {
        // Clients may encode the digest's ":" (the edge decodes it): "sha256%3A…" is the same blob.
        const raw = uri.slice(slash + 1);
        const last = raw.charCodeAt(6) === 0x25 ? raw.replace(/^(sha256|sha512)%3[aA]/, '$1:') : raw;
        if (isBlobDigest(last)) {
          digest = last;
          algorithm = last.charCodeAt(3) === 0x32 /* "2" of sha256 */ ? 'sha256' : 'sha512';
          shape = uri.slice(0, slash + 1);
        }
      }
      const paths = byPath[algorithm ?? 'other'];
      // Lines of one path tend to come together (a log of blob pulls): the last path's table is at hand.
      let bySlot = paths === lastPaths && shape === lastShape ? lastBySlot : paths.get(shape);
      // Keys outlive their line: copied, so as not to keep the chunk of the log they were cut from.
      if (bySlot === undefined) paths.set(ownCopy(shape), (bySlot = new Map()));
      lastPaths = paths;
      lastShape = shape;
      lastBySlot = bySlot;
      let byRequest = bySlot.get(slot);
      if (byRequest === undefined) bySlot.set(slot, (byRequest = new Map()));
      const request = record.querystring === '' ? record.method : `${record.method}?${record.querystring}`;
      let route = byRequest.get(request);
      if (route === undefined) {
        const standIn = algorithm === undefined ? uri : shape + STAND_IN[algorithm];
        route = decideFor(slot < 0 ? null : table.place(slot), { method: record.method, uri: standIn, querystring: record.querystring });
        if (entries >= ROUTE_CACHE_ENTRIES) {
          for (const map of Object.values(byPath)) map.clear();
          entries = 0;
          paths.set(ownCopy(shape), (bySlot = new Map()));
          bySlot.set(slot, (byRequest = new Map()));
          lastBySlot = bySlot;
        }
        byRequest.set(ownCopy(request), route);
        entries++;
      }
      // Spelled out rather than spread: this runs for every blob line.
      return digest === undefined || route.digest === undefined ? route : { place: route.place, metadata: route.metadata, digest, destination: route.destination };
    },
  };
}

export function clientClassOf(place: Place | null): ClientClass {
  if (place === null) return 'internet';
  if (place.cloud === 'gcp') return 'gcp';
  // GLOBAL ranges (CloudFront, Global Accelerator) say nothing of where the client is: internet prices.
  if (place.region === 'GLOBAL') return 'internet';
  return partitionOf(place.region) === 'aws' ? 'aws' : 'aws-other-partition';
}

const isSuccess = (status: number) => (status >= 200 && status < 300) || status === 304;

function otherPath(reason: OtherReason, clientClass: ClientClass, originFetch: boolean): Attribution {
  return { path: 'other', download: null, clientClass, originFetch, bucketRequests: 0, reason };
}

const CACHED = ['Hit', 'LambdaGeneratedResponse', 'LimitExceeded', 'CapacityExceeded'];

/** Combines the replayed route with what the log says happened. */
export function attribute(record: LogRecord, route: Route): Attribution {
  const clientClass = clientClassOf(route.place);
  const { destination } = route;
  const get = record.method === 'GET';
  const blob = route.digest !== undefined;
  // CloudFront fetched from S3 unless it answered from its cache (or the edge answered itself). Without an
  // x-edge-result-type field, assume a miss: the costlier case.
  const missed =
    (record.resultType === undefined || !CACHED.includes(record.resultType)) &&
    !record.detailedResultType?.startsWith('Lambda');
  const forwarded = blob && (destination.kind === 'cloudfront' || destination.kind === 'bucket');

  if (record.status === 307) {
    // A 307 the viewer function wrote is logged as LambdaGeneratedResponse; one the origin-response function
    // wrote (neither the nearest bucket nor the primary held the blob: a redirect to the upstream registry)
    // as a Miss. Without a result type, a bucket decision is taken to be the viewer's own redirect.
    const fromOrigin = record.resultType !== undefined && record.resultType !== 'LambdaGeneratedResponse';
    if (blob && (destination.kind === 'cloudfront' || (destination.kind === 'bucket' && fromOrigin)) && (fromOrigin || record.resultType === undefined)) {
      return { path: 'upstream', download: get ? { digest: route.digest! } : null, clientClass, originFetch: true, bucketRequests: 0, upstreamFallback: true };
    }
    if (blob && destination.kind === 'bucket') {
      const same = route.place?.cloud === 'aws' && route.place.region === destination.region;
      return { path: same ? 'regionalSameRegion' : 'regionalCrossRegion', download: get ? { digest: route.digest! } : null, clientClass, originFetch: false, bucketRequests: 1 };
    }
    if (blob && destination.kind === 'upstream') return { path: 'upstream', download: get ? { digest: route.digest! } : null, clientClass, originFetch: false, bucketRequests: 0 };
    if (blob && destination.kind === 'cdn') return { path: 'cdn', download: get ? { digest: route.digest! } : null, clientClass, originFetch: false, bucketRequests: 0 };
    if (route.metadata && destination.kind === 'upstream') return otherPath('manifest', clientClass, false);
    if (destination.kind === 'generated') return otherPath('generated', clientClass, false);
    return otherPath('mismatch', clientClass, false);
  }
  if (forwarded && (isSuccess(record.status) || (record.status === 0 && (record.scBytes ?? 0) > 0))) {
    const download = !get ? null : record.scBytes === undefined ? { unknownBytes: true as const } : { bytes: record.scBytes };
    const attribution: Attribution = { path: 'cloudfront', download, clientClass, originFetch: missed, bucketRequests: 0 };
    if (destination.kind === 'bucket') attribution.fallback = true;
    return attribution;
  }
  if (destination.kind === 'generated') return otherPath(record.status >= 400 ? 'error' : 'generated', clientClass, false);
  if (record.status === 0) return otherPath('aborted', clientClass, forwarded && missed);
  if (record.status >= 400) return otherPath('error', clientClass, forwarded && missed);
  // A success the decision cannot explain (say, a 200 for a path the policy redirects upstream).
  return otherPath('mismatch', clientClass, false);
}
