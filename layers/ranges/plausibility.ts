/**
 * Plausibility rules for the clouds' feeds: what a feed must look like beyond its schema before a table is
 * compiled from it. A schema-valid feed can still send the whole internet to one region (`0.0.0.0/0`),
 * claim private space, publish from the future, or name a region `<script>`; each of these is refused by
 * a rule with a name, and the refusal names the offending entry (FeedError, kind = the rule).
 *
 * The rules on prefixes (shortest prefix, special-purpose space, one prefix one place) run inside
 * compileRanges, where every prefix is parsed anyway; the rules on names and times are here.
 */
import { FeedError } from './feeds';
import { calendarMs } from './version';

export interface FeedRules {
  /** The shortest prefix length a feed may list, per family (the floor). */
  shortestPrefix: { ipv4: number; ipv6: number };
}

/**
 * Today's feeds list nothing shorter than /11 (IPv4) and /32 (IPv6); /8 and /16 leave room for growth and
 * still refuse a prefix that would cover a sizeable share of the internet.
 */
export const DEFAULT_FEED_RULES: FeedRules = { shortestPrefix: { ipv4: 8, ipv6: 16 } };

/** How far in the future a feed's publication time may be (the clocks of the cloud and ours differ). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** How far a feed's token and its date may disagree (GCP's creationTime is in US Pacific time, unmarked). */
export const TOKEN_DATE_TOLERANCE_MS = 24 * 3_600_000;

/** Region names the clouds use: AWS `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`, `GLOBAL`. */
const AWS_REGION = /^(?:GLOBAL|[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2})$/;
/** GCP scopes: `us-central1`, `northamerica-northeast2`, `europe-west10`, `global`. */
const GCP_SCOPE = /^(?:global|[a-z]+-[a-z]+[0-9]{1,2})$/;

/** A name, quoted and cut short, safe for a log line whatever it holds. */
export const quoted = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** Refuses a region (AWS) or scope (GCP) name that does not have its cloud's shape. */
export function checkRegionName(cloud: 'aws' | 'gcp', region: string, origin: string): void {
  if ((cloud === 'aws' ? AWS_REGION : GCP_SCOPE).test(region)) return;
  const [field, shape] = cloud === 'aws' ? ['region', 'an AWS region name (like us-east-1) or GLOBAL'] : ['scope', 'a GCP scope name (like us-central1) or global'];
  throw new FeedError(origin, `refused by rule region-name: ${field} ${quoted(region)} is not ${shape}`, 'region-name');
}

/** GCP `creationTime` ("2026-07-29T07:05:53.849365", optionally with an offset) as epoch ms; NaN if not a date. */
export function gcpCreationTimeMs(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/.exec(text);
  if (!m) return Number.NaN;
  const ms = calendarMs(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const zone = m[7];
  if (zone === undefined || zone === 'Z') return ms;
  const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return zone[0] === '+' ? ms - offset : ms + offset;
}

const HOUR = 3_600_000;
const describeOffset = (ms: number) => (ms >= 2 * HOUR ? `${Math.round(ms / HOUR)} h` : `${Math.round(ms / 1000)} s`);

/**
 * The time rule for one feed: its token is its publication time (AWS: epoch seconds, GCP: epoch ms), its
 * date the same instant. Refused: a date that is not a calendar date, a token more than a few minutes in
 * the future (it would make every genuine feed look older until that time), a token and date that
 * disagree by more than a day.
 */
export function checkFeedTime(feed: { cloud: 'AWS' | 'GCP'; token: string; tokenMs: number; dateField: string; date: string; dateMs: number }, nowMs: number, source: string): void {
  const fail = (problem: string) => {
    throw new FeedError(source, `refused by rule time: ${problem}`, 'time');
  };
  if (Number.isNaN(feed.dateMs)) fail(`${feed.dateField} ${quoted(feed.date)} is not a calendar date and time`);
  if (feed.tokenMs > nowMs + FUTURE_TOLERANCE_MS) fail(`syncToken ${feed.token} is ${describeOffset(feed.tokenMs - nowMs)} in the future (${isoOrRaw(feed.tokenMs)})`);
  const apart = Math.abs(feed.tokenMs - feed.dateMs);
  if (apart > TOKEN_DATE_TOLERANCE_MS) fail(`syncToken ${feed.token} (${isoOrRaw(feed.tokenMs)}) and ${feed.dateField} ${feed.date} are ${describeOffset(apart)} apart (more than a day)`);
}

function isoOrRaw(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? 'beyond any date' : date.toISOString();
}
