/**
 * `npm run deploy -- --stage <stage>`: the stacks of a stage in the order they depend on each other: the
 * regional stacks (each configured region, one after the other: the buckets must exist before the main
 * stack points S3 events and CloudFront at them), then the main stack in us-east-1. A stack with nothing to
 * change is a no-op, so the same command adds a region, ships new code, or changes configuration.
 *
 *   npm run deploy -- --stage sandbox                       # regional stacks, then main
 *   npm run deploy -- --stage sandbox --regional            # every regional stack only
 *   npm run deploy -- --stage sandbox --region eu-west-1    # one regional stack
 *   npm run deploy -- --stage sandbox --main                # main stack only
 *   npm run deploy -- --stage sandbox --dry-run             # print the commands
 *   npm run deploy -- --stage sandbox --ci-role             # the pipeline's IAM role only (an administrator, once)
 *
 * It needs AWS credentials for the target account (the usual AWS_PROFILE / environment variables).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './build';
import { oslsArgs, privateServiceRoot, SERVICE_DIRS, type StackTarget, stackTargets } from './package';
import { SERVICE_REGION } from './stacks/names';

export interface DeployPlanOptions {
  stage: string;
  only?: 'main' | 'regional' | 'ci-role';
  region?: string;
}

/**
 * The stacks to deploy, in order. The ci-role stack only when asked for (`--ci-role`): the pipeline deploys
 * with that role and must not be able to widen it.
 */
export function deployPlan(options: DeployPlanOptions): StackTarget[] {
  const targets = stackTargets(options.stage);
  if (options.only === 'ci-role') return targets.filter((t) => t.kind === 'ci-role');
  const regional = targets.filter((t) => t.kind === 'regional');
  const main = targets.filter((t) => t.kind === 'main');
  if (options.region) {
    const one = regional.filter((t) => t.region === options.region);
    if (one.length === 0) throw new Error(`--region ${options.region}: not in buckets.regions of config/${options.stage}.json (${regional.map((t) => t.region).join(', ')})`);
    return one;
  }
  if (options.only === 'main') return main;
  if (options.only === 'regional') return regional;
  return [...regional, ...main];
}

/** How a step reads to a person: `(cd regional && osls deploy --stage sandbox --region eu-west-1)`. */
export function describeStep(target: StackTarget): string {
  const [, ...args] = oslsArgs('deploy', target);
  const dir = relative(ROOT, target.serviceDir);
  const command = `npx osls ${args.join(' ')}`;
  return dir ? `(cd ${dir} && ${command})` : command;
}

/**
 * Deploys one stack from a private copy of its service (as `npm run package` packages): osls empties
 * `<service dir>/.serverless/` when it starts, which would wipe the checkout's packaged templates.
 */
async function deployStack(target: StackTarget): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'registry-edge-deploy-'));
  try {
    const root = privateServiceRoot(workDir, `${target.stage}-${target.name}`);
    const cwd = join(root, SERVICE_DIRS[target.kind]);
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, oslsArgs('deploy', target), { cwd, stdio: 'inherit' });
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${describeStep(target)} failed (exit ${code}); the stacks before it are deployed, the ones after it are not`))));
    });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function parse(args: string[]): DeployPlanOptions & { dryRun: boolean } {
  let stage: string | undefined;
  let only: DeployPlanOptions['only'];
  let region: string | undefined;
  let dryRun = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--stage') stage = args[++i];
    else if (arg === '--region') region = args[++i];
    else if (arg === '--main') only = 'main';
    else if (arg === '--regional') only = 'regional';
    else if (arg === '--ci-role') only = 'ci-role';
    else if (arg === '--dry-run') dryRun = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!stage) throw new Error('pass --stage <stage>');
  return { stage, ...(only ? { only } : {}), ...(region ? { region } : {}), dryRun };
}

if (require.main === module) {
  (async () => {
    const options = parse(process.argv.slice(2));
    const plan = deployPlan(options);
    for (const [i, target] of plan.entries()) {
      process.stdout.write(`[${i + 1}/${plan.length}] ${target.stage} ${target.kind} ${target.region}: ${describeStep(target)}\n`);
      if (!options.dryRun) await deployStack(target);
    }
    if (!plan.some((t) => t.kind === 'main') && plan.some((t) => t.kind === 'regional' && t.region === SERVICE_REGION)) {
      // The main stack re-applies the replicator's subscription to the primary bucket on every deploy.
      process.stdout.write(`note: the primary bucket's stack changed; deploy the main stack too (--main) to re-assert its event subscription\n`);
    }
  })().catch((error: Error) => {
    process.stderr.write(`deploy: ${error.message}\n`);
    process.exit(1);
  });
}
