import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(__dirname, '../../bin/registry-edge.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON value per line. */
  lines: unknown[];
}

/** Runs `registry-edge` as a user would (a separate process through bin/), optionally with stdin. */
export function runCli(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return line;
      }
    });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines };
}
