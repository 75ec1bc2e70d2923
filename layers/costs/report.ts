/**
 * The report: one plain object (what `--json` prints) and its rendering as a table for people.
 */
import type { Analysis, Malformed, S3LogSummary } from './analyze';
import { type PathName, PATHS } from './attribute';
import { computeCosts, type CostItems } from './model';
import type { PriceTable } from './prices';
import type { UnknownDigests, Usage } from './usage';

export interface ReportContext {
  /** What the requests were routed by: stage, configuration file, range feeds. */
  routing: Record<string, string>;
  /** Where blob sizes came from ("s3://bucket/prefix (123 objects listed)", a file, or none). */
  sizes: string[];
  prices: PriceTable;
}

export interface PathReport {
  requests: number;
  downloads: number;
  bytes: number;
  unknownSize: number;
  edgeBytes: number;
  originFetches: number;
  bucketRequests: number;
  bytesByClient: Record<string, number>;
  cost: CostItems;
}

/** One day: blob bytes per path, what they cost, and what the same bytes would have cost all from upstream. */
export interface DayReport {
  day: string;
  requests: number;
  bytes: Record<PathName, number>;
  cost: number;
  baseline: { bytes: number; cost: number };
}

export interface CostReport {
  period: { from?: string; to?: string };
  input: { files: number; lines: number; records: number; malformed: Malformed };
  /** With --s3-logs: the blob buckets' own access logs, whose bytes replace the sizes of redirected downloads. */
  s3Logs?: S3LogSummary;
  routing: Record<string, string>;
  /** `unknown`: downloads of no known size, and how many distinct blobs they were (a sample, not all of them). */
  sizes: { sources: string[]; unknown: { downloads: number } & UnknownDigests };
  prices: PriceTable;
  paths: Record<PathName, PathReport>;
  days: DayReport[];
  other: Usage['other'];
  fallbacks: number;
  upstreamFallbacks: number;
  withoutScBytes: number;
  total: { requests: number; downloads: number; bytes: number; cost: CostItems };
  baseline: { description: string; bytes: number; cost: number };
  savings: { amount: number; percent: number | null };
  notes: string[];
}

/** Money to a billionth of a dollar: enough for request fees, without float noise in the JSON. */
const money = (value: number) => Math.round(value * 1e9) / 1e9;
const moneyItems = (items: CostItems): CostItems => ({
  transfer: money(items.transfer),
  cloudfrontTransfer: money(items.cloudfrontTransfer),
  cloudfrontRequests: money(items.cloudfrontRequests),
  lambdaEdge: money(items.lambdaEdge),
  s3Requests: money(items.s3Requests),
  total: money(items.total),
});

export function buildReport(analysis: Analysis, usage: Usage, context: ReportContext): CostReport {
  const costs = computeCosts(usage, context.prices);
  const paths = Object.fromEntries(PATHS.map((path) => [path, { ...usage.paths[path], cost: moneyItems(costs.paths[path]) }])) as Record<PathName, PathReport>;
  const all = Object.values(usage.paths);
  const sum = (pick: (u: (typeof all)[number]) => number) => all.reduce((s, u) => s + pick(u), 0);
  const unknownDownloads = sum((u) => u.unknownSize);
  const notes: string[] = [];
  if (unknownDownloads > 0) {
    const blobs = `${usage.unknownDigests.exact ? '' : 'about '}${usage.unknownDigests.distinct}`;
    notes.push(`${unknownDownloads} download(s) of ${blobs} blob(s) have no known size and are left out of bytes, costs and the baseline: give sizes with --bucket/--s3-endpoint or --sizes`);
  }
  if (usage.withoutScBytes > 0) notes.push(`${usage.withoutScBytes} request(s) have no sc-bytes: what the distribution sent for them is not counted`);
  if (usage.other.mismatch > 0) {
    notes.push(`${usage.other.mismatch} request(s) got an answer the routing decision does not explain: are the configuration and range feeds the ones deployed when the logs were written?`);
  }
  if (analysis.malformed.lines > 0) notes.push(`${analysis.malformed.lines} malformed line(s) skipped`);
  if (analysis.s3) {
    notes.push(`redirected downloads are measured: ${analysis.s3.downloads} blob GET(s) in the buckets' S3 access logs (their period may differ from the CloudFront logs')`);
    if (analysis.s3.malformed.lines > 0) notes.push(`${analysis.s3.malformed.lines} malformed S3 access log line(s) skipped`);
  } else notes.push('a redirected download is counted at the blob\'s full size (the log cannot show a client that stopped early or asked the bucket for a range; --s3-logs measures it)');
  const days = usage.days.map(({ day, paths: dayPaths }): DayReport => {
    const c = computeCosts({ ...usage, paths: dayPaths }, context.prices);
    return {
      day,
      requests: PATHS.reduce((n, p) => n + dayPaths[p].requests, 0),
      bytes: Object.fromEntries(PATHS.map((p) => [p, dayPaths[p].bytes])) as Record<PathName, number>,
      cost: money(c.total.total),
      baseline: { bytes: c.baseline.bytes, cost: money(c.baseline.cost) },
    };
  });
  return {
    period: usage.period,
    input: { files: analysis.files, lines: analysis.lines, records: analysis.records, malformed: analysis.malformed },
    routing: context.routing,
    ...(analysis.s3 ? { s3Logs: analysis.s3 } : {}),
    sizes: { sources: context.sizes, unknown: { downloads: unknownDownloads, ...usage.unknownDigests } },
    prices: context.prices,
    paths,
    days,
    other: usage.other,
    fallbacks: usage.fallbacks,
    upstreamFallbacks: usage.upstreamFallbacks,
    withoutScBytes: usage.withoutScBytes,
    total: { requests: sum((u) => u.requests), downloads: sum((u) => u.downloads), bytes: sum((u) => u.bytes), cost: moneyItems(costs.total) },
    baseline: { description: 'every blob byte served by the upstream registry (no registry-edge)', bytes: costs.baseline.bytes, cost: money(costs.baseline.cost) },
    savings: { amount: money(costs.savings.amount), percent: costs.savings.percent === null ? null : Math.round(costs.savings.percent * 100) / 100 },
    notes,
  };
}

