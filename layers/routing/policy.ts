/**
 * The routing policy: (request, where the client is, configuration) -> what to do. Pure and total: it
 * never throws and never does I/O, so it is tested as a table and property-tested for hostile input.
 *
 * Why 307 and not 301/302/308: 307 keeps the method (a HEAD stays a HEAD) and is not cached as permanent,
 * so moving a blob or changing the policy takes effect at once. Registry clients follow it to another host
 * and drop the Authorization header there.
 */
import { bucketUrl, type BlobAction, type EdgeConfig } from '../config/edge';
import type { Place } from '../net/types';
import { ociErrorBody, type OciError } from '../oci/errors';
import { parseRegistryPath, type RegistryPath } from '../oci/paths';
import { partitionOf } from '../topology/partition';

export interface ViewerRequest {
  method: string;
  /** The path, as CloudFront gives it (no query string). */
  uri: string;
  /** The raw query string without "?", possibly empty. */
  querystring: string;
}

export interface Forward {
  action: 'forward';
  /** The S3 key path the CloudFront origin serves, e.g. /containers/images/sha256:... */
  uri: string;
  querystring: string;
  /** The repository asked for: the origin-response function's fallback URL names it (not in the cache key). */
  repository: string;
}

export interface Redirect {
  action: 'redirect';
  status: 307;
  location: string;
  /** Set when the target may not hold the blob yet: check `url` and use `fallback` unless it is there. */
  verify?: BlobCheck;
}

/** A redirect's existence check: the blob `digest` in the bucket of `bucketRegion`, at `url`. */
export interface BlobCheck {
  readonly url: string;
  readonly bucketRegion: string;
  readonly digest: string;
  /** What to do instead when the blob is not there. */
  readonly fallback: Forward;
}

/**
 * The check of a planned bucket redirect, whose fallback is built only when it is used: almost every check
 * finds the blob (it is wanted for replication lag), and a decision's budget is a few hundred nanoseconds,
 * of which an object and a string built per request for nothing are a tenth.
 */
class PlannedCheck implements BlobCheck {
  constructor(
    readonly url: string,
    readonly bucketRegion: string,
    readonly digest: string,
    private readonly forwardPrefix: string,
    private readonly querystring: string,
    private readonly repository: string,
  ) {}

  get fallback(): Forward {
    return { action: 'forward', uri: this.forwardPrefix + this.digest, querystring: this.querystring, repository: this.repository };
  }

  /** As JSON (a logged decision, a test's comparison): the check as its data, with its fallback. */
  toJSON() {
    return { url: this.url, bucketRegion: this.bucketRegion, digest: this.digest, fallback: this.fallback };
  }
}

export interface Respond {
  action: 'respond';
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Decision = Forward | Redirect | Respond;

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };

/** RFC 3986 query characters; anything else (spaces, quotes, CR/LF, non-ASCII) is refused. */
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/**
 * A generated answer. HEAD gets the same body as GET: CloudFront sends HEAD answers without their body but
 * with its length, so HEAD and GET agree on Content-Length as HTTP asks.
 */
export function respondError(error: Pick<OciError, 'status' | 'code' | 'message'>, extraHeaders: Record<string, string> = {}): Respond {
  return {
    action: 'respond',
    status: error.status,
    headers: { ...API_VERSION, 'content-type': 'application/json', ...extraHeaders },
    body: ociErrorBody(error),
  };
}

const withQuery = (url: string, querystring: string) => (querystring ? `${url}?${querystring}` : url);

/** Where a client's blob requests go, by where the client is. */
export function blobActionFor(place: Place | null, config: EdgeConfig): { action: BlobAction; region?: string } {
  if (place === null) return { action: config.policy.internet };
  if (place.cloud === 'gcp') return { action: config.policy.gcp };
  if (place.region === 'GLOBAL') return { action: config.policy.global };
  const partition = partitionOf(place.region);
  const bucketRegion = config.nearest[place.region];
  const action = partition === 'aws' ? (bucketRegion ? 'regional' : config.policy.unknownRegion) : config.policy[partition];
  if (action !== 'regional') return { action };
  // A partition set to "regional" still needs a known location; without one, take the CloudFront path.
  return bucketRegion ? { action, region: bucketRegion } : { action: 'cloudfront' };
}

function upstreamLocation(config: EdgeConfig, path: Exclude<RegistryPath, { kind: 'root' | 'base' | 'catalog' }>, querystring: string): string {
  const prefix = config.upstream.pathPrefix ? `${config.upstream.pathPrefix}/` : '';
  const tail =
    path.kind === 'blob'
      ? `blobs/${path.digest}`
      : path.kind === 'manifest'
        ? `manifests/${path.reference}`
        : path.kind === 'referrers'
          ? `referrers/${path.digest}`
          : 'tags/list';
  return withQuery(`${config.upstream.origin}/v2/${prefix}${path.name}/${tail}`, querystring);
}

