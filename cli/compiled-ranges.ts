/**
 * The range table a stage's viewer embeds, compiled once per set of inputs and kept in .cache/ranges/:
 * compiling the feeds takes about a tenth of a second, every run of cost-report and plan-regions needed it,
 * and the answer only changes with the feeds, the stage's range rules or the compiler. So the table is filed
 * under a hash of all of those, the compiler's sources included (layers/ranges, layers/net, layers/topology,
 * tools/build.ts): an edit to any of them, like a new feed, compiles afresh. A cached table that does not
 * load is compiled again too; a cache that cannot be written is only slower.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../layers/config/schema';
import { type LoadedTable, loadTable } from '../layers/net/load';
import { compileStageRanges, ROOT } from '../tools/build';

/** Where the compiler's code lives: what it reads is hashed into the key. */
const COMPILER_SOURCES = ['layers/ranges', 'layers/net', 'layers/topology', 'tools/build.ts'];

function compilerSources(root: string): string[] {
  const files: string[] = [];
  for (const path of COMPILER_SOURCES) {
    if (path.endsWith('.ts')) files.push(join(root, path));
    else for (const name of readdirSync(join(root, path)).sort()) if (name.endsWith('.ts')) files.push(join(root, path, name));
  }
  return files;
}

/** The cache key: the feeds' bytes, the stage's range rules and the compiler's sources. */
function keyOf(config: ResolvedConfig, awsFeed: string, gcpFeed: string | null, root: string): string {
  const hash = createHash('sha256');
  const add = (label: string, data: string | Buffer) => hash.update(`${label}\0${data.length}\0`).update(data);
  add('aws', readFileSync(awsFeed));
  add('gcp', gcpFeed === null ? '' : readFileSync(gcpFeed));
  add('rules', JSON.stringify({ overlay: config.stage.ranges.overlay, shortestPrefix: config.stage.ranges.shortestPrefix }));
  for (const file of compilerSources(root)) add(file.slice(root.length), readFileSync(file));
  return hash.digest('hex').slice(0, 32);
}

/** The stage's table, loaded: from the cache when these inputs were compiled before (`cached`), else compiled and kept. */
export function stageRanges(config: ResolvedConfig, awsFeed: string, gcpFeed: string | null, cacheDir = join(ROOT, '.cache', 'ranges')): LoadedTable & { cached: boolean } {
  let key: string | undefined;
  try {
    key = keyOf(config, awsFeed, gcpFeed, ROOT);
    return { ...loadTable(readFileSync(join(cacheDir, `${key}.bin`))), cached: true };
  } catch {
    // Not compiled yet, or not readable: compile (a missing feed is reported from there, by name).
  }
  const bytes = compileStageRanges(config, awsFeed, gcpFeed).bytes;
  if (key !== undefined) keep(cacheDir, `${key}.bin`, bytes);
  return { ...loadTable(bytes), cached: false };
}

/** Tables not written for this long are dropped when another is written (each is under a megabyte). */
const KEEP_MS = 86_400_000;

/** Writes the table aside and renames it into place (runs at once each write, none reads half). */
function keep(dir: string, name: string, bytes: Uint8Array): void {
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `${name}.${process.pid}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, join(dir, name));
    for (const other of readdirSync(dir)) {
      if (other === name || !other.endsWith('.bin')) continue;
      if (statSync(join(dir, other)).mtimeMs < Date.now() - KEEP_MS) rmSync(join(dir, other), { force: true });
    }
  } catch {
    // A read-only checkout: compiled every time, as before.
  }
}
