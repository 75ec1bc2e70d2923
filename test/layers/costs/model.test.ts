/**
 * The price table (defaults, overrides, validation) and the cost model: each path's cost worked out by
 * hand from a small, known set of requests, the baseline and the savings.
 */
import type { LogRecord } from '../../../layers/costs/access-log';
import type { Attribution } from '../../../layers/costs/attribute';
import { computeCosts, transferPricePerGB } from '../../../layers/costs/model';
import { DEFAULT_PRICES, GB, lambdaEdgeInvocationCost, PriceTableSchema, PricesError, resolvePrices } from '../../../layers/costs/prices';
import { sizesOf } from '../../../layers/costs/sizes';
import { UsageTally } from '../../../layers/costs/usage';

describe('prices', () => {
  test('the defaults are a valid table, marked as list-price approximations with a date', () => {
    expect(PriceTableSchema.parse(DEFAULT_PRICES)).toEqual(DEFAULT_PRICES);
    expect(DEFAULT_PRICES.source).toMatch(/list-price approximations/);
    expect(DEFAULT_PRICES.asOf).toMatch(/^\d{4}-\d{2}$/);
    expect(DEFAULT_PRICES.perGB).toEqual({ upstreamToInternet: 0.12, upstreamToGcp: 0.01, s3SameRegion: 0, s3CrossRegion: 0.02, s3ToInternet: 0.09, cloudfrontToInternet: 0.085, cdnToInternet: 0.085 });
    expect(DEFAULT_PRICES.perRequest.s3Get * 1000).toBeCloseTo(0.0004, 12);
    expect(DEFAULT_PRICES.perRequest.cloudfront * 10_000).toBeCloseTo(0.01, 12);
    expect(DEFAULT_PRICES.perRequest.lambdaEdge * 1e6).toBeCloseTo(0.6, 12);
  });

  test('an override changes what it names and keeps the rest; its provenance says so', () => {
    const prices = resolvePrices({ perGB: { cloudfrontToInternet: 0.02 }, lambdaEdgeDuration: { averageMs: 1 } }, 'contract.json');
    expect(prices.perGB).toEqual({ ...DEFAULT_PRICES.perGB, cloudfrontToInternet: 0.02 });
    expect(prices.lambdaEdgeDuration).toEqual({ ...DEFAULT_PRICES.lambdaEdgeDuration, averageMs: 1 });
    expect(prices.source).toMatch(/^contract\.json over the defaults/);
    expect(resolvePrices({ asOf: '2027-01', source: 'our enterprise agreement' }, 'x')).toMatchObject({ asOf: '2027-01', source: 'our enterprise agreement' });
  });

  test.each([
    ['a typo in a field name', { perGB: { cloudfrontToInternt: 0.02 } }, /^p\.json: perGB: Unrecognized key: "cloudfrontToInternt"/],
    ['a negative price', { perRequest: { s3Get: -1 } }, /^p\.json: perRequest\.s3Get: Too small/],
    ['a price as a string', { perGB: { s3CrossRegion: '0.02' } }, /^p\.json: perGB\.s3CrossRegion: Invalid input/],
    ['another currency', { currency: 'EUR' }, /^p\.json: currency: /],
    ['not an object', [1], /^p\.json: must be a JSON object/],
    ['a "__proto__" key', JSON.parse('{"perGB": {"__proto__": {"s3CrossRegion": 5}}}'), /^p\.json: perGB\.__proto__: not a price field/],
  ])('%s is refused, naming the field', (_name, overrides, message) => {
    expect(() => resolvePrices(overrides, 'p.json')).toThrow(PricesError);
    expect(() => resolvePrices(overrides, 'p.json')).toThrow(message);
  });

  test('a Lambda@Edge invocation: the request and its assumed duration', () => {
    // 128 MB for 10 ms: 0.125 GB x 0.01 s = 0.00125 GB-s.
    expect(lambdaEdgeInvocationCost(DEFAULT_PRICES)).toBeCloseTo(0.6e-6 + 0.00125 * 0.00005001, 15);
  });

  test.each([
    ['regionalSameRegion', 'aws', 0],
    ['regionalCrossRegion', 'aws', 0.02],
    ['regionalCrossRegion', 'aws-other-partition', 0.09],
    ['upstream', 'gcp', 0.01],
    ['upstream', 'internet', 0.12],
    ['upstream', 'aws', 0.12],
    ['cloudfront', 'internet', 0],
  ] as const)('blob bytes by %s to a %s client cost $%d/GB (CloudFront\'s are charged as its transfer)', (path, clientClass, price) => {
    expect(transferPricePerGB(path, clientClass, DEFAULT_PRICES)).toBe(price);
  });
});

