/**
 * The range table's code as the edge runs it: `layers/net/load.ts` bundled by esbuild with the edge's
 * options (`bundleOptions` of tools/build.ts). Loaded from source through tsx instead, as the tests
 * do, the same lookups are slower (80-82 ns against 57-60 on bench/classify.ts's mix, in separate runs):
 * tsx compiles each module to CommonJS whose imports are property reads through getters, which a bundle
 * does not have.
 */
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { loadTable } from '../../layers/net/load';
import { bundleOptions } from '../../tools/build';

export async function edgeFormLoader(): Promise<typeof loadTable> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-form-'));
  try {
    const file = join(dir, 'load.js');
    await esbuild.build({ ...bundleOptions(true), entryPoints: [join(__dirname, '../../layers/net/load.ts')], outfile: file });
    return (require(file) as { loadTable: typeof loadTable }).loadTable;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
