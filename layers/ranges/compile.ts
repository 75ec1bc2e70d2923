/**
 * Feeds to range table: every CIDR parsed strictly, duplicates folded, the result encoded in the compact
 * wire format the edge loads. Deterministic: the same prefixes give the same bytes whatever order the
 * feeds list them in (content addressing and "did anything change?" both rely on it).
 *
 * It runs on every range update (and at every build), so it is written to stay fast even before the JIT
 * has warmed up: the same prefix is listed once per AWS service, so texts are folded before they are
 * parsed, and no per-entry strings or closures are made (an entry's name, "AWS prefixes[12].ip_prefix",
 * is only spelled out when it is refused). `bench/ranges.ts` measures it.
 */
import { encodeTable, type TableMetadata } from '../net/codec';
import { buildIntervals, compareCidr } from '../net/intervals';
import { type Cidr, formatCidr, parseCidr } from '../net/ip';
import { CLOUDS, type Cloud, type Intervals, MAX_PLACES, type Place, type RangeEntry, type RangeTableData } from '../net/types';
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
  /** Where the feeds came from (file or URL), to name in errors. */
  sources?: { aws?: string; gcp?: string };
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
  /** The distinct prefixes, sorted (what the reference classifier and tests read). */
  data: RangeTableData;
  intervals: Intervals;
  metadata: TableMetadata;
  /** The table in its wire format. */
  bytes: Uint8Array;
  stats: CompileStats;
  /** Things worth a log line that do not stop publication. */
  warnings: string[];
}

// AWS lists a prefix under GLOBAL and a region at times; the region says more about where the client is.
const isGlobal = (region: string) => region === 'GLOBAL' || region === 'global';

/** Of two regions listed for one prefix, the one to keep: not GLOBAL, else the first by name (order-free). */
function preferRegion(a: string, b: string): string {
  if (isGlobal(a) !== isGlobal(b)) return isGlobal(a) ? b : a;
  return a < b ? a : b;
}

/** Where an entry came from, spelled out only for an error message. */
const List = { AwsV4: 0, AwsV6: 1, Gcp: 2, Overlay: 3 } as const;
type List = (typeof List)[keyof typeof List];

function originOf(list: List, index: number): string {
  switch (list) {
    case List.AwsV4:
      return `AWS prefixes[${index}].ip_prefix`;
    case List.AwsV6:
      return `AWS ipv6_prefixes[${index}].ipv6_prefix`;
    case List.Gcp:
      return `GCP prefixes[${index}]`;
    case List.Overlay:
      return `overlay[${index}]`;
  }
}

interface Candidate {
  text: string;
  /** Index of the cloud in CLOUDS (the sort's tie-break). */
  cloud: number;
  /** Index into the collector's places, in order of first appearance. */
  place: number;
  /** 4 or 6 when the list says which family it holds, 0 when either may appear. */
  family: 0 | 4 | 6;
  list: List;
  index: number;
  cidr?: Cidr;
}

/** Collects entries, folding repeats of the same text in the same cloud as they arrive. */
class Collector {
  readonly candidates: Candidate[] = [];
  readonly places: Place[] = [];
  readonly warnings: string[] = [];
  private readonly seen = CLOUDS.map(() => new Map<string, Candidate>());
  private readonly placeIds = CLOUDS.map(() => new Map<string, number>());

  add(text: string, cloud: Cloud, region: string, family: 0 | 4 | 6, list: List, index: number): void {
    const c = CLOUDS.indexOf(cloud);
    const place = this.placeId(c, region);
    const earlier = this.seen[c]!.get(text);
    if (earlier === undefined) {
      const candidate: Candidate = { text, cloud: c, place, family, list, index };
      this.seen[c]!.set(text, candidate);
      this.candidates.push(candidate);
    } else if (earlier.place !== place) {
      this.resolve(earlier, place, text);
    }
  }

  /** One prefix, two regions: keep the better one (see preferRegion), and say so. */
  resolve(kept: Candidate, otherPlace: number, prefix: string): void {
    const a = this.places[kept.place]!;
    const b = this.places[otherPlace]!;
    const region = preferRegion(a.region, b.region);
    this.warnings.push(`${a.cloud} prefix ${prefix} is listed in ${a.region} and ${b.region}; using ${region}`);
    kept.place = region === a.region ? kept.place : otherPlace;
  }

  private placeId(cloud: number, region: string): number {
    const ids = this.placeIds[cloud]!;
    let id = ids.get(region);
    if (id === undefined) {
      id = this.places.length;
      this.places.push({ cloud: CLOUDS[cloud]!, region });
      ids.set(region, id);
    }
    return id;
  }
}

/** The longest CIDR text there is ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"). */
const MAX_CIDR_TEXT = 49;

