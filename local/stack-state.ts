/**
 * Where a running local stack can be found: `npm start` writes a small JSON file in the project's cache
 * folder (`.cache/local-stack.json`) with its S3 endpoint, config bucket and feeds, and removes it when it
 * stops. `registry-edge ranges update|rollback|status --stage local` read it, so that no endpoint needs
 * typing and the ports may be any free ones.
 *
 * REGISTRY_EDGE_STACK_STATE names another file (tests run stacks of their own beside `npm start`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DEFAULT_STACK_STATE = join(__dirname, '..', '.cache', 'local-stack.json');

export const stackStatePath = (env: Record<string, string | undefined> = process.env): string => env.REGISTRY_EDGE_STACK_STATE || DEFAULT_STACK_STATE;

export interface StackState {
  stage: 'local';
  /** The process running the stack: a file left by one that died is recognised as stale. */
  pid: number;
  startedAt: string;
  endpoint: string;
  s3Endpoint: string;
  region: string;
  configBucket: string;
  pointerKey: string;
  /** The feed files the stack's table was compiled from (the updater's defaults for this stage). */
  feeds: { aws: string; gcp: string | null };
}

export function writeStackState(path: string, state: StackState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Removes the file if it is still this process's (another stack may have started since). */
export function removeStackState(path: string, pid = process.pid): void {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as StackState).pid === pid) rmSync(path, { force: true });
  } catch {
    // Gone already, or not ours to judge: leave it.
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The running stack's state; throws an error that says what to do when there is none. */
export function readStackState(path = stackStatePath()): StackState {
  if (!existsSync(path)) throw new Error(`no local stack is running (${path} does not exist): start one with \`npm start\`, or give --s3-endpoint and --bucket`);
  let state: StackState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as StackState;
  } catch (error) {
    throw new Error(`${path}: not a stack state file (${(error as Error).message})`);
  }
  if (typeof state?.s3Endpoint !== 'string' || typeof state.configBucket !== 'string' || !Number.isSafeInteger(state.pid)) throw new Error(`${path}: not a stack state file`);
  if (!alive(state.pid)) throw new Error(`the local stack recorded in ${path} (pid ${state.pid}) is not running: start one with \`npm start\`, or give --s3-endpoint and --bucket`);
  return state;
}