describe('the cost of a known set of requests', () => {
  const A = `sha256:${'a'.repeat(64)}`; // 1 GiB
  const B = `sha256:${'b'.repeat(64)}`; // 0.5 GiB
  const C = `sha256:${'c'.repeat(64)}`; // size unknown
  const sizes = sizesOf(JSON.stringify({ [A]: GB, [B]: GB / 2 }));
  const record = (scBytes: number, timestamp: string): LogRecord => ({ clientIp: '192.0.2.1', method: 'GET', uri: '/', querystring: '', status: 200, scBytes, timestamp });
  const at = (path: Attribution['path'], more: Partial<Attribution>): Attribution => ({ path, download: null, clientClass: 'aws', originFetch: false, bucketRequests: 0, ...more });

  const tally = new UsageTally({ sizes });
  tally.add(record(500, '2026-11-27T10:00:00Z'), at('regionalSameRegion', { download: { digest: A }, bucketRequests: 1 }));
  tally.add(record(500, '2026-11-27T09:00:00Z'), at('regionalSameRegion', { download: { digest: A }, bucketRequests: 1 }));
  tally.add(record(500, '2026-11-27T11:00:00Z'), at('regionalSameRegion', { download: { digest: C }, bucketRequests: 1 }));
  tally.add(record(500, '2026-11-27T10:30:00Z'), at('regionalCrossRegion', { download: { digest: A }, bucketRequests: 1 }));
  tally.add(record(500, '2026-11-27T10:30:00Z'), at('upstream', { download: { digest: B }, clientClass: 'gcp' }));
  tally.add(record(2 * GB, '2026-11-27T10:30:00Z'), at('cloudfront', { download: { bytes: 2 * GB }, clientClass: 'internet', originFetch: true }));
  tally.add(record(400, '2026-11-27T10:30:00Z'), at('other', { reason: 'manifest', clientClass: 'internet' }));
  tally.add(record(1000, '2026-11-27T10:30:00Z'), at('cloudfront', { download: null, fallback: true, clientClass: 'aws' }));

  const usage = tally.result();

  test('usage per path: requests, downloads, bytes at each blob\'s size, unknown sizes apart', () => {
    expect(usage.paths.regionalSameRegion).toMatchObject({ requests: 3, downloads: 3, bytes: 2 * GB, unknownSize: 1, edgeBytes: 1500, bucketRequests: 3 });
    expect(usage.paths.regionalCrossRegion).toMatchObject({ requests: 1, downloads: 1, bytes: GB, bytesByClient: { aws: GB, gcp: 0, internet: 0, 'aws-other-partition': 0 } });
    expect(usage.paths.upstream).toMatchObject({ requests: 1, downloads: 1, bytes: GB / 2, bytesByClient: { gcp: GB / 2 } });
    expect(usage.paths.cloudfront).toMatchObject({ requests: 2, downloads: 1, bytes: 2 * GB, edgeBytes: 2 * GB + 1000, originFetches: 1 });
    expect(usage.paths.other).toMatchObject({ requests: 1, downloads: 0, bytes: 0, edgeBytes: 400 });
    expect(usage.other).toEqual({ manifest: 1, generated: 0, error: 0, aborted: 0, mismatch: 0 });
    expect([usage.fallbacks, usage.unknownDigests, usage.period]).toEqual([1, { distinct: 1, exact: true, sample: [C] }, { from: '2026-11-27T09:00:00Z', to: '2026-11-27T11:00:00Z' }]);
    // All on one day: the day's usage is the whole.
    expect(usage.days.map((d) => d.day)).toEqual(['2026-11-27']);
    expect(usage.days[0]!.paths).toEqual(usage.paths);
  });

  test('each path\'s cost, worked out by hand', () => {
    const costs = computeCosts(usage, DEFAULT_PRICES);
    const invocation = lambdaEdgeInvocationCost(DEFAULT_PRICES);
    const request = 1e-6; // CloudFront, per request
    const get = 0.4e-6; // S3, per GET
    const edge = (bytes: number) => (bytes / GB) * 0.085;
    const expected = {
      regionalSameRegion: { transfer: 0, cloudfrontTransfer: edge(1500), cloudfrontRequests: 3 * request, lambdaEdge: 3 * invocation, s3Requests: 3 * get },
      regionalCrossRegion: { transfer: 0.02, cloudfrontTransfer: edge(500), cloudfrontRequests: request, lambdaEdge: invocation, s3Requests: get },
      upstream: { transfer: 0.5 * 0.01, cloudfrontTransfer: edge(500), cloudfrontRequests: request, lambdaEdge: invocation, s3Requests: 0 },
      // Two requests, one of them a miss: origin-request and origin-response invocations and an S3 GET more.
      cloudfront: { transfer: 0, cloudfrontTransfer: edge(2 * GB + 1000), cloudfrontRequests: 2 * request, lambdaEdge: 4 * invocation, s3Requests: get },
      other: { transfer: 0, cloudfrontTransfer: edge(400), cloudfrontRequests: request, lambdaEdge: invocation, s3Requests: 0 },
    };
    let total = 0;
    for (const [path, items] of Object.entries(expected)) {
      const got = costs.paths[path as keyof typeof expected];
      for (const [item, value] of Object.entries(items)) expect([path, item, got[item as keyof typeof items]]).toEqual([path, item, expect.closeTo(value, 12)]);
      const sum = Object.values(items).reduce((a, b) => a + b, 0);
      expect(got.total).toBeCloseTo(sum, 12);
      total += sum;
    }
    expect(costs.total.total).toBeCloseTo(total, 12);
    // The baseline: the same known bytes from the registry, GCP's at $0.01, everyone else's at $0.12.
    expect(costs.baseline.bytes).toBe(2 * GB + GB + GB / 2 + 2 * GB);
    expect(costs.baseline.cost).toBeCloseTo(2 * 0.12 + 0.12 + 0.5 * 0.01 + 2 * 0.12, 12);
    expect(costs.savings.amount).toBeCloseTo(costs.baseline.cost - total, 12);
    expect(costs.savings.percent).toBeCloseTo(((costs.baseline.cost - total) / costs.baseline.cost) * 100, 9);
  });

  test('no blob bytes at all: no baseline, no percentage', () => {
    const empty = new UsageTally();
    empty.add(record(400, '2026-11-27T10:30:00Z'), at('other', { reason: 'generated' }));
    const costs = computeCosts(empty.result(), DEFAULT_PRICES);
    expect(costs.baseline).toEqual({ bytes: 0, cost: 0 });
    expect(costs.savings.percent).toBeNull();
    expect(costs.savings.amount).toBeLessThan(0);
  });
});
