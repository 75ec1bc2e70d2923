/**
 * `npm run bench`: runs every bench/*.ts (each a standalone script printing its figures as JSON) one
 * after another, so they do not compete for the machine's cores, on the Node.js Lambda runs (22) when
 * it is installed (tools/runtime.ts). `npm run bench -- classify ranges` runs only those.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lambdaNode } from '../tools/runtime';

const only = process.argv.slice(2);
const benches = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();
let failed = 0;
for (const file of benches) {
  const node = lambdaNode();
  process.stderr.write(`\n== bench/${file} (node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()})\n`);
  const result = spawnSync(node, [join(__dirname, '../node_modules/tsx/dist/cli.mjs'), join(__dirname, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