/** Decides what to do with a viewer request from a client at `place` (null: in no published range). */
export function decide(request: ViewerRequest, place: Place | null, config: EdgeConfig): Decision {
  return plannerFor(config).plan(request, place);
}

/** `decide` for one configuration, with what depends only on the configuration and the place worked out once. */
export interface Planner {
  plan(request: ViewerRequest, place: Place | null): Decision;
}

/**
 * Where a place's blob requests go, worked out once per place (a table has a few dozen; a Place object is
 * shared by all its intervals and replaced with its table): every blob request would otherwise repeat the
 * same partition, nearest-region and bucket lookups and rebuild the same bucket URL.
 */
type BlobTarget =
  | { kind: 'forward' }
  | { kind: 'upstream' }
  /** `base`: the CDN's base URL, or the bucket's URL with the blob prefix; the digest follows it. */
  | { kind: 'cdn'; base: string }
  | { kind: 'bucket'; region: string; base: string };

function blobTargetFor(place: Place | null, config: EdgeConfig): BlobTarget {
  const { action, region } = blobActionFor(place, config);
  if (action === 'upstream') return { kind: 'upstream' };
  // The CDN fronts the same blobs; it has its own cache and fallback, so no existence check there.
  if (action === 'cdn') return config.cdn ? { kind: 'cdn', base: config.cdn.baseUrl } : { kind: 'forward' };
  if (action === 'cloudfront' || region === undefined) return { kind: 'forward' };
  const bucket = config.buckets[region];
  if (bucket === undefined) return { kind: 'forward' };
  return { kind: 'bucket', region, base: `${bucketUrl(config.publicEndpoint, bucket, region)}/${config.blobPrefix}` };
}

const planners = new WeakMap<EdgeConfig, Planner>();

/** The planner of a configuration (one per configuration object, so its per-place targets are shared). */
export function plannerFor(config: EdgeConfig): Planner {
  let planner = planners.get(config);
  if (planner === undefined) planners.set(config, (planner = createPlanner(config)));
  return planner;
}

function createPlanner(config: EdgeConfig): Planner {
  const targets = new WeakMap<Place, BlobTarget>();
  let placeless: BlobTarget | undefined;
  const targetFor = (place: Place | null): BlobTarget => {
    if (place === null) return (placeless ??= blobTargetFor(null, config));
    let target = targets.get(place);
    if (target === undefined) targets.set(place, (target = blobTargetFor(place, config)));
    return target;
  };
  const forwardPrefix = `/${config.blobPrefix}`;
  const verify = config.verify.enabled;
  function planBlob(path: Extract<RegistryPath, { kind: 'blob' }>, querystring: string, place: Place | null): Decision {
    const target = targetFor(place);
    const digest = path.digest;
    switch (target.kind) {
      case 'upstream':
        return { action: 'redirect', status: 307, location: upstreamLocation(config, path, querystring) };
      case 'cdn':
        return { action: 'redirect', status: 307, location: withQuery(target.base + digest, querystring) };
      case 'forward':
        return { action: 'forward', uri: forwardPrefix + digest, querystring, repository: path.name };
      case 'bucket': {
        const url = target.base + digest;
        const redirect: Redirect = { action: 'redirect', status: 307, location: withQuery(url, querystring) };
        // Never send a client to a blob that is not there: replication may lag a new push by a few seconds.
        if (verify) redirect.verify = new PlannedCheck(url, target.region, digest, forwardPrefix, querystring, path.name);
        return redirect;
      }
    }
  }

  return {
    plan(request, place) {
      const method = request.method;
      if (method !== 'GET' && method !== 'HEAD') {
        return respondError({ status: 405, code: 'UNSUPPORTED', message: 'this registry is read-only: only GET and HEAD are allowed' }, { allow: 'GET, HEAD' });
      }
      const querystring = typeof request.querystring === 'string' ? request.querystring : '';
      // Most requests have none: the expression is not run on an empty string.
      if (querystring !== '' && (querystring.length > 2048 || !QUERY_CHARS.test(querystring))) {
        return respondError({ status: 400, code: 'UNSUPPORTED', message: 'invalid query string' });
      }
      const path = parseRegistryPath(request.uri);
      if ('status' in path) return respondError(path);

      switch (path.kind) {
        case 'root':
          return { action: 'redirect', status: 307, location: config.docsUrl };
        case 'base':
          // 200 without an auth challenge: pulls are anonymous, and a 401 here would make clients ask for
          // credentials they do not have (the spec lets a registry answer /v2/ with 200 when auth is off).
          return { action: 'respond', status: 200, headers: { ...API_VERSION, 'content-type': 'application/json' }, body: '{}' };
        case 'catalog':
          return respondError({ status: 404, code: 'UNSUPPORTED', message: 'catalog listing is not supported' });
        case 'manifest':
        case 'tags':
        case 'referrers':
          // Manifests and tags are small and change; the upstream registry is their source of truth.
          return { action: 'redirect', status: 307, location: upstreamLocation(config, path, querystring) };
        case 'blob':
          return planBlob(path, querystring, place);
      }
    },
  };
}
