/**
 * `registry-edge plan-regions` as an operator runs it: generated logs whose answer is known (ap-south-1
 * pulls heavily from another region's bucket, sa-east-1 a trickle), the JSON fields the issue names, the
 * table with its assumptions and the price table's date, and clear errors for what it cannot work with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../layers/costs/plan';
import { GB } from '../../layers/costs/prices';
import { runCli } from '../support/cli';
import { CLIENTS, COST_STAGE_CONFIG, digestOf, logText, redirects } from '../support/cost-logs';

const BIG = digestOf('big');
const SMALL = digestOf('small');
const DAY0 = new Date('2026-11-01T00:00:00Z');
let dir: string;
let base: string[];
let log: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plan-regions-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  log = file('cf.log', logText([...redirects(CLIENTS.apSouth, BIG, 300, DAY0, 3), ...redirects(CLIENTS.saEast, SMALL, 3, DAY0, 3), ...redirects(CLIENTS.euWest, BIG, 30, DAY0, 3), ...redirects(CLIENTS.gcp, BIG, 30, DAY0, 3)]));
  base = ['--config', file('test.json', JSON.stringify(COST_STAGE_CONFIG))];
  // `aws s3 ls` output: the sizes, and (from its dates) how fast the catalogue grows.
  file('sizes.txt', `2026-01-01 00:00:00 ${GB} containers/images/${BIG}\n2026-10-15 00:00:00 ${10 * 1024 ** 2} containers/images/${SMALL}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('--json: one object with period, candidates and existing, ranked by monthlyNetUsd', () => {
  const result = runCli(['plan-regions', ...base, '--sizes', join(dir, 'sizes.txt'), '--catalog-bytes', String(2000 * GB), '--json', log]);
  expect([result.status, result.stderr]).toEqual([0, '']);
  expect(result.lines).toHaveLength(1);
  const plan = result.lines[0] as Plan;
  expect(Object.keys(plan)).toEqual(expect.arrayContaining(['period', 'candidates', 'existing']));
  expect(plan.period).toMatchObject({ from: '2026-11-01T00:00:00Z' });
  const fields = ['region', 'monthlyBytes', 'monthlySavingUsd', 'monthlyCostUsd', 'monthlyNetUsd'];
  for (const r of plan.candidates) expect(Object.keys(r)).toEqual(fields);
  for (const r of plan.existing) expect(Object.keys(r)).toEqual([...fields, 'primary']);
  expect(plan.candidates.map((c) => c.region)).toEqual(['ap-south-1', 'sa-east-1']);
  expect(plan.candidates[0]!.monthlyNetUsd).toBeGreaterThan(0);
  expect(plan.candidates[1]!.monthlyNetUsd).toBeLessThan(0);
  for (const list of [plan.candidates, plan.existing]) expect(list.map((r) => r.monthlyNetUsd)).toEqual([...list.map((r) => r.monthlyNetUsd)].sort((a, b) => b - a));
  expect(plan.existing.map((r) => r.region).sort()).toEqual(['ap-southeast-1', 'eu-west-1', 'us-east-1']);
  // GCP's pulls are not an AWS region's.
  expect(JSON.stringify(plan)).not.toContain('us-central1');
  // Growth from the listing's dates: the 10 MiB blob written on 2026-10-15.
  expect(plan.catalogue).toMatchObject({ bytes: 2000 * GB, blobs: 2, growthFrom: expect.stringMatching(/^blobs written in the \d+ day\(s\) up to 2026-11-03/) });
});

test('the table names the assumptions and the price table\'s date', () => {
  const prices = join(dir, 'prices.json');
  writeFileSync(prices, JSON.stringify({ asOf: '2027-01', source: 'our contract', perGBMonth: { s3Storage: 0.02 } }));
  const result = runCli(['plan-regions', ...base, '--sizes', join(dir, 'sizes.txt'), '--prices', prices, log]);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^registry-edge plan-regions: 2026-11-01T00:00:00Z to 2026-11-03T\S+ \([\d.]+ day\(s\)\), per month$/m);
  expect(result.stdout).toMatch(/^ {2}prices: as of 2027-01: our contract$/m);
  expect(result.stdout).toMatch(/^ {2}ap-south-1 +[\d.]+ [GT]iB +\$[\d.,]+ +\$[\d.]+ +\$[\d.,]+ +yes$/m);
  expect(result.stdout).toMatch(/^ {2}sa-east-1 +[\d.]+ MiB +\$[\d.]+ +\$[\d.]+ +-\$[\d.]+ +no$/m);
  expect(result.stdout).toMatch(/^ {2}us-east-1 \(primary\) .* needed$/m);
  expect(result.stdout).toMatch(/^assumptions:$/m);
  expect(result.stdout).toMatch(/^ {2}- a new bucket stores the whole catalogue \(1\.0 GiB at \$0\.02\/GB-month\)/m);
  expect(result.stdout).toMatch(/^ {2}- a month is 730 hours/m);
});

test('--help names the JSON fields and says when it needs AWS', () => {
  const result = runCli(['plan-regions', '--help']);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/monthlyBytes, monthlySavingUsd,\s+monthlyCostUsd, monthlyNetUsd/);
  expect(result.stdout).toMatch(/\nNeeds AWS: S3 with --bucket .*credentials.*network access to AWS, or --s3-endpoint for a local server/s);
});

test.each([
  ['no stage', ['plan-regions', 'x.log'], /--stage <stage> or --config <file>/],
  ['a catalogue size that is no number', ['plan-regions', '--stage', 'local', '--catalog-bytes', '5TB', 'x.log'], /--catalog-bytes: "5TB" is not a number of bytes/],
  ['no catalogue size and no sizes', ['plan-regions', '--stage', 'local', '__LOG__'], /^registry-edge: the catalogue's size is unknown: give --catalog-bytes N, or blob sizes with --sizes FILE or --bucket B$/m],
  ['a log that is not there', ['plan-regions', '--stage', 'local', join(tmpdir(), 'no-such-plan-log')], /no-such-plan-log: no such file or folder/],
])('%s: exit 1 and one line saying what is wrong', (_name, args, message) => {
  const result = runCli(args.map((a) => (a === '__LOG__' ? log : a)));
  expect([result.status, result.stdout]).toEqual([1, '']);
  expect(result.stderr).toMatch(message);
});
