/**
 * What cost-report and plan-regions both need before reading a log: the stage's routing (configuration and
 * range table, as the viewer function has them), the blob sizes (files and/or a bucket listing, into the
 * compact catalogue) and the prices. Shared so the two commands take the same options the same way.
 */
import { openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import type { ResolvedConfig } from '../../layers/config/schema';
import { createRouter, type Router } from '../../layers/costs/attribute';
import { listBlobSizes } from '../../layers/costs/bucket-sizes';
import { InputError, readLineBatches, resolveInputs } from '../../layers/costs/log-files';
import { DEFAULT_PRICES, type PriceTable, resolvePrices } from '../../layers/costs/prices';
import { addSizesLine, type BlobSizes, parseSizes, SizesBuilder } from '../../layers/costs/sizes';
import { createS3Client } from '../../layers/s3/client';
import { stageRanges } from '../compiled-ranges';
import { DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, loadStageConfig, ROOT } from '../../tools/build';

export interface CostOptions {
  stage?: string;
  config?: string;
  aws?: string;
  gcp?: string;
  sizes?: string[];
  bucket?: string;
  s3Endpoint?: string;
  region: string;
  prices?: string;
}

export interface CostContext {
  config: ResolvedConfig;
  router: Router;
  sizes: BlobSizes;
  /** Where the sizes came from, for the report. */
  sources: string[];
  prices: PriceTable;
  routing: Record<string, string>;
}

/** The options both commands take (--sizes and --bucket as each command words them). */
export function costOptions(command: Command, what: { bucket: string }): Command {
  return command
    .option('--stage <stage>', 'the stage whose routing produced the logs (config/<stage>.json)')
    .option('--config <file>', 'a stage configuration file instead of --stage')
    .option('--aws <file>', 'AWS ip-ranges.json the edge classified with (default: the snapshot in data/)')
    .option('--gcp <file>', 'GCP cloud.json (default: the snapshot in data/)')
    .option('--sizes <file>', 'blob sizes: JSON {"<digest>": bytes}, `aws s3api list-objects-v2` JSON or `aws s3 ls` output (that one plain or gzip, read a line at a time) (repeatable)', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--bucket <name>', what.bucket)
    .option('--s3-endpoint <url>', 'S3 API endpoint for --bucket (a local S3 server; default: AWS)')
    .option('--region <region>', 'region of the S3 client', process.env.AWS_REGION ?? 'us-east-1')
    .option('--prices <file>', 'price overrides, JSON (see layers/costs/prices.ts for the fields)');
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Does the file start (after white space) with "{"? JSON is read whole; text is streamed a line at a time. */
function looksLikeJson(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new InputError(`cannot read the sizes file ${path}: ${(error as Error).message}`);
  }
  try {
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').trimStart().startsWith('{');
  } finally {
    closeSync(fd);
  }
}

/** Adds one sizes file; returns how many entries it gave. */
async function readSizesFile(path: string, into: SizesBuilder): Promise<number> {
  const before = into.added;
  if (looksLikeJson(path)) parseSizes(readFileSync(path, 'utf8'), path, into);
  else {
    // `aws s3 ls` of a big bucket is hundreds of MB: never held whole (and may be gzipped).
    const [input] = resolveInputs([path]);
    for await (const batch of readLineBatches(input!)) for (const line of batch) addSizesLine(line.text, () => `${path}:${line.number}`, into);
  }
  return into.added - before;
}

export async function loadCostContext(options: CostOptions): Promise<CostContext> {
  if (!options.stage === !options.config) throw new Error('name the stage whose routing produced the logs: --stage <stage> or --config <file> (one of them)');
  const prices = options.prices ? resolvePrices(readJsonFile(options.prices, 'prices file'), options.prices) : DEFAULT_PRICES;
  const stage = options.stage ?? basename(options.config!, '.json');
  const configPath = options.config ?? join(ROOT, 'config', `${stage}.json`);
  const config = loadStageConfig({ stage, configPath });
  const awsFeed = options.aws ?? DEFAULT_AWS_FEED;
  const gcpFeed = options.gcp ?? DEFAULT_GCP_FEED;
  const ranges = stageRanges(config, awsFeed, gcpFeed);
  const router = createRouter(config.edge, ranges.table);

  const builder = new SizesBuilder();
  const sources: string[] = [];
  for (const file of options.sizes ?? []) sources.push(`${file} (${await readSizesFile(file, builder)} digests)`);
  if (options.bucket || options.s3Endpoint) {
    const bucket = options.bucket ?? config.primaryBucket;
    const prefix = config.stage.buckets.blobPrefix;
    const client = createS3Client(options.s3Endpoint ? { endpoint: options.s3Endpoint, region: options.region } : { region: options.region, followRegionRedirects: true });
    try {
      const { listed } = await listBlobSizes({ client, bucket, prefix, into: builder });
      sources.push(`s3://${bucket}/${prefix}${options.s3Endpoint ? ` at ${options.s3Endpoint}` : ''} (${listed} objects listed)`);
    } finally {
      client.destroy();
    }
  }
  const sizes = builder.build();

  // The repository's own files by their short names (config/local.json, data/gcp-cloud.json).
  const shown = (path: string) => (path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path);
  const routing = {
    stage: config.stage.stage,
    config: options.config ?? `config/${stage}.json`,
    aws: `${shown(awsFeed)} (createDate ${String((ranges.metadata.aws as { createDate?: unknown } | undefined)?.createDate ?? 'unknown')})`,
    gcp: `${shown(gcpFeed)} (creationTime ${String((ranges.metadata.gcp as { creationTime?: unknown } | undefined)?.creationTime ?? 'unknown')})`,
  };
  return { config, router, sizes, sources, prices, routing };
}

/** --catalog-bytes: digits only (a size in bytes), or an error naming the option. */
export function byteCount(value: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new Error(`--catalog-bytes: "${value}" is not a number of bytes (digits only, e.g. 5497558138880)`);
  return Number(value);
}

/** "no log records in …" with the first malformed line, when nothing could be read. */
export function noRecordsError(names: string[], malformed: { lines: number; examples: { where: string; detail: string }[] }): Error {
  const why = malformed.lines > 0 ? `: ${malformed.lines} line(s), all malformed (first at ${malformed.examples[0]!.where}: ${malformed.examples[0]!.detail})` : '';
  return new Error(`no log records in ${names.join(', ')}${why}`);
}
