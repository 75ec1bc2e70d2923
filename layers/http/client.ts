/**
 * The edge's HTTP client, on node:http and node:https: what the viewer function needs of a network (the
 * blob-existence HEAD, the range refresh's GETs) and nothing more.
 *
 * Why not `fetch`: Node loads its implementation (undici) on first use, about 18-20 ms on Node 22, and
 * an edge function pays that on the first request of every instance, which is the request that waits for
 * the existence HEAD and the first range refresh. node:https (node:http with it) loads in about 4.5 ms,
 * and only when the first request to that protocol is made, so a cold start's module init pays nothing.
 *
 * - One keep-alive agent per protocol for the whole process: the existence HEAD is on the request path,
 *   and a warm instance asks the same few buckets again and again, so a connection (and its TLS
 *   handshake) is set up once. A kept-alive connection the server has since closed (Lambda freezes an
 *   instance between requests for as long as it likes) fails at once when reused: the request is sent
 *   again on another connection, which is what Node's documentation advises (`request.reusedSocket`).
 * - `timeoutMs` and `signal` bound the whole exchange, answer and body: past them the request fails
 *   with an `HttpTimeout` (or the signal's reason) and its connection is closed.
 * - Bodies come decoded as `content-encoding` says (gzip, deflate, br), as fetch delivers them: the range
 *   tables are stored gzip-encoded. `body(limit)` counts the bytes as they are decoded and stops at the
 *   limit, so a small compressed body cannot inflate to anything.
 * - Redirects are not followed: a 3xx is an answer like any other.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable, Transform } from 'node:stream';

export interface HttpRequestOptions {
  /** GET unless said. */
  method?: 'GET' | 'HEAD';
  /** Request headers; `host` is set from the URL unless given. */
  headers?: Record<string, string>;
  /** The most the exchange may take, answer and body (read with `body`) together. */
  timeoutMs?: number;
  /** Ends the exchange when it aborts (a deadline shared by several requests). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** A response header by its lower-case name (repeated ones joined with ", "), or undefined. */
  header(name: string): string | undefined;
  /**
   * The body, decoded as its content-encoding says, of at most `limit` bytes: a longer one is a
   * `BodyTooLarge`, found while reading (the connection is closed then). Empty for a HEAD, 204 or 304.
   */
  body(limit: number): Promise<Uint8Array>;
  /** Not reading the body: drains it, so that the connection can serve the next request. */
  discard(): void;
}

export type HttpClient = (url: string, options?: HttpRequestOptions) => Promise<HttpResponse>;

/** No answer, or not the whole body, within `timeoutMs`. */
export class HttpTimeout extends Error {
  override readonly name = 'HttpTimeout';
}

/** A body longer than the limit it was read with. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

/**
 * At most this many connections to one host at a time. Lambda gives an instance one request at a time, and
 * a request makes at most two (the HEAD, a refresh's GET); a local stack running many requests at once
 * queues beyond this rather than opening hundreds of connections.
 */
export const MAX_SOCKETS_PER_HOST = 16;

interface Transport {
  request(options: RequestOptions, callback?: (response: IncomingMessage) => void): ClientRequest;
  agent: Agent;
}

let plain: Transport | undefined;
let secure: Transport | undefined;

/** node:http or node:https and its agent, loaded on first use (a cold start that makes no request pays nothing). */
function transportFor(protocol: string): Transport {
  if (protocol === 'https:') {
    if (!secure) {
      const https = process.getBuiltinModule('node:https');
      secure = { request: https.request, agent: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }) };
    }
    return secure;
  }
  if (protocol === 'http:') {
    if (!plain) {
      const http = process.getBuiltinModule('node:http');
      plain = { request: http.request, agent: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }) };
    }
    return plain;
  }
  throw new Error(`${protocol} URLs are not supported (http: or https: only)`);
}

/** The errors a kept-alive connection closed by the server gives when it is written to. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Whether a response to `method` with `status` has no body to read (RFC 9110, section 6.4.1). */
const bodiless = (method: string, status: number) => method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);

function decoderFor(encoding: string): Transform | null | undefined {
  switch (encoding) {
    case '':
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
      // Loaded only for an encoded body: about 1.5 ms that a plain one never pays.
      return process.getBuiltinModule('node:zlib').createGunzip();
    case 'deflate':
      return process.getBuiltinModule('node:zlib').createInflate();
    case 'br':
      return process.getBuiltinModule('node:zlib').createBrotliDecompress();
    default:
      return undefined;
  }
}

