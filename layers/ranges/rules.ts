/**
 * Should a freshly compiled table replace the published one? The rules a table must pass after its feeds
 * passed their schemas and every CIDR parsed (feeds.ts, compile.ts):
 *
 * - its version must be newer than the published one (same or older: nothing to do, and that is fine);
 * - no feed may lose more than `maxShrink` of its prefixes at once (a truncated or half-empty feed looks
 *   valid to a schema and would send whole regions to the wrong place);
 * - a feed that moves back while the other moves forward is refused too (a stale copy of one feed);
 * - no feed may cover more than `maxGrowth` times the address space it covered (per family) at once: a
 *   feed that suddenly claims far more of the internet is more likely broken or hostile than true;
 * - a feed version an operator rolled back from (`ranges rollback`) is not published again.
 *
 * `force` lifts all but the first. Same feeds with a different table (the overlay, which is configuration,
 * changed) is a publication, not "unchanged".
 * Regions the topology does not know are reported, not refused (AWS opens regions before we hear of them).
 */
import { findRegion } from '../topology/regions';
import type { CompiledRanges } from './compile';
import type { FeedProblem } from './feeds';
import { pointerVersion, type RangePointer } from './pointer';
import { compareVersions, type TableVersion, versionOf } from './version';

export type RefusalReason = FeedProblem | 'too-large' | 'shrink' | 'growth' | 'regressed' | 'rolled-back';

export type Verdict =
  | { verdict: 'publish'; forcedPast?: RefusalReason[] }
  | { verdict: 'unchanged'; reason: 'same' | 'older'; message: string }
  | { verdict: 'refused'; reason: RefusalReason; message: string };

export interface RuleOptions {
  /** Largest fraction of a feed's prefixes that may disappear in one update (0.1 = 10%). */
  maxShrink: number;
  /** Largest factor by which a feed's covered space (per family) may grow in one update; default 4. */
  maxGrowth?: number;
  force?: boolean;
  /** SHA-256 of the compiled table: with the same feeds, a different table is a configuration change. */
  sha256?: string;
}

export const DEFAULT_MAX_GROWTH = 4;

const describe = (v: TableVersion) => (v.gcp === null ? `AWS ${v.aws}` : `AWS ${v.aws} / GCP ${v.gcp}`);

export function judgeUpdate(compiled: Pick<CompiledRanges, 'metadata' | 'stats'>, published: RangePointer | null, options: RuleOptions): Verdict {
  if (published === null) return { verdict: 'publish' };
  const next = versionOf(compiled.metadata)!;
  const current = pointerVersion(published);
  const order = compareVersions(next, current);
  const configChanged = order === 'same' && options.sha256 !== undefined && options.sha256 !== published.sha256;
  if (order === 'same' && !configChanged) return { verdict: 'unchanged', reason: 'same', message: `${describe(next)} is already published` };
  if (order === 'older') return { verdict: 'unchanged', reason: 'older', message: `${describe(next)} is older than the published ${describe(current)}` };

  const problems: { reason: RefusalReason; message: string }[] = [];
  if (order === 'mixed') problems.push({ reason: 'regressed', message: `${describe(next)} moves one feed back from the published ${describe(current)}` });
  const shrink = (feed: string, now: number, before: number) => {
    if (before > 0 && now < before * (1 - options.maxShrink)) {
      const lost = ((1 - now / before) * 100).toFixed(1);
      problems.push({ reason: 'shrink', message: `${feed} has ${now} prefixes, ${lost}% fewer than the published ${before} (the limit is ${+(options.maxShrink * 100).toFixed(2)}%)` });
    }
  };
  const { aws, gcp } = compiled.stats;
  shrink('AWS', aws.v4 + aws.v6, published.counts.aws.v4 + published.counts.aws.v6);
  if (published.counts.gcp) shrink('GCP', compiled.metadata.gcp ? gcp.v4 + gcp.v6 : 0, published.counts.gcp.v4 + published.counts.gcp.v6);

  const maxGrowth = options.maxGrowth ?? DEFAULT_MAX_GROWTH;
  const before = published.coverage;
  const now = compiled.stats.coverage;
  if (before !== null && now !== undefined) {
    for (const cloud of ['aws', 'gcp'] as const) {
      for (const family of ['v4', 'v6'] as const) {
        const [was, is] = [before[cloud][family], now[cloud][family]];
        // Nothing to compare with when the published table had none of it (a feed left out, or a family new to it).
        if (was > 0 && is > was * maxGrowth) {
          const unit = family === 'v4' ? 'IPv4 addresses' : 'IPv6 /64s';
          problems.push({ reason: 'growth', message: `${cloud.toUpperCase()} covers ${formatSize(is)} ${unit}, ${(is / was).toFixed(1)} times the published ${formatSize(was)} (the limit is ${maxGrowth} times)` });
        }
      }
    }
  }

  const rolledBack = published.rolledBackFrom.find((r) => r.syncToken === next.aws && r.gcpSyncToken === next.gcp);
  if (rolledBack) problems.push({ reason: 'rolled-back', message: `${describe(next)} was rolled back from (${rolledBack.key}, at ${rolledBack.at}); publish it again with --force, or wait for a newer feed` });

  if (problems.length === 0) return { verdict: 'publish' };
  if (options.force) return { verdict: 'publish', forcedPast: problems.map((p) => p.reason) };
  return { verdict: 'refused', reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; ') };
}

const formatSize = (n: number) => (n >= 1e6 ? n.toExponential(2) : String(n));

/** AWS region names in the feed that the topology does not know (GLOBAL is not a region but is known). */
export function unknownRegions(regions: readonly string[]): string[] {
  return regions.filter((name) => name !== 'GLOBAL' && findRegion(name) === undefined);
}
