/** Small helpers the commands share. */

/** Prints one JSON object per line (the CLI's machine-readable output). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Reads standard input to the end. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Sets the exit code without ending the process (output is flushed first). */
export function fail(code = 1): void {
  process.exitCode = code;
}
