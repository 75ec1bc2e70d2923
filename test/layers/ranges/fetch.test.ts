/** Fetching feeds from a local HTTP server that misbehaves on request. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchError, fetchText, readSource } from '../../../layers/ranges/fetch';
import { startServer, type TestServer } from '../../support/http';

/** Per path: how to answer the nth request (0-based). */
const behaviours = new Map<string, (res: ServerResponse, n: number) => void>();
const counts = new Map<string, number>();
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const path = req.url ?? '';
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const behave = behaviours.get(path);
    if (behave) behave(res, n);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  dir = mkdtempSync(join(tmpdir(), 'registry-edge-fetch-'));
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const noWait = { backoffMs: 1, timeoutMs: 300 };

describe('fetchText', () => {
  test('retries a 503 and a 429 and returns the body that follows', async () => {
    behaviours.set('/flaky', (res, n) => {
      res.statusCode = [503, 429][n] ?? 200;
      res.end(n >= 2 ? '{"ok":true}' : 'busy');
    });
    await expect(fetchText(`${server.url}/flaky`, noWait)).resolves.toBe('{"ok":true}');
    expect(counts.get('/flaky')).toBe(3);
  });

  test('does not retry a 404 (it will not pass), and names the URL and status', async () => {
    await expect(fetchText(`${server.url}/missing`, noWait)).rejects.toThrow(new FetchError(`${server.url}/missing`, 'HTTP 404'));
    expect(counts.get('/missing')).toBe(1);
  });

  test('gives up after its retries on a server that never answers, saying so', async () => {
    behaviours.set('/silent', () => undefined);
    await expect(fetchText(`${server.url}/silent`, { ...noWait, retries: 1 })).rejects.toThrow(`${server.url}/silent: no answer within 300 ms (after 2 attempts)`);
    expect(counts.get('/silent')).toBe(2);
  });

  test('retries a body cut short', async () => {
    behaviours.set('/cut', (res, n) => {
      if (n === 0) {
        res.setHeader('content-length', '100');
        res.write('{"partial":');
        res.destroy();
      } else res.end('{"whole":true}');
    });
    await expect(fetchText(`${server.url}/cut`, noWait)).resolves.toBe('{"whole":true}');
  });

  test.each([
    ['declared', (res: ServerResponse) => res.end('x'.repeat(2000)), '2000 bytes, over the limit of 1000'],
    ['streamed', (res: ServerResponse) => {
      res.write('x'.repeat(600));
      res.write('x'.repeat(600));
      res.end('x'.repeat(600));
    }, 'more than 1000 bytes'],
  ])('refuses a body over the size limit (%s), without retrying', async (name, behave, message) => {
    behaviours.set(`/big-${name}`, behave);
    const error = await fetchText(`${server.url}/big-${name}`, { ...noWait, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).tooLarge).toBe(true);
    expect((error as Error).message).toContain(message);
    expect(counts.get(`/big-${name}`)).toBe(1);
  });
});

describe('readSource', () => {
  test('reads a URL or a file', async () => {
    behaviours.set('/feed.json', (res) => res.end('{"from":"http"}'));
    const file = join(dir, 'feed.json');
    writeFileSync(file, '{"from":"file"}');
    await expect(readSource(`${server.url}/feed.json`)).resolves.toBe('{"from":"http"}');
    await expect(readSource(file)).resolves.toBe('{"from":"file"}');
  });

  test('names a file it cannot read, and one too large', async () => {
    await expect(readSource(join(dir, 'nope.json'))).rejects.toThrow(`${join(dir, 'nope.json')}: cannot read: ENOENT`);
    const big = join(dir, 'big.json');
    writeFileSync(big, 'x'.repeat(5000));
    await expect(readSource(big, { maxBytes: 4096 })).rejects.toThrow('5000 bytes, over the limit of 4096');
  });
});
