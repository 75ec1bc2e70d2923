/**
 * The cost model: what each path cost, and what the same blob bytes would have cost had the upstream
 * registry served all of them (the baseline: registry-edge not there at all).
 *
 * Per path:
 *   transfer             blob bytes out of a bucket (same region, other region, other partition) or out
 *                        of the upstream registry (to GCP, to anyone else)
 *   cloudfrontTransfer   every byte the distribution sent (sc-bytes: blobs served through it, and the 307s
 *                        and errors themselves)
 *   cloudfrontRequests   one request fee per logged request
 *   lambdaEdge           the viewer function on every request; on every miss the origin-request and the
 *                        origin-response functions (both on the blob behaviour)
 *   s3Requests           the GETs/HEADs redirected clients send to a bucket, and CloudFront's fetches on a miss
 *
 * Not in the model (not in the logs): bucket storage and replication, the existence checks the viewer
 * makes before a redirect (cached per blob), WAF, alarms, the range updater. Manifests and tag lists go to
 * the upstream registry with or without registry-edge, so their bytes are the same on both sides and left
 * out of both; their requests through the distribution are costed (path "other").
 */
import type { ClientClass, PathName } from './attribute';
import { GB, lambdaEdgeInvocationCost, type PriceTable } from './prices';
import type { PathUsage, Usage } from './usage';

export interface CostItems {
  transfer: number;
  cloudfrontTransfer: number;
  cloudfrontRequests: number;
  lambdaEdge: number;
  s3Requests: number;
  total: number;
}

export interface Costs {
  paths: Record<PathName, CostItems>;
  total: CostItems;
  baseline: { bytes: number; cost: number };
  savings: { amount: number; percent: number | null };
}

/** $/GB for blob bytes leaving by `path` to a client of `clientClass`. */
export function transferPricePerGB(path: PathName, clientClass: ClientClass, prices: PriceTable): number {
  const p = prices.perGB;
  switch (path) {
    case 'regionalSameRegion':
      return p.s3SameRegion;
    case 'regionalCrossRegion':
      return clientClass === 'aws' ? p.s3CrossRegion : p.s3ToInternet;
    case 'upstream':
      return upstreamPricePerGB(clientClass, prices);
    case 'cdn':
      return prices.perGB.cdnToInternet;
    case 'cloudfront': // charged as cloudfrontTransfer (sc-bytes); S3 to CloudFront is free
    case 'other':
      return 0;
  }
}

export function upstreamPricePerGB(clientClass: ClientClass, prices: PriceTable): number {
  return clientClass === 'gcp' ? prices.perGB.upstreamToGcp : prices.perGB.upstreamToInternet;
}

const classes = (usage: PathUsage) => Object.entries(usage.bytesByClient) as [ClientClass, number][];

export function pathCost(path: PathName, usage: PathUsage, prices: PriceTable): CostItems {
  const transfer = classes(usage).reduce((sum, [clientClass, bytes]) => sum + (bytes / GB) * transferPricePerGB(path, clientClass, prices), 0);
  const cloudfrontTransfer = (usage.edgeBytes / GB) * prices.perGB.cloudfrontToInternet;
  const cloudfrontRequests = usage.requests * prices.perRequest.cloudfront;
  const lambdaEdge = (usage.requests + 2 * usage.originFetches) * lambdaEdgeInvocationCost(prices);
  const s3Requests = (usage.bucketRequests + usage.originFetches) * prices.perRequest.s3Get;
  return { transfer, cloudfrontTransfer, cloudfrontRequests, lambdaEdge, s3Requests, total: transfer + cloudfrontTransfer + cloudfrontRequests + lambdaEdge + s3Requests };
}

export function computeCosts(usage: Usage, prices: PriceTable): Costs {
  const entries = Object.entries(usage.paths) as [PathName, PathUsage][];
  const paths = Object.fromEntries(entries.map(([path, u]) => [path, pathCost(path, u, prices)])) as Record<PathName, CostItems>;
  const total: CostItems = { transfer: 0, cloudfrontTransfer: 0, cloudfrontRequests: 0, lambdaEdge: 0, s3Requests: 0, total: 0 };
  for (const items of Object.values(paths)) for (const key of Object.keys(total) as (keyof CostItems)[]) total[key] += items[key];
  // The baseline: the same blob bytes, each from the upstream registry to the same client. Nothing else is
  // paid then (no distribution, no functions, no buckets).
  let baselineBytes = 0;
  let baselineCost = 0;
  for (const [, u] of entries) {
    for (const [clientClass, bytes] of classes(u)) {
      baselineBytes += bytes;
      baselineCost += (bytes / GB) * upstreamPricePerGB(clientClass, prices);
    }
  }
  const amount = baselineCost - total.total;
  return {
    paths,
    total,
    baseline: { bytes: baselineBytes, cost: baselineCost },
    savings: { amount, percent: baselineCost > 0 ? (amount / baselineCost) * 100 : null },
  };
}
