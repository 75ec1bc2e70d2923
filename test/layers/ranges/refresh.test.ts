/**
 * The edge's refresher against a local HTTP server standing in for the config bucket (S3's GET semantics:
 * ETag, If-None-Match → 304). The clock is the test's, so "every refreshSeconds" needs no waiting.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { EdgeConfig } from '../../../layers/config/edge';
import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../../layers/ranges/feeds';
import { describeTable, tableKey } from '../../../layers/ranges/pointer';
import { createRangeRefresher, credentialsFromEnv, type RefresherOptions } from '../../../layers/ranges/refresh';
import { startServer, type TestServer } from '../../support/http';
import { ADDED_IN_LATER, AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText, gcpFeedText } from '../../support/range-feeds';

const gcp = parseGcpFeed(gcpFeedText());
const older = compileRanges({ aws: parseAwsFeed(awsFeedText()), gcp });
const newer = compileRanges({ aws: parseAwsFeed(awsFeedText(undefined, 'aws-ip-ranges-2026-08-22.json')), gcp });
const ADDED = ADDED_IN_LATER;

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What the fake bucket holds: objects by key, each with an ETag (and a Content-Encoding, as stored). */
let objects = new Map<string, { body: Buffer; etag: string; encoding?: string }>();
/** Requests held unanswered until released (a slow S3). */
let hold: ((res: ServerResponse, key: string) => boolean) | undefined;
const held: (() => void)[] = [];
let server: TestServer;
const seen: { key: string; headers: Record<string, string | string[] | undefined> }[] = [];

function put(key: string, body: Uint8Array | string, encoding?: 'gzip') {
  const buffer = encoding ? gzipSync(Buffer.from(body)) : Buffer.from(body);
  objects.set(key, { body: buffer, etag: `"${createHash('md5').update(buffer).digest('hex')}"`, ...(encoding ? { encoding } : {}) });
}

/** Publishes `compiled` as the updater would (or with `tamper` applied to the stored bytes). */
function publish(compiled: typeof older, tamper?: (bytes: Buffer) => Buffer, pointerChange: Record<string, unknown> = {}, encoding?: 'gzip') {
  const digest = sha(compiled.bytes);
  const key = tableKey('ranges/current.json', digest);
  put(key, tamper ? tamper(Buffer.from(compiled.bytes)) : compiled.bytes, encoding);
  const { aws } = compiled.stats;
  const pointer = describeTable({
    key,
    sha256: digest,
    bytes: compiled.bytes.length,
    metadata: compiled.metadata,
    counts: { aws: { v4: aws.v4, v6: aws.v6 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: compiled.stats.entries },
    publishedAt: new Date(),
    forced: false,
  });
  put('ranges/current.json', JSON.stringify({ ...pointer, ...pointerChange }));
}

beforeAll(async () => {
  server = await startServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/cfg\//, ''));
    seen.push({ key, headers: req.headers });
    const answer = () => {
      const object = objects.get(key);
      if (!object) {
        res.statusCode = 403; // S3 without s3:ListBucket
        return res.end('<Error><Code>AccessDenied</Code></Error>');
      }
      if (req.headers['if-none-match'] === object.etag) {
        res.statusCode = 304;
        return res.end();
      }
      res.setHeader('etag', object.etag);
      res.setHeader('content-length', object.body.length);
      if (object.encoding) res.setHeader('content-encoding', object.encoding);
      res.end(object.body);
    };
    if (hold?.(res, key)) held.push(answer);
    else answer();
  });
});

afterAll(async () => {
  held.splice(0).forEach((answer) => answer());
  await server?.close();
});

beforeEach(() => {
  objects = new Map();
  hold = undefined;
  seen.length = 0;
});

let clock = 1_000_000;
const logs: Record<string, unknown>[] = [];

