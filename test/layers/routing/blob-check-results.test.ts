/**
 * The existence check tells how each check went: the edge's BlobChecks metric counts these. Against a
 * local server standing in for the bucket, and a port where nothing listens.
 */
import type { ServerResponse } from 'node:http';
import { type CheckResult, createBlobChecker } from '../../../layers/routing/blob-check';
import { startServer, type TestServer } from '../../support/http';
import { freePort } from '../../support/ports';

/** The status the bucket answers with; 'hang': it never answers. */
let answer: number | 'hang' = 200;
const hanging: ServerResponse[] = [];
let bucket: TestServer;
let nobodyUrl: string;

beforeAll(async () => {
  bucket = await startServer((_req, res) => {
    if (answer === 'hang') return void hanging.push(res);
    res.writeHead(answer).end();
  });
  nobodyUrl = `http://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await bucket?.close();
});

const blob = (base: string) => `${base}/containers/images/sha256:${'ab'.repeat(32)}`;

function checker(timeoutMs = 5000) {
  const results: CheckResult[] = [];
  const check = createBlobChecker({ timeoutMs, cacheEntries: 10, cacheSeconds: 60, onResult: (r) => results.push(r) });
  return { check, results };
}

test.each<[string, number, boolean, CheckResult]>([
  ['200 is a hit, fetched', 200, true, { result: 'hit', cached: false }],
  ['404 is a miss', 404, false, { result: 'miss', cached: false }],
  ['403 is a miss (a bucket without ListBucket)', 403, false, { result: 'miss', cached: false }],
  ['503 is an error', 503, false, { result: 'error', cached: false }],
])('%s', async (_name, status, exists, result) => {
  answer = status;
  const { check, results } = checker();
  expect(await check.exists(blob(bucket.url))).toBe(exists);
  expect(results).toEqual([result]);
});

test('a refused connection is an error', async () => {
  const { check, results } = checker();
  expect(await check.exists(blob(nobodyUrl))).toBe(false);
  expect(results).toEqual([{ result: 'error', cached: false }]);
});

test('no answer within the timeout is a timeout', async () => {
  answer = 'hang';
  const { check, results } = checker(30);
  const asked = bucket.requests.length;
  expect(await check.exists(blob(bucket.url))).toBe(false);
  // The HEAD reached the bucket, which kept it unanswered: the checker's timeout is what ended the wait.
  expect(bucket.requests.length).toBe(asked + 1);
  expect(hanging).toHaveLength(1);
  expect(results).toEqual([{ result: 'timeout', cached: false }]);
});

test('a second check of a blob seen is a cached hit, with no request', async () => {
  answer = 200;
  const { check, results } = checker();
  const asked = bucket.requests.length;
  await check.exists(blob(bucket.url));
  await check.exists(blob(bucket.url));
  expect(bucket.requests.length - asked).toBe(1);
  expect(results).toEqual([{ result: 'hit', cached: false }, { result: 'hit', cached: true }]);
});
