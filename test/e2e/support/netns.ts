/**
 * A network namespace that holds only loopback, for tests that must prove a command reaches nothing but
 * the local servers they start: `unshare --net` creates it around a long-running process (the first
 * server), `nsenter --net` runs further commands inside it. Needs root (CI and the machine image run as
 * root) and util-linux's unshare/nsenter and iproute2's ip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { requireTool } from '../../../local/processes';
import { run, type RunResult } from './tools';

export interface Namespace {
  /** A process inside the namespace; its /proc/<pid>/ns/net is the namespace. */
  pid: number;
  /** Runs a command inside the namespace, in `cwd`, with `env`. */
  exec(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Output of the process the namespace was created around (the last 64 KB). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command args` in a new network namespace with `lo` up, and waits until `ready` (run inside the
 * namespace) exits 0.
 */
export async function startInNamespace(command: string, args: string[], ready: { command: string; args: string[]; timeoutMs: number }): Promise<Namespace> {
  const unshare = requireTool('unshare', 'util-linux');
  const nsenter = requireTool('nsenter', 'util-linux');
  requireTool('ip', 'iproute2');
  if (process.getuid?.() !== 0) throw new Error('a network namespace needs root (unshare --net): run the tests as root, as CI does');
  const script = 'ip link set lo up && exec "$0" "$@"';
  const child: ChildProcess = spawn(unshare, ['--net', '--', 'sh', '-c', script, command, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-65536));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  const pid = child.pid!;
  const exec: Namespace['exec'] = (cmd, cmdArgs, options = {}) => {
    const cd = options.cwd ? [`--wd=${options.cwd}`] : [];
    return run(nsenter, [`--target=${pid}`, '--net', ...cd, '--', cmd, ...cmdArgs], options.env ?? process.env, options.timeoutMs);
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await exited;
  };
  const deadline = Date.now() + ready.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} ended before it was ready (exit ${child.exitCode}):\n${output}`);
    if ((await exec(ready.command, ready.args)).code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} not ready after ${ready.timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { pid, exec, output: () => output, stop };
}