const abortReason = (signal: AbortSignal): Error => (signal.reason instanceof Error ? signal.reason : new Error(`aborted: ${String(signal.reason)}`));

/** The client: a request to `url`, answered once its status and headers are in. */
export const httpRequest: HttpClient = (url, options = {}) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const { signal, timeoutMs } = options;
    const method = options.method ?? 'GET';
    let target: URL;
    let transport: Transport;
    try {
      target = new URL(url);
      transport = transportFor(target.protocol);
    } catch (error) {
      return reject(error);
    }
    if (signal?.aborted) return reject(abortReason(signal));

    let request: ClientRequest | undefined;
    let message: IncomingMessage | undefined;
    /** Set once the exchange is over, whichever way: later events change nothing. */
    let ended = false;
    let failure: Error | undefined;
    /** Who hears of a failure: the caller waiting for the answer, then the one reading the body. */
    let failed: (error: Error) => void = reject;

    const end = () => {
      ended = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error) => {
      if (ended) return;
      end();
      failure = error;
      // Closes the connection: a half-read answer cannot be followed by another on it.
      request?.destroy();
      message?.destroy();
      failed(error);
    };
    const onAbort = () => fail(abortReason(signal!));
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => fail(new HttpTimeout(`no answer from ${target.host} within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    const send = () => {
      const sent = transport.request({
        agent: transport.agent,
        method,
        protocol: target.protocol,
        // An IPv6 literal is written in brackets in a URL, not in a socket address.
        hostname: target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, ...options.headers },
      });
      request = sent;
      sent.on('error', (error: NodeJS.ErrnoException) => {
        if (ended) return;
        // A connection kept alive that the server has closed meanwhile: the request never reached it.
        if (message === undefined && sent.reusedSocket && STALE_CONNECTION.has(error.code ?? '')) return send();
        fail(error);
      });
      sent.on('response', (answer) => {
        if (ended) return answer.resume();
        message = answer;
        const status = answer.statusCode ?? 0;
        // Listened to from the start, read or not: an unheard 'error' would end the process. A connection
        // closed before the body was whole (its content-length, or its last chunk) is a failure too.
        answer.on('error', fail);
        answer.on('close', () => {
          if (!answer.complete) fail(new Error(`the connection to ${target.host} closed before the body ended`));
        });
        let taken = false;
        const drain = (then?: () => void) => {
          answer.on('end', () => {
            if (!ended) end();
            then?.();
          });
          answer.resume();
        };
        const response: HttpResponse = {
          status,
          header(name) {
            const value = answer.headers[name];
            return Array.isArray(value) ? value.join(', ') : value;
          },
          discard() {
            if (taken) return;
            taken = true;
            if (!ended) drain();
          },
          body(limit) {
            if (taken) return Promise.reject(new Error('the body was read or discarded already'));
            taken = true;
            if (failure) return Promise.reject(failure);
            if (bodiless(method, status)) return Promise.resolve(new Uint8Array(0));
            return new Promise<Uint8Array>((resolveBody, rejectBody) => {
              failed = rejectBody;
              const encoding = (answer.headers['content-encoding'] ?? '').trim().toLowerCase();
              const decoder = decoderFor(encoding);
              if (decoder === undefined) return fail(new Error(`content-encoding ${encoding} is not supported`));
              const chunks: Uint8Array[] = [];
              let length = 0;
              const source: Readable = decoder ?? answer;
              if (decoder) {
                decoder.on('error', (error) => fail(new Error(`the ${encoding} body does not decode: ${error.message}`)));
                answer.pipe(decoder);
              }
              source.on('data', (chunk: Buffer) => {
                if (ended) return;
                if (length + chunk.length > limit) return fail(new BodyTooLarge(limit));
                chunks.push(chunk);
                length += chunk.length;
              });
              source.on('end', () => {
                if (ended) return;
                end();
                // One buffer of its own, at offset 0: the table's typed-array views need an aligned start.
                const out = new Uint8Array(length);
                let at = 0;
                for (const chunk of chunks) {
                  out.set(chunk, at);
                  at += chunk.length;
                }
                resolveBody(out);
              });
            });
          },
        };
        // Nothing to read: answered once the message has ended, when its connection is free again (a
        // HEAD followed at once by another request then reuses it rather than opening a second one).
        if (bodiless(method, status)) drain(() => resolve(response));
        else resolve(response);
      });
      sent.end();
    };
    send();
  });
