/**
 * containerd (Debian package `containerd`), the daemon Kubernetes nodes pull images with, run for the
 * tests as a private instance: its root, state and socket in a temporary folder of its own, the CRI plugin
 * off (no kubelet here), driven with `ctr`. It must run as root, like any containerd.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManagedProcess, requireTool, startProcess } from './processes';

export interface CtrResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface Containerd {
  /** The daemon's gRPC socket (`ctr -a`). */
  socket: string;
  process: ManagedProcess;
  /** Runs `ctr -a <socket> <args>`; never throws for a non-zero exit. */
  ctr(args: string[]): Promise<CtrResult>;
  /** `ctr images pull --plain-http --all-platforms <reference>`: what the tests pull with. */
  pull(reference: string): Promise<CtrResult>;
  /** `ctr images rm --sync`: the image and, once garbage-collected, its content, so a re-pull fetches again. */
  remove(reference: string): Promise<CtrResult>;
  /** Removes every image (`rm --sync` each): an empty content store, so the next pull fetches everything. */
  removeAll(): Promise<void>;
  /** Digests in the content store. */
  contentDigests(): Promise<string[]>;
  /** The bytes of one piece of content. */
  content(digest: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export async function startContainerd(): Promise<Containerd> {
  const daemon = requireTool('containerd', 'containerd');
  const ctrCommand = requireTool('ctr', 'containerd');
  // Without root it would fail on its first mount or chown, with a message that names neither.
  if (process.getuid?.() !== 0) throw new Error('containerd must run as root: run the tests that pull with containerd as root (scripts/setup.sh sets up the rest)');
  // Short: a unix socket's path must fit in 108 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'ctrd-'));
  const socket = join(dir, 'c.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  let proc: ManagedProcess;
  try {
    proc = await startProcess({ name: 'containerd', command: daemon, args: ['--config', config], listen: { path: socket } });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const ctr = (args: string[]) =>
    new Promise<CtrResult>((resolve, reject) => {
      execFile(ctrCommand, ['-a', socket, ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(new Error(`ctr ${args.join(' ')}: ${error.message}`));
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr: stderr.toString() });
      });
    });
  return {
    socket,
    process: proc,
    ctr,
    pull: (reference) => ctr(['images', 'pull', '--plain-http', '--all-platforms', reference]),
    remove: (reference) => ctr(['images', 'rm', '--sync', reference]),
    async removeAll() {
      const listed = await ctr(['images', 'ls', '--quiet']);
      if (listed.code !== 0) throw new Error(`ctr images ls: ${listed.stderr}`);
      const images = listed.stdout.toString().split('\n').filter(Boolean);
      if (images.length === 0) return;
      const removed = await ctr(['images', 'rm', '--sync', ...images]);
      if (removed.code !== 0) throw new Error(`ctr images rm: ${removed.stderr}`);
    },
    async contentDigests() {
      const listed = await ctr(['content', 'ls', '--quiet']);
      if (listed.code !== 0) throw new Error(`ctr content ls: ${listed.stderr}`);
      return listed.stdout.toString().split('\n').filter(Boolean).sort();
    },
    async content(digest) {
      const got = await ctr(['content', 'get', digest]);
      if (got.code !== 0) throw new Error(`ctr content get ${digest}: ${got.stderr}`);
      return got.stdout;
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
