/**
 * One request from the emulated edge to a CloudFront origin (custom, or S3 by its domain name), answered
 * as a stream: blobs pass through without being held in memory.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { CloudFrontRequest } from '../../layers/cloudfront/events';

export type OriginAttempt =
  | { ok: true; url: string; response: IncomingMessage }
  | { ok: false; url: string; timeout: boolean; message: string };

/** Keep-alive agents: a pull makes several requests in a row to the same bucket. */
export function createOriginAgents() {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 5_000 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 5_000 });
  return { http, https, destroy: () => (http.destroy(), https.destroy()) };
}

export type OriginAgents = ReturnType<typeof createOriginAgents>;

/** Where CloudFront would connect for this request, and the path it would ask for. */
export function originTarget(request: CloudFrontRequest): { protocol: 'http' | 'https'; host: string; port: number; path: string; readTimeoutMs: number; customHeaders: Record<string, string> } {
  const origin = request.origin!;
  const custom = origin.custom;
  const base = custom ?? origin.s3!;
  const customHeaders: Record<string, string> = {};
  for (const [name, values] of Object.entries(base.customHeaders ?? {})) customHeaders[name] = values.map((v) => v.value).join(', ');
  return {
    protocol: custom ? custom.protocol : 'https',
    host: base.domainName,
    port: custom ? custom.port : 443,
    path: `${base.path}${request.uri}${request.querystring ? `?${request.querystring}` : ''}`,
    readTimeoutMs: (custom?.readTimeout ?? 30) * 1000,
    customHeaders,
  };
}

export function fetchFromOrigin(request: CloudFrontRequest, agents: OriginAgents): Promise<OriginAttempt> {
  const target = originTarget(request);
  const url = `${target.protocol}://${target.host}:${target.port}${target.path}`;
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(request.headers)) {
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    if (values.length === 0) continue;
    // Node wants a string for Host (and one value is the common case); repeated headers stay repeated.
    headers[name] = values.length === 1 || name === 'host' ? values[0]!.value : values.map((v) => v.value);
  }
  // The origin's custom headers go on every request to it, over any the request carries.
  Object.assign(headers, target.customHeaders);
  const send = target.protocol === 'https' ? httpsRequest : httpRequest;
  return new Promise<OriginAttempt>((resolve) => {
    let settled = false;
    const settle = (attempt: OriginAttempt) => {
      if (!settled) {
        settled = true;
        resolve(attempt);
      }
    };
    const req = send({
      host: target.host,
      port: target.port,
      method: request.method,
      path: target.path,
      headers,
      agent: target.protocol === 'https' ? agents.https : agents.http,
    });
    req.setTimeout(target.readTimeoutMs, () => {
      settle({ ok: false, url, timeout: true, message: `no answer from ${url} within ${target.readTimeoutMs} ms` });
      req.destroy(new Error('origin read timeout'));
    });
    req.on('response', (response) => settle({ ok: true, url, response }));
    req.on('error', (error) => settle({ ok: false, url, timeout: false, message: `${url}: ${error.message}` }));
    req.end();
  });
}
