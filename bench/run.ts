/**
 * `npm run bench`: runs every bench/*.ts (each a standalone script printing its figures as JSON) one
 * after another, so they do not compete for the machine's cores, on the Node.js Lambda runs (22) when
 * it is installed (tools/runtime.ts).
 *
 *   npm run bench                      every benchmark
 *   npm run bench -- classify ranges   only those (by name, else by name prefix: `edge` is edge.ts alone,
 *                                      `edge-` the other two)
 *   npm run bench -- --json            also write the headline figures to bench/results.json
 *   npm run bench -- --help            list the benchmarks
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { lambdaNode } from '../tools/runtime';

/** Files in bench/ that are not benchmarks (this runner and the shared results module). */
const NOT_BENCHES = new Set(['run.ts', 'results.ts']);
export const RESULTS_FILE = join(__dirname, 'results.json');

/** A benchmark's one-line summary: the first sentence of its file's opening comment. */
function summaryOf(file: string): string {
  const text = readFileSync(join(__dirname, file), 'utf8');
  const comment = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  const lines = comment.split('\n').map((line) => line.replace(/^\s*\*\s?/, '').trim());
  const paragraph: string[] = [];
  for (const line of lines) {
    if (line === '' && paragraph.length > 0) break;
    if (line !== '') paragraph.push(line);
  }
  const joined = paragraph.join(' ');
  const sentence = /^(.*?[.:])(\s|$)/.exec(joined)?.[1] ?? joined;
  return sentence.replace(/[.:]$/, '');
}

/**
 * The benchmark files the names ask for, in run order: all of them for no names. A whole name picks that
 * benchmark alone (`edge` is not also edge-init and edge-metrics); any other name, those it starts.
 */
export function selectBenches(all: readonly string[], names: readonly string[]): string[] {
  if (names.length === 0) return [...all];
  const chosen = new Set(names.flatMap((name) => (all.includes(`${name}.ts`) ? [`${name}.ts`] : all.filter((f) => f.startsWith(name)))));
  return all.filter((f) => chosen.has(f));
}

function main(argv: string[]): number {
  const flags = argv.filter((a) => a.startsWith('-'));
  const only = argv.filter((a) => !a.startsWith('-'));
  const unknown = flags.filter((f) => !['--json', '--help', '-h'].includes(f));
  const all = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !NOT_BENCHES.has(f))
    .sort();
  if (unknown.length > 0 || flags.includes('--help') || flags.includes('-h')) {
    const out = unknown.length > 0 ? process.stderr : process.stdout;
    if (unknown.length > 0) out.write(`bench: unknown option ${unknown.join(', ')}\n`);
    out.write('usage: npm run bench -- [--json] [name ...]\n\n');
    out.write('  --json   write the headline figures to bench/results.json (started empty each run)\n');
    out.write('  name     run only that benchmark, or those whose name starts with it\n\nbenchmarks:\n');
    const width = Math.max(...all.map((f) => f.length - 3));
    for (const file of all) out.write(`  ${file.slice(0, -3).padEnd(width)}  ${summaryOf(file)}\n`);
    return unknown.length > 0 ? 2 : 0;
  }
  const benches = selectBenches(all, only);
  if (benches.length === 0) {
    process.stderr.write(`bench: no benchmark matches ${only.join(', ')} (npm run bench -- --help lists them)\n`);
    return 2;
  }
  const env = { ...process.env };
  if (flags.includes('--json')) {
    writeFileSync(RESULTS_FILE, '{}\n');
    env.BENCH_RESULTS_FILE = RESULTS_FILE;
  }
  const node = lambdaNode();
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  let failed = 0;
  for (const file of benches) {
    process.stderr.write(`\n== bench/${file} (node ${version})\n`);
    const result = spawnSync(node, [join(__dirname, '../node_modules/tsx/dist/cli.mjs'), join(__dirname, file)], { stdio: 'inherit', env });
    if (result.status !== 0) {
      failed++;
      process.stderr.write(`bench/${file} failed (exit ${result.status ?? result.signal})\n`);
    }
  }
  if (env.BENCH_RESULTS_FILE) process.stderr.write(`\nheadline figures: ${relative(process.cwd(), RESULTS_FILE)}\n`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
