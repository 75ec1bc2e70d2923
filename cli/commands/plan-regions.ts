/**
 * `registry-edge plan-regions`: which AWS region deserves a bucket next, and whether each bucket pays for
 * itself. Replays the logged blob requests through the edge's own routing (as cost-report does), sums
 * their bytes by the client's region, and weighs, per month, the transfer a bucket there avoids against
 * storing a copy of the catalogue and replicating its growth (layers/costs/plan.ts).
 */
import type { Command } from 'commander';
import { analyzeLogs } from '../../layers/costs/analyze';
import { resolveInputs } from '../../layers/costs/log-files';
import { type Plan, planRegions, RegionTally } from '../../layers/costs/plan';
import { formatBytes, formatMoney } from '../../layers/costs/report';
import { printJson } from '../io';
import { byteCount, type CostOptions, costOptions, loadCostContext, noRecordsError } from './cost-context';

interface PlanOptions extends CostOptions {
  catalogBytes?: number;
  json?: boolean;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
}

export function renderPlan(plan: Plan): string {
  const lines = [`registry-edge plan-regions: ${plan.period.from} to ${plan.period.to} (${plan.period.days} day(s)), per month`];
  lines.push(`  prices: as of ${plan.prices.asOf}: ${plan.prices.source}`);
  const row = (r: Plan['candidates'][number], primary = false) => [
    r.region + (primary ? ' (primary)' : ''),
    formatBytes(r.monthlyBytes),
    formatMoney(r.monthlySavingUsd),
    formatMoney(r.monthlyCostUsd),
    formatMoney(r.monthlyNetUsd),
    // The primary bucket is where blobs are written: it is needed whatever it saves.
    primary ? 'needed' : r.monthlyNetUsd > 0 ? 'yes' : 'no',
  ];
  const head = (what: string) => [what, 'bytes/month', 'saving/month', 'cost/month', 'net/month', 'worth it'];
  lines.push('', 'regions without a bucket whose clients pulled (best first):');
  if (plan.candidates.length === 0) lines.push('  none: every AWS client pulled from its own region, or no AWS client pulled');
  else lines.push(...table([head('region'), ...plan.candidates.map((r) => row(r))]).map((l) => `  ${l}`));
  lines.push('', 'regions with a bucket (does it pay for itself?):');
  lines.push(...table([head('region'), ...plan.existing.map((r) => row(r, r.primary))]).map((l) => `  ${l}`));
  lines.push('', 'assumptions:', ...plan.assumptions.map((a) => `  - ${a}`));
  return `${lines.join('\n')}\n`;
}

export function registerPlanRegions(program: Command): void {
  const command = program
    .command('plan-regions')
    .description(
      'Which AWS region deserves a bucket next: replays the logged blob requests (CloudFront standard logs) through the edge\'s routing and, for every region without a bucket whose clients pulled, weighs the monthly transfer a bucket there saves against storing a copy of the catalogue and replicating new blobs into it; for every region with a bucket, whether it pays for itself.',
    )
    .argument('<logs...>', 'CloudFront standard log files or folders (read recursively), or - for standard input');
  costOptions(command, { bucket: "blob sizes and the catalogue's size from a listing of this bucket (default with --s3-endpoint: the stage's primary bucket)" })
    .option('--catalog-bytes <n>', "the catalogue's size in bytes (default: the sum of the sizes given)", byteCount)
    .option('--json', 'print one JSON object: period, candidates and existing, each region with monthlyBytes, monthlySavingUsd, monthlyCostUsd, monthlyNetUsd')
    .action(async (logs: string[], options: PlanOptions) => {
      if (!options.stage === !options.config) throw new Error('name the stage whose routing produced the logs: --stage <stage> or --config <file> (one of them)');
      const inputs = resolveInputs(logs);
      const context = await loadCostContext(options);
      const regions = new RegionTally();
      const analysis = await analyzeLogs(inputs, context.router, { sizes: context.sizes, observe: regions.observe });
      if (analysis.records === 0) throw noRecordsError(inputs.map((i) => i.name), analysis.malformed);
      const plan = planRegions({
        tally: regions,
        period: analysis.tally.result().period,
        config: context.config.edge,
        prices: context.prices,
        sizes: context.sizes,
        ...(options.catalogBytes !== undefined ? { catalogBytes: options.catalogBytes } : {}),
      });
      if (options.json) printJson(plan);
      else process.stdout.write(renderPlan(plan));
      if (analysis.malformed.lines > 0) process.stderr.write(`registry-edge: ${analysis.malformed.lines} malformed line(s) skipped\n`);
    });
}
