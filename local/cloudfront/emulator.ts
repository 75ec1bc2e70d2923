/**
 * A local CloudFront distribution with one cache behaviour, for the local stack and the end-to-end tests:
 *
 *   viewer ──► viewer-request function ──► generated response (sent as is)
 *                                      └─► request ──► origin group, member 1: origin-request function ──► origin
 *                                                      on 403/404/5xx or no answer, member 2: the same again
 *
 * The functions are the bundles `serverless package` ships, each in its own worker (./lambda.ts), their
 * results checked as CloudFront checks them (./validate.ts). `clientIp` is the TCP peer's address, so a
 * client that binds 127.0.2.10 is, to the functions, a client at 127.0.2.10.
 *
 * Not emulated: the cache (every forwarded request is a miss, which is what the tests want: what a client
 * gets is what the origin holds now), TLS, HTTP/2, request bodies (this registry is read-only).
 */
import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import type { CloudFrontRequest } from '../../layers/cloudfront/events';
import { EdgeLambda, type Invocation } from './lambda';
import { createOriginAgents, fetchFromOrigin } from './origin-fetch';
import { type EdgeEventType, FAILOVER_METHODS, FAILOVER_STATUSES, type FunctionLimits, LIMITS } from './rules';
import { clientIpOf, originEvent, viewerEvent } from './shapes';
import { createStandardLogWriter } from './standard-log';
import { type GeneratedResponse, validateResult } from './validate';

export type CloudFrontOrigin = NonNullable<CloudFrontRequest['origin']>;

export interface EmulatorOptions {
  /** Bundle of the viewer-request function. */
  viewerRequest: string;
  /** Bundle of the origin-request function (none: origins are used as configured). */
  originRequest?: string;
  /** The region of the regional edge cache this emulated edge uses: the origin-request function's AWS_REGION. */
  edgeRegion?: string;
  /** The behaviour's origin: one origin, or an origin group of two (the second is the failover). */
  origins: [CloudFrontOrigin] | [CloudFrontOrigin, CloudFrontOrigin];
  failoverStatuses?: readonly number[];
  /** Viewer headers passed to the origin (lower-case). The rest stop at the edge, as with CloudFront's managed policies. */
  forwardHeaders?: readonly string[];
  /** Pass the query string to the origin (off, as in CachingOptimized: S3 must never see `?acl` and friends). */
  forwardQueryString?: boolean;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  distributionDomainName?: string;
  /** One record per request, when its response has ended. */
  onAccess?: (entry: AccessLogEntry) => void;
  /** Also append each request to this file as a CloudFront standard log line (W3C, ./standard-log.ts). */
  accessLogFile?: string;
  /** Lines the functions write (console.log) */
  onFunctionLog?: (fn: string, line: string) => void;
  /** Lambda@Edge's limits (./rules.ts) unless overridden: the tests shorten the timeouts. */
  limits?: Partial<Record<EdgeEventType, Partial<FunctionLimits>>>;
}

/** A request as CloudFront's standard logs would tell it, plus what the emulator can say about origins. */
export interface AccessLogEntry {
  time: string;
  requestId: string;
  clientIp: string;
  method: string;
  uri: string;
  querystring: string;
  status: number;
  /** CloudFront's x-edge-result-type / x-edge-detailed-result-type. */
  resultType: 'LambdaGeneratedResponse' | 'Miss' | 'Error' | 'LambdaValidationError' | 'LambdaExecutionError';
  location?: string;
  /** Each origin tried, in order, with its status or error. */
  origins: { url: string; status?: number; error?: string }[];
  /** Why the request failed, when it did (not shown to the viewer in detail by CloudFront; here it is). */
  error?: string;
  /** The response ended before all of it was sent (client gone, origin broke off). */
  aborted?: boolean;
  durationMs: number;
  /** Bytes written to the viewer's connection for this response, headers included (CloudFront's sc-bytes). */
  bytesSent: number;
  /** Bytes of the request line and headers (cs-bytes; bodies are drained, not counted). */
  bytesReceived: number;
  /** The rest of what a CloudFront standard log line records. */
  edgeLocation: string;
  distributionDomainName: string;
  viewer: { port: number; host: string; userAgent: string; referer: string; forwardedFor: string; protocolVersion: string };
  response: { contentType?: string; contentLength?: number; contentRange?: string };
  timeToFirstByteMs?: number;
}

