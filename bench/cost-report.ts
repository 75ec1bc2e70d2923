/**
 * cost-report on a large generated log: wall time against the baseline `zcat LOG | awk` summing sc-bytes
 * over the same gzipped file (the least any reader of it must do), measured in the same run, and the
 * command's peak memory (max RSS, from /usr/bin/time).
 *
 * The log is the worst case for memory: almost every blob request names a digest never seen before
 * (--distinct), half of them in the sizes catalogue (an `aws s3 ls` listing) and half unknown. It is run
 * at two sizes: memory that does not grow from the small run to the large one is what lets a 1 GB log
 * with 4M distinct digests stay bounded (the large run's figure is the one to compare with 256 MiB; the
 * catalogue itself costs 16 bytes a blob, so 4M known blobs add about 64 MiB).
 *
 *   npx tsx bench/cost-report.ts [--lines 1000000]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { CLOUDFRONT_LOG_FIELDS, logHeader } from '../layers/costs/access-log';
import { CLIENTS, COST_STAGE_CONFIG } from '../test/support/cost-logs';
import { record } from './results';
import { seeded } from '../test/support/seeded';

const argLines = process.argv.indexOf('--lines');
const LINES = argLines > 0 ? Number(process.argv[argLines + 1]) : 1_000_000;
const BIN = join(__dirname, '../bin/registry-edge.js');

// A small deterministic PRNG, so every run reads the same log.
const random = seeded(0x9e3779b9);
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
/** Distinct digest number i: its first 64 bits differ from every other's. */
const digest = (i: number) => `sha256:${hex8(i)}${hex8(Math.imul(i, 2654435761))}${'0123456789abcdef'.repeat(3)}`;
const blobSize = (i: number) => 1_000 + (Math.imul(i, 40503) >>> 0) % 50_000_000;

/** Writes `lines` CloudFront log lines (gzip), and the sizes listing of every other digest; returns the byte counts. */
async function generate(dir: string, lines: number): Promise<{ log: string; sizes: string; gzBytes: number; rawBytes: number; digests: number }> {
  const at = (name: string) => CLOUDFRONT_LOG_FIELDS.indexOf(name as (typeof CLOUDFRONT_LOG_FIELDS)[number]);
  const template = CLOUDFRONT_LOG_FIELDS.map(() => '-');
  template[at('x-edge-location')] = 'IAD89-C1';
  template[at('cs(Host)')] = 'd111111abcdef8.cloudfront.net';
  template[at('cs(User-Agent)')] = 'containerd/1.7.24';
  template[at('cs-protocol')] = 'https';
  const aws = [CLIENTS.euWest, CLIENTS.apSouth, CLIENTS.usEast, CLIENTS.saEast];
  const log = join(dir, 'cf.log.gz');
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(log);
  gzip.pipe(out);
  let raw = 0;
  let digests = 0;
  let batch: string[] = [];
  const flush = async () => {
    const text = batch.join('');
    raw += Buffer.byteLength(text);
    batch = [];
    if (!gzip.write(text)) await new Promise<void>((r) => gzip.once('drain', () => r()));
  };
  batch.push(logHeader());
  const start = Date.parse('2026-11-01T00:00:00Z');
  for (let i = 0; i < lines; i++) {
    const values = template.slice();
    const time = new Date(start + Math.floor((i / lines) * 30 * 86_400_000)).toISOString();
    values[at('date')] = time.slice(0, 10);
    values[at('time')] = time.slice(11, 19);
    values[at('cs-method')] = 'GET';
    values[at('x-edge-request-id')] = `${hex8(i)}${hex8(i * 7)}`;
    const kind = random();
    if (kind < 0.1) {
      values[at('c-ip')] = CLIENTS.internet;
      values[at('cs-uri-stem')] = '/v2/org/app/manifests/latest';
      values[at('sc-status')] = '307';
      values[at('sc-bytes')] = '480';
      values[at('x-edge-result-type')] = 'LambdaGeneratedResponse';
    } else {
      // Nearly every request a new digest: the case that used to cost memory per digest.
      const d = digests++;
      values[at('cs-uri-stem')] = `/v2/org/app/blobs/${digest(d)}`;
      if (kind < 0.8) {
        values[at('c-ip')] = kind < 0.7 ? aws[d % aws.length]! : CLIENTS.gcp;
        values[at('sc-status')] = '307';
        values[at('sc-bytes')] = '450';
        values[at('x-edge-result-type')] = 'LambdaGeneratedResponse';
      } else {
        values[at('c-ip')] = CLIENTS.internet;
        values[at('sc-status')] = '200';
        values[at('sc-bytes')] = String(blobSize(d));
        values[at('x-edge-result-type')] = random() < 0.5 ? 'Hit' : 'Miss';
      }
    }
    batch.push(`${values.join('\t')}\n`);
    if (batch.length >= 10_000) await flush();
  }
  await flush();
  gzip.end();
  await new Promise<void>((r) => out.once('finish', () => r()));
  // `aws s3 ls` of the prefix: every other digest the log names is in the catalogue.
  const sizes = join(dir, 'sizes.txt');
  const listing: string[] = [];
  for (let d = 0; d < digests; d += 2) listing.push(`2026-10-01 00:00:00 ${String(blobSize(d)).padStart(10)} ${digest(d)}\n`);
  writeFileSync(sizes, listing.join(''));
  return { log, sizes, gzBytes: statSync(log).size, rawBytes: raw, digests };
}

