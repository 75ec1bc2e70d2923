/**
 * Range updates, measured:
 * - compile time of the full AWS feed (and AWS + GCP): JSON.parse, the schema (zod), the compile itself,
 *   each against the baseline JSON.parse of the same text in the same run. "Cold" is the first run in a
 *   fresh process of bundled code (what a Lambda invocation after an idle hour pays), median of several
 *   processes; "warm" the median of repeated runs in one process.
 * - the compiled table's size: raw, gzip -9 and brotli (what S3 stores and the edge downloads).
 * - the edge's refresh cost: checking a downloaded table (SHA-256 + decode with every structural check)
 *   against the baseline of loading the embedded table (decode without the walk), and a whole refresh
 *   (pointer + gzip-encoded table over loopback HTTP, then a 304 revalidation), and a rollback reaching a
 *   warm instance (a pointer of a higher generation naming an older table, once refreshSeconds have passed).
 * - the plausibility rules' cost: the full feeds (AWS + GCP, parsed) compiled with the rules against the
 *   same compile without them, same run.
 *
 *   npx tsx bench/ranges.ts
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { loadTable } from '../layers/net/load';
import { compileRanges } from '../layers/ranges/compile';
import { AwsFeedSchema, parseAwsFeed, parseGcpFeed } from '../layers/ranges/feeds';
import { describeTable, sha256Hex, tableKey } from '../layers/ranges/pointer';
import { createRangeRefresher } from '../layers/ranges/refresh';
import { startServer } from '../test/support/http';
import { record } from './results';

const ROOT = join(__dirname, '..');
const AWS = join(ROOT, 'data/aws-ip-ranges.json');
const LATER = join(ROOT, 'data/aws-ip-ranges-2026-08-22.json');
const GCP = join(ROOT, 'data/gcp-cloud.json');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** Median of `runs` timed calls after `warmup` untimed ones. */
function warm(fn: () => unknown, runs = 15, warmup = 5): number {
  for (let i = 0; i < warmup; i++) fn();
  return median(Array.from({ length: runs }, () => time(fn)));
}

