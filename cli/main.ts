/**
 * `registry-edge`: one command for operators and developers. Each subcommand lives in cli/commands/ and
 * is a thin call into layers/ or tools/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { type AwsUse, describeAwsFailure, needsAws } from './aws';
import { registerBuild } from './commands/build';
import { registerClassify } from './commands/classify';
import { registerCostReport } from './commands/cost-report';
import { registerPlanRegions } from './commands/plan-regions';
import { registerRanges } from './commands/ranges';
import { registerReconcile } from './commands/reconcile';
import { registerReplay } from './commands/replay';
import { registerRoute } from './commands/route';
import { registerSmoke } from './commands/smoke';
import { registerStack } from './commands/stack';
import { registerSync } from './commands/sync';

export function createProgram(): Command {
  const program = new Command('registry-edge')
    .description('A cost-aware front for a container image registry (CloudFront + Lambda@Edge + S3).')
    // The Node.js version too: the CLI runs on Lambda's (bin/registry-edge.js), and this shows which.
    .version(`${JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')).version} (Node.js ${process.version})`)
    .showHelpAfterError()
    .exitOverride();
  registerClassify(program);
  registerRoute(program);
  registerBuild(program);
  registerReconcile(program);
  registerReplay(program);
  registerSync(program);
  registerRanges(program);
  registerStack(program);
  registerSmoke(program);
  registerCostReport(program);
  registerPlanRegions(program);
  for (const [path, use] of Object.entries(AWS_COMMANDS)) {
    const command = path.split(' ').reduce<Command | undefined>((parent, name) => parent?.commands.find((c) => c.name() === name), program);
    if (command) needsAws(command, use);
  }
  return program;
}

/** The commands that call AWS (their --help says so; cli/aws.ts). */
const AWS_COMMANDS: Record<string, AwsUse> = {
  reconcile: { apis: 'S3 (the source and target buckets)', localOption: '--s3-endpoint' },
  'replay-dlq': { apis: 'SQS (the dead-letter queue) and S3 (the buckets)', localOption: '--sqs-endpoint and --s3-endpoint' },
  sync: { apis: 'S3 (the primary bucket)', localOption: '--s3-endpoint' },
  'ranges update': { apis: 'S3 (the config bucket; the feeds come from AWS and Google over HTTPS unless --aws/--gcp are files)', localOption: '--s3-endpoint' },
  'ranges status': { apis: 'S3 (the config bucket)', localOption: '--s3-endpoint' },
  'ranges rollback': { apis: 'S3 (the config bucket)', localOption: '--s3-endpoint' },
  'cost-report': { apis: 'S3 with --bucket (listing blob sizes; --sizes FILE needs nothing)', localOption: '--s3-endpoint' },
  'plan-regions': { apis: 'S3 with --bucket (listing blob sizes and the catalogue; --sizes FILE needs nothing)', localOption: '--s3-endpoint' },
};

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // A missing credential or an unreachable endpoint: one line naming it, not the SDK's message.
    const message = describeAwsFailure(error) ?? (error as Error).message;
    process.stderr.write(`registry-edge: ${message}\n`);
    return 1;
  }
}
