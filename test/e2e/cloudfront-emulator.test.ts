/**
 * The CloudFront emulator on its own, with small edge functions written for the test (so each CloudFront
 * rule can be provoked) and two throwaway HTTP origins: a "regional" one the origin-request function
 * picks, and the "primary" one the origin group fails over to.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type AccessLogEntry, type CloudFrontEmulator, type CloudFrontOrigin, startCloudFrontEmulator } from '../../local/cloudfront/emulator';
import { startServer, type TestServer } from '../support/http';
import { freePort, portIsFree } from '../support/ports';
import { send, sha256 } from './support/client';

const VIEWER = `
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const respond = (body, status = '200') => ({ status, statusDescription: 'OK', headers: { 'content-type': [{ key: 'Content-Type', value: 'application/json' }] }, body });
  switch (request.uri) {
    case '/generated': return { status: '307', statusDescription: 'Temporary Redirect', headers: { location: [{ key: 'Location', value: 'http://elsewhere/x?y=1' }] } };
    case '/env': return respond(JSON.stringify(process.env));
    case '/event': return respond(JSON.stringify(event));
    case '/throw': throw new Error('boom');
    case '/invalid': return { status: 'not-a-status' };
    case '/big': return respond('x'.repeat(41 * 1024));
    case '/host': return { ...request, headers: { ...request.headers, host: [{ key: 'Host', value: 'evil' }] } };
    case '/hang': return new Promise(() => {});
    case '/exit': process.exit(1);
    case '/memory': { const hog = []; for (;;) hog.push(new Array(1e5).fill(hog.length)); }
    case '/callback': return undefined;
    case '/cold-starts': return respond(String(globalThis.invocations = (globalThis.invocations || 0) + 1));
  }
  const { authorization, ...headers } = request.headers;
  return { ...request, uri: '/objects' + request.uri, headers };
};
// A handler in callback style for one path, as older Lambda code is written.
const asyncHandler = exports.handler;
exports.handler = (event, context, callback) => {
  if (event.Records[0].cf.request.uri !== '/callback') return asyncHandler(event, context);
  setTimeout(() => callback(null, { status: '204', statusDescription: 'No Content' }), 5);
};
`;

const ORIGIN = `
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (request.uri === '/objects/origin-env') return { status: '200', body: JSON.stringify(process.env) };
  if (request.uri === '/objects/origin-event') return { status: '200', body: JSON.stringify(event) };
  const role = request.origin.custom.customHeaders['x-test-role'][0].value;
  if (role !== 'nearest') return request;
  const port = request.uri.includes('refused') ? Number(request.origin.custom.customHeaders['x-test-closed-port'][0].value) : Number(request.origin.custom.customHeaders['x-test-regional-port'][0].value);
  return { ...request, origin: { custom: { ...request.origin.custom, port, path: '/regional' } }, headers: { ...request.headers, host: [{ key: 'Host', value: '127.0.0.1:' + port }] } };
};
`;

describe('CloudFront emulator', () => {
  let dir: string;
  let regional: TestServer;
  let primary: TestServer;
  let emulator: CloudFrontEmulator;
  const log: AccessLogEntry[] = [];
  const functionLines: string[] = [];
  /** Lets the streaming test hold the regional origin's body until the client has seen its start. */
  let releaseStream: () => void = () => {};
  let originAborted: Promise<void> = Promise.resolve();
  /** A member of the origin group: the primary origin, tagged with its role. */
  let member: (role: string) => CloudFrontOrigin;
  const primaryOrigin = (role: string) => member(role);

  const entryFor = (requestId: string | string[] | undefined) => log.find((e) => e.requestId === requestId);
  const get = (path: string, options: Parameters<typeof send>[1] = {}) => send(`${emulator.url}${path}`, options);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-test-'));
    writeFileSync(join(dir, 'viewer.js'), VIEWER);
    writeFileSync(join(dir, 'origin.js'), ORIGIN);
    regional = await startServer((req, res) => {
      const path = req.url ?? '';
      if (path.includes('missing')) return void res.writeHead(404).end('regional: no such key');
      if (path.includes('broken')) return void res.writeHead(500).end('regional: internal error');
      if (path.includes('stream')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(64 * 1024, 1));
        originAborted = new Promise((resolve) => res.once('close', () => resolve()));
        releaseStream = () => res.end(Buffer.alloc(64 * 1024, 2));
        return;
      }
      const body = JSON.stringify({ from: 'regional', path, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null, tag: req.headers['x-test-role'] ?? null, host: req.headers.host });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), etag: '"abc"' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    primary = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ from: 'primary', path: req.url, tag: req.headers['x-test-role'] ?? null }));
    });
    const closedPort = await freePort();
    member = (role: string): CloudFrontOrigin => ({
      custom: {
        domainName: '127.0.0.1',
        port: primary.port,
        protocol: 'http',
        path: '/primary',
        sslProtocols: ['TLSv1.2'],
        readTimeout: 5,
        keepaliveTimeout: 5,
        customHeaders: {
          'x-test-role': [{ key: 'x-test-role', value: role }],
          'x-test-regional-port': [{ key: 'x-test-regional-port', value: String(regional.port) }],
          'x-test-closed-port': [{ key: 'x-test-closed-port', value: String(closedPort) }],
        },
      },
    });
    emulator = await startCloudFrontEmulator({
      viewerRequest: join(dir, 'viewer.js'),
      originRequest: join(dir, 'origin.js'),
      edgeRegion: 'eu-west-1',
      origins: [member('nearest'), member('failover')],
      port: 0,
      limits: { 'viewer-request': { timeoutMs: 400 } },
      onAccess: (entry) => log.push(entry),
      onFunctionLog: (fn, line) => functionLines.push(`${fn}: ${line}`),
    });
  });

  afterAll(async () => {
    const port = emulator?.port;
    await emulator?.stop();
    await Promise.all([regional?.close(), primary?.close()]);
    rmSync(dir, { recursive: true, force: true });
    if (port) expect(await portIsFree(port)).toBe(true);
  });

  describe('viewer-request', () => {
    it('sends a generated response as is, marked as CloudFront marks it', async () => {
      const reply = await get('/generated');
      expect(reply.status).toBe(307);
      expect(reply.headers.location).toBe('http://elsewhere/x?y=1');
      expect(reply.headers['x-cache']).toBe('LambdaGeneratedResponse from cloudfront');
      expect(reply.headers['x-amz-cf-id']).toMatch(/^[A-Za-z0-9_-]{56}$/);
      expect(entryFor(reply.headers['x-amz-cf-id'])).toMatchObject({ resultType: 'LambdaGeneratedResponse', status: 307, location: 'http://elsewhere/x?y=1' });
    });

    it('answers HEAD like GET, without the body', async () => {
      const [head, getReply] = [await get('/event', { method: 'HEAD' }), await get('/event')];
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      expect(getReply.body.length).toBeGreaterThan(0);
    });

    it('runs the viewer function with no environment at all', async () => {
      expect(JSON.parse((await get('/env')).body.toString())).toEqual({});
    });

    it('runs the origin function with AWS_REGION set to the edge region, and nothing else', async () => {
      expect(JSON.parse((await get('/origin-env')).body.toString())).toEqual({ AWS_REGION: 'eu-west-1' });
    });

    it('hands the function the TCP peer as clientIp, with CloudFront-shaped headers', async () => {
      const reply = await get('/event?a=1&b=%2F', { localAddress: '127.0.2.10', headers: { 'X-Custom': 'v', 'X-Real-IP': '9.9.9.9' } });
      const event = JSON.parse(reply.body.toString());
      expect(event.Records[0].cf.config).toMatchObject({ eventType: 'viewer-request', requestId: reply.headers['x-amz-cf-id'] });
      expect(event.Records[0].cf.request).toMatchObject({ clientIp: '127.0.2.10', method: 'GET', uri: '/event', querystring: 'a=1&b=%2F' });
      expect(event.Records[0].cf.request.headers['x-custom']).toEqual([{ key: 'X-Custom', value: 'v' }]);
      // Disallowed headers never reach a function, so a client cannot spoof its address with them.
      expect(event.Records[0].cf.request.headers['x-real-ip']).toBeUndefined();
    });

    it.each([
      ['/throw', 503, 'LambdaExecutionError', 'boom'],
      ['/invalid', 502, 'LambdaValidationError', 'not an HTTP status code'],
      ['/big', 502, 'LambdaValidationError', 'over the viewer-request limit'],
      ['/host', 502, 'LambdaValidationError', 'read-only header "host"'],
      ['/hang', 503, 'LambdaExecutionError', 'timed out after 400 ms'],
      ['/exit', 503, 'LambdaExecutionError', 'crashed'],
    ])('%s: answers %i (%s) with an error page, and the function keeps serving', async (path, status, type, reason) => {
      const reply = await get(path);
      expect(reply.status).toBe(status);
      expect(reply.headers['x-cache']).toBe(`${type} from cloudfront`);
      expect(reply.body.toString()).toContain('The request could not be satisfied');
      expect(reply.body.toString()).toContain(reason);
      expect(entryFor(reply.headers['x-amz-cf-id'])).toMatchObject({ status, resultType: type });
      expect((await get('/generated')).status).toBe(307);
    });

    it('discards the environment after a timeout or a crash: the next invocation is a cold start', async () => {
      const before = emulator.viewer.coldStarts;
      expect((await get('/cold-starts')).body.toString()).toBe('1');
      expect((await get('/cold-starts')).body.toString()).toBe('2');
      expect((await get('/hang')).status).toBe(503);
      expect((await get('/cold-starts')).body.toString()).toBe('1');
      expect(emulator.viewer.coldStarts).toBe(before + 1);
    });

    it('stops a function that outgrows its memory, with a 503, and starts it afresh', async () => {
      // Its own emulator: a small memory and a timeout long enough that running out of memory comes first.
      const small = await startCloudFrontEmulator({
        viewerRequest: join(dir, 'viewer.js'),
        origins: [primaryOrigin('failover')],
        limits: { 'viewer-request': { memoryMb: 32, timeoutMs: 60_000 } },
        onAccess: (entry) => log.push(entry),
      });
      try {
        const reply = await send(`${small.url}/memory`);
        expect(reply.status).toBe(503);
        expect(entryFor(reply.headers['x-amz-cf-id'])!.error).toMatch(/memory limit/);
        expect((await send(`${small.url}/generated`)).status).toBe(307);
        expect(small.viewer.coldStarts).toBe(2);
      } finally {
        await small.stop();
      }
    }, 30_000);

    it('supports callback-style handlers', async () => {
      expect((await get('/callback')).status).toBe(204);
    });

    it('refuses a request target that is not a path (absolute-form), without calling a function', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(emulator.port, '127.0.0.1', () => socket.write('GET http://example.com/generated HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).not.toContain('elsewhere');
    });
  });

  describe('origin group', () => {
    it('fetches from the origin the origin-request function chose, tagged with the member custom headers', async () => {
      const reply = await get('/thing', { headers: { Authorization: 'Bearer secret', Range: 'bytes=0-1' } });
      expect(reply.status).toBe(200);
      expect(reply.headers['x-cache']).toBe('Miss from cloudfront');
      expect(JSON.parse(reply.body.toString())).toEqual({ from: 'regional', path: '/regional/objects/thing', range: 'bytes=0-1', authorization: null, tag: 'nearest', host: `127.0.0.1:${regional.port}` });
      expect(entryFor(reply.headers['x-amz-cf-id'])!.origins).toEqual([{ url: `http://127.0.0.1:${regional.port}/regional/objects/thing`, status: 200 }]);
    });

    it('builds the origin-request event from what the behaviour forwards', async () => {
      const reply = await get('/origin-event?acl', { headers: { Cookie: 'c=1', Range: 'bytes=0-1' }, localAddress: '127.0.1.10' });
      const { config, request } = JSON.parse(reply.body.toString()).Records[0].cf;
      expect(config.eventType).toBe('origin-request');
      expect(request).toMatchObject({ clientIp: '127.0.1.10', method: 'GET', uri: '/objects/origin-event', querystring: '' });
      expect(Object.keys(request.headers).sort()).toEqual(['host', 'range', 'user-agent', 'via', 'x-forwarded-for']);
      expect(request.origin.custom).toMatchObject({ domainName: '127.0.0.1', port: primary.port, path: '/primary' });
    });

    it('never passes the query string to the origin (S3 must not see ?acl)', async () => {
      const reply = await get('/thing?acl');
      expect(JSON.parse(reply.body.toString()).path).toBe('/regional/objects/thing');
    });

    it.each([
      ['a 404', '/missing', 404],
      ['a 500', '/broken', 500],
    ])('fails over to member 2 on %s from member 1', async (_name, path, firstStatus) => {
      const reply = await get(path);
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body.toString())).toEqual({ from: 'primary', path: `/primary/objects${path}`, tag: 'failover' });
      expect(entryFor(reply.headers['x-amz-cf-id'])!.origins.map((o) => o.status)).toEqual([firstStatus, 200]);
    });

    it('fails over when member 1 refuses the connection', async () => {
      const reply = await get('/refused');
      expect(reply.status).toBe(200);
      const origins = entryFor(reply.headers['x-amz-cf-id'])!.origins;
      expect(origins[0]!.error).toMatch(/ECONNREFUSED/);
      expect(origins[1]!.status).toBe(200);
    });

    it('does not fail over for methods CloudFront does not fail over (POST)', async () => {
      const reply = await get('/missing', { method: 'POST' });
      expect(reply.status).toBe(404);
      expect(reply.body.toString()).toBe('regional: no such key');
      expect(reply.headers['x-cache']).toBe('Error from cloudfront');
    });

    it('passes HEAD to the origin and returns its headers without a body', async () => {
      const reply = await get('/thing', { method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect(reply.body.length).toBe(0);
      expect(reply.headers.etag).toBe('"abc"');
      expect(Number(reply.headers['content-length'])).toBeGreaterThan(0);
    });

    it('streams bodies: the client has the first bytes before the origin has sent the rest', async () => {
      const received: Buffer[] = [];
      const done = new Promise<Buffer>((resolve, reject) => {
        const req = require('node:http').get(`${emulator.url}/stream`, (res: import('node:http').IncomingMessage) => {
          res.on('data', (chunk: Buffer) => {
            received.push(chunk);
            // The origin holds the second half until we have bytes: a buffering proxy would wait forever.
            if (received.length === 1) releaseStream();
          });
          res.on('end', () => resolve(Buffer.concat(received)));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      const body = await done;
      expect(body.length).toBe(128 * 1024);
      expect(sha256(body)).toBe(sha256(Buffer.concat([Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)])));
    });

    it('stops reading from the origin when the viewer goes away', async () => {
      await new Promise<void>((resolve, reject) => {
        const req = require('node:http').get(`${emulator.url}/stream`, (res: import('node:http').IncomingMessage) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error: Error & { code?: string }) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
      });
      await originAborted; // the origin's response was closed without being released
    });
  });
});