/** Wall time, CPU time (user + system, children included) and peak RSS of a command. */
function timed(command: string, args: string[]): { seconds: number; cpuSeconds: number; maxRssMiB: number; stdout: string } {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  const [kib, user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { seconds, cpuSeconds: user + system, maxRssMiB: Math.round((kib / 1024) * 10) / 10, stdout: result.stdout };
}

async function run(dir: string, lines: number) {
  const t0 = Date.now();
  const g = await generate(dir, lines);
  const generateSeconds = (Date.now() - t0) / 1000;
  const config = join(dir, 'test.json');
  writeFileSync(config, JSON.stringify(COST_STAGE_CONFIG));
  // The baseline: the same gzipped file, decompressed and its sc-bytes summed.
  const awk = timed('sh', ['-c', `zcat '${g.log}' | awk -F'\\t' '!/^#/ { s += $4 } END { printf "%.0f\\n", s }'`]);
  const report = timed(process.execPath, [BIN, 'cost-report', '--config', config, '--sizes', g.sizes, '--json', g.log]);
  const parsed = JSON.parse(report.stdout) as { input: { records: number }; paths: Record<string, { edgeBytes: number }>; sizes: { unknown: { downloads: number; distinct: number } } };
  const edgeBytes = Object.values(parsed.paths).reduce((s, p) => s + p.edgeBytes, 0);
  // Both read the same bytes: the check that they did.
  if (edgeBytes !== Number(awk.stdout.trim()) || parsed.input.records !== lines) throw new Error(`cost-report read ${parsed.input.records} records and ${edgeBytes} bytes; awk summed ${awk.stdout.trim()}`);
  return {
    lines,
    distinctDigests: g.digests,
    logMiB: Math.round(g.rawBytes / 1024 ** 2),
    gzMiB: Math.round(g.gzBytes / 1024 ** 2),
    generateSeconds,
    zcatAwkSeconds: Math.round(awk.seconds * 100) / 100,
    costReportSeconds: Math.round(report.seconds * 100) / 100,
    vsZcatAwk: Math.round((report.seconds / awk.seconds) * 100) / 100,
    // zcat and awk run on both cores at once; cost-report on one: CPU time is the other fair view.
    zcatAwkCpuSeconds: Math.round(awk.cpuSeconds * 100) / 100,
    costReportCpuSeconds: Math.round(report.cpuSeconds * 100) / 100,
    cpuVsZcatAwk: Math.round((report.cpuSeconds / awk.cpuSeconds) * 100) / 100,
    maxRssMiB: report.maxRssMiB,
    unknownDistinctEstimate: parsed.sizes.unknown.distinct,
    jsonBytes: report.stdout.length,
  };
}

/**
 * What a run costs before and after its lines: the same command on a log of one line, no sizes (the CLI's
 * start, the configuration, the range table, the report's output). Best of three: it is a few tenths of a second.
 */
function fixedSeconds(dir: string): number {
  const log = join(dir, 'one.log');
  const at = (name: string) => CLOUDFRONT_LOG_FIELDS.indexOf(name as (typeof CLOUDFRONT_LOG_FIELDS)[number]);
  const values = CLOUDFRONT_LOG_FIELDS.map(() => '-');
  Object.assign(values, { [at('date')]: '2026-11-01', [at('time')]: '00:00:00', [at('c-ip')]: CLIENTS.internet, [at('cs-method')]: 'GET', [at('cs-uri-stem')]: '/v2/', [at('sc-status')]: '200', [at('sc-bytes')]: '2' });
  writeFileSync(log, `${logHeader()}${values.join('\t')}\n`);
  const config = join(dir, 'test.json');
  writeFileSync(config, JSON.stringify(COST_STAGE_CONFIG));
  const runs = [0, 1, 2].map(() => timed(process.execPath, [BIN, 'cost-report', '--config', config, '--json', log]).seconds);
  return Math.round(Math.min(...runs) * 100) / 100;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cost-report-'));
  try {
    const small = await run(dir, Math.round(LINES / 4));
    const large = await run(dir, LINES);
    const fixed = fixedSeconds(dir);
    const perLineMs = large.costReportSeconds / large.lines;
    const figures = {
      small,
      large,
      // Extrapolated linearly from the large run (the work per line is constant; memory is not per line).
      secondsPerGB: Math.round((large.costReportSeconds / large.logMiB) * 1024),
      rssGrowthMiB: Math.round((large.maxRssMiB - small.maxRssMiB) * 10) / 10,
      microsecondsPerLine: Math.round(perLineMs * 1e6 * 100) / 100,
      // The part of the large run that is not its lines (or sizes): start, configuration, table, output.
      fixedSeconds: fixed,
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    record('costReport', { vsZcatAwk: large.vsZcatAwk, maxRssMiB: large.maxRssMiB, cpuVsZcatAwk: large.cpuVsZcatAwk, lines: large.lines, distinctDigests: large.distinctDigests, logMiB: large.logMiB, rssGrowthMiB: figures.rssGrowthMiB, fixedSeconds: fixed });
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
