/**
 * Schemas of the clouds' published IP range feeds. JSON from the network is hostile until proven
 * otherwise: everything the compiler reads is checked here, and each refusal names the field.
 * Fields we do not read are allowed (the clouds add fields without notice); in the long prefix lists they
 * are dropped rather than copied (z.object, not z.looseObject): tens of thousands of entries are parsed on
 * every update, and copying unread keys was a third of the schema's cost. For the same reason a prefix's
 * text is only typed here: compile.ts parses every one strictly (and bounds its length) anyway.
 */
import { z } from 'zod';

/** Region names end up in the table (one byte of length, printable ASCII); anything else is refused here. */
const regionName = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters without spaces');

const awsEntryCommon = {
  region: regionName,
  service: z.string(),
  network_border_group: z.string().optional(),
};

export const AwsFeedSchema = z.looseObject({
  syncToken: z.string().regex(/^[0-9]{1,20}$/, 'must be a decimal number in a string'),
  createDate: z.string().regex(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/, 'must look like 2026-07-29-08-27-05'),
  prefixes: z.array(z.object({ ip_prefix: z.string(), ...awsEntryCommon })).min(1, 'must not be empty'),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.string(), ...awsEntryCommon })).min(1, 'must not be empty'),
});
export type AwsFeed = z.infer<typeof AwsFeedSchema>;

const gcpEntryCommon = { scope: regionName, service: z.string().optional() };

export const GcpFeedSchema = z.looseObject({
  syncToken: z.string().regex(/^[0-9]{1,20}$/, 'must be a decimal number in a string'),
  creationTime: z.string().min(1).max(64),
  prefixes: z
    .array(
      z.union([
        z.object({ ipv4Prefix: z.string(), ...gcpEntryCommon }),
        z.object({ ipv6Prefix: z.string(), ...gcpEntryCommon }),
      ]),
    )
    .min(1, 'must not be empty'),
});
export type GcpFeed = z.infer<typeof GcpFeedSchema>;

/**
 * What was wrong with a refused feed, for metrics and for the caller's choice of exit code: it was not
 * JSON, not of the schema, held a bad CIDR, or broke a plausibility rule (plausibility.ts, compile.ts).
 */
export type FeedProblem = 'invalid-json' | 'schema' | 'cidr' | PlausibilityRule;

/** The plausibility rules, by the name a refusal gives. */
export type PlausibilityRule = 'prefix-length' | 'special-purpose' | 'conflict' | 'region-name' | 'time';

/** A refusal of a feed, with the file it came from and the problem. */
export class FeedError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
    readonly kind: FeedProblem = 'schema',
  ) {
    super(`${source}: ${problem}`);
    this.name = 'FeedError';
  }
}

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/** Parses feed text with `schema`; throws FeedError naming `source` and the problem. */
export function parseFeed<T>(schema: z.ZodType<T>, text: string, source: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const hint = text.length === 0 ? 'empty' : 'not valid JSON (truncated?)';
    throw new FeedError(source, `${hint}: ${(error as Error).message}`, 'invalid-json');
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new FeedError(source, `wrong schema: ${describeIssues(result.error)}`);
  return result.data;
}

export const parseAwsFeed = (text: string, source = 'AWS ip-ranges.json') => parseFeed(AwsFeedSchema, text, source);
export const parseGcpFeed = (text: string, source = 'GCP cloud.json') => parseFeed(GcpFeedSchema, text, source);
