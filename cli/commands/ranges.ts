/**
 * `registry-edge ranges`: the range table for operators.
 *   compile  feeds → table file (what the build embeds and the updater publishes)
 *   update   the updater Lambda's code, run from here: fetch, check, compile, publish
 *   status   the published table: its key, generation, sync tokens, ages and counts, checked against its checksum
 *   rollback put an earlier table back under a new generation (every edge takes it within refreshSeconds)
 *
 * With `--stage local` and no `--s3-endpoint`, the commands find the running local stack's S3, bucket and
 * feeds in its state file (local/stack-state.ts).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { StageConfigSchema } from '../../layers/config/schema';
import { loadTable } from '../../layers/net/load';
import { compileRanges } from '../../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../../layers/ranges/feeds';
import { readSource } from '../../layers/ranges/fetch';
import { sha256Hex } from '../../layers/ranges/pointer';
import { unknownRegions } from '../../layers/ranges/rules';
import { rangeUpdateSetup, type RangeUpdateSetup } from '../../layers/ranges/setup';
import { s3RangeStore } from '../../layers/ranges/store';
import { tableAges } from '../../layers/ranges/age';
import { runRangeRollback } from '../../layers/ranges/rollback';
import { describeAwsFailure } from '../aws';
import { runRangeUpdate } from '../../layers/ranges/update';
import { versionOf } from '../../layers/ranges/version';
import { readStackState, type StackState } from '../../local/stack-state';
import { createS3Client } from '../../layers/s3/client';
import { loadStageConfig } from '../../tools/build';
import { fail, printJson } from '../io';

interface BucketOptions {
  s3Endpoint?: string;
  bucket?: string;
  region?: string;
  pointerKey?: string;
  stage?: string;
  config?: string;
}

interface UpdateOptions extends BucketOptions {
  aws?: string;
  gcp?: string;
  force?: boolean;
  dryRun?: boolean;
  maxShrink?: string;
  maxGrowth?: string;
}

function bucketOptions(command: Command): Command {
  return command
    .option('--s3-endpoint <url>', 'S3 API endpoint, e.g. http://127.0.0.1:4566 for a local S3 (default: AWS)')
    .option('--bucket <name>', 'the config bucket (default: the stage\'s)')
    .option('--region <region>', 'the config bucket\'s region (default: the stage\'s primary region, else us-east-1)')
    .option('--pointer-key <key>', 'the pointer object\'s key (default: the stage\'s ranges.pointerKey)')
    .option('--stage <stage>', 'take the settings from config/<stage>.json')
    .option('--config <file>', 'take the settings from this configuration file');
}

/**
 * The stage's settings with the command line's on top; a bucket is needed from one or the other. For the
 * local stage the running stack's state file fills in what the command line leaves out.
 */
function resolveSetup(options: BucketOptions): RangeUpdateSetup {
  const stage = options.stage ?? (options.config ? 'custom' : undefined);
  const config = stage ? loadStageConfig({ stage, ...(options.config ? { configPath: options.config } : {}) }) : undefined;
  const state: StackState | undefined = stage === 'local' && !options.s3Endpoint ? readStackState() : undefined;
  const defaults = config?.stage.ranges ?? StageConfigSchema.shape.ranges.parse(undefined);
  const name = options.bucket ?? state?.configBucket ?? config?.configBucket;
  if (!name) throw new Error('name the config bucket with --bucket, or a stage with --stage/--config');
  const region = options.region ?? state?.region ?? config?.stage.buckets.primaryRegion ?? 'us-east-1';
  const pointerKey = options.pointerKey ?? state?.pointerKey ?? defaults.pointerKey;
  const endpoint = options.s3Endpoint ?? state?.s3Endpoint;
  const client = createS3Client({ region, ...(endpoint ? { endpoint } : {}) });
  const base = config ? rangeUpdateSetup(config, client) : undefined;
  return {
    sources: state?.feeds ?? base?.sources ?? { aws: defaults.awsUrl, gcp: defaults.gcpUrl === '' ? null : defaults.gcpUrl },
    store: s3RangeStore(client, name, pointerKey),
    bucket: { name, region },
    maxShrink: defaults.maxShrink,
    maxGrowth: defaults.maxGrowth,
    feedRules: { shortestPrefix: { ...defaults.shortestPrefix } },
    overlay: config ? defaults.overlay : [],
  };
}

