/**
 * The origin-response handler on the blob behaviour. CloudFront runs it on the origin group's final answer
 * (after failing over from the nearest bucket to the primary) and caches what it returns:
 *   - 200/206: the blob. Named by its digest (`Docker-Content-Digest`, and an ETag that is the digest rather
 *     than S3's MD5), S3's own headers (`x-amz-*`, `Server`) dropped, and a year's `Cache-Control`: the
 *     cache policy's MinTTL is 0 so that the answers below stay uncached (tools/stacks/cache-policy.ts).
 *   - 403/404: neither bucket holds the blob yet (replication lag, a bucket added later, a gap reconcile
 *     must fill). A 307 to the upstream registry's URL for it, never cached (the blob may land any second,
 *     and the key is the digest alone while the URL names a repository), one EMF line counting it. The
 *     repository comes from the header the viewer-request function sets (REPOSITORY_HEADER). Fallback off:
 *     404 BLOB_UNKNOWN as OCI JSON.
 *   - 5xx: an OCI error JSON (not S3's XML) with a status a client retries sensibly, never cached.
 * Anything not under the blob prefix passes untouched.
 */
import type { CloudFrontHeaders, CloudFrontResponse, CloudFrontResponseEvent } from 'aws-lambda';
import type { EdgeConfig } from '../config/edge';
import { ociErrorBody, type OciErrorCode } from '../oci/errors';
import { isBlobDigest, isRepositoryName } from '../oci/paths';
import { REPOSITORY_HEADER } from './origin';

export type { CloudFrontResponse, CloudFrontResponseEvent };

export const BLOB_MAX_AGE_SECONDS = 365 * 24 * 3600;
/** What a blob is cached with: immutable, addressed by its digest. */
export const BLOB_CACHE_CONTROL = `public, max-age=${BLOB_MAX_AGE_SECONDS}, immutable`;
/** What CloudFront (and any cache after it) must not keep: with the policy's MinTTL 0, CloudFront does not. */
export const NO_STORE = 'no-store, no-cache, max-age=0, private';
export const FALLBACK_METRIC = 'UpstreamFallback';
export const METRICS_NAMESPACE = 'RegistryEdge';

export interface OriginResponseDeps {
  config: EdgeConfig;
  /** Receives one JSON line per fallback or S3 failure (the function prints it: CloudWatch reads EMF from logs). */
  log?: (line: string) => void;
  now?: () => number;
}

/** CloudFront forbids changing these in an origin response; a generated answer keeps them as they came. */
const READ_ONLY = ['transfer-encoding', 'via'];

const STATUS_TEXT: Record<number, string> = { 307: 'Temporary Redirect', 404: 'Not Found', 416: 'Range Not Satisfiable', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

const header = (name: string, value: string): CloudFrontHeaders[string] => [{ key: name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()), value }];

function readOnlyOf(headers: CloudFrontHeaders): CloudFrontHeaders {
  const kept: CloudFrontHeaders = {};
  for (const name of READ_ONLY) if (headers[name]) kept[name] = headers[name]!;
  return kept;
}

/** A response of our own in place of S3's: its headers and body replaced, never cached. */
function generated(response: CloudFrontResponse, status: number, headers: Record<string, string>, body: string): CloudFrontResponse {
  const out: CloudFrontHeaders = readOnlyOf(response.headers ?? {});
  for (const [name, value] of Object.entries({ 'docker-distribution-api-version': 'registry/2.0', 'cache-control': NO_STORE, ...headers })) out[name] = header(name, value);
  return { status: String(status), statusDescription: STATUS_TEXT[status] ?? 'Error', headers: out, body, bodyEncoding: 'text' } as CloudFrontResponse;
}

function ociAnswer(response: CloudFrontResponse, status: number, code: OciErrorCode, message: string, extra: Record<string, string> = {}): CloudFrontResponse {
  return generated(response, status, { 'content-type': 'application/json', ...extra }, ociErrorBody({ code, message }));
}

