/** Running the real container clients from the end-to-end tests. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from '../../../local/processes';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit (tests look at `code` and `stderr`). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Runs a command line as the stack prints it (words without quoting), resolving the tool first. */
export function runLine(line: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const [tool, ...args] = line.trim().split(/\s+/);
  return run(requireTool(tool!, tool!), args, env);
}

/** The platform a client on this machine picks from a multi-platform image. */
export const hostArchitecture = process.arch === 'x64' ? 'amd64' : process.arch;

export const sha256File = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

/**
 * What skopeo wrote to a `dir:` destination, checked: every blob file hashes to its name, and the
 * manifest's digest. Throws naming the first file that does not.
 */
export function readSkopeoDir(dir: string): { manifestDigest: string; manifest: { config: { digest: string }; layers: { digest: string }[] }; blobs: string[] } {
  const blobs: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const digest = sha256File(join(dir, name));
    if (digest !== `sha256:${name}`) throw new Error(`${dir}/${name} hashes to ${digest}`);
    blobs.push(digest);
  }
  return { manifestDigest: sha256File(join(dir, 'manifest.json')), manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), blobs: blobs.sort() };
}
