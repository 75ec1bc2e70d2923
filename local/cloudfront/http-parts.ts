/**
 * Small pieces of HTTP plumbing the emulator uses between its functions, its cache and the viewer.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** [name, value] pairs as Node's outgoing headers, repeated names kept as lists. */
export function toOutgoing(pairs: readonly [string, string][]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of pairs) {
    const existing = out[name];
    out[name] = existing === undefined ? value : ([] as string[]).concat(existing as string | string[], value);
  }
  return out;
}

/** Outgoing headers with lower-case names, for storing and for the cache's TTL rules. */
export function lowerCased(headers: OutgoingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  return out;
}

/**
 * Gathers a body as it streams to the viewer, for the cache: `done` gets it once the origin has sent all
 * of it (as many bytes as its Content-Length said), never a body cut short or larger than `maxBytes`.
 */
export function collectForCache(body: IncomingMessage, maxBytes: number, done: (bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let keeping = true;
  body.on('data', (chunk: Buffer) => {
    if (!keeping) return;
    length += chunk.length;
    if (length > maxBytes) {
      keeping = false;
      chunks.length = 0;
    } else chunks.push(chunk);
  });
  body.once('end', () => {
    const declared = body.headers['content-length'];
    if (keeping && body.complete && (declared === undefined || Number(declared) === length)) done(Buffer.concat(chunks, length));
  });
}
