/**
 * `npm run bench`: runs every bench/*.ts (each a standalone script printing its figures as JSON) one
 * after another, so they do not compete for the machine's cores.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv.slice(2);
const benches = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();
let failed = 0;
for (const file of benches) {
  process.stderr.write(`\n== bench/${file}\n`);
  const result = spawnSync(process.execPath, [join(__dirname, '../node_modules/tsx/dist/cli.mjs'), join(__dirname, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
