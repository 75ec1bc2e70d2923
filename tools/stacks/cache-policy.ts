/**
 * How CloudFront caches the blob behaviour: the one place that says it. The main stack template builds its
 * cache policy, origin request policy and custom error responses from here, and the local CloudFront
 * emulator imports the same values, so the emulator's cache follows the packaged distribution.
 *
 * Why MinTTL is 0 (it was a day): with a minimum TTL above 0 CloudFront keeps an object at least that long
 * even when the answer says `no-store` (CachePolicyConfig, CloudFront API reference). The origin-response
 * function turns S3's final 403/404 into a 307 to the upstream registry that must never be cached (the blob
 * may land in the bucket a second later, and the 307 names one repository while the key is the digest
 * alone). So the policy lets `Cache-Control` decide, and the origin-response function gives every blob it
 * passes (200/206) `BLOB_CACHE_CONTROL`, a year; DefaultTTL is a year too, for anything without it.
 *
 * Why 403/404 are not error-cached: the origin-response function runs on every miss and decides per
 * request (fallback 307, or a 404 BLOB_UNKNOWN when the fallback is off). A cached 4xx under a digest-only
 * key would answer every repository for that digest without the function deciding again, pinning the
 * blob as missing after it arrived. A burst for a missing blob costs one S3 GET per request, which is cheap;
 * the answers also say `no-store`. 5xx: never cached, the next try may succeed.
 */
import { REPOSITORY_HEADER } from '../../layers/cloudfront/origin';
import { BLOB_MAX_AGE_SECONDS } from '../../layers/cloudfront/origin-response';
import type { Json } from './cloudformation';

const YEAR = BLOB_MAX_AGE_SECONDS;

export interface BlobCacheSettings {
  /** Seconds: CachePolicyConfig MinTTL / DefaultTTL / MaxTTL. */
  minTtl: number;
  defaultTtl: number;
  maxTtl: number;
  /** What is in the cache key besides the path (the blob's S3 key, i.e. its digest): nothing. */
  key: { headers: string[]; cookies: string[]; queryStrings: string[]; acceptEncodingGzip: boolean; acceptEncodingBrotli: boolean };
  /** Viewer headers the origin request policy forwards to the origin (and its functions), not in the key. */
  forwardedHeaders: string[];
  /** Status -> CustomErrorResponses ErrorCachingMinTTL (seconds). */
  errorCachingMinTtl: Record<number, number>;
}

export const BLOB_CACHE: BlobCacheSettings = {
  minTtl: 0,
  defaultTtl: YEAR,
  maxTtl: YEAR,
  key: { headers: [], cookies: [], queryStrings: [], acceptEncodingGzip: false, acceptEncodingBrotli: false },
  forwardedHeaders: [REPOSITORY_HEADER],
  errorCachingMinTtl: { 403: 0, 404: 0, 500: 0, 502: 0, 503: 0, 504: 0 },
};

/** The Cache-Control the origin-response function gives a blob (200/206), and its never-cached answers'. */
export { BLOB_CACHE_CONTROL, NO_STORE } from '../../layers/cloudfront/origin-response';

/** CloudFormation's CachePolicyConfig, without Name and Comment. */
export function cachePolicyConfig(settings: BlobCacheSettings = BLOB_CACHE): Record<string, Json> {
  // CloudFormation takes plain lists here (the CloudFront API's Quantity/Items is its own business).
  const list = (items: string[]) => items;
  return {
    MinTTL: settings.minTtl,
    DefaultTTL: settings.defaultTtl,
    MaxTTL: settings.maxTtl,
    ParametersInCacheKeyAndForwardedToOrigin: {
      EnableAcceptEncodingGzip: settings.key.acceptEncodingGzip,
      EnableAcceptEncodingBrotli: settings.key.acceptEncodingBrotli,
      HeadersConfig: settings.key.headers.length ? { HeaderBehavior: 'whitelist', Headers: list(settings.key.headers) } : { HeaderBehavior: 'none' },
      CookiesConfig: settings.key.cookies.length ? { CookieBehavior: 'whitelist', Cookies: list(settings.key.cookies) } : { CookieBehavior: 'none' },
      QueryStringsConfig: settings.key.queryStrings.length ? { QueryStringBehavior: 'whitelist', QueryStrings: list(settings.key.queryStrings) } : { QueryStringBehavior: 'none' },
    },
  };
}

/** CloudFormation's OriginRequestPolicyConfig, without Name and Comment. */
export function originRequestPolicyConfig(settings: BlobCacheSettings = BLOB_CACHE): Record<string, Json> {
  return {
    HeadersConfig: settings.forwardedHeaders.length ? { HeaderBehavior: 'whitelist', Headers: settings.forwardedHeaders } : { HeaderBehavior: 'none' },
    CookiesConfig: { CookieBehavior: 'none' },
    QueryStringsConfig: { QueryStringBehavior: 'none' },
  };
}

/** The distribution's CustomErrorResponses. */
export function customErrorResponses(settings: BlobCacheSettings = BLOB_CACHE): Json[] {
  return Object.entries(settings.errorCachingMinTtl).map(([code, ttl]) => ({ ErrorCode: Number(code), ErrorCachingMinTTL: ttl }));
}