/** S3's 5xx as the front's: a failing store is a bad gateway; SlowDown and timeouts say "retry". */
function storeFailure(status: number): { status: number; code: OciErrorCode; retryAfter?: string } {
  if (status === 503) return { status: 503, code: 'UNAVAILABLE', retryAfter: '1' };
  if (status === 504) return { status: 504, code: 'UNAVAILABLE', retryAfter: '1' };
  return { status: 502, code: 'UNKNOWN' };
}

/** The blob itself: S3's internals out, the digest in, cached for a year. */
function blobHeaders(headers: CloudFrontHeaders, digest: string): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  for (const [name, values] of Object.entries(headers)) {
    if (name.startsWith('x-amz-') || name === 'server' || name === 'etag' || name === 'cache-control' || name === 'expires') continue;
    out[name] = values;
  }
  out['docker-content-digest'] = header('docker-content-digest', digest);
  out['docker-distribution-api-version'] = header('docker-distribution-api-version', 'registry/2.0');
  // The digest is the strongest validator there is; S3's MD5 (or "-N" multipart) ETag names nothing.
  out.etag = header('etag', `"${digest}"`);
  out['cache-control'] = header('cache-control', BLOB_CACHE_CONTROL);
  return out;
}

/** One CloudWatch EMF line: a structured log record and a metric datapoint at once. */
export function emfLine(config: EdgeConfig, metric: string, fields: Record<string, unknown>, now: number): string {
  return JSON.stringify({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'stage']], Metrics: [{ Name: metric, Unit: 'Count' }] }] },
    service: 'edge-origin-response',
    stage: config.stage,
    [metric]: 1,
    ...fields,
  });
}

export function fallbackLocation(config: EdgeConfig, repository: string, digest: string, querystring: string): string {
  const prefix = config.fallback.pathPrefix ? `${config.fallback.pathPrefix}/` : '';
  const url = `${config.fallback.origin}/v2/${prefix}${repository}/blobs/${digest}`;
  return querystring ? `${url}?${querystring}` : url;
}

/** RFC 3986 query characters, as the viewer checks them: nothing else goes into a Location. */
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

export function createOriginResponseHandler(deps: OriginResponseDeps) {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const prefix = `/${config.blobPrefix}`;
  return async (event: CloudFrontResponseEvent): Promise<CloudFrontResponse> => {
    const { request, response } = event.Records[0]!.cf;
    const digest = request.uri.startsWith(prefix) ? request.uri.slice(prefix.length) : '';
    if (!isBlobDigest(digest)) return response;
    const status = Number(response.status);
    if (status === 200 || status === 206) return { ...response, headers: blobHeaders(response.headers ?? {}, digest) };
    if (status === 403 || status === 404) {
      const repository = request.headers?.[REPOSITORY_HEADER]?.[0]?.value ?? '';
      const querystring = QUERY_CHARS.test(request.querystring ?? '') ? (request.querystring ?? '') : '';
      if (config.fallback.enabled && isRepositoryName(repository)) {
        const location = fallbackLocation(config, repository, digest, querystring);
        deps.log?.(emfLine(config, FALLBACK_METRIC, { event: 'blob-fallback', digest, repository, method: request.method, originStatus: status, location }, now()));
        return generated(response, 307, { location }, '');
      }
      return ociAnswer(response, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    }
    if (status >= 500) {
      const failure = storeFailure(status);
      deps.log?.(emfLine(config, 'BlobStoreError', { event: 'blob-store-error', digest, method: request.method, originStatus: status, status: failure.status }, now()));
      return ociAnswer(response, failure.status, failure.code, `the blob store failed (S3 answered ${status}); retry`, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
    }
    if (status === 416) {
      const range = response.headers?.['content-range']?.[0]?.value;
      return ociAnswer(response, 416, 'BLOB_UNKNOWN', 'requested range not satisfiable', range ? { 'content-range': range } : {});
    }
    // 304 and the like: no body to replace, only S3's internals to drop.
    const headers: CloudFrontHeaders = {};
    for (const [name, values] of Object.entries(response.headers ?? {})) if (!name.startsWith('x-amz-') && name !== 'server') headers[name] = values;
    return { ...response, headers };
  };
}
