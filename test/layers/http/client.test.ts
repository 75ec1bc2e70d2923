/**
 * The edge's HTTP client against real local servers: answers and headers, connections kept alive and
 * reused (and a reused one the server had closed), timeouts and aborts, bodies decoded and bounded while
 * read, no redirect followed, and HTTPS with certificates verified.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BodyTooLarge, HttpTimeout, httpRequest } from '../../../layers/http/client';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server whose answer each test sets; it counts connections and requests, and keeps what was sent. */
let handle: Handler = (_req, res) => res.end();
let server: HttpServer;
let base: string;
let connections = 0;
const received: IncomingMessage[] = [];
const open = new Set<Socket>();

async function listen(s: HttpServer | HttpsServer | NetServer): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as { port: number }).port;
}

/** Stops a raw TCP server, its connections too (the client keeps idle ones open, as it should). */
function stop(s: NetServer, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => s.close(() => resolve()));
}

beforeAll(async () => {
  server = createHttpServer((req, res) => {
    received.push(req);
    handle(req, res);
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  base = `http://127.0.0.1:${await listen(server)}`;
});

afterAll(async () => {
  for (const socket of open) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('answers', () => {
  test('a GET: the status, headers by lower-case name (repeated ones joined), the body as bytes', async () => {
    handle = (_req, res) => {
      res.setHeader('ETag', '"abc"');
      res.setHeader('x-many', ['one', 'two']);
      res.writeHead(200).end('hello');
    };
    const response = await httpRequest(`${base}/cfg/ranges/current.json`);
    expect(response.status).toBe(200);
    expect(response.header('etag')).toBe('"abc"');
    expect(response.header('x-many')).toBe('one, two');
    expect(response.header('x-absent')).toBeUndefined();
    const body = await response.body(100);
    expect(body).toBeInstanceOf(Uint8Array);
    expect(text(body)).toBe('hello');
    await expect(response.body(100)).rejects.toThrow('read or discarded already');
  });

  test('sends the method, the path and query, the headers given, and the URL\'s host (port included)', async () => {
    handle = (_req, res) => res.end();
    const response = await httpRequest(`${base}/cfg/a%20b?versionId=1`, { method: 'HEAD', headers: { 'if-none-match': '"e"', 'x-amz-date': '20260101T000000Z' } });
    response.discard();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'HEAD', url: '/cfg/a%20b?versionId=1' });
    expect(received[0]!.headers).toMatchObject({ host: base.slice('http://'.length), 'if-none-match': '"e"', 'x-amz-date': '20260101T000000Z' });
  });

  test.each([
    ['a HEAD', 'HEAD' as const, 200],
    ['a 304', 'GET' as const, 304],
    ['a 204', 'GET' as const, 204],
  ])('%s has an empty body', async (_name, method, status) => {
    handle = (_req, res) => res.writeHead(status, { etag: '"x"' }).end();
    const response = await httpRequest(`${base}/x`, { method });
    expect(response.status).toBe(status);
    expect(await response.body(10)).toHaveLength(0);
  });

  test('a redirect is an answer, not followed', async () => {
    handle = (req, res) => res.writeHead(req.url === '/there' ? 200 : 307, { location: `${base}/there` }).end();
    const response = await httpRequest(`${base}/here`);
    response.discard();
    expect(response.status).toBe(307);
    expect(response.header('location')).toBe(`${base}/there`);
    expect(received.map((r) => r.url)).toEqual(['/here']);
  });

  test.each([
    ['an ftp: URL', 'ftp://127.0.0.1/x', 'ftp: URLs are not supported'],
    ['not a URL', 'nothing', 'Invalid URL'],
  ])('%s is refused', async (_name, url, message) => {
    await expect(httpRequest(url)).rejects.toThrow(message);
  });
});

describe('connections', () => {
  test('are kept alive and reused: requests one after another, HEADs and GETs alike, share one', async () => {
    // As S3 answers: a HEAD with the object's length (without one, Node's server closes the connection).
    handle = (req, res) => res.writeHead(200, { 'content-length': 2 }).end(req.method === 'HEAD' ? undefined : 'ok');
    // A connection of its own for this test: the server forgets those of earlier tests.
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = connections;
    for (let i = 0; i < 5; i++) {
      const head = await httpRequest(`${base}/blob/${i}`, { method: 'HEAD', timeoutMs: 2000 });
      expect(head.status).toBe(200);
      const get = await httpRequest(`${base}/blob/${i}`, { timeoutMs: 2000 });
      expect(text(await get.body(10))).toBe('ok');
    }
    expect(received).toHaveLength(10);
    expect(connections - before).toBe(1);
  });

  test('a body discarded unread still frees its connection for the next request', async () => {
    handle = (_req, res) => res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
    const first = await httpRequest(`${base}/a`);
    first.discard();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const before = connections;
    (await httpRequest(`${base}/b`)).discard();
    expect(connections).toBe(before);
  });

  describe('against a server that closes kept-alive connections', () => {
    // Answers the first request of each connection, and drops the connection at the second (what the
    // client meets when S3 has closed an idle connection while the Lambda instance was frozen).
    let dropping: NetServer;
    const sockets = new Set<Socket>();
    let url: string;
    const seen = { connections: 0, dropped: 0 };
    beforeAll(async () => {
      dropping = createNetServer((socket) => {
        sockets.add(socket);
        seen.connections++;
        let requests = 0;
        socket.on('data', (chunk) => {
          if (!chunk.includes('\r\n\r\n')) return;
          if (++requests > 1) {
            seen.dropped++;
            return socket.destroy();
          }
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
        });
      });
      url = `http://127.0.0.1:${await listen(dropping)}/x`;
    });
    afterAll(() => stop(dropping, sockets));

    test('sends a request again on a new connection when the kept-alive one was closed', async () => {
      expect(text(await (await httpRequest(url)).body(10))).toBe('ok');
      expect(text(await (await httpRequest(url)).body(10))).toBe('ok');
      expect(seen).toEqual({ connections: 2, dropped: 1 });
    });
  });

  test('a new connection that fails is a failure, not tried again', async () => {
    let accepted = 0;
    const refusing = createNetServer((socket) => {
      accepted++;
      socket.destroy();
    });
    const port = await listen(refusing);
    try {
      await expect(httpRequest(`http://127.0.0.1:${port}/x`, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(accepted).toBe(1);
    } finally {
      await stop(refusing, new Set());
    }
  });
});

describe('timeouts and aborts', () => {
  const held: ServerResponse[] = [];
  afterAll(() => held.forEach((res) => res.destroy()));

  test('no answer within timeoutMs is an HttpTimeout, and the connection is closed', async () => {
    handle = (_req, res) => void held.push(res);
    const error = await httpRequest(`${base}/slow`, { method: 'HEAD', timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeout);
    expect((error as Error).message).toBe(`no answer from ${base.slice('http://'.length)} within 30 ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held[held.length - 1]!.socket?.destroyed ?? true).toBe(true);
  });

  test('a body not whole within timeoutMs is an HttpTimeout too (the timeout bounds the whole exchange)', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      held.push(res);
    };
    const response = await httpRequest(`${base}/stalls`, { timeoutMs: 50 });
    expect(response.status).toBe(200);
    await expect(response.body(1000)).rejects.toBeInstanceOf(HttpTimeout);
  });

  test('a signal that aborts ends the wait with its reason, answer or body', async () => {
    handle = (_req, res) => void held.push(res);
    const controller = new AbortController();
    const waiting = httpRequest(`${base}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('deadline')), 20);
    await expect(waiting).rejects.toThrow('deadline');

    handle = (_req, res) => {
      res.writeHead(200);
      res.write('part');
      held.push(res);
    };
    const later = new AbortController();
    const response = await httpRequest(`${base}/stalls`, { signal: later.signal });
    const reading = response.body(1000);
    later.abort(new Error('deadline'));
    await expect(reading).rejects.toThrow('deadline');
    await expect(httpRequest(`${base}/x`, { signal: later.signal })).rejects.toThrow('deadline');
  });

  test('a connection closed before the body is whole is an error', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('ten bytes!');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    const response = await httpRequest(`${base}/cut`, { timeoutMs: 2000 });
    await expect(response.body(1000)).rejects.toThrow();
  });

  test('so it is when the connection closes before the body is asked for (and nothing goes unheard)', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('ten bytes!');
      setTimeout(() => res.socket?.destroy(), 5);
    };
    const response = await httpRequest(`${base}/cut`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(response.body(1000)).rejects.toThrow();
  });
});

describe('bodies', () => {
  const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));

  test.each([
    ['gzip', gzipSync(payload)],
    ['x-gzip', gzipSync(payload)],
    ['deflate', deflateSync(payload)],
    ['br', brotliCompressSync(payload)],
    ['identity', payload],
  ])('a %s body comes decoded', async (encoding, stored) => {
    handle = (_req, res) => res.writeHead(200, { 'content-encoding': encoding, 'content-length': stored.length }).end(stored);
    const body = await (await httpRequest(`${base}/t`)).body(payload.length);
    expect(Buffer.from(body).equals(payload)).toBe(true);
  });

  test('a body of exactly the limit is read; one byte more is a BodyTooLarge', async () => {
    handle = (_req, res) => res.end(payload);
    expect((await (await httpRequest(`${base}/t`)).body(payload.length)).length).toBe(payload.length);
    const error = await (await httpRequest(`${base}/t`)).body(payload.length - 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLarge);
    expect(error).toMatchObject({ limit: payload.length - 1, message: `the body is larger than ${payload.length - 1} bytes` });
  });

  test('the limit counts decoded bytes: a small gzip that inflates past it is stopped while reading', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    handle = (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
    await expect((await httpRequest(`${base}/bomb`)).body(1_000_000)).rejects.toBeInstanceOf(BodyTooLarge);
  });

  test('a body that does not decode, or an encoding it does not know, is an error naming it', async () => {
    handle = (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip at all');
    await expect((await httpRequest(`${base}/t`)).body(1000)).rejects.toThrow('the gzip body does not decode');
    handle = (_req, res) => res.writeHead(200, { 'content-encoding': 'zstd' }).end('x');
    await expect((await httpRequest(`${base}/t`)).body(1000)).rejects.toThrow('content-encoding zstd is not supported');
  });

  test('the bytes have a buffer of their own from offset 0 (typed-array views over them stay aligned)', async () => {
    handle = (_req, res) => res.end(Buffer.from('abcdefgh'));
    const body = await (await httpRequest(`${base}/t`)).body(100);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBe(8);
  });
});

describe('HTTPS', () => {
  let dir: string;
  let secure: HttpsServer;
  let secureBase: string;
  let tlsConnections = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-http-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`openssl (Debian package openssl) is needed to make a test certificate: ${(error as Error).message}`);
    }
    const { readFileSync } = await import('node:fs');
    secure = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secure'));
    secure.on('secureConnection', () => tlsConnections++);
    secureBase = `https://127.0.0.1:${await listen(secure)}`;
  });

  afterAll(async () => {
    secure?.closeAllConnections();
    await new Promise((resolve) => secure?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('verifies the certificate: one no authority signed is refused', async () => {
    await expect(httpRequest(`${secureBase}/x`, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  test('with the certificate trusted (a process of its own, NODE_EXTRA_CA_CERTS), answers over one kept-alive TLS connection', async () => {
    // The client bundled as the edge's bundle has it, run by a Node that trusts the test's certificate.
    const bundle = join(dir, 'client.js');
    const built = await esbuild.build({ entryPoints: [join(__dirname, '../../../layers/http/client.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false });
    writeFileSync(bundle, built.outputFiles[0]!.text);
    const script = `const { httpRequest } = require(${JSON.stringify(bundle)});
(async () => {
  const out = [];
  for (let i = 0; i < 3; i++) {
    const response = await httpRequest(${JSON.stringify(`${secureBase}/x`)}, { timeoutMs: 5000 });
    out.push(response.status + ' ' + Buffer.from(await response.body(100)).toString());
  }
  process.stdout.write(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exit(1); });`;
    const before = tlsConnections;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`the child failed (${code}): ${stderr}`))));
    });
    expect(JSON.parse(output)).toEqual(['200 secure', '200 secure', '200 secure']);
    expect(tlsConnections - before).toBe(1);
  });
});
