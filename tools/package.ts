/**
 * `npm run package`: every stack of every deployable stage, offline and without credentials: the main stack
 * (serverless.yml) and one regional stack per configured region (regional/serverless.yml), each written by
 * osls into `<out>/<stage>/<stack>/`, plus `<out>/packaged.json` summing them up (what the deploy tests and
 * the report read).
 *
 *   npm run package                          # all stages, into .serverless/
 *   npm run package -- --stage sandbox --out /tmp/pkg
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MissingToolError, requireTool } from '../local/processes';
import { loadStageConfig, ROOT } from './build';
import { deployNames, isEdgeFunction } from './stacks/names';
import { deployableStages } from './stacks/variables';

export const OSLS = join(ROOT, 'node_modules/osls/bin/serverless.js');
export const TEMPLATE = 'cloudformation-template-update-stack.json';

export interface StackTarget {
  stage: string;
  kind: 'main' | 'regional' | 'ci-role';
  region: string;
  /** Folder holding the service's serverless.yml (in the checkout; packaging works on a private copy). */
  serviceDir: string;
  /** Folder name under `<out>/<stage>/`. */
  name: string;
}

export interface PackagedStack extends StackTarget {
  dir: string;
  template: string;
  resources: number;
  /** The function zips osls wrote (main stacks), in bytes. */
  zips: Record<string, number>;
  seconds: number;
}

export interface PackageResult {
  outDir: string;
  stacks: PackagedStack[];
  seconds: number;
}

/** Service folder of each kind of stack, relative to the checkout. */
export const SERVICE_DIRS: Record<StackTarget['kind'], string> = { main: '', regional: 'regional', 'ci-role': 'ci' };

/**
 * The stacks of a stage: the main one, one per bucket region (the order they are deployed in is the
 * reverse), and the ci-role stack (the pipeline's role, deployed by hand: tools/stacks/ci-role-stack.ts).
 */
export function stackTargets(stage: string): StackTarget[] {
  const names = deployNames(loadStageConfig({ stage }));
  return [
    { stage, kind: 'main', region: 'us-east-1', serviceDir: ROOT, name: 'main' },
    ...names.buckets.map(({ region }) => ({ stage, kind: 'regional' as const, region, serviceDir: join(ROOT, SERVICE_DIRS.regional), name: `regional-${region}` })),
    { stage, kind: 'ci-role', region: 'us-east-1', serviceDir: join(ROOT, SERVICE_DIRS['ci-role']), name: 'ci-role' },
  ];
}

/** The command line osls runs for `action` on a stack (package here; deploy in tools/deploy.ts). */
export function oslsArgs(action: 'package' | 'deploy', target: StackTarget, packageDir?: string): string[] {
  const args = [OSLS, action, '--stage', target.stage];
  if (target.kind === 'regional') args.push('--region', target.region);
  if (packageDir) args.push('--package', packageDir);
  return args;
}

/** The environment osls packages in: no AWS credentials or profiles, so nothing can quietly use them. */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/registry-edge/credentials';
  env.AWS_CONFIG_FILE = '/nonexistent/registry-edge/config';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
}

export function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

/**
 * A private copy of the two services for one stack: osls uses `<service dir>/.serverless/` as scratch space
 * (and empties it when it starts), and the plugin builds into `<service dir>/dist/`, so packages running
 * side by side (two stages at once, or someone's `npm run package` during `npm test`) must not share a
 * service folder. The copy holds the serverless.yml files and links to tools/ and node_modules/; the rest
 * (configuration, sources) is read from the checkout.
 */
export function privateServiceRoot(workDir: string, id: string): string {
  const root = join(workDir, id);
  for (const dir of Object.values(SERVICE_DIRS)) {
    mkdirSync(join(root, dir), { recursive: true });
    copyFileSync(join(ROOT, dir, 'serverless.yml'), join(root, dir, 'serverless.yml'));
  }
  for (const linked of ['tools', 'node_modules']) symlinkSync(join(ROOT, linked), join(root, linked), 'dir');
  return root;
}

async function packageStack(target: StackTarget, outDir: string, workDir: string): Promise<PackagedStack> {
  const dir = join(outDir, target.stage, target.name);
  rmSync(dir, { recursive: true, force: true });
  const root = privateServiceRoot(workDir, `${target.stage}-${target.name}`);
  const serviceDir = join(root, SERVICE_DIRS[target.kind]);
  const started = Date.now();
  const { code, output } = await run(oslsArgs('package', target, dir), serviceDir, offlineEnv());
  if (code !== 0) throw new Error(`packaging ${target.stage}/${target.name} failed (exit ${code}):\n${output.trim()}`);
  const template = join(dir, TEMPLATE);
  const parsed = JSON.parse(readFileSync(template, 'utf8')) as { Resources: Record<string, unknown> };
  const zips: Record<string, number> = {};
  for (const file of readdirSync(dir)) if (file.endsWith('.zip')) zips[file.slice(0, -'.zip'.length)] = statSync(join(dir, file)).size;
  return { ...target, dir, template, resources: Object.keys(parsed.Resources).length, zips, seconds: (Date.now() - started) / 1000 };
}

