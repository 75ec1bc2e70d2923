/**
 * A plan for the next region: which AWS region would a bucket pay for itself in? The logged blob
 * downloads, routed again with the edge's own code (./attribute.ts), are summed by the region their
 * client is in and the path they took. Then, extrapolated from the logged period to a month:
 *
 *   a region without a bucket   saving = what its clients' blob bytes cost to move today (from another
 *                               region's bucket, from the upstream registry, through CloudFront) less
 *                               what they would cost from a bucket in their own region (same-region: $0)
 *                               cost   = storing a full copy of the catalogue there, and replicating the
 *                               new blobs into it (cross-region transfer and one COPY request each)
 *   a region with a bucket      saving = its own region's clients' bytes at the cross-region price (where
 *                               they would come from without it); cost as above (the primary bucket
 *                               stores the catalogue in any case: it replicates nothing and is needed)
 *
 * Plain numbers in, plain numbers out: the command (cli/commands/plan-regions.ts) supplies the logs,
 * sizes and prices.
 */
import type { EdgeConfig } from '../config/edge';
import { partitionOf } from '../topology/regions';
import type { LogRecord } from './access-log';
import type { Attribution, PathName, Route } from './attribute';
import { GB, type PriceTable } from './prices';
import type { SizeLookup } from './sizes';

/** A month, as AWS bills storage: 730 hours (365 days / 12 = 30.42 days). */
export const MONTH_SECONDS = 730 * 3600;
/** When the catalogue's listing does not say when blobs were written: growth assumed per month. */
export const ASSUMED_MONTHLY_GROWTH = 0.05;
/** Growth is averaged over at most this many days before the period's end. */
const GROWTH_WINDOW_DAYS = 90;

export interface RegionPlan {
  region: string;
  /** Blob bytes its clients download in a month (candidates), or the bucket serves to its own region (existing). */
  monthlyBytes: number;
  monthlySavingUsd: number;
  monthlyCostUsd: number;
  monthlyNetUsd: number;
}

export interface ExistingRegionPlan extends RegionPlan {
  primary: boolean;
}

export interface Plan {
  period: { from: string; to: string; days: number };
  catalogue: { bytes: number; blobs: number | null; monthlyGrowthBytes: number; growthFrom: string };
  assumptions: string[];
  prices: { asOf: string; source: string };
  candidates: RegionPlan[];
  existing: ExistingRegionPlan[];
  /** Blob downloads by AWS clients whose size was not known: left out of every figure. */
  unknownSizeDownloads: number;
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

type ByPath = Partial<Record<PathName, number>>;

/** Sums blob bytes by client region and path; feed it every analysed record (AnalyzeOptions.observe). */
export class RegionTally {
  /** Client region → path → bytes. */
  readonly byRegion = new Map<string, ByPath>();
  unknownSizeDownloads = 0;

