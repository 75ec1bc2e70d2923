/**
 * Should a freshly compiled table replace the published one? The rules a table must pass after its feeds
 * passed their schemas and every CIDR parsed (feeds.ts, compile.ts):
 *
 * - its version must be newer than the published one (same or older: nothing to do, and that is fine),
 *   except that the same version in an older wire format is published again in this build's format (else
 *   edges of this build, which read only their format, would wait for the next feed change);
 * - no feed may lose more than `maxShrink` of its prefixes at once (a truncated or half-empty feed looks
 *   valid to a schema and would send whole regions to the wrong place);
 * - a feed that moves back while the other moves forward is refused too (a stale copy of one feed).
 *
 * `force` lifts the last two, never the first: an edge never takes an older table anyway.
 * Regions the topology does not know are reported, not refused (AWS opens regions before we hear of them).
 */
import { TABLE_FORMAT_VERSION } from '../net/codec';
import { findRegion } from '../topology/regions';
import type { CompiledRanges } from './compile';
import { pointerVersion, type RangePointer } from './pointer';
import { compareVersions, type TableVersion, versionOf } from './version';

export type RefusalReason = 'invalid-json' | 'schema' | 'cidr' | 'too-large' | 'shrink' | 'regressed';

export type Verdict =
  | { verdict: 'publish'; forcedPast?: RefusalReason[] }
  | { verdict: 'unchanged'; reason: 'same' | 'older'; message: string }
  | { verdict: 'refused'; reason: RefusalReason; message: string };

export interface RuleOptions {
  /** Largest fraction of a feed's prefixes that may disappear in one update (0.1 = 10%). */
  maxShrink: number;
  force?: boolean;
}

const describe = (v: TableVersion) => (v.gcp === null ? `AWS ${v.aws}` : `AWS ${v.aws} / GCP ${v.gcp}`);

export function judgeUpdate(compiled: Pick<CompiledRanges, 'metadata' | 'stats'>, published: RangePointer | null, options: RuleOptions): Verdict {
  if (published === null) return { verdict: 'publish' };
  const next = versionOf(compiled.metadata)!;
  const current = pointerVersion(published);
  const order = compareVersions(next, current);
  if (order === 'same' && published.tableFormat !== TABLE_FORMAT_VERSION) return { verdict: 'publish' };
  if (order === 'same') return { verdict: 'unchanged', reason: 'same', message: `${describe(next)} is already published` };
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

  if (problems.length === 0) return { verdict: 'publish' };
  if (options.force) return { verdict: 'publish', forcedPast: problems.map((p) => p.reason) };
  return { verdict: 'refused', reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; ') };
}

/** AWS region names in the feed that the topology does not know (GLOBAL is not a region but is known). */
export function unknownRegions(regions: readonly string[]): string[] {
  return regions.filter((name) => name !== 'GLOBAL' && findRegion(name) === undefined);
}
