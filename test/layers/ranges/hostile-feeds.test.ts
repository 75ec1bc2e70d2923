/**
 * Hostile and corrupt feeds against the updater: each one refused, with the rule (or guard) that refused it
 * and the entry it found, and the last good table kept. The feeds are the vendored snapshots with one thing
 * wrong; the clock is fixed (2026-12-01), so "in the future" means the same thing on every run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRangeUpdate, type UpdateOptions } from '../../../layers/ranges/update';
import { memoryStore, type MemoryStore } from '../../support/memory-store';
import { AWS_TOKEN, awsFeedText, type Feed, GCP_TOKEN, gcpFeedText, keepFraction } from '../../support/range-feeds';

const NOW = new Date('2026-12-01T09:00:00Z');
const NEXT_AWS_TOKEN = String(Number(AWS_TOKEN) + 60); // a minute after the snapshot: a plausible next publication

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-edge-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `feed-${++counter}.json`);
  writeFileSync(path, text);
  return path;
}

type GcpFeed = { syncToken: string; creationTime: string; prefixes: Record<string, unknown>[] };
const gcpText = (change: (feed: GcpFeed) => void = () => undefined) => {
  const feed = JSON.parse(gcpFeedText()) as GcpFeed;
  change(feed);
  return JSON.stringify(feed);
};
/** The next AWS publication with `change` applied to it. */
const nextAws = (change: (feed: Feed) => void = () => undefined) =>
  awsFeedText((f) => {
    f.syncToken = NEXT_AWS_TOKEN;
    change(f);
  });

const options = (store: MemoryStore, aws: string, gcp: string, extra: Partial<UpdateOptions> = {}): UpdateOptions => ({
  store,
  sources: { aws: file(aws), gcp: file(gcp) },
  maxShrink: 0.1,
  now: () => NOW,
  ...extra,
});

/** A store holding the last good table: the snapshots, published. */
async function published(): Promise<MemoryStore> {
  const store = memoryStore();
  expect(await runRangeUpdate(options(store, awsFeedText(), gcpFeedText()))).toMatchObject({ outcome: 'published', generation: 1 });
  return store;
}

const ipv4 = (ip_prefix: string, region = 'us-east-1') => ({ ip_prefix, region, service: 'EC2' });
const ipv6 = (ipv6_prefix: string, region = 'us-east-1') => ({ ipv6_prefix, region, service: 'EC2' });