function parseCandidate(candidate: Candidate, sources: CompileInput['sources'] = {}): Cidr {
  const { text } = candidate;
  const cidr = text.length > MAX_CIDR_TEXT ? `a text of ${text.length} characters` : parseCidr(text);
  if (typeof cidr === 'string' || (candidate.family !== 0 && cidr.family !== candidate.family)) {
    const source = candidate.list === List.Overlay ? undefined : candidate.list === List.Gcp ? sources.gcp : sources.aws;
    const origin = `${source ? `${source}: ` : ''}${originOf(candidate.list, candidate.index)}`;
    throw new FeedError(origin, typeof cidr === 'string' ? `invalid CIDR: ${cidr}` : `"${text}" is not an IPv${candidate.family} prefix`, 'cidr');
  }
  return cidr;
}

export function compileRanges(input: CompileInput): CompiledRanges {
  const collector = new Collector();
  const { aws, gcp, overlay = [] } = input;

  for (let i = 0; i < aws.prefixes.length; i++) {
    const p = aws.prefixes[i]!;
    collector.add(p.ip_prefix, 'aws', p.region, 4, List.AwsV4, i);
  }
  for (let i = 0; i < aws.ipv6_prefixes.length; i++) {
    const p = aws.ipv6_prefixes[i]!;
    collector.add(p.ipv6_prefix, 'aws', p.region, 6, List.AwsV6, i);
  }
  let gcpV4 = 0;
  const gcpPrefixes = gcp?.prefixes ?? [];
  for (let i = 0; i < gcpPrefixes.length; i++) {
    const p = gcpPrefixes[i]!;
    const v4 = 'ipv4Prefix' in p;
    if (v4) gcpV4++;
    collector.add((v4 ? p.ipv4Prefix : p.ipv6Prefix) as string, 'gcp', p.scope, v4 ? 4 : 6, List.Gcp, i);
  }
  const feedPlaces = collector.places.slice();
  for (let i = 0; i < overlay.length; i++) collector.add(overlay[i]!.cidr, overlay[i]!.cloud, overlay[i]!.region, 0, List.Overlay, i);

  // Sorted by address, then cloud: texts that differ but name the same prefix ("2600:1F00::/24" and
  // "2600:1f00::/24") end up side by side and fold like any other repeat.
  const { candidates, warnings } = collector;
  for (const candidate of candidates) candidate.cidr = parseCandidate(candidate, input.sources);
  candidates.sort((a, b) => compareCidr(a.cidr!, b.cidr!) || a.cloud - b.cloud);
  const distinct: Candidate[] = [];
  for (const candidate of candidates) {
    const last = distinct[distinct.length - 1];
    if (last !== undefined && last.cloud === candidate.cloud && compareCidr(last.cidr!, candidate.cidr!) === 0) {
      if (last.place !== candidate.place) collector.resolve(last, candidate.place, formatCidr(candidate.cidr!));
    } else {
      distinct.push(candidate);
    }
  }

  // Places in a fixed order (cloud, then name), so that their indices do not depend on the feeds' order.
  // Only places some entry still uses are kept (a region that lost every prefix to another is dropped).
  const used = new Uint8Array(collector.places.length);
  for (const c of distinct) used[c.place] = 1;
  const order = collector.places
    .map((place, id) => ({ place, id }))
    .filter(({ id }) => used[id] === 1)
    .sort((a, b) => CLOUDS.indexOf(a.place.cloud) - CLOUDS.indexOf(b.place.cloud) || (a.place.region < b.place.region ? -1 : a.place.region > b.place.region ? 1 : 0));
  const renumber = new Int32Array(collector.places.length);
  order.forEach(({ id }, i) => (renumber[id] = i));
  const places = order.map(({ place }) => place);
  if (places.length > MAX_PLACES) throw new FeedError('feeds', `${places.length} distinct regions; a range table holds at most ${MAX_PLACES}`);
  const entries: RangeEntry[] = distinct.map((c) => ({ cidr: c.cidr!, place: renumber[c.place]! }));

  const regionsOf = (cloud: Cloud) => feedPlaces.filter((p) => p.cloud === cloud).map((p) => p.region).sort();
  const counts = {
    aws: { v4: aws.prefixes.length, v6: aws.ipv6_prefixes.length, regions: regionsOf('aws') },
    gcp: { v4: gcpV4, v6: gcpPrefixes.length - gcpV4, regions: regionsOf('gcp') },
  };
  const data: RangeTableData = { places, entries };
  const metadata: TableMetadata = {
    aws: { syncToken: aws.syncToken, createDate: aws.createDate, prefixes: aws.prefixes.length + aws.ipv6_prefixes.length },
    ...(gcp ? { gcp: { syncToken: gcp.syncToken, creationTime: gcp.creationTime, prefixes: gcpPrefixes.length } } : {}),
    ...(overlay.length > 0 ? { overlay: overlay.length } : {}),
  };
  const intervals = buildIntervals(data);
  const bytes = encodeTable(metadata, places, intervals);
  return {
    data,
    intervals,
    metadata,
    bytes,
    warnings,
    stats: { ...counts, overlay: overlay.length, entries: entries.length, bytes: bytes.length },
  };
}
