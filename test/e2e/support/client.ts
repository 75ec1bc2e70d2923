/**
 * A plain HTTP client for the end-to-end tests that can present itself from any loopback address
 * (`localAddress: '127.0.2.10'`): to the edge, that is a client in the overlay range of that address.
 */
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';

export interface Reply {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  method?: string;
  localAddress?: string;
  headers?: Record<string, string>;
}

export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ url, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends and follows redirects (from the same address, as a client does); returns every hop. */
export async function follow(url: string, options: SendOptions = {}, maxHops = 5): Promise<Reply[]> {
  const hops: Reply[] = [];
  let next = url;
  for (let i = 0; i < maxHops; i++) {
    const reply = await send(next, options);
    hops.push(reply);
    if (reply.status < 300 || reply.status >= 400 || !reply.headers.location) return hops;
    next = new URL(reply.headers.location, next).toString();
  }
  throw new Error(`more than ${maxHops} redirects from ${url}`);
}

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
