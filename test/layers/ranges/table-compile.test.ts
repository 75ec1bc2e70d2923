import { loadTable } from '../../../layers/net/load';
import { compileRanges } from '../../../layers/ranges/compile';
import { type AwsFeed, FeedError, parseAwsFeed, parseGcpFeed } from '../../../layers/ranges/feeds';

const aws = (prefixes: [string, string][], v6: [string, string][] = [['2600:1f18::/33', 'us-east-1']]): AwsFeed => ({
  syncToken: '1785313625',
  createDate: '2026-07-29-08-27-05',
  prefixes: prefixes.map(([ip_prefix, region]) => ({ ip_prefix, region, service: 'EC2' })),
  ipv6_prefixes: v6.map(([ipv6_prefix, region]) => ({ ipv6_prefix, region, service: 'EC2' })),
});

describe('compileRanges', () => {
  test('folds a prefix listed once per service into one entry', () => {
    const feed = aws([['3.4.12.4/32', 'eu-west-1'], ['3.4.12.4/32', 'eu-west-1'], ['52.94.76.0/22', 'us-west-2']]);
    const compiled = compileRanges({ aws: feed });
    expect(compiled.stats.entries).toBe(3);
    expect(compiled.stats.aws).toMatchObject({ v4: 3, v6: 1 });
    expect(compiled.warnings).toEqual([]);
  });

  test('refuses a prefix listed under GLOBAL and a region (one prefix, one place), naming both entries', () => {
    expect(() => compileRanges({ aws: aws([['15.193.3.0/24', 'GLOBAL'], ['15.193.3.0/24', 'ap-southeast-2']]) })).toThrow(
      'AWS prefixes[1].ip_prefix: refused by rule conflict: 15.193.3.0/24 in "ap-southeast-2", but AWS prefixes[0].ip_prefix lists it in "GLOBAL" (one prefix, one place)',
    );
  });

  test('AWS wins over GCP where both claim an address, even with a shorter prefix', () => {
    const gcp = parseGcpFeed(JSON.stringify({ syncToken: '1785333953849', creationTime: '2026-07-29T07:05:53.849365', prefixes: [{ ipv4Prefix: '52.0.0.0/24', scope: 'us-central1' }] }));
    const table = loadTable(compileRanges({ aws: aws([['52.0.0.0/16', 'us-east-1']]), gcp }).bytes).table;
    expect(table.classify('52.0.0.1')).toEqual({ cloud: 'aws', region: 'us-east-1', prefix: '52.0.0.0/16' });
  });

  test('adds overlay ranges (the local stack\'s loopback clouds: configuration, so special-purpose space is fine), marked as configuration', () => {
    const compiled = compileRanges({ aws: aws([]), overlay: [{ cidr: '127.0.2.0/24', cloud: 'aws', region: 'eu-west-1' }] });
    const loaded = loadTable(compiled.bytes);
    expect(loaded.table.classify('127.0.2.10')).toEqual({ cloud: 'aws', region: 'eu-west-1', prefix: '127.0.2.0/24' });
    expect(loaded.table.classify('127.0.0.1')).toBeNull();
    expect(loaded.metadata).toMatchObject({ overlay: 1, overlaySource: 'configuration', overlayRanges: [{ cidr: '127.0.2.0/24', cloud: 'aws', region: 'eu-west-1' }] });
    // The overlay is not feed data: it counts for no feed's coverage.
    expect(compiled.stats.coverage.aws.v4).toBe(0);
  });

  test('an overlay range wins over the feed for the same prefix, and says so', () => {
    const compiled = compileRanges({ aws: aws([['52.0.0.0/24', 'us-east-1']]), overlay: [{ cidr: '52.0.0.0/24', cloud: 'aws', region: 'eu-west-1' }] });
    expect(loadTable(compiled.bytes).table.classify('52.0.0.1')?.region).toBe('eu-west-1');
    expect(compiled.warnings).toEqual(['aws prefix 52.0.0.0/24 is listed in us-east-1 by the feed and in eu-west-1 by the overlay; using the overlay\'s']);
  });

  test.each([
    ['1.2.3.4/33', 'AWS prefixes[1].ip_prefix: invalid CIDR: "1.2.3.4/33" has a prefix length over 32'],
    ['1.2.3.4/24', 'AWS prefixes[1].ip_prefix: invalid CIDR: "1.2.3.4/24" has host bits set'],
    ['nonsense', 'AWS prefixes[1].ip_prefix: invalid CIDR: "nonsense" has no "/length"'],
  ])('refuses %s, naming the entry', (bad, message) => {
    expect(() => compileRanges({ aws: aws([['3.4.12.4/32', 'eu-west-1'], [bad, 'eu-west-1']]) })).toThrow(new FeedError(message.split(': ')[0]!, message.split(': ').slice(1).join(': ')));
  });
});

describe('feed schemas', () => {
  const good = JSON.stringify(aws([['3.4.12.4/32', 'eu-west-1']]));
  test('accept a good feed and fields they do not know', () => {
    expect(parseAwsFeed(good).prefixes).toHaveLength(1);
    const extra = JSON.parse(good);
    extra.newField = true;
    extra.prefixes[0].another = 1;
    expect(parseAwsFeed(JSON.stringify(extra)).syncToken).toBe('1785313625');
  });

  test.each<[string, string, RegExp]>([
    ['truncated JSON', good.slice(0, 40), /AWS ip-ranges.json: not valid JSON \(truncated\?\)/],
    ['an empty file', '', /AWS ip-ranges.json: empty/],
    ['no prefixes', JSON.stringify({ ...JSON.parse(good), prefixes: [] }), /wrong schema: prefixes: must not be empty/],
    ['a number for a prefix', JSON.stringify({ ...JSON.parse(good), prefixes: [{ ip_prefix: 7, region: 'x', service: 'y' }] }), /wrong schema: prefixes\.0\.ip_prefix: Invalid input: expected string/],
    ['a missing syncToken', JSON.stringify({ ...JSON.parse(good), syncToken: undefined }), /wrong schema: syncToken/],
    ['a JSON array', '[]', /wrong schema: \(root\)/],
  ])('refuse %s with a message naming the problem', (_name, text, message) => {
    expect(() => parseAwsFeed(text)).toThrow(message);
  });
});
