/**
 * Feeds to range table: every CIDR parsed strictly, duplicates folded, the result encoded in the compact
 * wire format the edge loads. Deterministic: the same feeds give the same bytes (content addressing and
 * "did anything change?" both rely on it).
 */
import { encodeTable, type TableMetadata } from '../net/codec';
import { buildIntervals } from '../net/intervals';
import { type Cidr, formatCidr, parseCidr } from '../net/ip';
import type { Cloud, Intervals, Place, RangeEntry, RangeTableData } from '../net/types';
import { type AwsFeed, FeedError, type GcpFeed } from './feeds';

/** An extra range from configuration, e.g. loopback blocks that act as cloud clients in the local stack. */
export interface OverlayRange {
  cidr: string;
  cloud: Cloud;
  region: string;
}

export interface CompileInput {
  aws: AwsFeed;
  gcp?: GcpFeed;
  overlay?: OverlayRange[];
}

export interface CompileStats {
  aws: { v4: number; v6: number; regions: string[] };
  gcp: { v4: number; v6: number; regions: string[] };
  overlay: number;
  /** Entries after folding duplicates (the same prefix listed for several services). */
  entries: number;
  bytes: number;
}

export interface CompiledRanges {
  /** The distinct prefixes (what the reference classifier and tests read). */
  data: RangeTableData;
  intervals: Intervals;
  metadata: TableMetadata;
  /** The table in its wire format. */
  bytes: Uint8Array;
  stats: CompileStats;
  /** Things worth a log line that do not stop publication. */
  warnings: string[];
}

interface RawRange {
  text: string;
  cloud: Cloud;
  region: string;
  /** Where it came from, for error messages: "AWS prefixes[12].ip_prefix". */
  origin: string;
}

// AWS lists a prefix under GLOBAL and a region at times; the region says more about where the client is.
const isGlobal = (region: string) => region === 'GLOBAL' || region === 'global';

export function compileRanges(input: CompileInput): CompiledRanges {
  const raws: RawRange[] = [];
  input.aws.prefixes.forEach((p, i) => raws.push({ text: p.ip_prefix, cloud: 'aws', region: p.region, origin: `AWS prefixes[${i}].ip_prefix` }));
  input.aws.ipv6_prefixes.forEach((p, i) => raws.push({ text: p.ipv6_prefix, cloud: 'aws', region: p.region, origin: `AWS ipv6_prefixes[${i}].ipv6_prefix` }));
  input.gcp?.prefixes.forEach((p, i) => {
    const text = 'ipv4Prefix' in p ? p.ipv4Prefix : p.ipv6Prefix;
    raws.push({ text: text as string, cloud: 'gcp', region: p.scope, origin: `GCP prefixes[${i}]` });
  });
  input.overlay?.forEach((o, i) => raws.push({ text: o.cidr, cloud: o.cloud, region: o.region, origin: `overlay[${i}]` }));

  const warnings: string[] = [];
  const places: Place[] = [];
  const placeIndex = new Map<string, number>();
  const placeOf = (cloud: Cloud, region: string) => {
    const key = `${cloud}\u0000${region}`;
    let index = placeIndex.get(key);
    if (index === undefined) {
      index = places.length;
      places.push({ cloud, region });
      placeIndex.set(key, index);
    }
    return index;
  };

  // One entry per (cloud, prefix): the same prefix appears once per AWS service.
  const byPrefix = new Map<string, { cidr: Cidr; cloud: Cloud; region: string }>();
  const counts = { aws: { v4: 0, v6: 0, regions: new Set<string>() }, gcp: { v4: 0, v6: 0, regions: new Set<string>() } };
  let overlay = 0;
  for (const raw of raws) {
    const cidr = parseCidr(raw.text);
    if (typeof cidr === 'string') throw new FeedError(raw.origin, `invalid CIDR: ${cidr}`);
    if (raw.origin.startsWith('overlay')) overlay++;
    else {
      const c = counts[raw.cloud];
      if (cidr.family === 4) c.v4++;
      else c.v6++;
      c.regions.add(raw.region);
    }
    const key = `${raw.cloud} ${formatCidr(cidr)}`;
    const seen = byPrefix.get(key);
    if (seen === undefined) {
      byPrefix.set(key, { cidr, cloud: raw.cloud, region: raw.region });
    } else if (seen.region !== raw.region) {
      const keep = isGlobal(seen.region) ? raw.region : isGlobal(raw.region) ? seen.region : [seen.region, raw.region].sort()[0]!;
      warnings.push(`${raw.cloud} prefix ${formatCidr(cidr)} is listed in ${seen.region} and ${raw.region}; using ${keep}`);
      seen.region = keep;
    }
  }

  const entries: RangeEntry[] = [...byPrefix.values()].map((v) => ({ cidr: v.cidr, place: placeOf(v.cloud, v.region) }));
  const data: RangeTableData = { places, entries };
  const metadata: TableMetadata = {
    aws: { syncToken: input.aws.syncToken, createDate: input.aws.createDate, prefixes: counts.aws.v4 + counts.aws.v6 },
    ...(input.gcp ? { gcp: { syncToken: input.gcp.syncToken, creationTime: input.gcp.creationTime, prefixes: counts.gcp.v4 + counts.gcp.v6 } } : {}),
    ...(overlay > 0 ? { overlay } : {}),
  };
  const intervals = buildIntervals(data);
  const bytes = encodeTable(metadata, places, intervals);
  const regions = (set: Set<string>) => [...set].sort();
  return {
    data,
    intervals,
    metadata,
    bytes,
    warnings,
    stats: {
      aws: { v4: counts.aws.v4, v6: counts.aws.v6, regions: regions(counts.aws.regions) },
      gcp: { v4: counts.gcp.v4, v6: counts.gcp.v6, regions: regions(counts.gcp.regions) },
      overlay,
      entries: entries.length,
      bytes: bytes.length,
    },
  };
}
