/**
 * CloudFront's Lambda@Edge event and result shapes, as AWS documents them
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html),
 * and the conversions between them and the routing types.
 */
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResponseEvent, CloudFrontResultResponse } from 'aws-lambda';
import type { Decision } from '../routing/policy';
import { REPOSITORY_HEADER } from './origin';

export type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResponseEvent, CloudFrontResultResponse };

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  206: 'Partial Content',
  307: 'Temporary Redirect',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** "content-type" -> "Content-Type": CloudFront keys headers by lower-case name and keeps a display `key`. */
const displayName = (lower: string) => {
  // Memoised: the edge writes the same few header names on every response.
  let name = displayNames.get(lower);
  if (name === undefined) {
    name = lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
    if (displayNames.size < 256) displayNames.set(lower, name);
  }
  return name;
};
const displayNames = new Map<string, string>();

export function toCloudFrontHeaders(headers: Record<string, string>): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    out[lower] = [{ key: displayName(lower), value }];
  }
  return out;
}

export function fromCloudFrontHeaders(headers: CloudFrontHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(headers ?? {})) {
    if (values[0]) out[name] = values.map((v) => v.value).join(', ');
  }
  return out;
}

/** A redirect's headers but its Location, in CloudFront's form: the same on every redirect. */
const REDIRECT_API_VERSION = 'registry/2.0';

/** Applies a routing decision: a generated response, or the request to pass on to the origin. */
export function applyDecision(decision: Decision, request: CloudFrontRequest): CloudFrontResultResponse | CloudFrontRequest {
  switch (decision.action) {
    case 'redirect':
      // What toCloudFrontHeaders makes of {location, docker-distribution-api-version}, written out: every
      // blob redirect passes here (no intermediate object, no entries array, no name lookups).
      return {
        status: String(decision.status),
        statusDescription: STATUS_TEXT[decision.status],
        headers: {
          location: [{ key: 'Location', value: decision.location }],
          'docker-distribution-api-version': [{ key: 'Docker-Distribution-Api-Version', value: REDIRECT_API_VERSION }],
        },
      };
    case 'respond': {
      const response: CloudFrontResultResponse = {
        status: String(decision.status),
        statusDescription: STATUS_TEXT[decision.status] ?? 'Error',
        headers: toCloudFrontHeaders(decision.headers),
      };
      if (decision.body) response.body = decision.body;
      return response;
    }
    case 'forward': {
      // Client credentials mean nothing to S3 and must not reach the cache key or the origin. The
      // repository header is always ours (a client's own is replaced), from the already-checked path.
      // Most requests carry no credentials: a spread copy then (V8 clones the object whole, about a third
      // of the cost of a loop over its keys); with them, a loop that leaves them out (rest destructuring
      // with a computed key runs in V8's runtime, slower still).
      const theirs = request.headers ?? {};
      let headers: CloudFrontHeaders;
      if ('authorization' in theirs) {
        headers = {};
        for (const name of Object.keys(theirs)) if (name !== 'authorization') headers[name] = theirs[name]!;
      } else {
        headers = { ...theirs };
      }
      headers[REPOSITORY_HEADER] = [{ key: REPOSITORY_HEADER, value: decision.repository }];
      return { ...request, uri: decision.uri, querystring: decision.querystring, headers };
    }
  }
}

export interface ViewerEventInput {
  clientIp: string;
  method: string;
  uri: string;
  querystring?: string;
  headers?: Record<string, string>;
  distributionDomainName?: string;
}

let requestCounter = 0;

/** The `config` part of an event: the distribution, the trigger, and a request id unique in this process. */
function eventConfig(domain: string, eventType: 'viewer-request' | 'origin-response') {
  return {
    distributionDomainName: domain,
    distributionId: 'EDFDVBD6EXAMPLE',
    eventType,
    requestId: `registry-edge-${Date.now().toString(36)}-${(requestCounter++).toString(36)}`,
  };
}

/** A viewer-request event as CloudFront sends it. */
export function viewerRequestEvent(input: ViewerEventInput): CloudFrontRequestEvent {
  const domain = input.distributionDomainName ?? 'd111111abcdef8.cloudfront.net';
  return {
    Records: [
      {
        cf: {
          config: eventConfig(domain, 'viewer-request'),
          request: {
            clientIp: input.clientIp,
            method: input.method,
            uri: input.uri,
            querystring: input.querystring ?? '',
            headers: toCloudFrontHeaders({ host: domain, ...input.headers }),
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
}

export interface OriginResponseEventInput {
  /** The origin request's URI (the S3 key path the viewer function forwarded). */
  uri: string;
  method?: string;
  querystring?: string;
  clientIp?: string;
  /** Headers of the origin request (those the origin request policy forwards, e.g. the repository). */
  requestHeaders?: Record<string, string>;
  /** What the origin (after the origin group's failover) answered. */
  status: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  distributionDomainName?: string;
}

/** An origin-response event as CloudFront sends it: the origin request, and the origin's status and headers (no body). */
export function originResponseEvent(input: OriginResponseEventInput): CloudFrontResponseEvent {
  const domain = input.distributionDomainName ?? 'd111111abcdef8.cloudfront.net';
  return {
    Records: [
      {
        cf: {
          config: eventConfig(domain, 'origin-response'),
          request: {
            clientIp: input.clientIp ?? '203.0.113.178',
            method: input.method ?? 'GET',
            uri: input.uri,
            querystring: input.querystring ?? '',
            headers: toCloudFrontHeaders(input.requestHeaders ?? {}),
          },
          response: {
            status: String(input.status),
            statusDescription: input.statusDescription ?? STATUS_TEXT[input.status] ?? '',
            headers: toCloudFrontHeaders(input.headers ?? {}),
          },
        },
      },
    ],
  } as CloudFrontResponseEvent;
}

/** Splits "path?query" into CloudFront's uri and querystring. */
export function splitUri(uriWithQuery: string): { uri: string; querystring: string } {
  const q = uriWithQuery.indexOf('?');
  return q < 0 ? { uri: uriWithQuery, querystring: '' } : { uri: uriWithQuery.slice(0, q), querystring: uriWithQuery.slice(q + 1) };
}

export type ResultSummary =
  | { action: 'redirect'; status: number; location: string }
  | { action: 'respond'; status: number; headers: Record<string, string>; body: string }
  | { action: 'forward'; uri: string; querystring: string; headers: Record<string, string> };

/** What a viewer-request result means, in the CLI's words. */
export function describeResult(result: CloudFrontResultResponse | CloudFrontRequest): ResultSummary {
  if ('uri' in result && !('status' in result)) {
    return { action: 'forward', uri: result.uri, querystring: result.querystring, headers: fromCloudFrontHeaders(result.headers) };
  }
  const response = result as CloudFrontResultResponse;
  const status = Number(response.status);
  const headers = fromCloudFrontHeaders(response.headers);
  if (status >= 300 && status < 400 && headers.location) return { action: 'redirect', status, location: headers.location };
  return { action: 'respond', status, headers, body: response.body ?? '' };
}
