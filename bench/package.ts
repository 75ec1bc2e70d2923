/**
 * Packaging figures (`npm run bench -- package`): how long `npm run package` takes for one stage, how many
 * resources each stack holds, each zip against its limit, and the edge viewer's module init time when
 * loaded from the packaged zip (what Lambda@Edge unpacks) next to the baseline, the same function loaded
 * from the build folder (the figure bench/edge-init.ts reports), measured in the same run. A ratio near 1
 * says packaging added nothing to the edge cold start.
 *
 *   npx tsx bench/package.ts [stage]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractZip } from '../test/deploy/zip';
import { buildStage, EDGE_ZIP_LIMIT } from '../tools/build';
import { isEdgeFunction } from '../tools/stacks/names';
import { packageAll } from '../tools/package';

/** Median module init (ms) of `file` over fresh node processes, with the module loader warmed first. */
function initMs(file: string, runs: number, warm: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The time is taken before `process.stdout` is first touched: its getter builds the stream (about 2 ms),
    // and `process.stdout.write(<time>)` would run it before reading the clock.
    const script = `require(${JSON.stringify(warm)});const t=process.hrtime.bigint();require(${JSON.stringify(file)});const ms=Number(process.hrtime.bigint()-t)/1e6;process.stdout.write(String(ms))`;
    times.push(Number(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main() {
  const stage = process.argv[2] ?? 'sandbox';
  const work = mkdtempSync(join(tmpdir(), 'bench-package-'));
  try {
    const result = await packageAll({ stages: [stage], outDir: join(work, 'out') });
    const mainStack = result.stacks.find((s) => s.kind === 'main')!;
    const unpacked = join(work, 'unpacked');
    extractZip(join(mainStack.dir, 'edge-viewer-request.zip'), unpacked);
    const warm = join(work, 'warm.js');
    writeFileSync(warm, 'exports.warm = true;\n');
    const packagedFile = join(unpacked, `dist/${stage}/edge-viewer-request/index.js`);
    const built = await buildStage({ stage, outDir: join(work, 'built'), only: ['edge-viewer-request'] });
    const builtFile = built.functions['edge-viewer-request']!.file;
    // Alternate, so both see the same machine load.
    const packaged: number[] = [];
    const fromBuild: number[] = [];
    for (let round = 0; round < 5; round++) {
      packaged.push(initMs(packagedFile, 3, warm));
      fromBuild.push(initMs(builtFile, 3, warm));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const figures = {
      bench: 'package',
      stage,
      stacks: result.stacks.length,
      packageSeconds: Number(result.seconds.toFixed(1)),
      resources: Object.fromEntries(result.stacks.map((s) => [s.name, s.resources])),
      zips: Object.fromEntries(
        Object.entries(mainStack.zips)
          .filter(([name]) => name !== 'custom-resources')
          .map(([name, bytes]) => [name, { bytes, ...(isEdgeFunction(name) ? { ofEdgeLimit: Number((bytes / EDGE_ZIP_LIMIT).toFixed(4)) } : {}) }]),
      ),
      edgeInitMsFromZip: Number(median(packaged).toFixed(2)),
      baseline: 'the same viewer bundle built by tools/build.ts and loaded from its folder (as bench/edge-init.ts does)',
      baselineEdgeInitMs: Number(median(fromBuild).toFixed(2)),
      ratio: Number((median(packaged) / median(fromBuild)).toFixed(2)),
    };
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