function baseOptions(ranges: Partial<EdgeConfig['ranges']> = {}): RefresherOptions {
  logs.length = 0;
  return {
    initial: loadTable(older.bytes),
    config: {
      apiEndpoint: `${server.url}/{bucket}`,
      ranges: { refreshSeconds: 300, refreshBudgetMs: 2000, configBucket: { name: 'cfg', region: 'us-east-1' }, pointerKey: 'ranges/current.json', ...ranges },
    },
    now: () => clock,
    log: (record) => logs.push(record),
  };
}

const refresher = (overrides: Partial<RefresherOptions> = {}, ranges: Partial<EdgeConfig['ranges']> = {}) => createRangeRefresher({ ...baseOptions(ranges), ...overrides });

describe('the edge range refresher', () => {
  test('takes up a newer table at cold start, then asks again only after refreshSeconds, with If-None-Match', async () => {
    publish(newer);
    const r = refresher();
    expect(r.table().classify(ADDED)).toBeNull();
    await r.beforeRequest();
    await r.idle();
    expect(r.table().classify(ADDED)).toMatchObject({ cloud: 'aws' });
    expect(r.status()).toMatchObject({ source: tableKey('ranges/current.json', sha(newer.bytes)), version: { aws: AWS_LATER_TOKEN }, swaps: 1, failures: 0 });
    expect(logs).toEqual([expect.objectContaining({ event: 'ranges-refresh', outcome: 'swapped', syncToken: AWS_LATER_TOKEN, previousSyncToken: AWS_TOKEN })]);
    expect(seen.map((s) => s.key)).toEqual(['ranges/current.json', tableKey('ranges/current.json', sha(newer.bytes))]);

    clock += 299_000;
    await r.beforeRequest();
    expect(seen).toHaveLength(2);
    clock += 1_000;
    await r.beforeRequest();
    await r.idle();
    expect(seen).toHaveLength(3);
    expect(seen[2]).toMatchObject({ key: 'ranges/current.json', headers: { 'if-none-match': objects.get('ranges/current.json')!.etag } });
    expect(r.status()).toMatchObject({ refreshes: 2, swaps: 1, failures: 0 });
  });

  test('a refresh is due by the arrival time the caller passes, when it passes one (the edge reads its clock once per request)', async () => {
    publish(newer);
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    expect(seen).toHaveLength(2);
    // The refresher's own clock says the interval is over; the request arrived just before it was.
    clock += 300_000;
    await r.beforeRequest(clock - 1_000);
    expect(seen).toHaveLength(2);
    await r.beforeRequest(clock);
    await r.idle();
    expect(seen).toHaveLength(3);
  });

  test.each([
    ['the same version as its own', older, older],
    ['an older version than its own (a newer table is never replaced by an older one)', newer, older],
  ])('given a pointer written before generations, keeps its table when the bucket holds %s, and does not download it', async (_name, initial, published) => {
    publish(published, undefined, { generation: undefined });
    const r = createRangeRefresher({ ...baseOptions(), initial: loadTable(initial.bytes) });
    const before = r.table();
    await r.beforeRequest();
    await r.idle();
    expect(r.table()).toBe(before);
    expect(seen.map((s) => s.key)).toEqual(['ranges/current.json']);
    expect(r.status()).toMatchObject({ source: 'embedded', generation: 0, swaps: 0, failures: 0 });
  });

  test('takes whatever is published over its embedded table, older feed tokens included: the pointer decides', async () => {
    publish(older, undefined, { generation: 1 });
    const r = createRangeRefresher({ ...baseOptions(), initial: loadTable(newer.bytes) });
    expect(r.table().classify(ADDED)).toMatchObject({ cloud: 'aws' });
    await r.beforeRequest();
    await r.idle();
    expect(r.table().classify(ADDED)).toBeNull();
    expect(r.status()).toMatchObject({ source: tableKey('ranges/current.json', sha(older.bytes)), generation: 1, version: { aws: AWS_TOKEN }, swaps: 1 });
  });

  test('a warm instance takes a rollback (a higher generation, older feed tokens) at its next refresh', async () => {
    publish(newer, undefined, { generation: 4 });
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    expect(r.status()).toMatchObject({ generation: 4, version: { aws: AWS_LATER_TOKEN } });

    publish(older, undefined, { generation: 5 });
    clock += 300_000;
    await r.beforeRequest();
    await r.idle();
    expect(r.table().classify(ADDED)).toBeNull();
    expect(r.status()).toMatchObject({ source: tableKey('ranges/current.json', sha(older.bytes)), generation: 5, version: { aws: AWS_TOKEN }, swaps: 2, failures: 0 });
    expect(logs[logs.length - 1]).toMatchObject({ outcome: 'swapped', generation: 5, previousGeneration: 4, syncToken: AWS_TOKEN, previousSyncToken: AWS_LATER_TOKEN });
  });

  test('refuses a pointer of a lower generation than its table\'s (an old pointer put back by hand), and keeps its table', async () => {
    publish(newer, undefined, { generation: 4 });
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    const before = r.table();
    publish(older, undefined, { generation: 3 });
    clock += 300_000;
    await r.beforeRequest();
    await r.idle();
    expect(r.table()).toBe(before);
    expect(r.status()).toMatchObject({ generation: 4, version: { aws: AWS_LATER_TOKEN }, failures: 1, lastError: expect.stringContaining('has generation 3, lower than the current table\'s 4') });
    // The table behind the refused pointer was never downloaded.
    expect(seen.filter((s) => s.key === tableKey('ranges/current.json', sha(older.bytes)))).toHaveLength(0);
  });

  test('keeps its table for a pointer of the same generation, without downloading anything', async () => {
    publish(newer, undefined, { generation: 4 });
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    publish(older, undefined, { generation: 4 });
    clock += 300_000;
    await r.beforeRequest();
    await r.idle();
    expect(r.status()).toMatchObject({ generation: 4, version: { aws: AWS_LATER_TOKEN }, swaps: 1, failures: 0 });
    expect(seen.map((s) => s.key)).toEqual(['ranges/current.json', tableKey('ranges/current.json', sha(newer.bytes)), 'ranges/current.json']);
  });

  test('never takes a rollback whose table does not match its checksum, however high its generation', async () => {
    publish(newer, undefined, { generation: 4 });
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    const before = r.table();
    publish(older, (b) => Buffer.concat([b.subarray(0, 1000), Buffer.from([b[1000]! ^ 1]), b.subarray(1001)]), { generation: 99 });
    clock += 300_000;
    await r.beforeRequest();
    await r.idle();
    expect(r.table()).toBe(before);
    expect(r.status()).toMatchObject({ generation: 4, failures: 1, lastError: expect.stringContaining('has SHA-256') });
  });

  test.each<[string, () => void, string]>([
    ['a table whose bytes do not match the checksum', () => publish(newer, (b) => Buffer.concat([b.subarray(0, 1000), Buffer.from([b[1000]! ^ 1]), b.subarray(1001)])), 'has SHA-256'],
    ['a truncated table', () => publish(newer, (b) => b.subarray(0, b.length - 100)), 'bytes, the pointer says'],
    ['garbage with a matching checksum', () => {
      const garbage = new Uint8Array(4096).fill(7);
      publish({ ...newer, bytes: garbage });
    }, 'bad magic'],
    ['a pointer announcing another version than its table', () => publish(newer, undefined, { syncToken: '1799999999' }), 'not the version its pointer announces'],
    ['a pointer that is not JSON', () => put('ranges/current.json', '{"format": 1, "key"'), 'not valid JSON'],
    ['a pointer with a bad key', () => publish(newer, undefined, { key: '../../etc/passwd' }), 'key: not a valid object key'],
    ['a pointer naming a table format from the future', () => publish(newer, undefined, { tableFormat: 99 }), 'table format 99 is not readable'],
    ['no pointer at all (403 without s3:ListBucket)', () => undefined, 'HTTP 403'],
    ['a missing table', () => {
      publish(newer);
      objects.delete(tableKey('ranges/current.json', sha(newer.bytes)));
    }, 'HTTP 403'],
  ])('keeps its table for %s, logs why, and backs off', async (_name, arrange, message) => {
    arrange();
    const r = refresher();
    const before = r.table();
    await r.beforeRequest();
    await r.idle();
    expect(r.table()).toBe(before);
    expect(r.status()).toMatchObject({ source: 'embedded', swaps: 0, failures: 1, lastError: expect.stringContaining(message) });
    expect(logs).toEqual([expect.objectContaining({ event: 'ranges-refresh', outcome: 'error', error: expect.stringContaining(message), failures: 1, retryInSeconds: 300 })]);

    // The next attempt waits for the backoff, then the one after it for twice as long.
    const requests = seen.length;
    clock += 299_000;
    await r.beforeRequest();
    expect(seen).toHaveLength(requests);
    clock += 1_000;
    await r.beforeRequest();
    await r.idle();
    expect(seen.length).toBeGreaterThan(requests);
    expect(r.table()).toBe(before);
  });

  test('takes up a table stored gzip-encoded, as the updater stores them', async () => {
    publish(newer, undefined, {}, 'gzip');
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    expect(objects.get(tableKey('ranges/current.json', sha(newer.bytes)))!.body.length).toBeLessThan(newer.bytes.length / 2);
    expect(r.status()).toMatchObject({ version: { aws: AWS_LATER_TOKEN }, failures: 0 });
  });

  test('stops reading a table that inflates past the size its pointer gives', async () => {
    publish(newer, (b) => Buffer.concat([b, Buffer.alloc(50 * 1024 * 1024)]), {}, 'gzip');
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    expect(r.status()).toMatchObject({ source: 'embedded', lastError: `table ${tableKey('ranges/current.json', sha(newer.bytes))} is larger than ${newer.bytes.length} bytes` });
  });

  test('does not download a rejected table again while the pointer is unchanged', async () => {
    publish(newer, (b) => Buffer.from(b.map((x) => x ^ 0xff)));
    const r = refresher();
    await r.beforeRequest();
    await r.idle();
    clock += 300_000;
    await r.beforeRequest();
    await r.idle();
    expect(seen.map((s) => s.key)).toEqual(['ranges/current.json', tableKey('ranges/current.json', sha(newer.bytes)), 'ranges/current.json']);
    expect(r.status().source).toBe('embedded');
  });

  test('a request waits at most the budget; a slow refresh carries on and a later request uses its table', async () => {
    publish(newer);
    hold = () => true; // S3 answers nothing until released
    const r = refresher({}, { refreshBudgetMs: 20 });
    await r.beforeRequest(); // returns although the pointer has not been answered
    expect(held).toHaveLength(1);
    expect(r.table().classify(ADDED)).toBeNull();
    await r.beforeRequest(); // a refresh is in flight: no second one starts
    expect(seen).toHaveLength(1);
    hold = undefined;
    held.splice(0).forEach((answer) => answer());
    await r.idle();
    expect(r.table().classify(ADDED)).toMatchObject({ cloud: 'aws' });
  });

  test('signs its requests with the runtime\'s credentials, and sends none without them', async () => {
    publish(newer);
    const credentials = credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session-token' });
    const signed = refresher({ credentials: () => credentials });
    await signed.beforeRequest();
    await signed.idle();
    expect(seen).toHaveLength(2);
    for (const { headers } of seen) {
      expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=\S*x-amz-security-token\S*, Signature=[0-9a-f]{64}$/);
      expect(headers['x-amz-security-token']).toBe('session-token');
      expect(headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    }
    seen.length = 0;
    const anonymous = refresher({ credentials: () => credentialsFromEnv({}) });
    await anonymous.beforeRequest();
    await anonymous.idle();
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  test.each([
    ['refreshSeconds is 0', { refreshSeconds: 0 }],
    ['there is no config bucket', { configBucket: null }],
  ])('does nothing when %s', async (_name, ranges) => {
    publish(newer);
    const r = refresher({}, ranges);
    await r.beforeRequest();
    await r.idle();
    expect(seen).toHaveLength(0);
    expect(r.status().refreshes).toBe(0);
  });
});

