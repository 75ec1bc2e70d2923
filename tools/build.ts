/**
 * Builds every function of a stage into `dist/<stage>/<function>/index.js`: one esbuild bundle each, with
 * the stage's validated configuration (and, for the viewer, the compiled range table) built in. The same
 * artefacts are what `serverless package` zips, what the local CloudFront emulator runs, and what the
 * handler tests load.
 *
 * A function is a folder `functions/<name>/` with a `handler.ts` exporting `handler`; names starting with
 * `edge-` are Lambda@Edge functions (minified, no source maps, size-checked).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { type ResolvedConfig, resolveConfig } from '../layers/config/schema';
import { parseAwsFeed, parseGcpFeed } from '../layers/ranges/feeds';
import { type CompiledRanges, compileRanges, type OverlayRange } from '../layers/ranges/compile';
import type { FeedRules } from '../layers/ranges/plausibility';

export const ROOT = resolve(__dirname, '..');
export const DEFAULT_AWS_FEED = join(ROOT, 'data/aws-ip-ranges.json');
export const DEFAULT_GCP_FEED = join(ROOT, 'data/gcp-cloud.json');
/** Lambda@Edge refuses a viewer-request function whose zip is larger than this. */
export const EDGE_ZIP_LIMIT = 1024 * 1024;

export interface BuildOptions {
  stage: string;
  /** Defaults to config/<stage>.json. */
  configPath?: string;
  /** The configuration itself, instead of a file (tests). */
  config?: unknown;
  /** Merged over the file's content before validation (the local stack fills in its ports this way). */
  override?: Record<string, unknown>;
  outDir?: string;
  awsFeed?: string;
  gcpFeed?: string | null;
  /** Only these functions (default: all). */
  only?: string[];
}

export interface BuiltFunction {
  name: string;
  edge: boolean;
  dir: string;
  /** Path of the bundle; its export `handler` is the Lambda handler. */
  file: string;
  /** Sum of the files' deflated sizes: about what the zip will weigh. */
  zippedBytes: number;
}

export interface BuildResult {
  outDir: string;
  config: ResolvedConfig;
  ranges: CompiledRanges;
  functions: Record<string, BuiltFunction>;
}

export function listFunctions(): string[] {
  const dir = join(ROOT, 'functions');
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'handler.ts')))
    .sort();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars in `override` replace. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeConfig(base[key], value);
  return out;
}

