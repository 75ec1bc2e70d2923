/** `npm run bench -- name ...`: which benchmarks a name picks. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { selectBenches } from '../../bench/run';

const ALL = ['classify.ts', 'edge-init.ts', 'edge-metrics.ts', 'edge.ts', 'handler.ts', 'ranges.ts'];

test('no name: every benchmark, in order', () => {
  expect(selectBenches(ALL, [])).toEqual(ALL);
});

test('a whole name picks that benchmark alone, not the others it begins', () => {
  expect(selectBenches(ALL, ['edge'])).toEqual(['edge.ts']);
});

test('any other name picks the benchmarks it begins; several names, each once, in run order', () => {
  expect(selectBenches(ALL, ['edge-'])).toEqual(['edge-init.ts', 'edge-metrics.ts']);
  expect(selectBenches(ALL, ['ranges', 'cl', 'classify'])).toEqual(['classify.ts', 'ranges.ts']);
  expect(selectBenches(ALL, ['nothing'])).toEqual([]);
});

test('the real bench folder: "edge" is one benchmark although three names begin with it', () => {
  const all = readdirSync(join(__dirname, '../../bench')).filter((f) => f.endsWith('.ts')).sort();
  expect(all.filter((f) => f.startsWith('edge')).length).toBeGreaterThan(1);
  expect(selectBenches(all, ['edge'])).toEqual(['edge.ts']);
});