// ---- Text ----

export const PATH_LABELS: Record<PathName, string> = {
  regionalSameRegion: 'S3, same region',
  regionalCrossRegion: 'S3, cross-region',
  upstream: 'upstream registry',
  cdn: 'CDN (routing.cdn)',
  cloudfront: 'CloudFront',
  other: 'other (no blob bytes)',
};

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** Dollars: cents for large amounts, three significant digits for the tiny ones request fees make. */
export function formatMoney(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  if (abs === 0) return '$0';
  if (abs >= 1) return `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  // Fixed notation (never 3.2e-8), three significant digits.
  return `${sign}$${abs.toFixed(Math.min(20, 2 - Math.floor(Math.log10(abs))))}`;
}

const count = (n: number) => n.toLocaleString('en-US');

function table(rows: string[][], rightAligned: boolean[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function renderReport(report: CostReport): string {
  const lines: string[] = [];
  const period = report.period.from ? `${report.period.from} to ${report.period.to}` : 'no dates in the log';
  lines.push(`registry-edge cost report: ${count(report.input.records)} requests in ${count(report.input.files)} file(s), ${period}`);
  lines.push(`  routing: ${Object.entries(report.routing).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  lines.push(`  blob sizes: ${report.sizes.sources.length ? report.sizes.sources.join('; ') : 'none given'}`);
  lines.push(`  prices: ${report.prices.currency}, as of ${report.prices.asOf}: ${report.prices.source}`);
  if (report.s3Logs) {
    const s = report.s3Logs;
    lines.push(`  S3 access logs: ${count(s.lines)} line(s) in ${count(s.files)} file(s), ${count(s.downloads)} blob download(s) measured, ${formatBytes(s.bytes)}${s.malformed.lines ? `, ${count(s.malformed.lines)} malformed` : ''}`);
  }
  lines.push('');
  // Transfer (buckets, registry, CloudFront) and request fees (CloudFront, Lambda@Edge, S3) add up to the cost.
  const transfer = (c: CostItems) => formatMoney(c.transfer + c.cloudfrontTransfer);
  const fees = (c: CostItems) => formatMoney(c.cloudfrontRequests + c.lambdaEdge + c.s3Requests);
  const rows: string[][] = [['path', 'requests', 'downloads', 'blob bytes', 'transfer', 'request fees', 'cost']];
  for (const path of PATHS) {
    const p = report.paths[path];
    const unknown = p.unknownSize > 0 ? ` (+${count(p.unknownSize)} unknown)` : '';
    rows.push([PATH_LABELS[path], count(p.requests), count(p.downloads), path === 'other' ? '-' : `${formatBytes(p.bytes)}${unknown}`, transfer(p.cost), fees(p.cost), formatMoney(p.cost.total)]);
  }
  const t = report.total;
  rows.push(['total', count(t.requests), count(t.downloads), formatBytes(t.bytes), transfer(t.cost), fees(t.cost), formatMoney(t.cost.total)]);
  rows.push(['baseline: all from upstream', '', '', formatBytes(report.baseline.bytes), '', '', formatMoney(report.baseline.cost)]);
  const rendered = table(rows, [false, true, true, true, true, true, true]);
  const rule = '-'.repeat(Math.max(...rendered.map((l) => l.length)));
  lines.push(rendered[0]!, rule, ...rendered.slice(1, 1 + PATHS.length), rule, ...rendered.slice(1 + PATHS.length));
  const percent = report.savings.percent === null ? 'no baseline' : `${report.savings.percent.toFixed(1)} % of the baseline`;
  lines.push('', `savings: ${formatMoney(report.savings.amount)} (${percent})`);
  const other = Object.entries(report.other).filter(([, n]) => n > 0);
  if (other.length) lines.push(`other: ${other.map(([reason, n]) => `${count(n)} ${reason}`).join(', ')}`);
  if (report.upstreamFallbacks > 0) lines.push(`upstream fallbacks: ${count(report.upstreamFallbacks)} blob request(s) no bucket held, sent to the upstream registry by the origin-response function`);
  if (report.fallbacks > 0) lines.push(`fallbacks: ${count(report.fallbacks)} blob request(s) served through CloudFront because the region's bucket did not hold the blob yet`);
  if (report.input.malformed.lines > 0) {
    const reasons = Object.entries(report.input.malformed.reasons).map(([reason, n]) => `${n} ${reason}`).join(', ');
    lines.push(`skipped: ${count(report.input.malformed.lines)} malformed line(s) (${reasons}); first at ${report.input.malformed.examples[0]!.where}: ${report.input.malformed.examples[0]!.detail}`);
  }
  for (const note of report.notes.filter((n) => !n.includes('malformed'))) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