export function loadStageConfig(options: Pick<BuildOptions, 'stage' | 'configPath' | 'config' | 'override'>): ResolvedConfig {
  const path = options.config !== undefined ? `${options.stage} configuration` : (options.configPath ?? join(ROOT, 'config', `${options.stage}.json`));
  let raw: unknown = options.config;
  if (raw === undefined) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read the configuration ${path}: ${(error as Error).message}`);
    }
  }
  return resolveConfig(mergeConfig(raw, options.override ?? {}), path);
}

/** Compiles feed files (each defaulting to the vendored snapshot) and an optional overlay, under the feed rules. */
export function compileFeedFiles(awsFeed = DEFAULT_AWS_FEED, gcpFeed: string | null = DEFAULT_GCP_FEED, overlay: OverlayRange[] = [], rules?: FeedRules): CompiledRanges {
  const aws = parseAwsFeed(readFileSync(awsFeed, 'utf8'), awsFeed);
  const gcp = gcpFeed ? parseGcpFeed(readFileSync(gcpFeed, 'utf8'), gcpFeed) : undefined;
  return compileRanges({ aws, ...(gcp ? { gcp } : {}), overlay, ...(rules ? { rules } : {}), sources: { aws: awsFeed, ...(gcpFeed ? { gcp: gcpFeed } : {}) } });
}

/** The table a stage's viewer embeds: the feeds plus the stage's overlay, under the stage's feed rules. */
export function compileStageRanges(config: ResolvedConfig, awsFeed = DEFAULT_AWS_FEED, gcpFeed: string | null = DEFAULT_GCP_FEED): CompiledRanges {
  return compileFeedFiles(awsFeed, gcpFeed, config.stage.ranges.overlay, { shortestPrefix: config.stage.ranges.shortestPrefix });
}

/** esbuild plugin: the `registry-edge:*` modules (typed in types/build-modules/). */
function buildModules(config: ResolvedConfig, edge: boolean): esbuild.Plugin {
  const sources: Record<string, string> = {
    'edge-config': `export const edgeConfig = ${JSON.stringify(config.edge)};`,
    // The range table ships as a file beside the bundle: the zip deflates it (base64 in the bundle would
    // not), and reading it costs a fraction of a millisecond at cold start.
    ranges: `import { readFileSync } from 'node:fs'; import { join } from 'node:path';
export const embeddedTable = readFileSync(join(__dirname, 'ranges.bin'));`,
  };
  if (!edge) sources['stage-config'] = `export const stageConfig = ${JSON.stringify(config)};`;
  return {
    name: 'registry-edge-build-modules',
    setup(build) {
      build.onResolve({ filter: /^registry-edge:/ }, (args) => {
        const name = args.path.slice('registry-edge:'.length);
        if (!(name in sources)) return { errors: [{ text: `${args.path} is not available to ${edge ? 'edge' : 'regular'} functions` }] };
        return { path: name, namespace: 'registry-edge' };
      });
      build.onLoad({ filter: /.*/, namespace: 'registry-edge' }, (args) => ({ contents: sources[args.path], loader: 'ts', resolveDir: ROOT }));
    },
  };
}

/** How a function is bundled (an edge function minified, without source maps); the benches bundle as the edge does with it. */
export function bundleOptions(edge: boolean): esbuild.BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: edge,
    sourcemap: edge ? false : 'linked',
    legalComments: edge ? 'none' : 'eof',
    // middy and Powertools ship ESM; the AWS SDK resolves its "main" fields fine as CommonJS.
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  };
}

export async function buildStage(options: BuildOptions): Promise<BuildResult> {
  const config = loadStageConfig(options);
  const ranges = compileStageRanges(config, options.awsFeed, options.gcpFeed === undefined ? DEFAULT_GCP_FEED : options.gcpFeed);
  const outDir = options.outDir ?? join(ROOT, 'dist', options.stage);
  const names = options.only ?? listFunctions();
  const functions: Record<string, BuiltFunction> = {};
  for (const name of names) {
    const entry = join(ROOT, 'functions', name, 'handler.ts');
    if (!existsSync(entry)) throw new Error(`no function "${name}" (expected ${entry})`);
    const edge = name.startsWith('edge-');
    const dir = join(outDir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.js');
    await esbuild.build({ ...bundleOptions(edge), entryPoints: [entry], outfile: file, plugins: [buildModules(config, edge)] });
    const files = readdirSync(dir);
    if (name === 'edge-viewer-request') {
      writeFileSync(join(dir, 'ranges.bin'), ranges.bytes);
      files.push('ranges.bin');
    }
    const zippedBytes = [...new Set(files)].reduce((sum, f) => sum + deflateRawSync(readFileSync(join(dir, f))).length, 0);
    if (edge && zippedBytes > EDGE_ZIP_LIMIT) throw new Error(`${name} is ${zippedBytes} bytes zipped, over the Lambda@Edge limit of ${EDGE_ZIP_LIMIT}`);
    functions[name] = { name, edge, dir, file, zippedBytes };
  }
  writeFileSync(
    join(outDir, 'build.json'),
    `${JSON.stringify(
      {
        stage: options.stage,
        table: { ...ranges.metadata, bytes: ranges.bytes.length, entries: ranges.stats.entries },
        functions: Object.fromEntries(Object.values(functions).map((f) => [f.name, { zippedBytes: f.zippedBytes, bytes: statSync(f.file).size }])),
      },
      null,
      2,
    )}\n`,
  );
  return { outDir, config, ranges, functions };
}