  observe = (_record: LogRecord, route: Route, attribution: Attribution, bytes: number | undefined): void => {
    // A blob no bucket held (an upstream fallback) would not be in a new bucket either.
    if (!attribution.download || attribution.path === 'other' || attribution.upstreamFallback) return;
    const place = route.place;
    // Only clients in a commercial AWS region can be served from a bucket in their region.
    if (!place || place.cloud !== 'aws' || place.region === 'GLOBAL' || partitionOf(place.region) !== 'aws') return;
    if (bytes === undefined) {
      this.unknownSizeDownloads++;
      return;
    }
    let paths = this.byRegion.get(place.region);
    if (!paths) this.byRegion.set(place.region, (paths = {}));
    paths[attribution.path] = (paths[attribution.path] ?? 0) + bytes;
  };
}

/** $/GB an AWS client's blob bytes cost today on `path` (CloudFront: what the distribution charges). */
function todayPerGB(path: PathName, prices: PriceTable): number {
  const p = prices.perGB;
  switch (path) {
    case 'regionalSameRegion':
      return p.s3SameRegion;
    case 'regionalCrossRegion':
      return p.s3CrossRegion;
    case 'upstream':
      return p.upstreamToInternet;
    case 'cdn':
      return p.cdnToInternet;
    case 'cloudfront':
      return p.cloudfrontToInternet;
    case 'other':
      return 0;
  }
}

export interface PlanInput {
  tally: RegionTally;
  period: { from?: string; to?: string };
  config: EdgeConfig;
  prices: PriceTable;
  sizes: SizeLookup;
  /** --catalog-bytes: the catalogue's size when the sizes do not give it (or to plan for another). */
  catalogBytes?: number;
}

const round = (usd: number) => Math.round(usd * 100) / 100;

/** The catalogue's growth per month: from the listing's dates when it has them, else the assumption. */
function growth(sizes: SizeLookup, catalogBytes: number, periodEnd: string): { bytes: number; from: string } {
  const DAY = 86_400_000;
  const end = periodEnd.slice(0, 10);
  const days = [...sizes.createdByDay.keys()].filter((d) => d <= end).sort();
  const assumed = { bytes: catalogBytes * ASSUMED_MONTHLY_GROWTH, from: `assumed ${ASSUMED_MONTHLY_GROWTH * 100} % of the catalogue a month (the sizes say nothing of when blobs were written)` };
  // The first day of a listing holds everything written before it: growth is counted after that day.
  if (days.length < 2) return assumed;
  const endMs = Date.parse(`${end}T00:00:00Z`) + DAY;
  const startMs = Math.max(Date.parse(`${days[0]}T00:00:00Z`) + DAY, endMs - GROWTH_WINDOW_DAYS * DAY);
  let bytes = 0;
  for (const day of days) if (Date.parse(`${day}T00:00:00Z`) >= startMs) bytes += sizes.createdByDay.get(day)!;
  const windowDays = (endMs - startMs) / DAY;
  return { bytes: (bytes / windowDays) * (MONTH_SECONDS / 86_400), from: `blobs written in the ${Math.round(windowDays)} day(s) up to ${end}, per the listing's dates` };
}

export function planRegions(input: PlanInput): Plan {
  const { tally, period, config, prices, sizes } = input;
  if (!period.from || !period.to) throw new PlanError('the logs have no dates (date and time fields): the period to extrapolate from is unknown');
  // Log times are whole seconds: the period runs from the first line's second to the end of the last's
  // (a log written within one second covers one second, not none).
  const seconds = (Date.parse(period.to) - Date.parse(period.from)) / 1000 + 1;
  if (!(seconds > 0)) throw new PlanError(`the logs' period (${period.from} to ${period.to}) is not a period: a month cannot be extrapolated from it`);
  const catalogBytes = input.catalogBytes ?? (sizes.size > 0 ? sizes.totalBytes : undefined);
  if (catalogBytes === undefined) throw new PlanError("the catalogue's size is unknown: give --catalog-bytes N, or blob sizes with --sizes FILE or --bucket B");
  const perMonth = MONTH_SECONDS / seconds;
  const grown = growth(sizes, catalogBytes, period.to);
  const averageBlob = sizes.size > 0 ? sizes.totalBytes / sizes.size : undefined;
  const p = prices;

  const storage = (catalogBytes / GB) * p.perGBMonth.s3Storage;
  // A copy into a new region: the bytes cross regions once, one COPY request per blob.
  const replication = (grown.bytes / GB) * p.perGB.s3CrossRegion + (averageBlob ? (grown.bytes / averageBlob) * p.perRequest.s3Put : 0);
  const bucketCost = storage + replication;

  const bucketRegions = Object.keys(config.buckets);
  const candidates: RegionPlan[] = [];
  for (const [region, paths] of tally.byRegion) {
    if (bucketRegions.includes(region)) continue;
    let bytes = 0;
    let saving = 0;
    for (const [path, b] of Object.entries(paths) as [PathName, number][]) {
      bytes += b;
      saving += (b / GB) * (todayPerGB(path, p) - p.perGB.s3SameRegion);
    }
    if (bytes === 0) continue;
    const monthlySavingUsd = round(saving * perMonth);
    const monthlyCostUsd = round(bucketCost);
    candidates.push({ region, monthlyBytes: Math.round(bytes * perMonth), monthlySavingUsd, monthlyCostUsd, monthlyNetUsd: round(monthlySavingUsd - monthlyCostUsd) });
  }
  const existing: ExistingRegionPlan[] = bucketRegions.map((region) => {
    const own = tally.byRegion.get(region)?.regionalSameRegion ?? 0;
    const primary = region === config.primaryRegion;
    const monthlySavingUsd = round((own / GB) * (p.perGB.s3CrossRegion - p.perGB.s3SameRegion) * perMonth);
    const monthlyCostUsd = round(primary ? storage : bucketCost);
    return { region, monthlyBytes: Math.round(own * perMonth), monthlySavingUsd, monthlyCostUsd, monthlyNetUsd: round(monthlySavingUsd - monthlyCostUsd), primary };
  });
  const byNet = (a: RegionPlan, b: RegionPlan) => b.monthlyNetUsd - a.monthlyNetUsd || b.monthlyBytes - a.monthlyBytes || (a.region < b.region ? -1 : 1);
  candidates.sort(byNet);
  existing.sort(byNet);

  const days = Math.round((seconds / 86_400) * 100) / 100;
  const assumptions = [
    `a month is 730 hours; the logged ${days} day(s) (${period.from} to the end of ${period.to}) are scaled by ${(Math.round(perMonth * 100) / 100).toLocaleString('en-US')}`,
    `a new bucket stores the whole catalogue (${(catalogBytes / GB).toFixed(1)} GiB at $${p.perGBMonth.s3Storage}/GB-month) and receives its growth (${(grown.bytes / GB).toFixed(2)} GiB a month: ${grown.from}) at $${p.perGB.s3CrossRegion}/GB cross-region plus one COPY request per blob`,
    `with a bucket, a region's clients download at the same-region price ($${p.perGB.s3SameRegion}/GB); today they pay the price of the path they took: S3 cross-region $${p.perGB.s3CrossRegion}/GB, the upstream registry $${p.perGB.upstreamToInternet}/GB, CloudFront $${p.perGB.cloudfrontToInternet}/GB`,
    'an existing bucket saves its own region\'s clients the cross-region price (without it they would be sent to another region); the primary bucket holds the catalogue in any case and replicates nothing',
    'request fees (the same on both sides) and the routing.nearest pins are left out; only commercial AWS regions are candidates (GovCloud, China and GLOBAL ranges are internet traffic)',
  ];
  if (tally.unknownSizeDownloads > 0) assumptions.push(`${tally.unknownSizeDownloads} download(s) by AWS clients have no known size and are left out`);
  return {
    period: { from: period.from, to: period.to, days },
    catalogue: { bytes: catalogBytes, blobs: sizes.size > 0 ? sizes.size : null, monthlyGrowthBytes: Math.round(grown.bytes), growthFrom: grown.from },
    assumptions,
    prices: { asOf: p.asOf, source: p.source },
    candidates,
    existing,
    unknownSizeDownloads: tally.unknownSizeDownloads,
  };
}
