/**
 * An HTTP proxy in front of a local server (moto_server) that misbehaves on request: answers 500, drops
 * the connection before or after the request reached the server, or goes away entirely ("the S3 server
 * is down") and comes back on the same port. Faults are chosen by rules (which requests, how often,
 * how many times) with a seeded random source, so a failing run can be repeated exactly.
 *
 *   const proxy = await startFaultyProxy(moto.endpoint);
 *   proxy.setRules([{ match: (r) => r.path.startsWith('/bucket-b/'), fault: 'error-500' }]);
 *   ... proxy.log (every request seen), proxy.faults (what was injected)
 */
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './ports';
import { seeded } from './seeded';

export type Fault =
  /** 500 InternalError, the request never reaches the server. */
  | 'error-500'
  /** The request reaches the server (it takes effect), the client gets 500: the nastiest retry case. */
  | 'error-500-after'
  /** Connection closed before the request is forwarded. */
  | 'reset-before'
  /** Forwarded; the connection is cut in the middle of the response. */
  | 'reset-after';

export interface ProxiedRequest {
  method: string;
  /** Path without the query string, URL-decoded. */
  path: string;
  /** The query string (without "?"). */
  query: string;
  headers: IncomingMessage['headers'];
}

export interface FaultRule {
  fault: Fault;
  /** Which requests (default: all). */
  match?: (request: ProxiedRequest) => boolean;
  /** Fraction of matching requests that get the fault (default 1). */
  probability?: number;
  /** At most this many faults from this rule (default: no limit). */
  times?: number;
}

export interface FaultyProxy {
  endpoint: string;
  port: number;
  /** Every request seen, in arrival order (also while faults were injected). */
  log: ProxiedRequest[];
  /** Injected faults, in order. */
  faults: { fault: Fault; request: ProxiedRequest }[];
  setRules(rules: FaultRule[]): void;
  /** Stop listening and cut every open connection: clients get "connection refused" until resume(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const S3_INTERNAL_ERROR =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>';

function answer500(res: ServerResponse) {
  res.writeHead(500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(S3_INTERNAL_ERROR) });
  res.end(S3_INTERNAL_ERROR);
}

export async function startFaultyProxy(target: string, options: { seed?: number; port?: number } = {}): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const random = seeded(options.seed ?? 1);
  const port = options.port ?? (await freePort());
  let rules: { rule: FaultRule; used: number }[] = [];
  const log: ProxiedRequest[] = [];
  const faults: FaultyProxy['faults'] = [];
  const sockets = new Set<Socket>();

  const pick = (request: ProxiedRequest): Fault | undefined => {
    for (const entry of rules) {
      const { rule } = entry;
      if (rule.match && !rule.match(request)) continue;
      if (rule.times !== undefined && entry.used >= rule.times) continue;
      if (random() >= (rule.probability ?? 1)) continue;
      entry.used++;
      return rule.fault;
    }
    return undefined;
  };

  /** Sends the request on; resolves with the server's answer, body in full. */
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const request: ProxiedRequest = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: url.search.slice(1), headers: req.headers };
    log.push(request);
    const fault = pick(request);
    if (fault) faults.push({ fault, request });
    if (fault === 'reset-before') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (fault === 'error-500') return answer500(res);
    let answer;
    try {
      answer = await forward(req, Buffer.concat(chunks));
    } catch {
      req.socket.destroy();
      return;
    }
    if (fault === 'error-500-after') return answer500(res);
    if (fault === 'reset-after') {
      // Headers and part of the body, then nothing: a connection lost mid-response.
      res.writeHead(answer.status, answer.headers);
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
      setImmediate(() => req.socket.destroy());
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        handle(req, res).catch(() => req.socket.destroy());
      });
      s.keepAliveTimeout = 5_000;
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (!s) return resolve();
      s.close(() => resolve());
    });

  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    log,
    faults,
    setRules(next) {
      rules = next.map((rule) => ({ rule, used: 0 }));
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
