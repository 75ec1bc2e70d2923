/**
 * Checks a Lambda@Edge result the way CloudFront does before using it. CloudFront answers a result that
 * fails these checks with 502 ("The Lambda function returned an invalid response", LambdaValidationError)
 * instead of guessing what was meant, so the emulator must too: a handler that only works locally because
 * the emulator was lenient would fail in production.
 */
import type { CloudFrontHeaders, CloudFrontRequest } from '../../layers/cloudfront/events';
import { type EdgeEventType, isDisallowedHeader, LIMITS, READ_ONLY_HEADERS } from './rules';

/** A response the function generated, ready to send. */
export interface GeneratedResponse {
  status: number;
  statusDescription?: string;
  /** [name as the function spelled it, value], in order. */
  headers: [string, string][];
  body: Buffer;
}

export type Outcome =
  | { kind: 'response'; response: GeneratedResponse }
  /** An origin-response result: the response to send; `body` is null when the origin's body stays. */
  | { kind: 'origin-response'; response: Omit<GeneratedResponse, 'body'> & { body: Buffer | null } }
  | { kind: 'request'; request: CloudFrontRequest }
  | { kind: 'invalid'; reason: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Returns why `headers` is not a valid CloudFront header map, or null. */
function headerProblem(headers: unknown, where: string): string | null {
  if (!isObject(headers)) return `${where} must be an object`;
  for (const [name, values] of Object.entries(headers)) {
    if (!TOKEN.test(name)) return `${where}: "${name}" is not a lower-case header name`;
    if (isDisallowedHeader(name)) return `${where}: the function may not set the "${name}" header`;
    if (!Array.isArray(values)) return `${where}.${name} must be an array of {key, value}`;
    for (const entry of values) {
      if (!isObject(entry) || typeof entry.value !== 'string') return `${where}.${name}: every entry needs a string value`;
      if (entry.key !== undefined && (typeof entry.key !== 'string' || entry.key.toLowerCase() !== name)) {
        return `${where}.${name}: key "${String(entry.key)}" does not match the header name`;
      }
      if (BAD_VALUE.test(entry.value)) return `${where}.${name}: the value holds a line break or NUL`;
    }
  }
  return null;
}

const headerText = (headers: CloudFrontHeaders | undefined, name: string) => JSON.stringify((headers?.[name] ?? []).map((h) => h.value));

function originProblem(origin: unknown): string | null {
  if (!isObject(origin)) return 'origin must be an object';
  const kinds = ['s3', 'custom'].filter((k) => origin[k] !== undefined);
  if (kinds.length !== 1) return 'origin must have exactly one of "s3" or "custom"';
  const o = origin[kinds[0]!];
  if (!isObject(o)) return `origin.${kinds[0]} must be an object`;
  if (typeof o.domainName !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(o.domainName)) return `origin.${kinds[0]}.domainName must be a host name`;
  if (typeof o.path !== 'string' || (o.path !== '' && !/^\/[^?#]*[^/?#]$/.test(o.path))) return `origin.${kinds[0]}.path must be empty or start with "/" and not end with one`;
  const custom = o.customHeaders === undefined ? null : headerProblem(o.customHeaders, `origin.${kinds[0]}.customHeaders`);
  if (custom) return custom;
  if (kinds[0] === 'custom') {
    if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535) return 'origin.custom.port must be a port number';
    if (o.protocol !== 'http' && o.protocol !== 'https') return 'origin.custom.protocol must be "http" or "https"';
    if (o.readTimeout !== undefined && (!Number.isInteger(o.readTimeout) || (o.readTimeout as number) < 1 || (o.readTimeout as number) > 180)) return 'origin.custom.readTimeout must be 1-180 seconds';
    if (o.keepaliveTimeout !== undefined && (!Number.isInteger(o.keepaliveTimeout) || (o.keepaliveTimeout as number) < 1 || (o.keepaliveTimeout as number) > 60)) return 'origin.custom.keepaliveTimeout must be 1-60 seconds';
  } else if (o.authMethod !== 'none' && o.authMethod !== 'origin-access-identity') {
    return 'origin.s3.authMethod must be "none" or "origin-access-identity"';
  }
  return null;
}

function validateResponse(eventType: EdgeEventType, result: Record<string, unknown>, limit: number): Outcome {
  const invalid = (reason: string): Outcome => ({ kind: 'invalid', reason });
  const statusText = typeof result.status === 'number' ? String(result.status) : result.status;
  if (typeof statusText !== 'string' || !/^[2-5]\d\d$/.test(statusText)) return invalid(`status "${String(result.status)}" is not an HTTP status code from 200 to 599`);
  if (result.statusDescription !== undefined && (typeof result.statusDescription !== 'string' || BAD_VALUE.test(result.statusDescription))) return invalid('statusDescription must be a single-line string');
  if (result.headers !== undefined) {
    const problem = headerProblem(result.headers, 'headers');
    if (problem) return invalid(problem);
  }
  if (result.body !== undefined && typeof result.body !== 'string') return invalid('body must be a string');
  const encoding = result.bodyEncoding ?? 'text';
  if (encoding !== 'text' && encoding !== 'base64') return invalid('bodyEncoding must be "text" or "base64"');
  const text = (result.body as string | undefined) ?? '';
  if (encoding === 'base64' && !BASE64.test(text)) return invalid('body is not valid base64');
  const body = Buffer.from(text, encoding === 'base64' ? 'base64' : 'utf8');
  const headers: [string, string][] = [];
  for (const [name, values] of Object.entries((result.headers ?? {}) as CloudFrontHeaders)) {
    for (const { key, value } of values) headers.push([key ?? name, value]);
  }
  const size = body.length + headers.reduce((sum, [k, v]) => sum + k.length + v.length + 4, 0);
  if (size > limit) return invalid(`the generated response is ${size} bytes, over the ${eventType} limit of ${limit}`);
  const response: GeneratedResponse = { status: Number(statusText), headers, body };
  if (typeof result.statusDescription === 'string') response.statusDescription = result.statusDescription;
  return { kind: 'response', response };
}

function validateRequest(eventType: EdgeEventType, input: CloudFrontRequest, result: Record<string, unknown>): Outcome {
  const invalid = (reason: string): Outcome => ({ kind: 'invalid', reason });
  if (typeof result.uri !== 'string' || !result.uri.startsWith('/') || BAD_VALUE.test(result.uri) || /\s/.test(result.uri)) return invalid('uri must start with "/" and hold no whitespace');
  if (typeof result.querystring !== 'string' || BAD_VALUE.test(result.querystring) || /\s/.test(result.querystring)) return invalid('querystring must be a string without whitespace');
  if (result.method !== input.method) return invalid('method is read-only');
  if (result.clientIp !== input.clientIp) return invalid('clientIp is read-only');
  const problem = headerProblem(result.headers, 'headers');
  if (problem) return invalid(problem);
  const headers = result.headers as CloudFrontHeaders;
  for (const name of READ_ONLY_HEADERS[eventType]) {
    if (headerText(headers, name) !== headerText(input.headers, name)) return invalid(`the function tried to add, delete, or change the read-only header "${name}"`);
  }
  if (eventType === 'viewer-request' && result.origin !== undefined) return invalid('a viewer-request function cannot choose an origin');
  if (eventType === 'origin-request') {
    const origin = originProblem(result.origin);
    if (origin) return invalid(origin);
  }
  return { kind: 'request', request: result as unknown as CloudFrontRequest };
}

/** The response an origin-response function was given: its status and headers (the body stays with CloudFront). */
export interface OriginResponseInput {
  status: string;
  headers: CloudFrontHeaders;
}

/**
 * An origin-response function returns the response, changed or not. It may change the status and headers
 * (not Transfer-Encoding or Via), and may replace the body: a `body` in the result is sent instead of the
 * origin's, within the generated-response limit; without one the origin's body goes out as it came.
 */
export function validateOriginResponse(input: OriginResponseInput, result: unknown, maxResponseBytes = LIMITS['origin-response'].maxResponseBytes): Outcome {
  if (!isObject(result)) return { kind: 'invalid', reason: 'the function returned no object' };
  if (result.status === undefined) return { kind: 'invalid', reason: 'an origin-response function must return the response (it has no status)' };
  if (!isObject(result.headers)) return { kind: 'invalid', reason: 'headers must be an object' };
  for (const name of READ_ONLY_HEADERS['origin-response']) {
    if (headerText(result.headers as CloudFrontHeaders, name) !== headerText(input.headers, name)) return { kind: 'invalid', reason: `the function tried to add, delete, or change the read-only header "${name}"` };
  }
  const outcome = validateResponse('origin-response', result, maxResponseBytes);
  if (outcome.kind !== 'response') return outcome;
  const replaced = result.body !== undefined;
  return { kind: 'origin-response', response: { ...outcome.response, body: replaced ? outcome.response.body : null } };
}

/** Validates what a function returned for an event whose request was `input`. */
export function validateResult(eventType: Exclude<EdgeEventType, 'origin-response'>, input: CloudFrontRequest, result: unknown, maxResponseBytes = LIMITS[eventType].maxResponseBytes): Outcome {
  if (!isObject(result)) return { kind: 'invalid', reason: 'the function returned no object' };
  // CloudFront treats a result with a status as a generated response, anything else as the request.
  return result.status !== undefined ? validateResponse(eventType, result, maxResponseBytes) : validateRequest(eventType, input, result);
}
