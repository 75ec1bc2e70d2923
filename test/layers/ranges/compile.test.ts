/** compileRanges beyond the basics (table-compile.test.ts): determinism, folding, and refusals by entry. */
import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import { type AwsFeed, FeedError, parseAwsFeed, parseGcpFeed } from '../../../layers/ranges/feeds';
import { AWS_TOKEN, awsFeedText, gcpFeedText } from '../../support/range-feeds';

const feed = (v4: [string, string][], v6: [string, string][] = [['2600:1f18::/33', 'us-east-1']]): AwsFeed => ({
  syncToken: '1785313625',
  createDate: '2026-07-29-08-27-05',
  prefixes: v4.map(([ip_prefix, region]) => ({ ip_prefix, region, service: 'EC2' })),
  ipv6_prefixes: v6.map(([ipv6_prefix, region]) => ({ ipv6_prefix, region, service: 'EC2' })),
});

/** A deterministic shuffle (xorshift), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('compileRanges', () => {
  test('gives the same bytes whatever order the feeds list their prefixes in', () => {
    const aws = parseAwsFeed(awsFeedText());
    const gcp = parseGcpFeed(gcpFeedText());
    const reference = compileRanges({ aws, gcp });
    for (const seed of [1, 2]) {
      const reordered = compileRanges({
        aws: { ...aws, prefixes: shuffled(aws.prefixes, seed), ipv6_prefixes: shuffled(aws.ipv6_prefixes, seed + 10) },
        gcp: { ...gcp, prefixes: shuffled(gcp.prefixes, seed + 20) },
      });
      expect(Buffer.from(reordered.bytes).equals(Buffer.from(reference.bytes))).toBe(true);
    }
    expect(reference.metadata).toEqual({
      aws: { syncToken: AWS_TOKEN, createDate: '2026-07-29-08-27-05', prefixes: 16424 },
      gcp: { syncToken: '1785333953849', creationTime: '2026-07-29T07:05:53.849365', prefixes: 1047 },
      counts: { aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: 11809 },
      coverage: reference.stats.coverage,
    });
    expect(reference.stats.coverage).toEqual({ aws: { v4: 101817782, v6: 88701737742 }, gcp: { v4: 19092352, v6: 49348608 } });
    expect(reference.stats).toMatchObject({ aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, entries: 11809 });
  });

  test('folds two spellings of one IPv6 prefix', () => {
    const compiled = compileRanges({ aws: feed([['3.4.12.4/32', 'eu-west-1']], [['2600:1F18::/33', 'us-east-1'], ['2600:1f18:0::/33', 'us-east-1']]) });
    expect(compiled.stats.entries).toBe(2);
    expect(compiled.warnings).toEqual([]);
  });

  test('refuses a prefix claimed by two regions, whichever comes first, naming both entries', () => {
    const one = () => compileRanges({ aws: feed([['52.0.0.0/16', 'us-west-2'], ['52.0.0.0/16', 'eu-west-1']]) });
    const other = () => compileRanges({ aws: feed([['52.0.0.0/16', 'eu-west-1'], ['52.0.0.0/16', 'us-west-2']]) });
    expect(one).toThrow('AWS prefixes[1].ip_prefix: refused by rule conflict: 52.0.0.0/16 in "eu-west-1", but AWS prefixes[0].ip_prefix lists it in "us-west-2"');
    expect(other).toThrow('AWS prefixes[1].ip_prefix: refused by rule conflict: 52.0.0.0/16 in "us-west-2", but AWS prefixes[0].ip_prefix lists it in "eu-west-1"');
  });

  test('refuses two spellings of one IPv6 prefix in two regions (the same prefix after normalisation)', () => {
    expect(() => compileRanges({ aws: feed([['3.4.12.4/32', 'eu-west-1']], [['2600:1F18::/33', 'us-east-1'], ['2600:1f18:0::/33', 'eu-west-1']]) })).toThrow(/rule conflict: 2600:1f18::\/33 in "(us-east-1|eu-west-1)"/);
  });

  test.each<[string, AwsFeed, string]>([
    ['an IPv6 prefix among the IPv4 ones', feed([['3.4.12.4/32', 'eu-west-1'], ['2600:1f18::/33', 'us-east-1']]), 'AWS prefixes[1].ip_prefix: "2600:1f18::/33" is not an IPv4 prefix'],
    ['an IPv4 prefix among the IPv6 ones', feed([['3.4.12.4/32', 'eu-west-1']], [['3.4.12.0/24', 'eu-west-1']]), 'AWS ipv6_prefixes[0].ipv6_prefix: "3.4.12.0/24" is not an IPv6 prefix'],
    ['a bad IPv6 prefix', feed([['3.4.12.4/32', 'eu-west-1']], [['2600:1f18::/33', 'us-east-1'], ['2600:1f18:::/48', 'us-east-1']]), 'AWS ipv6_prefixes[1].ipv6_prefix: invalid CIDR'],
  ])('refuses %s, naming the entry', (_name, input, message) => {
    let error: unknown;
    try {
      compileRanges({ aws: input });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FeedError);
    expect((error as FeedError).kind).toBe('cidr');
    expect((error as Error).message).toContain(message);
  });

  test('names a bad GCP entry', () => {
    const gcp = parseGcpFeed(JSON.stringify({ syncToken: '1785333953849', creationTime: '2026-07-29T07:05:53.849365', prefixes: [{ ipv4Prefix: '34.1.208.0/19', scope: 'africa-south1' }] }));
    expect(() => compileRanges({ aws: feed([['3.4.12.4/32', 'eu-west-1']]), gcp })).toThrow('GCP prefixes[0]: invalid CIDR: "34.1.208.0/19" has host bits set');
  });
});

describe('feed schemas', () => {
  test.each([
    ['a region with a space', (f: Record<string, any>) => (f.prefixes[0].region = 'us east 1'), 'prefixes.0.region: must be 1-64 printable ASCII'],
    ['a region of 65 characters', (f: Record<string, any>) => (f.prefixes[0].region = 'r'.repeat(65)), 'prefixes.0.region'],
    ['a number for a region', (f: Record<string, any>) => (f.prefixes[0].region = 42), 'prefixes.0.region: Invalid input: expected string'],
    ['an object for the prefix list', (f: Record<string, any>) => (f.ipv6_prefixes = {}), 'ipv6_prefixes: Invalid input: expected array'],
    ['a createDate in another format', (f: Record<string, any>) => (f.createDate = '2026-07-29T08:27:05Z'), 'createDate: must look like'],
  ])('refuse %s, naming the field', (_name, change, message) => {
    const f = JSON.parse(awsFeedText());
    change(f);
    let error: unknown;
    try {
      parseAwsFeed(JSON.stringify(f));
    } catch (e) {
      error = e;
    }
    expect((error as FeedError).kind).toBe('schema');
    expect((error as Error).message).toContain(message);
  });

  test('drop fields they do not read from the prefix lists', () => {
    const parsed = parseAwsFeed(awsFeedText());
    expect(Object.keys(parsed.prefixes[0]!).sort()).toEqual(['ip_prefix', 'network_border_group', 'region', 'service']);
    const f = JSON.parse(awsFeedText());
    f.prefixes[0].surprise = { nested: true };
    expect(parseAwsFeed(JSON.stringify(f)).prefixes[0]).not.toHaveProperty('surprise');
  });
});

test('refuses a prefix text far too long to be one, without echoing it', () => {
  let error: unknown;
  try {
    compileRanges({ aws: feed([['3.4.12.4/32', 'eu-west-1'], [`1.2.3.4/${'9'.repeat(100_000)}`, 'eu-west-1']]) });
  } catch (e) {
    error = e;
  }
  expect((error as Error).message).toBe('AWS prefixes[1].ip_prefix: invalid CIDR: a text of 100008 characters');
});
