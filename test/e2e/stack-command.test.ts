/**
 * The README's first command, as a newcomer runs it: `npm start` brings the stack up, prints a `ready:`
 * line whose command pulls the demo image, and Ctrl-C (SIGINT to the terminal's process group) leaves
 * nothing running. Without a tool it needs, it says which package to install and exits non-zero.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { requireTool } from '../../local/processes';
import { STACK_TOOLS } from '../../local/stack';
import { ROOT } from '../../tools/build';
import { freePort, portIsFree } from '../support/ports';
import { readSkopeoDir, run } from './support/tools';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  // Its own process group, like a shell's foreground job, so the test can "press Ctrl-C".
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) throw new Error(`exited with ${started.child.exitCode} before printing ${pattern}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs} ms:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm start', () => {
  let work: string;
  let started: Started | undefined;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'npm-start-'));
  });

  afterAll(async () => {
    // Whatever happened above, nothing of it may outlive the suite.
    if (started && started.child.exitCode === null && started.child.signalCode === null) {
      process.kill(-started.child.pid!, 'SIGKILL');
      await started.exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('prints a ready: line whose command pulls the demo image, and Ctrl-C leaves nothing listening', async () => {
    const port = await freePort();
    // TMPDIR decides where the printed command writes (dir:$TMPDIR/hello), so the test runs it verbatim.
    started = start('npm', ['start', '--silent', '--', '--dist', join(work, 'dist')], { ...process.env, PORT: String(port), TMPDIR: work });
    const [, command] = await waitFor(started, /^ready: (.+)$/m, 90_000);
    expect(command).toBe(`skopeo copy --src-tls-verify=false docker://127.0.0.1:${port}/demo/hello:1 dir:${work}/hello`);

    const pull = await run('/bin/sh', ['-c', command!]);
    expect(pull).toMatchObject({ code: 0 });
    const pulled = readSkopeoDir(join(work, 'hello'));
    expect(pulled.blobs.length).toBeGreaterThanOrEqual(3);
    expect(started.output()).toMatch(/^127\.0\.0\.1 +GET +200 \/v2\/demo\/hello\/blobs\/sha256:[0-9a-f]{12}… ← registry-edge-local-us-east-1 200 \([\d.]+ ms\)$/m);

    // Every port the stack printed: the edge, S3, the registry and the relays.
    const ports = [...started.output().matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports).toContain(port);
    expect(new Set(ports).size).toBeGreaterThanOrEqual(7);

    process.kill(-started.child.pid!, 'SIGINT');
    await started.exited; // npm itself ends by the signal it got; the stack's own report is what counts
    expect(started.output()).toMatch(/^stopping \(SIGINT\)\nstopped$/m);
    for (const p of new Set(ports)) expect([p, await portIsFree(p)]).toEqual([p, true]);
    // No process of the group is left (the servers run in groups of their own: their ports are checked above).
    expect(() => process.kill(-started!.child.pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  }, 120_000);

  it('SIGTERM stops it too, with exit code 0', async () => {
    const port = await freePort();
    started = start(process.execPath, [join(ROOT, 'bin/registry-edge.js'), 'stack', '--quiet', '--port', String(port), '--dist', join(work, 'dist-term')], process.env);
    await waitFor(started, /^ready: /m, 90_000);
    const ports = new Set([...started.output().matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])));
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    for (const p of ports) expect([p, await portIsFree(p)]).toEqual([p, true]);
  }, 120_000);

  it('a taken port: one line saying so, exit 1', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await run(process.execPath, [join(ROOT, 'bin/registry-edge.js'), 'stack', '--dist', join(work, 'dist-taken')], { ...process.env, PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`registry-edge: port ${port} on 127.0.0.1 is in use: stop what listens there, or choose another with PORT=<port>`);
    } finally {
      blocker.close();
    }
  });

  it.each(['x', '-1', '1.5'])('--edge-cache-mb %s: one line saying what it must be, exit 1', async (value) => {
    const result = await run(process.execPath, [join(ROOT, 'bin/registry-edge.js'), 'stack', '--port', '0', '--edge-cache-mb', value, '--dist', join(work, 'dist-bad-cache')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`registry-edge: --edge-cache-mb must be a whole number of MiB (0 for no cache), not "${value}"`);
  });

  it.each(STACK_TOOLS.map(([tool, pkg]) => [tool, pkg] as const))('without %s: one line naming %s, exit 1, nothing started', async (missing, debianPackage) => {
    // A PATH with node and every tool the stack needs but one.
    const bin = mkdtempSync(join(work, 'bin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const [tool, pkg] of STACK_TOOLS) if (tool !== missing) symlinkSync(requireTool(tool, pkg), join(bin, tool));
    const port = await freePort();
    const result = await run(process.execPath, [join(ROOT, 'bin/registry-edge.js'), 'stack', '--port', String(port), '--dist', join(work, 'dist-missing')], { ...process.env, PATH: bin });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([`registry-edge: ${missing} is not installed: run scripts/setup.sh as root, or apt-get install -y ${debianPackage}`]);
    expect(await portIsFree(port)).toBe(true);
  });
});
