/** The existence check tells how each check went: the edge's BlobChecks metric counts these. */
import { type CheckResult, createBlobChecker } from '../../../layers/routing/blob-check';

const URL_ = 'https://bucket.example/containers/images/sha256:abc';

function checker(answer: () => Promise<Response>) {
  const results: CheckResult[] = [];
  const check = createBlobChecker({ timeoutMs: 50, cacheEntries: 10, cacheSeconds: 60, fetch: answer as unknown as typeof fetch, onResult: (r) => results.push(r) });
  return { check, results };
}

test.each([
  ['200 is a hit, fetched', () => Promise.resolve(new Response(null, { status: 200 })), true, { result: 'hit', cached: false }],
  ['404 is a miss', () => Promise.resolve(new Response(null, { status: 404 })), false, { result: 'miss', cached: false }],
  ['403 is a miss (a bucket without ListBucket)', () => Promise.resolve(new Response(null, { status: 403 })), false, { result: 'miss', cached: false }],
  ['503 is an error', () => Promise.resolve(new Response(null, { status: 503 })), false, { result: 'error', cached: false }],
  ['a refused connection is an error', () => Promise.reject(new TypeError('fetch failed')), false, { result: 'error', cached: false }],
])('%s', async (_name, answer, exists, result) => {
  const { check, results } = checker(answer);
  expect(await check.exists(URL_)).toBe(exists);
  expect(results).toEqual([result]);
});

test('no answer within the timeout is a timeout', async () => {
  const results: CheckResult[] = [];
  // This fetch never settles by itself; the checker's timeout signal is what ends the wait.
  const hanging = createBlobChecker({
    timeoutMs: 30,
    cacheEntries: 10,
    cacheSeconds: 60,
    fetch: ((_url: string, init: RequestInit) => new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch,
    onResult: (r) => results.push(r),
  });
  expect(await hanging.exists(URL_)).toBe(false);
  expect(results).toEqual([{ result: 'timeout', cached: false }]);
});

test('a second check of a blob seen is a cached hit, with no request', async () => {
  let requests = 0;
  const { check, results } = checker(() => {
    requests++;
    return Promise.resolve(new Response(null, { status: 200 }));
  });
  await check.exists(URL_);
  await check.exists(URL_);
  expect(requests).toBe(1);
  expect(results).toEqual([{ result: 'hit', cached: false }, { result: 'hit', cached: true }]);
});
