/**
 * The stage's range table kept compiled between runs (cli/compiled-ranges.ts): the same inputs load the
 * kept table, which answers as a fresh compile does; other feeds or other range rules compile afresh; a
 * kept table that does not load is compiled again.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageRanges } from '../../cli/compiled-ranges';
import { loadTable } from '../../layers/net/load';
import { compileStageRanges, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED } from '../../tools/build';
import { CLIENTS, costConfig } from '../support/cost-logs';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compiled-ranges-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cache = () => join(dir, 'cache');
const places = (table: ReturnType<typeof stageRanges>['table']) => Object.values(CLIENTS).map((ip) => {
  const slot = table.lookup(ip);
  return slot < 0 ? null : table.place(slot);
});

test('compiled once, then loaded: the same places and metadata as a fresh compile', () => {
  const config = costConfig();
  const fresh = loadTable(compileStageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED).bytes);
  const first = stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache());
  const second = stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache());
  expect([first.cached, second.cached]).toEqual([false, true]);
  expect(readdirSync(cache()).filter((name) => name.endsWith('.bin'))).toHaveLength(1);
  expect(places(second.table)).toEqual(places(fresh.table));
  expect(places(second.table).filter(Boolean).length).toBeGreaterThan(0);
  expect(second.metadata).toEqual(fresh.metadata);
});

test('another feed, or other range rules, compile afresh', () => {
  const config = costConfig();
  stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache());
  // The same feed with one more prefix: a different file, a different table.
  const feed = JSON.parse(readFileSync(DEFAULT_AWS_FEED, 'utf8'));
  feed.prefixes.push({ ip_prefix: '8.8.8.0/24', region: 'eu-west-1', service: 'EC2', network_border_group: 'eu-west-1' });
  const edited = join(dir, 'aws.json');
  writeFileSync(edited, JSON.stringify(feed));
  const other = stageRanges(config, edited, DEFAULT_GCP_FEED, cache());
  expect(other.cached).toBe(false);
  expect(other.table.place(other.table.lookup('8.8.8.8'))).toMatchObject({ cloud: 'aws', region: 'eu-west-1' });
  expect(stageRanges(config, DEFAULT_AWS_FEED, null, cache()).cached).toBe(false);
  const rules = costConfig();
  rules.stage.ranges.overlay = [];
  expect(stageRanges(rules, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache()).cached).toBe(false);
  expect(stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache()).cached).toBe(true);
});

test('a kept table that does not load is compiled again', () => {
  const config = costConfig();
  stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache());
  const [name] = readdirSync(cache());
  writeFileSync(join(cache(), name!), 'not a table');
  const again = stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache());
  expect(again.cached).toBe(false);
  expect(places(again.table)).toEqual(places(loadTable(compileStageRanges(config).bytes).table));
  expect(stageRanges(config, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, cache()).cached).toBe(true);
});

test('a missing feed is still reported by name', () => {
  expect(() => stageRanges(costConfig(), join(dir, 'nope.json'), DEFAULT_GCP_FEED, cache())).toThrow(/nope\.json/);
});
