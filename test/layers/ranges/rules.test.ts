import { compileRanges } from '../../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../../layers/ranges/feeds';
import { describeTable, type RangePointer } from '../../../layers/ranges/pointer';
import { judgeUpdate, unknownRegions } from '../../../layers/ranges/rules';
import { AWS_TOKEN, awsFeedText, type Feed, GCP_TOKEN, gcpFeedText, keepFraction } from '../../support/range-feeds';

const compile = (change?: (feed: Feed) => void, withGcp = true) =>
  compileRanges({ aws: parseAwsFeed(awsFeedText(change)), ...(withGcp ? { gcp: parseGcpFeed(gcpFeedText()) } : {}) });

/** The pointer a publication of `compiled` would have written. */
function publishedAs(compiled: ReturnType<typeof compile>): RangePointer {
  const { aws, gcp } = compiled.stats;
  return describeTable({
    key: `ranges/${'0'.repeat(64)}.bin`,
    sha256: '0'.repeat(64),
    bytes: compiled.bytes.length,
    metadata: compiled.metadata,
    counts: { aws: { v4: aws.v4, v6: aws.v6 }, gcp: compiled.metadata.gcp ? { v4: gcp.v4, v6: gcp.v6 } : null, overlay: 0, entries: compiled.stats.entries },
    publishedAt: new Date(),
    forced: false,
  });
}

const bump = (by: number) => (feed: Feed) => {
  feed.syncToken = String(Number(AWS_TOKEN) + by);
};

describe('judgeUpdate', () => {
  const published = publishedAs(compile());

  test('publishes anything when nothing is published yet', () => {
    expect(judgeUpdate(compile(), null, { maxShrink: 0.1 })).toEqual({ verdict: 'publish' });
  });

  test('publishes a newer feed', () => {
    expect(judgeUpdate(compile(bump(1)), published, { maxShrink: 0.1 })).toEqual({ verdict: 'publish' });
  });

  test.each([
    ['the same syncToken', 0, 'same', `AWS ${AWS_TOKEN} / GCP ${GCP_TOKEN} is already published`],
    ['an older syncToken', -1, 'older', `is older than the published AWS ${AWS_TOKEN}`],
  ])('does nothing for %s, and says why', (_name, by, reason, message) => {
    const verdict = judgeUpdate(compile(bump(by)), published, { maxShrink: 0.1, force: true });
    expect(verdict).toEqual({ verdict: 'unchanged', reason, message: expect.stringContaining(message) });
  });

  test('refuses a feed that lost more than maxShrink of its prefixes, naming the numbers', () => {
    const shrunk = compile((feed) => {
      bump(1)(feed);
      keepFraction(feed, 0.85);
    });
    expect(judgeUpdate(shrunk, published, { maxShrink: 0.1 })).toEqual({
      verdict: 'refused',
      reason: 'shrink',
      message: expect.stringMatching(/^AWS has 13960 prefixes, 15\.0% fewer than the published 16424 \(the limit is 10%\)$/),
    });
    expect(judgeUpdate(shrunk, published, { maxShrink: 0.2 })).toEqual({ verdict: 'publish' });
    expect(judgeUpdate(shrunk, published, { maxShrink: 0.1, force: true })).toEqual({ verdict: 'publish', forcedPast: ['shrink'] });
  });

  test('lets a feed lose less than maxShrink, or grow', () => {
    const fewer = compile((feed) => {
      bump(1)(feed);
      keepFraction(feed, 0.95);
    });
    expect(judgeUpdate(fewer, published, { maxShrink: 0.1 })).toEqual({ verdict: 'publish' });
  });

  test('refuses dropping the GCP feed (a regression and a 100% shrink) unless forced', () => {
    const withoutGcp = compile(bump(1), false);
    const verdict = judgeUpdate(withoutGcp, published, { maxShrink: 0.1 });
    expect(verdict).toMatchObject({ verdict: 'refused', reason: 'regressed' });
    expect((verdict as { message: string }).message).toContain('GCP has 0 prefixes, 100.0% fewer than the published 1047');
    expect(judgeUpdate(withoutGcp, published, { maxShrink: 0.1, force: true })).toEqual({ verdict: 'publish', forcedPast: ['regressed', 'shrink'] });
  });
});

test('unknownRegions names AWS regions the topology lacks, not GLOBAL', () => {
  expect(unknownRegions(['GLOBAL', 'us-east-1', 'eusc-de-east-1', 'xx-mars-1'])).toEqual(['xx-mars-1']);
  expect(unknownRegions(compile().stats.aws.regions)).toEqual([]);
});
