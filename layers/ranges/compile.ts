/**
 * Feeds to range table: every CIDR parsed strictly, duplicates folded, the result encoded in the compact
 * wire format the edge loads. Deterministic: the same prefixes give the same bytes whatever order the
 * feeds list them in (content addressing and "did anything change?" both rely on it).
 *
 * It runs on every range update (and at every build), so it is written to stay fast even before the JIT
 * has warmed up: the same prefix is listed once per AWS service, so texts are folded before they are
 * parsed, and no per-entry strings or closures are made (an entry's name, "AWS prefixes[12].ip_prefix",
 * is only spelled out when it is refused). `bench/ranges.ts` measures it.
 *
 * The plausibility rules on prefixes run here too (plausibility.ts has the others), each refusal a
 * FeedError whose kind names the rule:
 * - `prefix-length`: nothing shorter than the floor of its family (`0.0.0.0/0` would be everyone);
 * - `special-purpose`: nothing overlapping the IANA special-purpose space (special-purpose.ts);
 * - `conflict`: one prefix, one place: the same prefix (after normalisation) in two regions of a cloud;
 * - `region-name` and `time`: names and timestamps of the shape the clouds use.
 * The overlay is configuration, not feed data: it skips the first two (the local stack's "clouds" are
 * loopback blocks), wins over a feed entry for the same prefix, and is listed in the table's metadata.
 */
import { encodeTable, type TableMetadata } from '../net/codec';
import { buildIntervals, compareCidr } from '../net/intervals';
import { type Cidr, formatCidr, parseCidr } from '../net/ip';
import { CLOUDS, type Cloud, type Intervals, MAX_PLACES, type Place, type RangeEntry, type RangeTableData } from '../net/types';
import { type AwsFeed, FeedError, type FeedProblem, type GcpFeed } from './feeds';
import { checkFeedTime, checkRegionName, DEFAULT_FEED_RULES, type FeedRules, gcpCreationTimeMs, quoted } from './plausibility';
import { overlaps, specialPurposeBlock } from './special-purpose';
import { awsCreateDateMs, tokenMs } from './version';

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
  /**
   * The plausibility rules (default DEFAULT_FEED_RULES); `false` compiles without them, for synthetic
   * feeds in tests and for measuring what the rules cost. Feeds from outside always go through them.
   */
  rules?: FeedRules | false;
  /** The time feeds are judged at (a token from after it is "in the future"); default now. */
  now?: Date;
}

/** Address space a cloud's feed covers, nested prefixes counted once: IPv4 in addresses, IPv6 in /64s. */
export interface Coverage {
  v4: number;
  v6: number;
}

export interface CompileStats {
  aws: { v4: number; v6: number; regions: string[] };
  gcp: { v4: number; v6: number; regions: string[] };
  overlay: number;
  /** Space each feed covers (overlay left out): what the growth guard compares. */
  coverage: { aws: Coverage; gcp: Coverage };
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

const isGlobal = (region: string) => region === 'GLOBAL' || region === 'global';

/** Of two regions listed for one prefix, the one to keep when the rules are off: not GLOBAL, else the first by name. */
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

/** A refusal by one of the rules, naming the entry (with its feed's file or URL). */
function refuse(rule: FeedProblem, list: List, index: number, sources: CompileInput['sources'] = {}, problem: string): FeedError {
  const source = list === List.Overlay ? 'configuration' : list === List.Gcp ? sources.gcp : sources.aws;
  return new FeedError(`${source ? `${source}: ` : ''}${originOf(list, index)}`, `refused by rule ${rule}: ${problem}`, rule);
}

/** Collects entries, folding repeats of the same text in the same cloud as they arrive. */
class Collector {
  readonly candidates: Candidate[] = [];
  readonly places: Place[] = [];
  readonly warnings: string[] = [];
  private readonly seen = CLOUDS.map(() => new Map<string, Candidate>());
  private readonly placeIds = CLOUDS.map(() => new Map<string, number>());
  private readonly sources: NonNullable<CompileInput['sources']>;

