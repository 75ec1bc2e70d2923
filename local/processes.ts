/**
 * Child processes the local stack and the tests depend on (moto_server, docker-registry): started in
 * their own process group, waited for until they listen, and stopped (the whole group) on request or when
 * this process exits, so nothing is left listening.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

/** A command the stack needs is not installed; the message names the Debian package that provides it. */
export class MissingToolError extends Error {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(`${tool} is not installed: run scripts/setup.sh as root, or apt-get install -y ${debianPackage}`);
    this.name = 'MissingToolError';
  }
}

/** Where `command` is on PATH; throws MissingToolError naming `debianPackage` when it is not. */
export function requireTool(command: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new MissingToolError(command, debianPackage);
}

export interface ManagedProcess {
  name: string;
  pid: number;
  /** Output so far (the last 64 KB), for error messages. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: whatever way this process ends, its servers end with it.
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after `timeoutMs`. */
export function waitForPort(host: string, port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  return waitForListener({ host, port }, timeoutMs, alive);
}

async function waitForListener(address: StartOptions['listen'], timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const where = 'path' in address ? address.path : `${address.host}:${address.port}`;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = 'path' in address ? connect({ path: address.path }) : connect({ host: address.host, port: address.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`exited before listening on ${where}`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${where} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs the server under a small shell that ends it when this process dies, however it dies (SIGKILL, an
 * OOM kill, a crash): the shell holds the read end of a pipe whose write end only we hold, and when the
 * pipe closes it stops the server. Without it a killed test run or `npm start` would leave servers
 * listening. The shell also waits for the server to be gone before it exits, so "exited" means "port free".
 */
const WATCHDOG = [
  'exec 3<&0 0</dev/null',
  '"$@" & pid=$!',
  '{ read -r _ <&3; kill -TERM "$pid" 2>/dev/null; } & watcher=$!',
  'exec 3<&-',
  'trap \'kill -TERM "$pid" 2>/dev/null\' TERM INT',
  'while :; do wait "$pid"; status=$?; kill -0 "$pid" 2>/dev/null || break; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Wait until this address (TCP, or a unix socket's path) accepts connections. */
  listen: { host: string; port: number } | { path: string };
  timeoutMs?: number;
}

let logCounter = 0;

/** The last `bytes` of a file, or '' when it cannot be read. */
function tail(file: string, bytes = 65536): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  installExitHook();
  // Output goes to a file, not a pipe: a pipe only drains while this process's event loop runs, so any
  // synchronous wait here (spawnSync in a test, a long computation) would fill it and stall a chatty
  // server such as moto_server, which logs every request.
  const logDir = join(tmpdir(), `registry-edge-logs-${process.pid}`);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name}-${++logCounter}.log`);
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', WATCHDOG, options.name, options.command, ...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', logFd, logFd],
      detached: true, // its own process group, so stop() reaches its children too
    });
  } finally {
    closeSync(logFd);
  }
  running.add(child);
  let spawnError = '';
  const output = () => `${tail(logFile)}${spawnError}`;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', (error) => {
      spawnError = String(error);
      running.delete(child);
      resolve(null);
    });
  });
  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    output,
    exited,
    async stop() {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(logFile, { force: true });
    },
  };
  try {
    await waitForListener(options.listen, options.timeoutMs ?? 20000, () => running.has(child));
  } catch (error) {
    const said = output().slice(-2000);
    await managed.stop();
    throw new Error(`${options.name} did not start: ${(error as Error).message}\n${said}`);
  }
  return managed;
}
