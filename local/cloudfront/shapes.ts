/**
 * From an HTTP request as it reaches the emulator to the events CloudFront would hand the edge functions
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html).
 */
import type { CloudFrontResponseEvent } from 'aws-lambda';
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent } from '../../layers/cloudfront/events';
import { viewerRequestEvent } from '../../layers/cloudfront/events';
import { isDisallowedHeader } from './rules';

/** The viewer address as CloudFront reports it: an IPv4 peer is plain IPv4, never `::ffff:a.b.c.d`. */
export function clientIpOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(remoteAddress) ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * Node's rawHeaders ([name, value, name, value, ...]) as CloudFront headers: lower-case keys, the viewer's
 * spelling in `key`, repeated headers kept in order. Headers CloudFront does not show functions are dropped.
 */
export function cloudFrontHeadersFromRaw(rawHeaders: readonly string[]): CloudFrontHeaders {
  const headers: CloudFrontHeaders = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!;
    const name = key.toLowerCase();
    if (isDisallowedHeader(name)) continue;
    (headers[name] ??= []).push({ key, value: rawHeaders[i + 1]! });
  }
  return headers;
}

export interface ViewerRequestInput {
  clientIp: string;
  method: string;
  /** The request target as received: path and optional query. */
  url: string;
  rawHeaders: readonly string[];
  distributionDomainName: string;
  requestId: string;
}

export function viewerEvent(input: ViewerRequestInput): CloudFrontRequestEvent {
  const q = input.url.indexOf('?');
  const uri = q < 0 ? input.url : input.url.slice(0, q);
  const querystring = q < 0 ? '' : input.url.slice(q + 1);
  const event = viewerRequestEvent({ clientIp: input.clientIp, method: input.method, uri, querystring, distributionDomainName: input.distributionDomainName });
  const record = event.Records[0]!.cf;
  (record.config as { requestId: string }).requestId = input.requestId;
  record.request.headers = cloudFrontHeadersFromRaw(input.rawHeaders);
  return event;
}

export interface OriginRequestInput {
  /** The request as the viewer-request function returned it. */
  request: CloudFrontRequest;
  origin: NonNullable<CloudFrontRequest['origin']>;
  /** Viewer headers the cache behaviour passes to the origin (lower-case). */
  forwardHeaders: readonly string[];
  forwardQueryString: boolean;
  distributionDomainName: string;
  requestId: string;
}

/**
 * The origin-request event for one origin of the group. Like CloudFront, it carries only what the
 * behaviour forwards (the whitelisted viewer headers, the query string if enabled), plus the headers
 * CloudFront adds on the way to an origin: Host (the origin's), Via, X-Forwarded-For, User-Agent.
 */
export function originEvent(input: OriginRequestInput): CloudFrontRequestEvent {
  const { request } = input;
  const headers: CloudFrontHeaders = {};
  for (const name of input.forwardHeaders) {
    const values = request.headers[name];
    if (values) headers[name] = values.map((v) => ({ ...v }));
  }
  const origin = structuredClone(input.origin);
  const domainName = (origin.custom ?? origin.s3)!.domainName;
  headers.host = [{ key: 'Host', value: domainName }];
  headers['user-agent'] = [{ key: 'User-Agent', value: 'Amazon CloudFront' }];
  headers.via = [{ key: 'Via', value: `1.1 ${input.requestId.slice(0, 32).toLowerCase()}.cloudfront.net (CloudFront)` }];
  const forwardedFor = request.headers['x-forwarded-for']?.map((v) => v.value).join(', ');
  headers['x-forwarded-for'] = [{ key: 'X-Forwarded-For', value: forwardedFor ? `${forwardedFor}, ${request.clientIp}` : request.clientIp }];
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: input.distributionDomainName, distributionId: 'EDFDVBD6EXAMPLE', eventType: 'origin-request', requestId: input.requestId },
          request: {
            clientIp: request.clientIp,
            method: request.method,
            uri: request.uri,
            querystring: input.forwardQueryString ? request.querystring : '',
            headers,
            origin,
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
}

export interface OriginResponseInput {
  /** The request as it went to the origin that gave the final answer (after the origin-request function). */
  request: CloudFrontRequest;
  status: number;
  statusMessage: string;
  /** The origin's response headers as received ([name, value, ...]). */
  rawHeaders: readonly string[];
  distributionDomainName: string;
  requestId: string;
}

/**
 * The origin-response event: the origin request (with its origin) and the origin's status and headers,
 * never its body. Headers CloudFront keeps to itself (hop-by-hop, x-amz-cf-*) are not shown.
 */
export function originResponseEvent(input: OriginResponseInput): CloudFrontResponseEvent {
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: input.distributionDomainName, distributionId: 'EDFDVBD6EXAMPLE', eventType: 'origin-response', requestId: input.requestId },
          request: structuredClone(input.request),
          response: { status: String(input.status), statusDescription: input.statusMessage, headers: cloudFrontHeadersFromRaw(input.rawHeaders) },
        },
      },
    ],
  } as CloudFrontResponseEvent;
}