  constructor(
    /** The plausibility rules apply (region names, conflicts refused); off, conflicts are settled by name. */
    private readonly rulesOn: boolean,
    sources: CompileInput['sources'] = {},
  ) {
    this.sources = sources;
  }

  add(text: string, cloud: Cloud, region: string, family: 0 | 4 | 6, list: List, index: number): void {
    const c = CLOUDS.indexOf(cloud);
    const place = this.placeId(c, region, list, index);
    const earlier = this.seen[c]!.get(text);
    if (earlier === undefined) {
      const candidate: Candidate = { text, cloud: c, place, family, list, index };
      this.seen[c]!.set(text, candidate);
      this.candidates.push(candidate);
    } else if (earlier.place !== place) {
      this.resolve(earlier, { place, list, index }, text);
    }
  }

  /**
   * One prefix, two places in a cloud. Between feed entries that is refused (which region would be the
   * right one?); an overlay entry is configuration and wins over the feed, with a warning.
   */
  resolve(kept: Candidate, other: Pick<Candidate, 'place' | 'list' | 'index'>, prefix: string): void {
    const a = this.places[kept.place]!;
    const b = this.places[other.place]!;
    const overlayKept = kept.list === List.Overlay;
    const overlayOther = other.list === List.Overlay;
    if (overlayKept === overlayOther && !this.rulesOn) {
      // Without the rules (synthetic feeds): settled, order-free, by preferring a region over GLOBAL, then by name.
      const region = preferRegion(a.region, b.region);
      this.warnings.push(`${a.cloud} prefix ${prefix} is listed in ${a.region} and ${b.region}; using ${region}`);
      if (region !== a.region) kept.place = other.place;
      return;
    }
    if (overlayKept === overlayOther) {
      throw refuse('conflict', other.list, other.index, this.sources, `${prefix} in ${quoted(b.region)}, but ${originOf(kept.list, kept.index)} lists it in ${quoted(a.region)} (one prefix, one place)`);
    }
    const [overlayPlace, feedPlace] = overlayKept ? [a, b] : [b, a];
    this.warnings.push(`${a.cloud} prefix ${prefix} is listed in ${feedPlace.region} by the feed and in ${overlayPlace.region} by the overlay; using the overlay's`);
    if (overlayOther) {
      kept.place = other.place;
      kept.list = other.list;
      kept.index = other.index;
    }
  }

