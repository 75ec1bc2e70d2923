/**
 * `registry-edge cost-report`: what the redirects saved, from CloudFront standard logs. Each logged request
 * is routed again with the stage's configuration and range table (the code the viewer function runs),
 * combined with the logged status, sized from the primary bucket's listing (or a sizes file), and priced
 * (layers/costs/prices.ts, or --prices FILE).
 */
import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import { createRouter } from '../../layers/costs/attribute';
import { analyzeLogs } from '../../layers/costs/analyze';
import { listBlobSizes } from '../../layers/costs/bucket-sizes';
import { resolveInputs } from '../../layers/costs/log-files';
import { DEFAULT_PRICES, type PriceTable, resolvePrices } from '../../layers/costs/prices';
import { buildReport, renderReport } from '../../layers/costs/report';
import { mergeSizes, parseSizes, type Sizes } from '../../layers/costs/sizes';
import { loadTable } from '../../layers/net/load';
import { createS3Client } from '../../layers/s3/client';
import { compileStageRanges, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, loadStageConfig, ROOT } from '../../tools/build';
import { printJson } from '../io';

interface CostReportOptions {
  stage?: string;
  config?: string;
  aws?: string;
  gcp?: string;
  sizes?: string[];
  bucket?: string;
  s3Endpoint?: string;
  region: string;
  prices?: string;
  json?: boolean;
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

function loadPrices(path: string | undefined): PriceTable {
  return path ? resolvePrices(readJsonFile(path, 'prices file'), path) : DEFAULT_PRICES;
}

export function registerCostReport(program: Command): void {
  program
    .command('cost-report')
    .description(
      'What the redirects saved: reads CloudFront standard logs (files or folders, gzip or plain, "-" for stdin), works out where each blob download came from (S3 in the same region, S3 in another region, the upstream registry, CloudFront) and prices each path against the baseline of the upstream registry serving every blob byte.',
    )
    .argument('<logs...>', 'log files or folders (read recursively), or - for standard input')
    .option('--stage <stage>', 'the stage whose routing produced the logs (config/<stage>.json)')
    .option('--config <file>', 'a stage configuration file instead of --stage')
    .option('--aws <file>', 'AWS ip-ranges.json the edge classified with (default: the snapshot in data/)')
    .option('--gcp <file>', 'GCP cloud.json (default: the snapshot in data/)')
    .option('--sizes <file>', 'blob sizes: JSON {"<digest>": bytes}, `aws s3api list-objects-v2` JSON or `aws s3 ls` output (repeatable)', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--bucket <name>', 'list blob sizes from this bucket (default with --s3-endpoint: the stage\'s primary bucket)')
    .option('--s3-endpoint <url>', 'S3 API endpoint for --bucket (a local S3 server; default: AWS)')
    .option('--region <region>', 'region of the S3 client', process.env.AWS_REGION ?? 'us-east-1')
    .option('--prices <file>', 'price overrides, JSON (see layers/costs/prices.ts for the fields)')
    .option('--json', 'print one JSON object instead of the table')
    .action(async (logs: string[], options: CostReportOptions) => {
      if (!options.stage === !options.config) throw new Error('name the stage whose routing produced the logs: --stage <stage> or --config <file> (one of them)');
      const prices = loadPrices(options.prices);
      const stage = options.stage ?? basename(options.config!, '.json');
      const configPath = options.config ?? join(ROOT, 'config', `${stage}.json`);
      const config = loadStageConfig({ stage, configPath });
      const awsFeed = options.aws ?? DEFAULT_AWS_FEED;
      const gcpFeed = options.gcp ?? DEFAULT_GCP_FEED;
      const ranges = compileStageRanges(config, awsFeed, gcpFeed);
      const router = createRouter(config.edge, loadTable(ranges.bytes).table);
      // Every input is checked before the first is read: a typo should not cost a long read first.
      const inputs = resolveInputs(logs);

      const analysis = await analyzeLogs(inputs, router);
      if (analysis.records === 0) {
        const why = analysis.malformed.lines > 0 ? `: ${analysis.malformed.lines} line(s), all malformed (first at ${analysis.malformed.examples[0]!.where}: ${analysis.malformed.examples[0]!.detail})` : '';
        throw new Error(`no log records in ${inputs.map((i) => i.name).join(', ')}${why}`);
      }

      const sizes: Sizes = new Map();
      const sources: string[] = [];
      for (const file of options.sizes ?? []) {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          throw new Error(`cannot read the sizes file ${file}: ${(error as Error).message}`);
        }
        const own = parseSizes(text, file);
        mergeSizes(sizes, own, file);
        sources.push(`${file} (${own.size} digests)`);
      }
      const wanted = analysis.tally.wantedDigests();
      if (options.bucket || options.s3Endpoint) {
        const bucket = options.bucket ?? config.primaryBucket;
        const prefix = config.stage.buckets.blobPrefix;
        const client = createS3Client(options.s3Endpoint ? { endpoint: options.s3Endpoint, region: options.region } : { region: options.region, followRegionRedirects: true });
        try {
          const missing = new Set([...wanted].filter((d) => !sizes.has(d)));
          const { listed } = missing.size > 0 ? await listBlobSizes({ client, bucket, prefix, wanted: missing, into: sizes }) : { listed: 0 };
          sources.push(`s3://${bucket}/${prefix}${options.s3Endpoint ? ` at ${options.s3Endpoint}` : ''} (${listed} objects listed)`);
        } finally {
          client.destroy();
        }
      }

      const usage = analysis.tally.resolve(sizes);
      // The repository's own files by their short names (config/local.json, data/gcp-cloud.json).
      const shown = (path: string) => (path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path);
      const report = buildReport(analysis, usage, {
        routing: {
          stage: config.stage.stage,
          config: options.config ?? `config/${stage}.json`,
          aws: `${shown(awsFeed)} (createDate ${String((ranges.metadata.aws as { createDate?: unknown } | undefined)?.createDate ?? 'unknown')})`,
          gcp: `${shown(gcpFeed)} (creationTime ${String((ranges.metadata.gcp as { creationTime?: unknown } | undefined)?.creationTime ?? 'unknown')})`,
        },
        sizes: sources,
        prices,
      });
      if (options.json) printJson(report);
      else process.stdout.write(renderReport(report));
      if (analysis.malformed.lines > 0 && options.json) process.stderr.write(`registry-edge: ${analysis.malformed.lines} malformed line(s) skipped (see input.malformed)\n`);
      if (report.sizes.unknown.downloads > 0) process.stderr.write(`registry-edge: ${report.notes[0]}\n`);
    });
}
