// The CLI as one prebuilt CommonJS file, so that a command does not first compile the TypeScript of
// cli/ and everything it imports (tsx does that on every start: about a third of a second here, which is
// most of what a short command takes, and the gap a one-minute cost-report shows against zcat | awk).
//
// The bundle is built on first use (esbuild, a dependency), into .cache/cli/ beside the sources, so there is
// no build step to forget after `npm ci`, and it is never stale: each start compares the change times and
// sizes of every file the bundle was built from (and of their folders, where a new file could change what
// an import resolves to) with what it recorded, a stat call each, about a millisecond in all; any
// difference rebuilds it. Packages stay outside the bundle (node_modules is loaded as usual).
//
// Whenever the bundle cannot be had (no esbuild, sources that do not build, a read-only checkout) the
// caller runs the sources through tsx instead, as before; REGISTRY_EDGE_NO_BUNDLE=1 asks for that.
'use strict';
const { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { dirname, join, relative, resolve, sep } = require('node:path');

const FORMAT = 1;
/** A file changed this close to a build may have changed during it: such a build is used but not recorded. */
const RACY_NS = 2_000_000_000n;

/** "mtime:ctime:size" in nanoseconds, or "" for a path that is not there. */
function stamp(path) {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s ? `${s.mtimeNs}:${s.ctimeNs}:${s.size}` : '';
}

function readManifest(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when every file and folder the manifest lists is as it was when the bundle was built. */
function isFresh(manifest, root) {
  if (!manifest || manifest.format !== FORMAT || manifest.root !== root || typeof manifest.bundle !== 'string') return false;
  for (const [path, recorded] of Object.entries(manifest.stamps)) if (stamp(join(root, path)) !== recorded) return false;
  return true;
}

/** esbuild plugin: each source keeps its own __dirname and __filename (tools/build.ts finds ROOT by it). */
function ownPaths(root) {
  return {
    name: 'registry-edge-own-paths',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(root + sep) || args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        // On the first line, so that line numbers in errors stay the source's.
        const paths = `const __dirname = ${JSON.stringify(dirname(args.path))}, __filename = ${JSON.stringify(args.path)};`;
        return { contents: paths + source, loader: 'ts' };
      });
    },
  };
}

async function build(root, cacheDir, manifestFile) {
  // Before the build, not after it: a checkout where the bundle cannot be kept goes straight to tsx.
  mkdirSync(cacheDir, { recursive: true });
  accessSync(cacheDir, constants.W_OK);
  const esbuild = require('esbuild');
  const started = BigInt(Date.now()) * 1_000_000n;
  const result = await esbuild.build({
    entryPoints: [join(root, 'cli/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
    plugins: [ownPaths(root)],
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.keys(result.metafile.inputs).map((path) => resolve(root, path));
  // tsconfig.json's `paths` take part in resolving imports; folders, in what a new file would change.
  const watched = new Set(['tsconfig.json']);
  for (const input of inputs) {
    watched.add(relative(root, input));
    watched.add(relative(root, dirname(input)));
  }
  const stamps = {};
  let racy = false;
  for (const path of [...watched].sort()) {
    stamps[path] = stamp(join(root, path));
    const ctime = BigInt(stamps[path].split(':')[1] || 0);
    if (ctime > started - RACY_NS) racy = true;
  }
  const name = `main-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
  const bundle = join(cacheDir, name);
  // Written aside and renamed: CLIs started at once (tests do) each build, and none reads a half file.
  const tmp = `${bundle}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, bundle);
  if (!racy) {
    writeFileSync(`${manifestFile}.${process.pid}.tmp`, `${JSON.stringify({ format: FORMAT, root, bundle: name, stamps }, null, 1)}\n`);
    renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
  }
  removeOldBundles(cacheDir, name);
  return bundle;
}

/** Earlier bundles, once no CLI that is starting can still be about to load them (and files of builds cut short). */
function removeOldBundles(cacheDir, keep) {
  const before = Date.now() - 60_000;
  for (const file of readdirSync(cacheDir)) {
    if (file === keep || !/^main-[0-9a-f]{16}\.js$|\.tmp$/.test(file)) continue;
    const s = statSync(join(cacheDir, file), { throwIfNoEntry: false });
    if (s && s.mtimeMs < before) rmSync(join(cacheDir, file), { force: true });
  }
}

/**
 * The CLI's module (`main`), from the bundle, built first when missing or stale; undefined when it cannot
 * be had (the caller then runs the sources through tsx). `built` says whether this call built it.
 */
async function loadBundledCli(root = resolve(__dirname, '..')) {
  if (process.env.REGISTRY_EDGE_NO_BUNDLE === '1') return undefined;
  const cacheDir = join(root, '.cache', 'cli');
  const manifestFile = join(cacheDir, 'manifest.json');
  let bundle;
  let built = false;
  try {
    const manifest = readManifest(manifestFile);
    if (isFresh(manifest, root) && stamp(join(cacheDir, manifest.bundle)) !== '') bundle = join(cacheDir, manifest.bundle);
    else {
      bundle = await build(root, cacheDir, manifestFile);
      built = true;
    }
  } catch {
    // Sources that do not build fail under tsx too, with its message; a checkout where the bundle cannot
    // be kept (or its files not even looked at) runs there.
    return undefined;
  }
  return { cli: require(bundle), bundle, built };
}

module.exports = { loadBundledCli };