  private placeId(cloud: number, region: string, list: List, index: number): number {
    const ids = this.placeIds[cloud]!;
    let id = ids.get(region);
    if (id === undefined) {
      // Once per distinct name: a feed has a few dozen regions for tens of thousands of entries.
      if (this.rulesOn && list !== List.Overlay) {
        const source = list === List.Gcp ? this.sources.gcp : this.sources.aws;
        checkRegionName(CLOUDS[cloud]!, region, `${source ? `${source}: ` : ''}${originOf(list, index).replace(/\.[a-z0-9_]+$/, '')}`);
      }
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

/** The prefix rules for one parsed feed entry: the family's floor, and no special-purpose space. */
function checkPrefix(candidate: Candidate, rules: FeedRules, sources: CompileInput['sources']): void {
  const cidr = candidate.cidr!;
  const floor = cidr.family === 4 ? rules.shortestPrefix.ipv4 : rules.shortestPrefix.ipv6;
  if (cidr.length < floor) {
    throw refuse('prefix-length', candidate.list, candidate.index, sources, `${formatCidr(cidr)} is shorter than /${floor}, the shortest IPv${cidr.family} prefix a feed may list`);
  }
  const special = specialPurposeBlock(cidr);
  if (special !== undefined) {
    const how = cidr.length <= special.cidr.length ? 'covers' : 'lies in';
    throw refuse('special-purpose', candidate.list, candidate.index, sources, `${formatCidr(cidr)} ${how} ${special.text}, ${special.name}: never a cloud region`);
  }
}

/** The time rule for both feeds (plausibility.ts). */
function checkTimes(aws: AwsFeed, gcp: GcpFeed | undefined, nowMs: number, sources: CompileInput['sources'] = {}): void {
  checkFeedTime({ cloud: 'AWS', token: aws.syncToken, tokenMs: tokenMs(aws.syncToken, 'seconds'), dateField: 'createDate', date: aws.createDate, dateMs: awsCreateDateMs(aws.createDate) }, nowMs, sources.aws ?? 'AWS feed');
  if (gcp) checkFeedTime({ cloud: 'GCP', token: gcp.syncToken, tokenMs: tokenMs(gcp.syncToken, 'milliseconds'), dateField: 'creationTime', date: gcp.creationTime, dateMs: gcpCreationTimeMs(gcp.creationTime) }, nowMs, sources.gcp ?? 'GCP feed');
}

/**
 * Space covered per cloud and family by `sorted` (address order, so a prefix comes before those nested in
 * it): a prefix inside the last counted one of its cloud and family adds nothing.
 */
function coverageOf(sorted: readonly Candidate[]): CompileStats['coverage'] {
  const coverage = { aws: { v4: 0, v6: 0 }, gcp: { v4: 0, v6: 0 } };
  const last: (Cidr | undefined)[] = [undefined, undefined, undefined, undefined];
  for (const candidate of sorted) {
    if (candidate.list === List.Overlay) continue;
    const cidr = candidate.cidr!;
    const slot = candidate.cloud * 2 + (cidr.family === 4 ? 0 : 1);
    const outer = last[slot];
    if (outer !== undefined && outer.length <= cidr.length && overlaps(outer, cidr)) continue;
    last[slot] = cidr;
    const totals = coverage[CLOUDS[candidate.cloud]!];
    if (cidr.family === 4) totals.v4 += 2 ** (32 - cidr.length);
    else totals.v6 += 2 ** (64 - cidr.length);
  }
  return coverage;
}

export function compileRanges(input: CompileInput): CompiledRanges {
  const rules = input.rules === undefined ? DEFAULT_FEED_RULES : input.rules;
  const collector = new Collector(rules !== false, input.sources);
  const { aws, gcp, overlay = [] } = input;
  if (rules !== false) checkTimes(aws, gcp, (input.now ?? new Date()).getTime(), input.sources);

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
  for (const candidate of candidates) {
    candidate.cidr = parseCandidate(candidate, input.sources);
    if (rules !== false && candidate.list !== List.Overlay) checkPrefix(candidate, rules, input.sources);
  }
  candidates.sort((a, b) => compareCidr(a.cidr!, b.cidr!) || a.cloud - b.cloud);
  const distinct: Candidate[] = [];
  for (const candidate of candidates) {
    const last = distinct[distinct.length - 1];
    if (last !== undefined && last.cloud === candidate.cloud && compareCidr(last.cidr!, candidate.cidr!) === 0) {
      if (last.place !== candidate.place) collector.resolve(last, candidate, formatCidr(candidate.cidr!));
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
  const coverage = coverageOf(distinct);
  const data: RangeTableData = { places, entries };
  const metadata: TableMetadata = {
    aws: { syncToken: aws.syncToken, createDate: aws.createDate, prefixes: aws.prefixes.length + aws.ipv6_prefixes.length },
    ...(gcp ? { gcp: { syncToken: gcp.syncToken, creationTime: gcp.creationTime, prefixes: gcpPrefixes.length } } : {}),
    // What the pointer records about the table, here too: a rollback republishes a table from its bytes alone.
    counts: { aws: { v4: counts.aws.v4, v6: counts.aws.v6 }, gcp: gcp ? { v4: counts.gcp.v4, v6: counts.gcp.v6 } : null, overlay: overlay.length, entries: entries.length },
    coverage,
    // Marked as configuration, so that a reader of the table can tell these ranges are not the clouds'.
    ...(overlay.length > 0 ? { overlay: overlay.length, overlaySource: 'configuration', overlayRanges: overlay.map(({ cidr, cloud, region }) => ({ cidr, cloud, region })) } : {}),
  };
  const intervals = buildIntervals(data);
  const bytes = encodeTable(metadata, places, intervals);
  return {
    data,
    intervals,
    metadata,
    bytes,
    warnings,
    stats: { ...counts, overlay: overlay.length, coverage, entries: entries.length, bytes: bytes.length },
  };
}