/** Runs `job` over `items`, at most `limit` at once, keeping their order in the result. */
async function inParallel<T, R>(items: T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function packageAll(options: { stages?: string[]; kinds?: StackTarget['kind'][]; outDir?: string; concurrency?: number } = {}): Promise<PackageResult> {
  const outDir = resolve(options.outDir ?? join(ROOT, '.serverless'));
  const stages = options.stages ?? deployableStages();
  const targets = stages.flatMap(stackTargets).filter((t) => !options.kinds || options.kinds.includes(t.kind));
  const workDir = mkdtempSync(join(tmpdir(), 'registry-edge-package-'));
  const started = Date.now();
  try {
    const stacks = await inParallel(targets, options.concurrency ?? availableParallelism(), (t) => packageStack(t, outDir, workDir));
    const result = { outDir, stacks, seconds: (Date.now() - started) / 1000 };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'packaged.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

export interface LintFinding {
  file: string;
  level: 'Error' | 'Warning' | 'Informational';
  rule: string;
  message: string;
  path: (string | number)[];
}

/** cfn-lint (pip `cfn-lint`, on the machine image) over `templates`, all in one run. */
export async function lintTemplates(templates: string[]): Promise<LintFinding[]> {
  const command = requireTool('cfn-lint', 'cfn-lint (or: pip install cfn-lint)');
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((done, fail) => {
    const child = spawn(command, ['--format', 'json', ...templates], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (exit) => done({ stdout: out, stderr: err, code: exit }));
  });
  // Exit codes are a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed.
  if (code === 1 || !stdout.trim().startsWith('[')) throw new Error(`cfn-lint failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  return (JSON.parse(stdout) as { Filename: string; Level: LintFinding['level']; Rule: { Id: string }; Message: string; Location: { Path: (string | number)[] } }[]).map((f) => ({
    file: f.Filename,
    level: f.Level,
    rule: f.Rule.Id,
    message: f.Message,
    path: f.Location.Path,
  }));
}

/** One cfn-lint finding as a line: level, rule, message, the template (relative to `outDir`) and where in it. */
export function describeFinding(f: LintFinding, outDir: string): string {
  const file = f.file.startsWith(`${outDir}/`) ? f.file.slice(outDir.length + 1) : f.file;
  const message = f.message.length > 300 ? `${f.message.slice(0, 300)}…` : f.message;
  return `cfn-lint ${f.level.toLowerCase()} ${f.rule} in ${file} at ${f.path.join('/')}: ${message}`;
}

export function summariseFindings(findings: LintFinding[], templates: number): string {
  const count = (level: LintFinding['level']) => findings.filter((f) => f.level === level).length;
  return `cfn-lint: ${count('Error')} errors, ${count('Warning')} warnings, ${count('Informational')} notes in ${templates} templates`;
}

/** One line per stack, and each function's zip against its limit. */
export function describeResult(result: PackageResult): string {
  const lines = result.stacks.map((s) => {
    const zips = Object.entries(s.zips)
      .filter(([name]) => name !== 'custom-resources')
      .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)} KiB${isEdgeFunction(name) ? ` (${((100 * bytes) / (1024 * 1024)).toFixed(1)}% of the 1 MiB edge limit)` : ''}`);
    return `${s.stage}/${s.name}: ${s.resources} resources, ${s.seconds.toFixed(1)} s${zips.length ? `; ${zips.join(', ')}` : ''}`;
  });
  return [...lines, `${result.stacks.length} stacks in ${result.seconds.toFixed(1)} s -> ${result.outDir}`].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const stages: string[] = [];
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--stage') stages.push(args[++i]!);
    else if (args[i] === '--out') outDir = args[++i];
    else {
      process.stderr.write(`usage: npm run package -- [--stage <stage>]... [--out <dir>]\n`);
      process.exit(2);
    }
  }
  (async () => {
    const result = await packageAll({ ...(stages.length ? { stages } : {}), ...(outDir ? { outDir } : {}) });
    process.stdout.write(`${describeResult(result)}\n`);
    // cfn-lint is on the machine image and in CI; elsewhere packaging still works, with a notice.
    let findings: LintFinding[];
    try {
      findings = await lintTemplates(result.stacks.map((s) => s.template));
    } catch (error) {
      if (!(error instanceof MissingToolError)) throw error;
      process.stderr.write(`not linted: ${error.message}\n`);
      return;
    }
    // Every finding, warnings too: a CloudFormation API that validates with cfn-lint (moto's) refuses
    // warnings as well, and a count alone says nothing about what to fix.
    for (const f of findings) process.stderr.write(`${describeFinding(f, result.outDir)}\n`);
    process.stdout.write(`${summariseFindings(findings, result.stacks.length)}\n`);
    if (findings.some((f) => f.level === 'Error')) process.exitCode = 1;
  })().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
