/**
 * `registry-edge ranges compile | update | status`, run as an operator runs them (separate processes
 * through bin/), against moto_server for the bucket.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTable } from '../../layers/net/load';
import { createS3Client, type S3Client } from '../../layers/s3/client';
import { createBucket, type Moto, startMoto } from '../../local/moto';
import { BIN, runCli } from '../support/cli';
import { freePort } from '../support/ports';
import { AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText, dataText, type Feed, GCP_TOKEN, gcpFeedText, keepFraction } from '../support/range-feeds';
import { run } from './support/tools';

jest.setTimeout(120_000);

let moto: Moto;
let s3: S3Client;
let dir: string;
const DATA = join(__dirname, '../../data');
const AWS_FILE = join(DATA, 'aws-ip-ranges.json');
const GCP_FILE = join(DATA, 'gcp-cloud.json');
const LATER_FILE = join(DATA, 'aws-ip-ranges-2026-08-22.json');

beforeAll(async () => {
  moto = await startMoto(await freePort());
  s3 = createS3Client({ endpoint: moto.endpoint });
  dir = mkdtempSync(join(tmpdir(), 'registry-edge-ranges-cli-'));
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('registry-edge ranges compile', () => {
  test('writes the table the edge loads and prints a summary', () => {
    const out = join(dir, 'table.bin');
    const result = runCli(['ranges', 'compile', '--aws', AWS_FILE, '--gcp', GCP_FILE, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const bytes = readFileSync(out);
    expect(result.lines).toEqual([
      {
        out,
        bytes: bytes.length,
        gzipBytes: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        syncToken: AWS_TOKEN,
        gcpSyncToken: GCP_TOKEN,
        entries: 11809,
        prefixes: { aws: 16424, gcp: 1047 },
        unknownRegions: [],
        warnings: 0,
        compileMs: expect.any(Number),
      },
    ]);
    expect(loadTable(bytes, { check: true }).table.classify('3.4.12.4')).toMatchObject({ cloud: 'aws', region: 'eu-west-1' });
  });

  const bad: [string, () => string, RegExp][] = [
    ['a truncated file', () => dataText('aws-ip-ranges.json').slice(0, 50_000), /: not valid JSON \(truncated\?\)/],
    ['a file that is not JSON', () => 'syncToken=1785313625\n', /: not valid JSON/],
    ['a wrong schema', () => JSON.stringify({ syncToken: AWS_TOKEN, prefixes: [] }), /: wrong schema: createDate: Invalid input: expected string, received undefined; prefixes: must not be empty/],
    ['empty prefix lists', () => awsFeedText((f) => { f.prefixes = []; f.ipv6_prefixes = []; }), /: wrong schema: prefixes: must not be empty; ipv6_prefixes: must not be empty/],
    ['an invalid CIDR', () => awsFeedText((f) => { f.ipv6_prefixes[7]!.ipv6_prefix = '2600:1f18::/129'; }), /AWS ipv6_prefixes\[7\]\.ipv6_prefix: invalid CIDR: "2600:1f18::\/129" has a prefix length over 128/],
    ['a field of an unexpected type', () => awsFeedText((f) => { (f as Record<string, unknown>).syncToken = 1785313625; }), /: wrong schema: syncToken: Invalid input: expected string, received number/],
  ];
  test.each(bad)('exits 1 for %s, naming the file and the problem, and writes nothing', (name, text, message) => {
    const input = file(`${name.replaceAll(' ', '-')}.json`, text());
    const out = join(dir, `${name.replaceAll(' ', '-')}.bin`);
    const result = runCli(['ranges', 'compile', '--aws', input, '--out', out]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.startsWith(`registry-edge: ${input}: `)).toBe(true);
    expect(existsSync(out)).toBe(false);
  });

  test('exits 1 for a file that is not there, naming it', () => {
    const result = runCli(['ranges', 'compile', '--aws', join(dir, 'nope.json'), '--out', join(dir, 'nope.bin')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`registry-edge: ${join(dir, 'nope.json')}: cannot read: ENOENT\n`);
  });
});

describe('registry-edge ranges update and status', () => {
  let bucket: string;
  let counter = 0;
  const where = () => ['--s3-endpoint', moto.endpoint, '--bucket', bucket];
  beforeEach(async () => {
    bucket = `cli-ranges-${++counter}`;
    await createBucket(s3, bucket);
  });

  test('publishes, then finds nothing new, and status shows what is published', () => {
    const first = runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', GCP_FILE]);
    expect(first.status).toBe(0);
    expect(first.lines).toEqual([expect.objectContaining({ bucket, outcome: 'published', syncToken: AWS_TOKEN, gcpSyncToken: GCP_TOKEN, entries: 11809 })]);
    const again = runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', GCP_FILE]);
    expect(again.status).toBe(0);
    expect(again.lines).toEqual([expect.objectContaining({ outcome: 'unchanged', reason: 'same', message: `AWS ${AWS_TOKEN} / GCP ${GCP_TOKEN} is already published` })]);

    const status = runCli(['ranges', 'status', ...where()]);
    expect(status.status).toBe(0);
    const [shown] = status.lines as Record<string, unknown>[];
    expect(shown).toMatchObject({
      bucket,
      published: true,
      syncToken: AWS_TOKEN,
      createDate: '2026-07-29-08-27-05',
      gcpSyncToken: GCP_TOKEN,
      counts: { aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: 11809 },
      key: (first.lines[0] as { key: string }).key,
      verified: true,
      forced: false,
    });
    expect(shown!.ageSeconds).toBeGreaterThan(0);
    expect(shown!.age).toMatch(/^\d+d \d+h$/);
  });

  test('refuses a shrunk feed (exit 1, reason on stderr) and publishes it with --force', () => {
    runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', 'none']);
    const shrunk = file('shrunk.json', awsFeedText((f: Feed) => { f.syncToken = '1785313626'; keepFraction(f, 0.8); }));
    const refused = runCli(['ranges', 'update', ...where(), '--aws', shrunk, '--gcp', 'none']);
    expect(refused.status).toBe(1);
    expect(refused.lines).toEqual([expect.objectContaining({ outcome: 'refused', reason: 'shrink', syncToken: AWS_TOKEN })]);
    expect(refused.stderr).toMatch(/^registry-edge: refused \(shrink\): AWS has 13139 prefixes, 20\.0% fewer than the published 16424/);
    const forced = runCli(['ranges', 'update', ...where(), '--aws', shrunk, '--gcp', 'none', '--force']);
    expect(forced.status).toBe(0);
    expect(forced.lines).toEqual([expect.objectContaining({ outcome: 'published', forcedPast: ['shrink'], previousSyncToken: AWS_TOKEN })]);
    expect((runCli(['ranges', 'status', ...where()]).lines[0] as Record<string, unknown>)).toMatchObject({ syncToken: '1785313626', forced: true, gcpSyncToken: null });
  });

  test('--dry-run says what would be published, and publishes nothing', () => {
    runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', GCP_FILE]);
    const dry = runCli(['ranges', 'update', ...where(), '--aws', LATER_FILE, '--gcp', GCP_FILE, '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.lines).toEqual([expect.objectContaining({ outcome: 'would-publish', fetchedSyncToken: AWS_LATER_TOKEN, syncToken: AWS_TOKEN, key: expect.stringMatching(/^ranges\/[0-9a-f]{64}\.bin$/) })]);
    expect((runCli(['ranges', 'status', ...where()]).lines[0] as Record<string, unknown>).syncToken).toBe(AWS_TOKEN);
  });

  test('status exits 1 when nothing is published, and when the table does not match its checksum', async () => {
    const none = runCli(['ranges', 'status', ...where()]);
    expect(none.status).toBe(1);
    expect(none.lines).toEqual([{ bucket, pointerKey: 'ranges/current.json', published: false }]);
    expect(none.stderr).toBe(`registry-edge: s3://${bucket}/ranges/current.json: no table is published\n`);

    const published = runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', 'none']).lines[0] as { key: string };
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: published.key, Body: 'not a table' }));
    const broken = runCli(['ranges', 'status', ...where()]);
    expect(broken.status).toBe(1);
    expect(broken.lines).toEqual([expect.objectContaining({ verified: false, problem: `the table ${published.key} does not match its SHA-256` })]);
  });

  test('two update processes at once leave a consistent pointer at the newer table', async () => {
    runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', GCP_FILE]);
    const [a, b] = await Promise.all(
      [LATER_FILE, file('later-still.json', awsFeedText((f: Feed) => (f.syncToken = '1787411826'), 'aws-ip-ranges-2026-08-22.json'))].map((aws) =>
        run(process.execPath, [BIN, 'ranges', 'update', ...where(), '--aws', aws, '--gcp', GCP_FILE]),
      ),
    );
    for (const r of [a!, b!]) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).outcome).toMatch(/^(published|unchanged)$/);
    }
    const status = runCli(['ranges', 'status', ...where()]);
    expect(status.lines).toEqual([expect.objectContaining({ syncToken: '1787411826', verified: true })]);
    expect(AWS_LATER_TOKEN).toBe('1787411825');
  });

  test('needs a bucket, from --bucket or a stage', () => {
    const result = runCli(['ranges', 'status', '--s3-endpoint', moto.endpoint]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('registry-edge: name the config bucket with --bucket, or a stage with --stage/--config\n');
  });

  test('takes the bucket and feeds from a stage configuration', () => {
    // config/local.json: bucket registry-edge-local-config, loopback overlay; feeds given here (no internet).
    return createBucket(s3, 'registry-edge-local-config').then(() => {
      const result = runCli(['ranges', 'update', '--stage', 'local', '--s3-endpoint', moto.endpoint, '--aws', AWS_FILE, '--gcp', GCP_FILE]);
      expect(result.status).toBe(0);
      expect(result.lines).toEqual([expect.objectContaining({ bucket: 'registry-edge-local-config', outcome: 'published' })]);
      const status = runCli(['ranges', 'status', '--stage', 'local', '--s3-endpoint', moto.endpoint]);
      expect(status.lines).toEqual([expect.objectContaining({ counts: expect.objectContaining({ overlay: 4 }), verified: true })]);
    });
  });

  test('rollback --previous prints one JSON line (outcome, key, generation), status shows key and generation, update then refuses the rolled-back version until --force', () => {
    const first = runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', GCP_FILE]);
    const second = runCli(['ranges', 'update', ...where(), '--aws', LATER_FILE, '--gcp', GCP_FILE]);
    expect([first.lines[0], second.lines[0]]).toEqual([expect.objectContaining({ outcome: 'published', generation: 1 }), expect.objectContaining({ outcome: 'published', generation: 2 })]);
    const [earlierKey, laterKey] = [(first.lines[0] as { key: string }).key, (second.lines[0] as { key: string }).key];

    const rollback = runCli(['ranges', 'rollback', '--stage', 'local', ...where(), '--region', 'us-east-1', '--previous']);
    expect({ status: rollback.status, stderr: rollback.stderr }).toEqual({ status: 0, stderr: '' });
    expect(rollback.stdout.trim().split('\n')).toHaveLength(1);
    expect(rollback.lines).toEqual([expect.objectContaining({ outcome: 'rolled-back', key: earlierKey, generation: 3, rolledAwayFrom: expect.objectContaining({ key: laterKey, syncToken: AWS_LATER_TOKEN }) })]);

    const status = runCli(['ranges', 'status', ...where()]);
    expect(status.lines).toEqual([expect.objectContaining({ key: earlierKey, generation: 3, syncToken: AWS_TOKEN, previous: expect.objectContaining({ key: laterKey, generation: 2 }), verified: true })]);
    const shown = status.lines[0] as { ageSeconds: number; publishedAgeSeconds: number };
    expect(shown.ageSeconds).toBeGreaterThan(86_400);
    expect(shown.publishedAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(shown.publishedAgeSeconds).toBeLessThan(shown.ageSeconds);

    const again = runCli(['ranges', 'update', ...where(), '--aws', LATER_FILE, '--gcp', GCP_FILE]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^registry-edge: refused \(rolled-back\): AWS 1787411825 \/ GCP \d+ was rolled back from/);
    const forced = runCli(['ranges', 'update', ...where(), '--aws', LATER_FILE, '--gcp', GCP_FILE, '--force']);
    expect(forced.lines).toEqual([expect.objectContaining({ outcome: 'published', generation: 4, forcedPast: ['rolled-back'] })]);

    const to = runCli(['ranges', 'rollback', '--stage', 'local', ...where(), '--to', earlierKey]);
    expect(to.lines).toEqual([expect.objectContaining({ outcome: 'rolled-back', key: earlierKey, generation: 5 })]);
    const same = runCli(['ranges', 'rollback', '--stage', 'local', ...where(), '--to', earlierKey]);
    expect(same.status).toBe(1);
    expect(same.lines).toEqual([expect.objectContaining({ outcome: 'refused', reason: 'same', key: earlierKey, generation: 5 })]);
    expect(same.stderr).toContain(`registry-edge: rollback refused (same): ${earlierKey} is the published table already (generation 5)`);
  });

  test('refuses a feed that suddenly covers many times the space (exit 1), and takes it with a higher --max-growth', () => {
    runCli(['ranges', 'update', ...where(), '--aws', AWS_FILE, '--gcp', 'none']);
    const grown = file('grown.json', awsFeedText((f: Feed) => {
      f.syncToken = '1785313685';
      f.ipv6_prefixes.push({ ipv6_prefix: '2a10::/24', region: 'us-east-1', service: 'EC2' });
    }));
    const refused = runCli(['ranges', 'update', ...where(), '--aws', grown, '--gcp', 'none']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^registry-edge: refused \(growth\): AWS covers \S+ IPv6 \/64s, 13\.4 times the published \S+ \(the limit is 4 times\)/);
    const allowed = runCli(['ranges', 'update', ...where(), '--aws', grown, '--gcp', 'none', '--max-growth', '20']);
    expect(allowed.lines).toEqual([expect.objectContaining({ outcome: 'published', generation: 2, forcedPast: [] })]);
  });

  test.each([
    ['neither --previous nor --to', [] as string[]],
    ['both --previous and --to', ['--previous', '--to', `ranges/${'a'.repeat(64)}.bin`]],
  ])('rollback with %s says what to give', (_name, extra) => {
    const result = runCli(['ranges', 'rollback', '--stage', 'local', ...where(), ...extra]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('registry-edge: give one of --previous and --to KEY\n');
  });

  test('rollback needs --stage', () => {
    const result = runCli(['ranges', 'rollback', ...where(), '--previous']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("required option '--stage <stage>' not specified");
  });
});

describe('registry-edge ranges with --stage local and no endpoint', () => {
  test('without a running stack, says so and how to start one', () => {
    const state = join(dir, 'no-such-stack.json');
    const result = runCli(['ranges', 'status', '--stage', 'local'], undefined, { REGISTRY_EDGE_STACK_STATE: state });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`registry-edge: no local stack is running (${state} does not exist): start one with \`npm start\`, or give --s3-endpoint and --bucket\n`);
  });

  test('with a state file left by a stack that died, says it is stale', () => {
    const state = file('dead-stack.json', JSON.stringify({ stage: 'local', pid: 2 ** 22 + 1, s3Endpoint: 'http://127.0.0.1:9', configBucket: 'x', region: 'us-east-1', pointerKey: 'ranges/current.json', feeds: { aws: AWS_FILE, gcp: GCP_FILE } }));
    const result = runCli(['ranges', 'rollback', '--stage', 'local', '--previous'], undefined, { REGISTRY_EDGE_STACK_STATE: state });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`the local stack recorded in ${state} (pid ${2 ** 22 + 1}) is not running`);
  });
});

describe('registry-edge ranges compile refuses an implausible feed', () => {
  test.each([
    ['0.0.0.0/0', (f: Feed) => f.prefixes.push({ ip_prefix: '0.0.0.0/0', region: 'us-east-1', service: 'EC2' }), 'AWS prefixes[10544].ip_prefix: refused by rule prefix-length: 0.0.0.0/0 is shorter than /8'],
    ['private space', (f: Feed) => f.prefixes.push({ ip_prefix: '192.168.0.0/16', region: 'us-east-1', service: 'EC2' }), 'refused by rule special-purpose: 192.168.0.0/16 covers 192.168.0.0/16, private-use space (RFC 1918)'],
    ['a far-future syncToken', (f: Feed) => (f.syncToken = '99999999999999999999'), 'refused by rule time: syncToken 99999999999999999999'],
  ])('%s: exit 1, the rule and the entry on stderr, no table written', (name, change, message) => {
    const feed = file(`implausible-${name.replace(/\W/g, '')}.json`, awsFeedText(change));
    const out = join(dir, `implausible-${name.replace(/\W/g, '')}.bin`);
    const result = runCli(['ranges', 'compile', '--aws', feed, '--gcp', GCP_FILE, '--out', out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`registry-edge: ${feed}: `);
    expect(result.stderr).toContain(message);
    expect(existsSync(out)).toBe(false);
  });

  test('--config takes the prefix floor from a stage configuration (a stricter one refuses what the default lets through)', () => {
    const local = JSON.parse(readFileSync(join(__dirname, '../../config/local.json'), 'utf8'));
    const strict = file('strict.json', JSON.stringify({ ...local, ranges: { ...local.ranges, shortestPrefix: { ipv4: 12 } } }));
    const out = join(dir, 'strict.bin');
    const result = runCli(['ranges', 'compile', '--aws', AWS_FILE, '--gcp', GCP_FILE, '--out', out, '--config', strict]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/refused by rule prefix-length: \S+\/11 is shorter than \/12, the shortest IPv4 prefix a feed may list/);
    expect(existsSync(out)).toBe(false);
    expect(runCli(['ranges', 'compile', '--aws', AWS_FILE, '--gcp', GCP_FILE, '--out', out, '--stage', 'local']).status).toBe(0);
  });
});