describe('a hostile or corrupt feed is refused, naming why, and the last good table stays', () => {
  test.each<[name: string, aws: string, gcp: string, reason: string, message: string | RegExp]>([
    ['truncated JSON', nextAws().slice(0, 5000), gcpFeedText(), 'invalid-json', 'not valid JSON (truncated?)'],
    ['an emptied AWS prefix list', nextAws((f) => (f.prefixes = [])), gcpFeedText(), 'schema', 'prefixes: must not be empty'],
    ['a shrunk AWS prefix list (half gone)', nextAws((f) => keepFraction(f, 0.5)), gcpFeedText(), 'shrink', 'AWS has 8212 prefixes, 50.0% fewer than the published 16424'],
    ['0.0.0.0/0 in the AWS feed', nextAws((f) => f.prefixes.push(ipv4('0.0.0.0/0'))), gcpFeedText(), 'prefix-length', 'AWS prefixes[10544].ip_prefix: refused by rule prefix-length: 0.0.0.0/0 is shorter than /8'],
    ['::/0 in the AWS feed', nextAws((f) => f.ipv6_prefixes.push(ipv6('::/0'))), gcpFeedText(), 'prefix-length', 'AWS ipv6_prefixes[5880].ipv6_prefix: refused by rule prefix-length: ::/0 is shorter than /16'],
    ['0.0.0.0/0 in the GCP feed', nextAws(), gcpText((g) => g.prefixes.push({ ipv4Prefix: '0.0.0.0/0', scope: 'us-central1' })), 'prefix-length', 'GCP prefixes[1047]: refused by rule prefix-length: 0.0.0.0/0 is shorter than /8'],
    ['::/0 in the GCP feed', nextAws(), gcpText((g) => g.prefixes.push({ ipv6Prefix: '::/0', scope: 'us-central1' })), 'prefix-length', 'GCP prefixes[1047]: refused by rule prefix-length: ::/0 is shorter than /16'],
    ['a prefix shorter than the floor (/7)', nextAws((f) => f.prefixes.push(ipv4('12.0.0.0/7'))), gcpFeedText(), 'prefix-length', '12.0.0.0/7 is shorter than /8, the shortest IPv4 prefix a feed may list'],
    ['private space (10.0.0.0/8)', nextAws((f) => f.prefixes.push(ipv4('10.0.0.0/8'))), gcpFeedText(), 'special-purpose', '10.0.0.0/8 covers 10.0.0.0/8, private-use space (RFC 1918): never a cloud region'],
    ['loopback (127.0.0.0/8)', nextAws((f) => f.prefixes.push(ipv4('127.0.0.0/8'))), gcpFeedText(), 'special-purpose', 'loopback (RFC 1122)'],
    ['multicast (239.1.0.0/16)', nextAws((f) => f.prefixes.push(ipv4('239.1.0.0/16'))), gcpFeedText(), 'special-purpose', '239.1.0.0/16 lies in 224.0.0.0/4, multicast (RFC 5771)'],
    ['link-local (169.254.0.0/16)', nextAws((f) => f.prefixes.push(ipv4('169.254.0.0/16'))), gcpFeedText(), 'special-purpose', 'link-local (RFC 3927)'],
    ['shared CGNAT space (100.64.0.0/10)', nextAws((f) => f.prefixes.push(ipv4('100.64.0.0/10'))), gcpFeedText(), 'special-purpose', 'shared address space, carrier-grade NAT (RFC 6598)'],
    ['a prefix that contains special space (100.0.0.0/8 holds 100.64.0.0/10)', nextAws((f) => f.prefixes.push(ipv4('100.0.0.0/8'))), gcpFeedText(), 'special-purpose', '100.0.0.0/8 covers 100.64.0.0/10'],
    ['documentation space in the GCP feed (192.0.2.0/24)', nextAws(), gcpText((g) => g.prefixes.push({ ipv4Prefix: '192.0.2.0/24', scope: 'us-central1' })), 'special-purpose', 'GCP prefixes[1047]: refused by rule special-purpose: 192.0.2.0/24 covers 192.0.2.0/24, documentation, TEST-NET-1 (RFC 5737)'],
    ['IPv6 documentation space (2001:db8::/32)', nextAws((f) => f.ipv6_prefixes.push(ipv6('2001:db8::/32'))), gcpFeedText(), 'special-purpose', 'documentation (RFC 3849)'],
    ['IPv6 unique-local space (fd00::/48)', nextAws((f) => f.ipv6_prefixes.push(ipv6('fd00::/48'))), gcpFeedText(), 'special-purpose', 'fd00::/48 lies in fc00::/7, unique local addresses (RFC 4193)'],
    ['IPv6 link-local space (fe80::/64)', nextAws((f) => f.ipv6_prefixes.push(ipv6('fe80::/64'))), gcpFeedText(), 'special-purpose', 'link-local unicast (RFC 4291)'],
    ['IPv6 multicast (ff02::/16)', nextAws((f) => f.ipv6_prefixes.push(ipv6('ff02::/16'))), gcpFeedText(), 'special-purpose', 'multicast (RFC 4291)'],
    ['a syncToken far in the future', nextAws((f) => (f.syncToken = '99999999999999999999')), gcpFeedText(), 'time', /refused by rule time: syncToken 99999999999999999999 is \d+ h in the future/],
    ['a syncToken an hour in the future (with a matching date)', nextAws((f) => {
      f.syncToken = String(NOW.getTime() / 1000 + 3600);
      f.createDate = '2026-12-01-10-00-00';
    }), gcpFeedText(), 'time', 'refused by rule time: syncToken 1796119200 is 3600 s in the future (2026-12-01T10:00:00.000Z)'],
    ['a GCP syncToken in the future', nextAws(), gcpText((g) => {
      g.syncToken = String(NOW.getTime() + 86_400_000);
      g.creationTime = '2026-12-02T09:00:00';
    }), 'time', 'refused by rule time: syncToken 1796202000000 is 24 h in the future (2026-12-02T09:00:00.000Z)'],
    ['a createDate that is no calendar date (2026-13-45-99-99-99)', nextAws((f) => (f.createDate = '2026-13-45-99-99-99')), gcpFeedText(), 'time', 'createDate "2026-13-45-99-99-99" is not a calendar date and time'],
    ['30 February', nextAws((f) => (f.createDate = '2026-02-30-00-00-00')), gcpFeedText(), 'time', 'createDate "2026-02-30-00-00-00" is not a calendar date'],
    ['a GCP creationTime that is no date', nextAws(), gcpText((g) => (g.creationTime = 'now')), 'time', 'creationTime "now" is not a calendar date'],
    ['a syncToken and createDate a week apart', nextAws((f) => (f.createDate = '2026-07-22-08-28-05')), gcpFeedText(), 'time', /syncToken 1785313685 \(2026-07-29T08:28:05.000Z\) and createDate 2026-07-22-08-28-05 are 168 h apart/],
    ['a syncToken that is no time at all (1)', nextAws((f) => (f.syncToken = '1')), gcpFeedText(), 'time', 'syncToken 1 (1970-01-01T00:00:01.000Z) and createDate 2026-07-29-08-27-05'],
    ['one prefix in two regions', nextAws((f) => f.prefixes.push(ipv4('3.4.12.4/32', 'us-west-2'))), gcpFeedText(), 'conflict', 'AWS prefixes[10544].ip_prefix: refused by rule conflict: 3.4.12.4/32 in "us-west-2", but AWS prefixes[0].ip_prefix lists it in "eu-west-1" (one prefix, one place)'],
    ['one IPv6 prefix in two regions, spelt differently', nextAws((f) => f.ipv6_prefixes.push(ipv6('2406:DABA:F000::/40', 'us-west-2'))), gcpFeedText(), 'conflict', /rule conflict: 2406:daba:f000::\/40 in "(us-west-2|ap-southeast-4)"/],
    ['markup in an AWS region name', nextAws((f) => f.prefixes.push(ipv4('52.0.0.0/24', '<script>alert(1)</script>'))), gcpFeedText(), 'region-name', 'AWS prefixes[10544]: refused by rule region-name: region "<script>alert(1)</script>" is not an AWS region name'],
    ['markup in a GCP scope', nextAws(), gcpText((g) => g.prefixes.push({ ipv4Prefix: '35.0.0.0/24', scope: '<b>us-central1</b>' })), 'region-name', 'GCP prefixes[1047]: refused by rule region-name: scope "<b>us-central1</b>" is not a GCP scope name'],
    ['a feed that suddenly covers 13 times the IPv6 space', nextAws((f) => f.ipv6_prefixes.push(ipv6('2a10::/24'))), gcpFeedText(), 'growth', /AWS covers \S+ IPv6 \/64s, 13\.4 times the published \S+ \(the limit is 4 times\)/],
    ['a GCP feed going back while AWS moves on (a stale copy)', nextAws(), gcpText((g) => (g.syncToken = String(Number(GCP_TOKEN) - 60_000))), 'regressed', 'moves one feed back'],
  ])('%s', async (_name, aws, gcp, reason, message) => {
    const store = await published();
    const before = store.pointerText();
    const result = await runRangeUpdate(options(store, aws, gcp));
    expect(result).toMatchObject({ outcome: 'refused', reason, syncToken: AWS_TOKEN, generation: 1 });
    expect((result as { message: string }).message).toEqual(typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message));
    expect(store.pointerText()).toBe(before);
    expect(store.tables.size).toBe(1);
  });

  test('--force lifts the guards against the published table, never the rules on the feed itself', async () => {
    const store = await published();
    expect(await runRangeUpdate(options(store, nextAws((f) => f.prefixes.push(ipv4('0.0.0.0/0'))), gcpFeedText(), { force: true }))).toMatchObject({ outcome: 'refused', reason: 'prefix-length' });
    expect(await runRangeUpdate(options(store, nextAws((f) => f.ipv6_prefixes.push(ipv6('2a10::/24'))), gcpFeedText(), { force: true }))).toMatchObject({ outcome: 'published', forcedPast: ['growth'], generation: 2 });
  });

  test('a stricter floor from configuration refuses what the default lets through', async () => {
    const store = memoryStore();
    const result = await runRangeUpdate(options(store, awsFeedText(), gcpFeedText(), { feedRules: { shortestPrefix: { ipv4: 12, ipv6: 32 } } }));
    expect(result).toMatchObject({ outcome: 'refused', reason: 'prefix-length', message: expect.stringMatching(/is shorter than \/12, the shortest IPv4 prefix a feed may list/) });
    expect(store.pointerText()).toBeNull();
  });

  test('a well-formed region nobody knows yet is reported, not refused', async () => {
    const store = await published();
    const result = await runRangeUpdate(options(store, nextAws((f) => f.prefixes.push(ipv4('52.0.0.0/24', 'xx-mars-1'))), gcpFeedText()));
    expect(result).toMatchObject({ outcome: 'published', unknownRegions: ['xx-mars-1'], generation: 2 });
  });
});
