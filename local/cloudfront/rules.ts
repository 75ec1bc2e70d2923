/**
 * What CloudFront enforces on Lambda@Edge, as AWS documents it (Quotas on Lambda@Edge; Restrictions on all
 * edge functions), in one place so the emulator and its tests agree on the numbers.
 */
export type EdgeEventType = 'viewer-request' | 'origin-request' | 'origin-response';

export interface FunctionLimits {
  /** Longest an invocation may run; past it CloudFront answers 503 (LambdaExecutionError). */
  timeoutMs: number;
  /** The function's memory; the emulator applies it to the worker's V8 heap. */
  memoryMb: number;
  /** Largest generated response, headers and body together; larger is a validation error (502). */
  maxResponseBytes: number;
}

export const LIMITS: Record<EdgeEventType, FunctionLimits> = {
  'viewer-request': { timeoutMs: 5_000, memoryMb: 128, maxResponseBytes: 40 * 1024 },
  'origin-request': { timeoutMs: 30_000, memoryMb: 128, maxResponseBytes: 1024 * 1024 },
  // A body the function writes into an origin response counts as a generated response (1 MB for origin
  // triggers); a response it only re-heads keeps the origin's body, which has no such limit.
  'origin-response': { timeoutMs: 30_000, memoryMb: 128, maxResponseBytes: 1024 * 1024 },
};

/**
 * Headers CloudFront neither shows to a function nor lets it add: a result that adds one fails validation.
 * Hop-by-hop headers belong to the connection, the x-amz(n)-/x-edge- ones to CloudFront itself.
 */
const DISALLOWED = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'trailer',
  'upgrade',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-limit-rate',
  'x-accel-redirect',
  'x-amzn-auth',
  'x-amzn-cf-billing',
  'x-amzn-cf-id',
  'x-amzn-cf-xff',
  'x-amzn-errortype',
  'x-amzn-fle-profile',
  'x-amzn-header-count',
  'x-amzn-header-order',
  'x-amzn-lambda-integration-tag',
  'x-amzn-requestid',
  'x-cache',
  'x-forwarded-proto',
  'x-real-ip',
]);

export function isDisallowedHeader(lowerName: string): boolean {
  return DISALLOWED.has(lowerName) || lowerName.startsWith('x-amz-cf-') || lowerName.startsWith('x-edge-');
}

/** Headers a function may read but not add, change or remove, per event type. */
export const READ_ONLY_HEADERS: Record<EdgeEventType, readonly string[]> = {
  'viewer-request': ['content-length', 'host', 'transfer-encoding', 'via'],
  'origin-request': ['accept-encoding', 'content-length', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'range', 'transfer-encoding', 'via'],
  'origin-response': ['transfer-encoding', 'via'],
};

/**
 * Origin group failover criteria: a response with one of these from the first member makes CloudFront
 * try the second (so do connection errors and timeouts). Only for GET, HEAD and OPTIONS.
 */
export const FAILOVER_STATUSES: readonly number[] = [403, 404, 500, 502, 503, 504];
export const FAILOVER_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];
