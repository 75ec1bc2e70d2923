/**
 * The headline figures of a benchmark run, for `npm run bench -- --json` (bench/results.json).
 * Each bench script stays a standalone program that prints its full figures; it also records its
 * headline ones here under dotted names (`classify.nsPerLookup`). bench/run.ts passes the file in
 * BENCH_RESULTS_FILE; scripts run one after another, so a read-merge-write is safe. Without the variable
 * (a bench run by hand) recording does nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export type Figure = number | string | boolean | null | Figure[] | { [key: string]: Figure };

/** Merges `figures` into the section `name` of the results file (e.g. record('classify', { nsPerLookup: 71 })). */
export function record(name: string, figures: Record<string, Figure>): void {
  const file = process.env.BENCH_RESULTS_FILE;
  if (!file) return;
  const all: Record<string, Record<string, Figure>> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  all[name] = { ...(all[name] ?? {}), ...figures };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}
