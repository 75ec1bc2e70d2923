/**
 * `registry-edge cost-report`: what the redirects saved, from CloudFront standard logs. Each logged request
 * is routed again with the stage's configuration and range table (the code the viewer function runs),
 * combined with the logged status, sized from the primary bucket's listing (or a sizes file), or measured
 * in the buckets' S3 server access logs (--s3-logs), and priced (layers/costs/prices.ts, or --prices FILE).
 * `--html FILE` writes the same report as one self-contained page with charts, and the plan-regions ranking.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { analyzeLogs } from '../../layers/costs/analyze';
import { renderHtmlReport } from '../../layers/costs/html';
import { resolveInputs } from '../../layers/costs/log-files';
import { type Plan, PlanError, planRegions, RegionTally } from '../../layers/costs/plan';
import { buildReport, renderReport } from '../../layers/costs/report';
import { printJson } from '../io';
import { byteCount, type CostOptions, costOptions, loadCostContext, noRecordsError } from './cost-context';

interface CostReportOptions extends CostOptions {
  s3Logs?: string[];
  html?: string;
  catalogBytes?: number;
  json?: boolean;
}

export function registerCostReport(program: Command): void {
  const command = program
    .command('cost-report')
    .description(
      'What the redirects saved: reads CloudFront standard logs (files or folders, gzip or plain, "-" for stdin), works out where each blob download came from (S3 in the same region, S3 in another region, the upstream registry, CloudFront) and prices each path against the baseline of the upstream registry serving every blob byte.',
    )
    .argument('<logs...>', 'log files or folders (read recursively), or - for standard input');
  costOptions(command, { bucket: "list blob sizes from this bucket (default with --s3-endpoint: the stage's primary bucket)" })
    .option('--s3-logs <path>', "the blob buckets' S3 server access logs (files or folders, gzip or plain; repeatable): bytes of redirected downloads measured, not taken from blob sizes", (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--html <file>', 'also write the report as one self-contained HTML page (charts by path and by day, the table, the plan-regions ranking)')
    .option('--catalog-bytes <n>', "for the HTML page's plan-regions ranking: the catalogue's size in bytes (default: the sum of the sizes given)", byteCount)
    .option('--json', 'print one JSON object instead of the table')
    .action(async (logs: string[], options: CostReportOptions) => {
      if (!options.stage === !options.config) throw new Error('name the stage whose routing produced the logs: --stage <stage> or --config <file> (one of them)');
      // Every input is checked before the first is read: a typo should not cost a long read first.
      const inputs = resolveInputs(logs);
      const s3Inputs = options.s3Logs ? resolveInputs(options.s3Logs) : undefined;
      const context = await loadCostContext(options);
      const { config, router, sizes, prices } = context;
      const regions = new RegionTally();
      const bucketRegions = Object.fromEntries(Object.entries(config.edge.buckets).map(([region, bucket]) => [bucket, region]));
      const analysis = await analyzeLogs(inputs, router, {
        sizes,
        observe: regions.observe,
        ...(s3Inputs ? { s3Logs: { inputs: s3Inputs, bucketRegions, blobPrefix: config.stage.buckets.blobPrefix } } : {}),
      });
      if (analysis.records === 0) throw noRecordsError(inputs.map((i) => i.name), analysis.malformed);

      const usage = analysis.tally.result();
      const report = buildReport(analysis, usage, { routing: context.routing, sizes: context.sources, prices });
      if (options.html) {
        let plan: Plan | string;
        try {
          plan = planRegions({ tally: regions, period: usage.period, config: config.edge, prices, sizes, ...(options.catalogBytes !== undefined ? { catalogBytes: options.catalogBytes } : {}) });
        } catch (error) {
          if (!(error instanceof PlanError)) throw error;
          plan = error.message;
        }
        try {
          writeFileSync(options.html, renderHtmlReport(report, plan));
        } catch (error) {
          throw new Error(`cannot write the HTML report ${options.html}: ${(error as Error).message}`);
        }
      }
      if (options.json) printJson(report);
      else process.stdout.write(renderReport(report));
      if (analysis.malformed.lines > 0 && options.json) process.stderr.write(`registry-edge: ${analysis.malformed.lines} malformed line(s) skipped (see input.malformed)\n`);
      if (report.sizes.unknown.downloads > 0) process.stderr.write(`registry-edge: ${report.notes[0]}\n`);
      if (options.html) process.stderr.write(`registry-edge: wrote ${options.html}\n`);
    });
}