/** Writes next to the target and renames: a reader never sees half a table. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}

/** "3d 4h", "2h 5m", "7m"; "in 3h 0m" for a time in the future (shown as it is, never as 0). */
function formatAge(seconds: number): string {
  if (seconds < 0) return `in ${formatAge(-seconds)}`;
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

export function registerRanges(program: Command): void {
  const ranges = program.command('ranges').description('Compile, publish and inspect the IP range table the edge classifies clients with.');

  ranges
    .command('compile')
    .description('Compile AWS ip-ranges.json (and GCP cloud.json) into the table the edge loads; print a summary.')
    .requiredOption('--aws <file>', 'AWS ip-ranges.json (a file or an https URL)')
    .option('--gcp <file>', 'GCP cloud.json (a file or an https URL)')
    .requiredOption('--out <file>', 'where to write the table')
    .option('--stage <stage>', 'judge the feeds by config/<stage>.json\'s rules (ranges.shortestPrefix; default /8 and /16)')
    .option('--config <file>', 'judge the feeds by this configuration file\'s rules')
    .action(async (options: { aws: string; gcp?: string; out: string; stage?: string; config?: string }) => {
      const stage = options.stage ?? (options.config ? 'custom' : undefined);
      const config = stage ? loadStageConfig({ stage, ...(options.config ? { configPath: options.config } : {}) }) : undefined;
      const rules = config ? { shortestPrefix: config.stage.ranges.shortestPrefix } : undefined;
      const [awsText, gcpText] = await Promise.all([readSource(options.aws), options.gcp ? readSource(options.gcp) : null]);
      const started = performance.now();
      const aws = parseAwsFeed(awsText, options.aws);
      const gcp = gcpText === null ? undefined : parseGcpFeed(gcpText, options.gcp!);
      const compiled = compileRanges({ aws, ...(gcp ? { gcp } : {}), ...(rules ? { rules } : {}), sources: { aws: options.aws, ...(options.gcp ? { gcp: options.gcp } : {}) } });
      const compileMs = performance.now() - started;
      writeAtomically(options.out, compiled.bytes);
      for (const warning of compiled.warnings) process.stderr.write(`registry-edge: warning: ${warning}\n`);
      const version = versionOf(compiled.metadata)!;
      printJson({
        out: options.out,
        bytes: compiled.bytes.length,
        gzipBytes: gzipSync(compiled.bytes, { level: 9 }).length,
        sha256: await sha256Hex(compiled.bytes),
        syncToken: version.aws,
        gcpSyncToken: version.gcp,
        entries: compiled.stats.entries,
        prefixes: { aws: compiled.stats.aws.v4 + compiled.stats.aws.v6, gcp: compiled.stats.gcp.v4 + compiled.stats.gcp.v6 },
        unknownRegions: unknownRegions(compiled.stats.aws.regions),
        warnings: compiled.warnings.length,
        compileMs: Math.round(compileMs * 10) / 10,
      });
    });

  bucketOptions(ranges.command('update'))
    .description('Fetch, check, compile and publish the range table, as the ranges-update Lambda does; print what happened.')
    .option('--aws <source>', 'AWS ip-ranges.json: a URL or a file (default: the stage\'s ranges.awsUrl)')
    .option('--gcp <source>', 'GCP cloud.json: a URL, a file, or "none" (default: the stage\'s ranges.gcpUrl)')
    .option('--max-shrink <fraction>', 'refuse a feed that lost more than this fraction of its prefixes (default: the stage\'s, 0.1)')
    .option('--max-growth <factor>', 'refuse a feed whose covered address space grew more than this many times (default: the stage\'s, 4)')
    .option('--force', 'publish past the shrink, growth, regression and rollback guards (never over a newer syncToken, never past the feed rules)')
    .option('--dry-run', 'fetch, check and compile, but publish nothing: say what would be published')
    .action(async (options: UpdateOptions) => {
      const setup = resolveSetup(options);
      const maxShrink = options.maxShrink === undefined ? setup.maxShrink : Number(options.maxShrink);
      if (!(maxShrink >= 0 && maxShrink <= 1)) throw new Error(`--max-shrink ${options.maxShrink}: must be a fraction between 0 and 1`);
      const maxGrowth = options.maxGrowth === undefined ? setup.maxGrowth : Number(options.maxGrowth);
      if (!(maxGrowth >= 1)) throw new Error(`--max-growth ${options.maxGrowth}: must be a factor of at least 1`);
      const sources = {
        aws: options.aws ?? setup.sources.aws,
        gcp: options.gcp === 'none' ? null : (options.gcp ?? setup.sources.gcp),
      };
      const result = await runRangeUpdate({ ...setup, sources, maxShrink, maxGrowth, force: options.force ?? false, dryRun: options.dryRun ?? false });
      printJson({ bucket: setup.bucket.name, ...result });
      if (result.outcome === 'refused' || result.outcome === 'failed') {
        process.stderr.write(`registry-edge: ${result.outcome} (${result.reason}): ${result.message}\n`);
        fail(1);
      }
    });

  bucketOptions(ranges.command('status'))
    .description('Show the published table: sync tokens, age and counts, and whether it matches its checksum.')
    .action(async (options: BucketOptions) => {
      const setup = resolveSetup(options);
      const read = await setup.store.readPointer();
      if (read.pointer === null) {
        printJson({ bucket: setup.bucket.name, pointerKey: setup.store.pointerKey, published: false, ...(read.problem ? { problem: read.problem } : {}) });
        process.stderr.write(`registry-edge: ${setup.store.location}: ${read.problem ?? 'no table is published'}\n`);
        fail(1);
        return;
      }
      const pointer = read.pointer;
      const ages = tableAges(pointer, Date.now());
      let problem: string | undefined;
      const bytes = await setup.store.readTable(pointer.key);
      if (bytes === null) problem = `the table ${pointer.key} is missing`;
      else if ((await sha256Hex(bytes)) !== pointer.sha256) problem = `the table ${pointer.key} does not match its SHA-256`;
      else {
        try {
          loadTable(bytes, { check: true });
        } catch (error) {
          problem = `the table ${pointer.key}: ${(error as Error).message}`;
        }
      }
      printJson({
        bucket: setup.bucket.name,
        published: true,
        key: pointer.key,
        generation: pointer.generation,
        syncToken: pointer.syncToken,
        createDate: pointer.createDate,
        // Since the feed's own publication time (its syncToken); below zero means it claims to come from the future.
        ageSeconds: ages.feedAgeSeconds,
        age: ages.feedAgeSeconds === null ? null : formatAge(ages.feedAgeSeconds),
        publishedAgeSeconds: ages.publishedAgeSeconds,
        publishedAge: ages.publishedAgeSeconds === null ? null : formatAge(ages.publishedAgeSeconds),
        gcpSyncToken: pointer.gcp?.syncToken ?? null,
        gcpCreationTime: pointer.gcp?.creationTime ?? null,
        counts: pointer.counts,
        bytes: pointer.bytes,
        sha256: pointer.sha256,
        publishedAt: pointer.publishedAt,
        forced: pointer.forced,
        previous: pointer.previous,
        rolledBackFrom: pointer.rolledBackFrom,
        ...(pointer.rollback ? { rollback: pointer.rollback } : {}),
        verified: problem === undefined,
        ...(problem ? { problem } : {}),
      });
      if (problem) {
        process.stderr.write(`registry-edge: ${problem}\n`);
        fail(1);
      }
    });

  ranges
    .command('rollback')
    .description('Put an earlier table back under a new generation: every edge takes it within refreshSeconds; the updater then refuses the feed version rolled away from until --force.')
    .requiredOption('--stage <stage>', 'take the settings from config/<stage>.json (local: the running stack\'s)')
    .option('--previous', 'the table the published one replaced')
    .option('--to <key>', 'a table in the bucket, by key (ranges/<sha256>.bin, as `ranges status` and `ranges update` print it) or SHA-256')
    .option('--s3-endpoint <url>', 'S3 API endpoint, e.g. http://127.0.0.1:4566 for a local S3 (default: AWS)')
    .option('--bucket <name>', 'the config bucket (default: the stage\'s)')
    .option('--region <region>', 'the config bucket\'s region (default: the stage\'s primary region)')
    .action(async (options: BucketOptions & { previous?: boolean; to?: string }) => {
      if (Boolean(options.previous) === (options.to !== undefined)) throw new Error('give one of --previous and --to KEY');
      const setup = resolveSetup(options);
      const result = await runRangeRollback({ store: setup.store, target: options.previous ? { previous: true } : { key: options.to! } });
      printJson({ ...result, bucket: setup.bucket.name });
      if (result.outcome !== 'rolled-back') {
        // A store failure is an S3 error in words: without credentials or network, say which is missing.
        const message = (result.reason === 'store' && describeAwsFailure(new Error(result.message))) || `rollback ${result.outcome} (${result.reason}): ${result.message}`;
        process.stderr.write(`registry-edge: ${message}\n`);
        fail(1);
      }
    });
}
