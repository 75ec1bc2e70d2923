/**
 * The metrics a range update emits, as plain data (the Lambda hands them to Powertools, which writes them
 * as CloudWatch Embedded Metric Format under the namespace "RegistryEdge").
 *
 * - RangesPublished / RangesUnchanged / RangesRefused / RangesFailed: one per run, by outcome. Refused and
 *   failed runs are counted twice: in total, and once more with a `reason` dimension (alarm on the total,
 *   read the reason on the dashboard).
 * - RangesUnknownRegions: AWS regions in the feed the topology does not know (a build to ship, not a fault).
 * - TableAgeSeconds: how old the AWS feed behind the published table is (since its syncToken, the feed's
 *   publication time). It grows when AWS publishes nothing or when updates stop getting through; alarm on
 *   it (and on it going missing). Not clamped: below zero, the table claims a time in the future.
 * - TablePublishedAgeSeconds: how long ago the published table was published (the pointer's publishedAt).
 */
import type { UpdateResult } from './update';

export const METRICS_NAMESPACE = 'RegistryEdge';

export interface MetricPoint {
  name: string;
  unit: 'Count' | 'Seconds' | 'Milliseconds';
  value: number;
  /** Extra dimensions; such points go in a blob of their own. */
  dimensions?: Record<string, string>;
}

const OUTCOME_METRIC = { published: 'RangesPublished', 'would-publish': 'RangesDryRun', unchanged: 'RangesUnchanged', refused: 'RangesRefused', failed: 'RangesFailed' } as const;

export function updateMetrics(result: UpdateResult): MetricPoint[] {
  const name = OUTCOME_METRIC[result.outcome];
  const points: MetricPoint[] = [{ name, unit: 'Count', value: 1 }];
  if (result.outcome === 'refused' || result.outcome === 'failed') points.push({ name, unit: 'Count', value: 1, dimensions: { reason: result.reason } });
  if (result.outcome === 'published' || result.outcome === 'unchanged' || result.outcome === 'would-publish') points.push({ name: 'RangesUnknownRegions', unit: 'Count', value: result.unknownRegions.length });
  if (result.outcome === 'published') points.push({ name: 'RangesCompileTime', unit: 'Milliseconds', value: result.compileMs });
  if (result.tableAgeSeconds !== null) points.push({ name: 'TableAgeSeconds', unit: 'Seconds', value: result.tableAgeSeconds });
  if (result.tablePublishedAgeSeconds !== null) points.push({ name: 'TablePublishedAgeSeconds', unit: 'Seconds', value: result.tablePublishedAgeSeconds });
  return points;
}
