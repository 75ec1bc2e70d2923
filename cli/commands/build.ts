import type { Command } from 'commander';
import { buildStage } from '../../tools/build';
import { printJson } from '../io';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('Bundle every function of a stage into dist/<stage>/ (what serverless packages).')
    .option('--stage <stage>', 'stage (config/<stage>.json)', 'sandbox')
    .option('--config <file>', 'configuration file (default: config/<stage>.json)')
    .action(async (options: { stage: string; config?: string }) => {
      const result = await buildStage({ stage: options.stage, ...(options.config ? { configPath: options.config } : {}) });
      for (const fn of Object.values(result.functions)) printJson({ function: fn.name, edge: fn.edge, zippedBytes: fn.zippedBytes, file: fn.file });
    });
}
