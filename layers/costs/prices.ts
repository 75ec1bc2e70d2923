/**
 * What a gigabyte and a request cost on each path. LIST-PRICE APPROXIMATIONS: US/EU first-tier on-demand
 * prices in USD, without free tiers, volume discounts, savings plans or private pricing, as of the date in
 * `asOf`. They are not fetched from anywhere; put your own in a file and pass `--prices FILE` (any subset
 * of the fields below; the rest keep these values).
 *
 * Where each figure comes from (none was fetched live: this machine has no internet; the pages named are
 * where to check them before relying on a report):
 *   - S3 data transfer: same region $0, to another AWS region ~$0.02/GB, to the internet ~$0.09/GB, to
 *     CloudFront $0 (/work/shared/FIELD-NOTES.md, "S3 facts"; https://aws.amazon.com/s3/pricing/).
 *     Cross-region transfer out of some regions (Asia Pacific, South America) costs more than $0.02.
 *   - S3 GET/HEAD requests, S3 Standard, us-east-1: $0.0004 per 1,000; PUT/COPY $0.005 per 1,000; storage
 *     $0.023 per GB-month, first 50 TB (https://aws.amazon.com/s3/pricing/). Other regions differ by a few %.
 *   - CloudFront to the internet, first 10 TB a month, North America and Europe: ~$0.085/GB (the figure the
 *     project's cost brief uses); HTTPS requests $0.0100 per 10,000 (https://aws.amazon.com/cloudfront/pricing/).
 *     Other continents cost more.
 *   - Lambda@Edge: $0.60 per million requests and $0.00005001 per GB-second
 *     (https://aws.amazon.com/lambda/pricing/, "Lambda@Edge"). The billed duration per request is not in
 *     CloudFront's logs: `averageMs` is an assumption; take yours from the functions' Duration metric.
 *   - The upstream registry (GCP, premium network tier): internet egress from North America, first TiB,
 *     ~$0.12/GB; to a GCP client in another region of the same continent ~$0.01/GB, free in the same
 *     region (https://cloud.google.com/vpc/network-pricing, https://cloud.google.com/artifact-registry/pricing).
 *
 * A "GB" here is 2^30 bytes, the unit AWS and Google bill transfer in.
 */
import { z } from 'zod';

export const GB = 1024 ** 3;

const usd = z.number().min(0).max(1_000);

export const PriceTableSchema = z.strictObject({
  currency: z.literal('USD').default('USD'),
  /** When the figures were written down ("YYYY-MM"). */
  asOf: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'must be a date like 2026-11'),
  source: z.string().max(500),
  perGB: z.strictObject({
    /** The upstream registry to a client outside its cloud (AWS, the internet). */
    upstreamToInternet: usd,
    /** The upstream registry to a client in GCP (another region of the same continent). */
    upstreamToGcp: usd,
    /** S3 to a client in the bucket's region. */
    s3SameRegion: usd,
    /** S3 to a client in another AWS region. */
    s3CrossRegion: usd,
    /** S3 to the internet (clients in other AWS partitions count as internet). */
    s3ToInternet: usd,
    /** CloudFront to the viewer (S3 to CloudFront is free). */
    cloudfrontToInternet: usd,
    /** The `cdn` policy target (routing.cdn) to the viewer: by default priced like CloudFront. */
    cdnToInternet: usd,
  }),
  /** Storage, per GB and month (plan-regions: a full copy of the catalogue in a new region). */
  perGBMonth: z.strictObject({
    /** S3 Standard. */
    s3Storage: usd,
  }),
  perRequest: z.strictObject({
    /** One GET or HEAD on a bucket: a redirected client's request, or a CloudFront miss. */
    s3Get: usd,
    /** One PUT or COPY into a bucket (replicating a new blob into a region). */
    s3Put: usd,
    /** One HTTPS request to the distribution (every logged line, 307s included). */
    cloudfront: usd,
    /** One Lambda@Edge invocation (the viewer function on every request, the origin function on misses). */
    lambdaEdge: usd,
  }),
  lambdaEdgeDuration: z.strictObject({
    perGbSecond: usd,
    memoryMb: z.number().int().min(128).max(10_240),
    /** Assumed billed duration of one invocation. */
    averageMs: z.number().min(0).max(30_000),
  }),
});

export type PriceTable = z.output<typeof PriceTableSchema>;

export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  asOf: '2026-11',
  source: 'list-price approximations (US/EU first tier, on demand, not fetched live): S3 transfer as in FIELD-NOTES.md, the rest from the AWS and GCP pricing pages named in layers/costs/prices.ts',
  perGB: {
    upstreamToInternet: 0.12,
    upstreamToGcp: 0.01,
    s3SameRegion: 0,
    s3CrossRegion: 0.02,
    s3ToInternet: 0.09,
    cloudfrontToInternet: 0.085,
    cdnToInternet: 0.085,
  },
  perGBMonth: { s3Storage: 0.023 },
  perRequest: {
    s3Get: 0.0004 / 1_000,
    s3Put: 0.005 / 1_000,
    cloudfront: 0.01 / 10_000,
    lambdaEdge: 0.6 / 1_000_000,
  },
  lambdaEdgeDuration: { perGbSecond: 0.00005001, memoryMb: 128, averageMs: 10 },
};

export class PricesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PricesError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: unknown, override: unknown, path: string): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    // JSON.parse makes "__proto__" an own key; assigned here it would change the object's prototype and
    // hide from the strict schema instead of being refused like any other unknown field.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new PricesError(`${path}${key}: not a price field`);
    out[key] = merge(base[key], value, `${path}${key}.`);
  }
  return out;
}

/**
 * The default table with `overrides` (parsed JSON) laid over it, validated: unknown fields, negative or
 * absurd prices are PricesErrors naming the field. An override without its own `asOf`/`source` is marked
 * as such, so a report never shows the defaults' provenance for prices someone changed.
 */
export function resolvePrices(overrides: unknown, source = 'prices'): PriceTable {
  if (!isPlainObject(overrides)) throw new PricesError(`${source}: must be a JSON object`);
  const marked = { ...overrides };
  if (marked.source === undefined) marked.source = `${source} over the defaults (${DEFAULT_PRICES.source})`;
  if (marked.asOf === undefined) marked.asOf = DEFAULT_PRICES.asOf;
  const parsed = PriceTableSchema.safeParse(merge(DEFAULT_PRICES, marked, `${source}: `));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PricesError(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** What one Lambda@Edge invocation costs: the request and its assumed billed duration. */
export function lambdaEdgeInvocationCost(prices: PriceTable): number {
  const { perGbSecond, memoryMb, averageMs } = prices.lambdaEdgeDuration;
  return prices.perRequest.lambdaEdge + (memoryMb / 1024) * (averageMs / 1000) * perGbSecond;
}