export interface CloudFrontEmulator {
  url: string;
  host: string;
  port: number;
  edgeRegion: string;
  viewer: EdgeLambda;
  origin: EdgeLambda | null;
  stop(): Promise<void>;
}

/** Viewer headers the blob behaviour passes to S3: ranges and validators, which S3 answers itself. */
export const DEFAULT_FORWARD_HEADERS = ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range'] as const;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer', 'te']);

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** What a standard log line records of a response's headers (any spelling of their names). */
function responseSummary(headers: OutgoingHttpHeaders): AccessLogEntry['response'] {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) lower[name.toLowerCase()] = Array.isArray(value) ? String(value[0]) : String(value);
  const length = Number(lower['content-length']);
  return {
    ...(lower['content-type'] ? { contentType: lower['content-type'] } : {}),
    ...(lower['content-length'] !== undefined && Number.isSafeInteger(length) ? { contentLength: length } : {}),
    ...(lower['content-range'] ? { contentRange: lower['content-range'] } : {}),
  };
}

/** The request line and headers as they came over the wire: what CloudFront counts as cs-bytes. */
function requestHeaderBytes(req: IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}\r\n\r\n`);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) bytes += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
  return bytes;
}

/** CloudFront's error page, with the emulator's reason in it (CloudFront keeps that to its logs). */
function errorPage(status: number, message: string, reason: string, requestId: string): string {
  return [
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">',
    '<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">',
    '<TITLE>ERROR: The request could not be satisfied</TITLE>',
    '</HEAD><BODY>',
    `<H1>${status} ERROR</H1>`,
    '<H2>The request could not be satisfied.</H2>',
    '<HR noshade size="1px">',
    `${message}`,
    `<BR clear="all">\n${reason.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}`,
    '<HR noshade size="1px">',
    '<PRE>',
    'Generated by cloudfront (CloudFront) [registry-edge local emulator]',
    `Request ID: ${requestId}`,
    '</PRE>',
    '</BODY></HTML>',
    '',
  ].join('\n');
}

export async function startCloudFrontEmulator(options: EmulatorOptions): Promise<CloudFrontEmulator> {
  const edgeRegion = options.edgeRegion ?? 'us-east-1';
  const distributionDomainName = options.distributionDomainName ?? 'd111111abcdef8.cloudfront.net';
  const failoverStatuses = options.failoverStatuses ?? FAILOVER_STATUSES;
  const forwardHeaders = options.forwardHeaders ?? DEFAULT_FORWARD_HEADERS;
  const forwardQueryString = options.forwardQueryString ?? false;
  const functionLog = (fn: string) => (line: string) => options.onFunctionLog?.(fn, line);
  const limits = (type: EdgeEventType): FunctionLimits => ({ ...LIMITS[type], ...options.limits?.[type] });
  // Opened first: a path that cannot be written fails the start before anything else runs.
  const standardLog = options.accessLogFile ? createStandardLogWriter(options.accessLogFile) : null;
  // The viewer function gets no environment at all: Lambda@Edge has no configuration to give, and this
  // proves it needs none. The origin function gets the one variable its logic reads, which Lambda sets.
  const viewer = new EdgeLambda({ file: options.viewerRequest, env: {}, limits: limits('viewer-request'), log: functionLog('viewer-request') });
  const origin = options.originRequest
    ? new EdgeLambda({ file: options.originRequest, env: { AWS_REGION: edgeRegion }, limits: limits('origin-request'), log: functionLog('origin-request') })
    : null;
  const agents = createOriginAgents();
  const pop = `LOCAL-${edgeRegion}`;

  try {
    await Promise.all([viewer.warm(), origin?.warm()]);
  } catch (error) {
    await Promise.all([viewer.stop(), origin?.stop()]);
    standardLog?.close();
    throw error;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: AccessLogEntry, started: number): Promise<void> {
    const method = req.method ?? 'GET';
    /** Called just before each writeHead below: the standard log's time-to-first-byte and response fields. */
    const answering = (headers: OutgoingHttpHeaders) => {
      entry.timeToFirstByteMs = Math.round((performance.now() - started) * 100) / 100;
      entry.response = responseSummary(headers);
    };
    const cfHeaders = (cache: string): OutgoingHttpHeaders => ({
      'x-cache': `${cache} from cloudfront`,
      via: `1.1 ${entry.requestId.slice(0, 32).toLowerCase()}.cloudfront.net (CloudFront)`,
      'x-amz-cf-pop': pop,
      'x-amz-cf-id': entry.requestId,
    });
    const sendError = (status: number, resultType: AccessLogEntry['resultType'], message: string, reason: string) => {
      entry.resultType = resultType;
      entry.error = reason;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = Buffer.from(errorPage(status, message, reason, entry.requestId), 'latin1');
      const headers = { ...cfHeaders(resultType), server: 'CloudFront', 'content-type': 'text/html', 'content-length': body.length };
      answering(headers);
      res.writeHead(status, STATUS_TEXT[status], headers);
      res.end(method === 'HEAD' ? undefined : body);
    };
    const sendGenerated = (response: GeneratedResponse) => {
      entry.resultType = 'LambdaGeneratedResponse';
      const headers: [string, string][] = response.headers.filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()) && name.toLowerCase() !== 'content-length');
      const location = headers.find(([name]) => name.toLowerCase() === 'location');
      if (location) entry.location = location[1];
      const all: OutgoingHttpHeaders = { ...cfHeaders('LambdaGeneratedResponse'), server: 'CloudFront' };
      for (const [name, value] of headers) {
        const existing = all[name];
        all[name] = existing === undefined ? value : ([] as string[]).concat(existing as string | string[], value);
      }
      all['content-length'] = response.body.length;
      answering(all);
      res.writeHead(response.status, response.statusDescription ?? STATUS_CODES[response.status] ?? '', all);
      res.end(method === 'HEAD' ? undefined : response.body);
    };
    /** Runs a function; answers the viewer and returns null when it failed or generated a response. */
    const run = async (fn: EdgeLambda, eventType: EdgeEventType, event: ReturnType<typeof viewerEvent>): Promise<CloudFrontRequest | null> => {
      const invocation: Invocation = await fn.invoke(event);
      if (!invocation.ok) {
        sendError(503, 'LambdaExecutionError', 'The Lambda function associated with the CloudFront distribution is invalid or doesn\'t have the required permissions.', `${eventType}: ${invocation.message}`);
        return null;
      }
      const outcome = validateResult(eventType, event.Records[0]!.cf.request, invocation.result, limits(eventType).maxResponseBytes);
      if (outcome.kind === 'invalid') {
        sendError(502, 'LambdaValidationError', 'The Lambda function returned an invalid response.', `${eventType}: ${outcome.reason}`);
        return null;
      }
      if (outcome.kind === 'response') {
        sendGenerated(outcome.response);
        return null;
      }
      return outcome.request;
    };

    if (!req.url || !req.url.startsWith('/')) {
      sendError(400, 'Error', 'Bad request.', 'the request target must be a path');
      return;
    }
    const event = viewerEvent({ clientIp: entry.clientIp, method, url: req.url, rawHeaders: req.rawHeaders, distributionDomainName, requestId: entry.requestId });
    entry.uri = event.Records[0]!.cf.request.uri;
    entry.querystring = event.Records[0]!.cf.request.querystring;
    const forwarded = await run(viewer, 'viewer-request', event);
    if (!forwarded) return;

    const members = options.origins;
    for (let i = 0; i < members.length; i++) {
      const canFailOver = i < members.length - 1 && FAILOVER_METHODS.includes(method);
      const originRequestEvent = originEvent({ request: forwarded, origin: members[i]!, forwardHeaders, forwardQueryString, distributionDomainName, requestId: entry.requestId });
      const request = origin ? await run(origin, 'origin-request', originRequestEvent) : originRequestEvent.Records[0]!.cf.request;
      if (!request) return;
      const attempt = await fetchFromOrigin(request, agents);
      if (!attempt.ok) {
        entry.origins.push({ url: attempt.url, error: attempt.message });
        if (canFailOver) continue;
        sendError(attempt.timeout ? 504 : 502, 'Error', attempt.timeout ? 'CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection.' : "CloudFront wasn't able to connect to the origin.", attempt.message);
        return;
      }
      const upstream = attempt.response;
      const status = upstream.statusCode ?? 502;
      entry.origins.push({ url: attempt.url, status });
      if (canFailOver && failoverStatuses.includes(status)) {
        upstream.resume();
        continue;
      }
      entry.resultType = status >= 400 ? 'Error' : 'Miss';
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upstream.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      answering(headers);
      res.writeHead(status, upstream.statusMessage ?? '', { ...headers, ...cfHeaders(status >= 400 ? 'Error' : 'Miss') });
      await new Promise<void>((resolve) => {
        pipeline(upstream, res, (error) => {
          if (error) entry.aborted = true;
          resolve();
        });
      });
      return;
    }
  }

  const server: Server = createServer({ maxHeaderSize: 20 * 1024, requestTimeout: 120_000 }, (req, res) => {
    req.resume(); // bodies are not forwarded (read-only registry); drain them so keep-alive works
    const started = performance.now();
    // Responses on a keep-alive connection follow each other, so what this one wrote is the difference.
    const socket = req.socket;
    const writtenBefore = socket.bytesWritten ?? 0;
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : (value ?? '');
    };
    const entry: AccessLogEntry = {
      time: new Date().toISOString(),
      requestId: randomBytes(42).toString('base64url'),
      clientIp: clientIpOf(req.socket.remoteAddress),
      method: req.method ?? '',
      uri: '',
      querystring: '',
      status: 0,
      resultType: 'Miss',
      origins: [],
      durationMs: 0,
      bytesSent: 0,
      bytesReceived: requestHeaderBytes(req),
      edgeLocation: pop,
      distributionDomainName,
      viewer: { port: socket.remotePort ?? 0, host: header('host'), userAgent: header('user-agent'), referer: header('referer'), forwardedFor: header('x-forwarded-for'), protocolVersion: `HTTP/${req.httpVersion}` },
      response: {},
    };
    res.once('close', () => {
      entry.status = res.statusCode;
      entry.durationMs = Math.round((performance.now() - started) * 100) / 100;
      if (!res.writableFinished) entry.aborted = true;
      // Bytes handed to the network; any still queued in this process when the viewer went away were not sent.
      entry.bytesSent = Math.max(0, (socket.bytesWritten ?? 0) - writtenBefore - (socket.destroyed ? socket.writableLength : 0));
      standardLog?.write(entry);
      options.onAccess?.(entry);
    });
    handle(req, res, entry, started).catch((error: Error) => {
      entry.error = error.message;
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('emulator error\n');
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await Promise.all([viewer.stop(), origin?.stop()]);
    agents.destroy();
    standardLog?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    edgeRegion,
    viewer,
    origin,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agents.destroy();
      standardLog?.close();
      await Promise.all([viewer.stop(), origin?.stop()]);
    },
  };
}
