/**
 * `registry-edge`: one command for operators and developers. Each subcommand lives in cli/commands/ and
 * is a thin call into layers/ or tools/.
 */
import { Command, CommanderError } from 'commander';
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
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`registry-edge: ${(error as Error).message}\n`);
    return 1;
  }
}
