/**
 * AWS and GCP feeds for range-update tests: the vendored snapshots, as published or altered in the ways
 * feeds go wrong (truncated, wrong schema, a bad CIDR, half the prefixes gone, an older syncToken).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DATA = join(__dirname, '../../data');

/** syncToken of data/aws-ip-ranges.json and of the later real publication, data/aws-ip-ranges-2026-08-22.json. */
export const AWS_TOKEN = '1785313625';
export const AWS_LATER_TOKEN = '1787411825';
export const GCP_TOKEN = '1785333953849';
/** In a prefix (eu-west-1, 66.36.3.0/24) the later AWS feed added: the earlier table places it nowhere. */
export const ADDED_IN_LATER = '66.36.3.1';

export type Feed = Record<string, unknown> & { syncToken: string; prefixes: Record<string, unknown>[]; ipv6_prefixes: Record<string, unknown>[] };

const texts = new Map<string, string>();
export function dataText(file: string): string {
  let text = texts.get(file);
  if (text === undefined) {
    text = readFileSync(join(DATA, file), 'utf8');
    texts.set(file, text);
  }
  return text;
}

/** The AWS feed of `file`, changed by `change` (which may edit the parsed feed in place), as JSON text. */
export function awsFeedText(change: (feed: Feed) => void = () => undefined, file = 'aws-ip-ranges.json'): string {
  const feed = JSON.parse(dataText(file)) as Feed;
  change(feed);
  return JSON.stringify(feed);
}

export const gcpFeedText = (): string => dataText('gcp-cloud.json');

/** Keeps the first `fraction` of each prefix list. */
export function keepFraction(feed: Feed, fraction: number): void {
  feed.prefixes = feed.prefixes.slice(0, Math.floor(feed.prefixes.length * fraction));
  feed.ipv6_prefixes = feed.ipv6_prefixes.slice(0, Math.floor(feed.ipv6_prefixes.length * fraction));
}