/** The phases of one compile, timed in a fresh process running bundled code (esbuild, as the Lambda). */
async function coldPhases(processes: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ranges-'));
  try {
    const entry = join(dir, 'cold.ts');
    writeFileSync(
      entry,
      `import { readFileSync } from 'node:fs';
import { AwsFeedSchema, parseAwsFeed, parseGcpFeed } from ${JSON.stringify(join(ROOT, 'layers/ranges/feeds'))};
import { compileRanges } from ${JSON.stringify(join(ROOT, 'layers/ranges/compile'))};
const text = readFileSync(${JSON.stringify(AWS)}, 'utf8');
const gcpText = readFileSync(${JSON.stringify(GCP)}, 'utf8');
const t0 = performance.now(); const json = JSON.parse(text);
const t1 = performance.now(); const aws = AwsFeedSchema.parse(json);
const t2 = performance.now(); compileRanges({ aws });
const t3 = performance.now(); compileRanges({ aws: parseAwsFeed(text), gcp: parseGcpFeed(gcpText) });
const t4 = performance.now();
process.stdout.write(JSON.stringify({ jsonParse: t1 - t0, schema: t2 - t1, compile: t3 - t2, awsTotal: t3 - t0, secondAwsPlusGcpTotal: t4 - t3 }));
`,
    );
    const out = join(dir, 'cold.js');
    await esbuild.build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', target: 'node22', format: 'cjs', logLevel: 'silent' });
    const runs: Record<string, number>[] = [];
    for (let i = 0; i < processes; i++) runs.push(JSON.parse(spawnSync(process.execPath, [out], { encoding: 'utf8' }).stdout));
    return Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, round(median(runs.map((r) => r[k]!)))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function refreshCost(): Promise<Record<string, number>> {
  const gcp = parseGcpFeed(readFileSync(GCP, 'utf8'));
  const embedded = compileRanges({ aws: parseAwsFeed(readFileSync(AWS, 'utf8')), gcp });
  const later = compileRanges({ aws: parseAwsFeed(readFileSync(LATER, 'utf8')), gcp });
  const sha256 = createHash('sha256').update(later.bytes).digest('hex');
  const key = tableKey('ranges/current.json', sha256);
  const { aws } = later.stats;
  let pointer = JSON.stringify(
    describeTable({
      key,
      sha256,
      bytes: later.bytes.length,
      metadata: later.metadata,
      counts: { aws: { v4: aws.v4, v6: aws.v6 }, gcp: { v4: later.stats.gcp.v4, v6: later.stats.gcp.v6 }, overlay: 0, entries: later.stats.entries },
      publishedAt: new Date(),
      forced: false,
    }),
  );
  const embeddedSha = createHash('sha256').update(embedded.bytes).digest('hex');
  const embeddedKey = tableKey('ranges/current.json', embeddedSha);
  const stored = new Map([
    [key, gzipSync(later.bytes, { level: 9 })],
    [embeddedKey, gzipSync(embedded.bytes, { level: 9 })],
  ]);
  let pointerEtag = '"p1"';
  const server = await startServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/cfg\//, '');
    if (path.endsWith('/current.json')) {
      if (req.headers['if-none-match'] === pointerEtag) {
        res.statusCode = 304;
        return res.end();
      }
      res.setHeader('etag', pointerEtag);
      return res.end(pointer);
    }
    // As the updater stores tables: gzip-encoded.
    const body = stored.get(path)!;
    res.setHeader('content-encoding', 'gzip');
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  try {
    const config = {
      apiEndpoint: `${server.url}/{bucket}`,
      ranges: { refreshSeconds: 300, refreshBudgetMs: 2000, configBucket: { name: 'cfg', region: 'us-east-1' }, pointerKey: 'ranges/current.json' },
    };
    let clock = 0;
    const swaps: number[] = [];
    const revalidations: number[] = [];
    for (let i = 0; i < 15; i++) {
      const refresher = createRangeRefresher({ initial: loadTable(embedded.bytes, { check: false }), config, now: () => clock, log: () => undefined });
      let start = performance.now();
      await refresher.beforeRequest();
      await refresher.idle();
      swaps.push(performance.now() - start);
      if (refresher.status().swaps !== 1) throw new Error(`refresh did not swap: ${refresher.status().lastError}`);
      clock += 300_000;
      start = performance.now();
      await refresher.beforeRequest();
      await refresher.idle();
      revalidations.push(performance.now() - start);
    }

    // A rollback reaching a warm instance: it holds the later table (generation 1); the pointer now names the
    // earlier table under generation 2; the first request after refreshSeconds takes it.
    const laterPointer = pointer;
    const rollbackPointer = JSON.stringify({
      ...JSON.parse(laterPointer),
      key: embeddedKey,
      sha256: embeddedSha,
      bytes: embedded.bytes.length,
      syncToken: (embedded.metadata.aws as { syncToken: string }).syncToken,
      generation: 2,
    });
    const rollbacks: number[] = [];
    for (let i = 0; i < 15; i++) {
      pointer = laterPointer;
      pointerEtag = `"later-${i}"`;
      const refresher = createRangeRefresher({ initial: loadTable(embedded.bytes, { check: false }), config, now: () => clock, log: () => undefined });
      await refresher.beforeRequest();
      await refresher.idle();
      pointer = rollbackPointer;
      pointerEtag = `"rollback-${i}"`;
      clock += 300_000;
      const start = performance.now();
      await refresher.beforeRequest();
      await refresher.idle();
      rollbacks.push(performance.now() - start);
      if (refresher.status().generation !== 2) throw new Error(`rollback not taken: ${refresher.status().lastError}`);
    }
    pointer = laterPointer;
    pointerEtag = '"p1"';

    const checkNs: number[] = [];
    for (let i = 0; i < 15; i++) {
      const start = performance.now();
      if ((await sha256Hex(later.bytes)) !== sha256) throw new Error('checksum');
      loadTable(later.bytes, { check: true });
      checkNs.push(performance.now() - start);
    }
    const baseline = warm(() => loadTable(embedded.bytes, { check: false }), 50, 10);
    const check = median(checkNs);
    return {
      checkMs: round(check),
      baselineEmbeddedLoadMs: round(baseline),
      checkVsEmbeddedLoad: Math.round(check / baseline),
      sha256Ms: round(median(await Promise.all([0, 1, 2, 3, 4].map(async () => {
        const s = performance.now();
        await sha256Hex(later.bytes);
        return performance.now() - s;
      })))),
      refreshWithSwapMs: round(median(swaps)),
      revalidation304Ms: round(median(revalidations)),
      rollbackToWarmInstanceMs: round(median(rollbacks)),
    };
  } finally {
    await server.close();
  }
}

async function main() {
  const awsText = readFileSync(AWS, 'utf8');
  const gcpText = readFileSync(GCP, 'utf8');
  const json = JSON.parse(awsText);
  const aws = AwsFeedSchema.parse(json);
  const gcp = parseGcpFeed(gcpText);

  const warmJson = warm(() => JSON.parse(awsText));
  const warmSchema = warm(() => AwsFeedSchema.parse(json));
  const warmCompile = warm(() => compileRanges({ aws }));
  const warmAll = warm(() => compileRanges({ aws: parseAwsFeed(awsText), gcp: parseGcpFeed(gcpText) }));
  // The plausibility rules against the same compile without them, interleaved so that both see the same
  // machine; the ratio of the fastest runs, which other load on the machine disturbs least.
  const withRules: number[] = [];
  const withoutRules: number[] = [];
  for (let i = 0; i < 5; i++) compileRanges({ aws, gcp, rules: i % 2 === 0 ? undefined : false });
  for (let i = 0; i < 41; i++) {
    withRules.push(time(() => compileRanges({ aws, gcp })));
    withoutRules.push(time(() => compileRanges({ aws, gcp, rules: false })));
  }
  const [bestWith, bestWithout] = [Math.min(...withRules), Math.min(...withoutRules)];
  const rules = {
    withRulesMedianMs: round(median(withRules)),
    withoutRulesMedianMs: round(median(withoutRules)),
    withRulesBestMs: round(bestWith),
    withoutRulesBestMs: round(bestWithout),
    rulesOverheadRatio: round(bestWith / bestWithout),
  };
  const cold = await coldPhases(7);

  const table = compileRanges({ aws, gcp }).bytes;
  const result = {
    bench: 'ranges',
    feed: { awsBytes: awsText.length, awsEntries: aws.prefixes.length + aws.ipv6_prefixes.length, gcpEntries: gcp.prefixes.length },
    baseline: 'JSON.parse of the AWS feed, same run',
    warm: {
      jsonParseMs: round(warmJson),
      schemaMs: round(warmSchema),
      compileMs: round(warmCompile),
      awsTotalMs: round(warmJson + warmSchema + warmCompile),
      awsTotalVsJsonParse: round((warmJson + warmSchema + warmCompile) / warmJson),
      awsPlusGcpTotalMs: round(warmAll),
    },
    coldMedianOf7Processes: { ...cold, awsTotalVsJsonParse: round(cold.awsTotal! / cold.jsonParse!) },
    table: {
      bytes: table.length,
      gzipBytes: gzipSync(table, { level: 9 }).length,
      brotliBytes: brotliCompressSync(table, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    },
    plausibilityRules: { baseline: 'the same compile of AWS + GCP without the rules, same run', ...rules },
    edgeRefresh: await refreshCost(),
  };
  console.log(JSON.stringify(result, null, 2));
  record('ranges', { rulesOverheadRatio: rules.rulesOverheadRatio, rollbackToWarmInstanceMs: result.edgeRefresh.rollbackToWarmInstanceMs! });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
