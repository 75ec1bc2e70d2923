/**
 * The origin-request handler: on a cache miss for a blob, fetch it from the bucket nearest the regional
 * edge cache this function runs in (`AWS_REGION`), not from the primary bucket across the world.
 *
 * The distribution's blob behaviour points at an origin group:
 *   - member 1, tagged `x-registry-edge-origin: nearest`: rewritten here to the nearest bucket;
 *   - member 2, tagged `x-registry-edge-origin: failover`: the primary bucket, left as it is.
 * A 403/404/5xx from the nearest bucket (a blob not replicated yet) makes CloudFront retry on member 2,
 * which runs this handler again with the failover tag, so a client always gets the blob.
 */
import { bucketUrl, type EdgeConfig } from '../config/edge';
import type { CloudFrontRequest, CloudFrontRequestEvent } from './events';

export const ORIGIN_ROLE_HEADER = 'x-registry-edge-origin';
/**
 * The repository a blob request named, set by the viewer-request function on requests it forwards. The
 * blob behaviour's origin request policy forwards it (so origin-request and origin-response functions see
 * it) while its cache policy leaves it out of the key: one cached copy of a blob serves every repository,
 * and the origin-response function can still build the upstream URL of the repository that was asked.
 */
export const REPOSITORY_HEADER = 'x-registry-edge-repository';

export interface OriginRequestDeps {
  config: EdgeConfig;
  /** The region this function runs in (the regional edge cache); `process.env.AWS_REGION` at the edge. */
  region: () => string | undefined;
  log?: (record: Record<string, unknown>) => void;
  /** Told about each blob request: rewritten to the nearest bucket, or the origin group's failover try. */
  observe?: (event: { role: 'nearest'; bucketRegion: string } | { role: 'failover' }) => void;
}

type CloudFrontOrigin = NonNullable<CloudFrontRequest['origin']>;

function originRole(origin: CloudFrontOrigin | undefined): string | undefined {
  const headers = origin?.s3?.customHeaders ?? origin?.custom?.customHeaders;
  return headers?.[ORIGIN_ROLE_HEADER]?.[0]?.value;
}

/** The CloudFront origin for a bucket's API endpoint: an S3 origin on AWS, a custom origin elsewhere. */
export function bucketOrigin(config: EdgeConfig, region: string): { origin: CloudFrontOrigin; host: string } {
  const bucket = config.buckets[region]!;
  const url = new URL(bucketUrl(config.apiEndpoint, bucket, region));
  const roleHeaders = { [ORIGIN_ROLE_HEADER]: [{ key: ORIGIN_ROLE_HEADER, value: 'rewritten' }] };
  if (url.protocol === 'https:' && url.hostname.endsWith('.amazonaws.com') && url.pathname === '/') {
    // Regional buckets allow anonymous reads of blobs, so no signing (OAC) is needed for them.
    // CloudFront documents authMethod "none" | "origin-access-identity"; @types/aws-lambda knows only the latter.
    const s3 = { domainName: url.hostname, region, authMethod: 'none', path: '', customHeaders: roleHeaders };
    return { origin: { s3 } as unknown as CloudFrontOrigin, host: url.host };
  }
  const https = url.protocol === 'https:';
  return {
    origin: {
      custom: {
        domainName: url.hostname,
        port: Number(url.port || (https ? 443 : 80)),
        protocol: https ? 'https' : 'http',
        path: url.pathname.replace(/\/$/, ''),
        sslProtocols: ['TLSv1.2'],
        readTimeout: 30,
        keepaliveTimeout: 5,
        customHeaders: roleHeaders,
      },
    },
    host: url.host,
  };
}

export function createOriginRequestHandler(deps: OriginRequestDeps) {
  const { config } = deps;
  return async (event: CloudFrontRequestEvent): Promise<CloudFrontRequest> => {
    const request = event.Records[0]!.cf.request;
    const role = originRole(request.origin);
    if (role !== 'nearest' || !request.uri.startsWith(`/${config.blobPrefix}`)) {
      // The failover member runs only after the nearest bucket answered 403/404/5xx (or did not answer).
      if (role === 'failover' && request.uri.startsWith(`/${config.blobPrefix}`)) deps.observe?.({ role: 'failover' });
      return request;
    }
    const edgeRegion = deps.region();
    const region = (edgeRegion && config.nearest[edgeRegion]) || config.primaryRegion;
    const { origin, host } = bucketOrigin(config, region);
    deps.log?.({ uri: request.uri, edgeRegion, bucketRegion: region, bucket: config.buckets[region] });
    deps.observe?.({ role: 'nearest', bucketRegion: region });
    return { ...request, origin, headers: { ...request.headers, host: [{ key: 'Host', value: host }] } };
  };
}
