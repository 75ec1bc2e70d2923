/**
 * What the edge functions add to a blob request, on the bundled artefacts (a few seconds):
 *   - viewer-request for a client in a bucket region (a redirect) with the existence cache warm, and for an
 *     internet client (a forward, percent-encoded digest), in µs per request;
 *   - origin-response on a 200 (re-heading the blob) and on a 404 (the fallback 307, EMF line included);
 *   - the baseline, in the same run: the same redirect with the existence cache cold, i.e. one real HEAD to
 *     a local HTTP server standing in for the bucket (the cheapest a check can be; S3 is farther).
 *
 *   npx tsx bench/edge.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { originResponseEvent, viewerRequestEvent } from '../layers/cloudfront/events';
import { TEST_CONFIG, testConfig } from '../test/support/configs';
import { buildTemporary } from '../tools/bundles';
import { record } from './results';

const EU_CLIENT = '198.51.100.7';
const hex = (i: number) => i.toString(16).padStart(64, '0');

async function perCall(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 1000); i++) await call(i); // warm-up (JIT, and the existence cache)
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call(i);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

async function main() {
  const server = createServer((_req, res) => res.writeHead(200).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bucketUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  testConfig(); // the configuration is valid before anything is built
  const build = await buildTemporary({
    stage: 'test',
    config: TEST_CONFIG,
    override: {
      buckets: { publicEndpoint: `${bucketUrl}/{bucket}` },
      routing: { verify: { cacheEntries: 100_000 } },
      ranges: { refreshSeconds: 0, overlay: [{ cidr: '198.51.100.0/24', cloud: 'aws', region: 'eu-west-1' }] },
    },
    only: ['edge-viewer-request', 'edge-origin-response'],
  });
  const viewer = build.load('edge-viewer-request');
  const originResponse = build.load('edge-origin-response') as unknown as (e: unknown) => Promise<unknown>;
  const quietStdout = process.stdout.write.bind(process.stdout);
  try {
    const N = 20_000;
    const blob = (i: number) => `/v2/pause/blobs/sha256:${hex(i % 1000)}`;
    // Warm: the 1000 digests were checked once (the warm-up round), then answered from the cache.
    const warmRedirect = await perCall(N, (i) => viewer(viewerRequestEvent({ clientIp: EU_CLIENT, method: 'GET', uri: blob(i) })));
    // Cold, the baseline: every digest new, so each request waits for a HEAD.
    let fresh = 1_000_000;
    const cold = await perCall(2_000, () => viewer(viewerRequestEvent({ clientIp: EU_CLIENT, method: 'GET', uri: `/v2/pause/blobs/sha256:${hex(fresh++)}` })));
    const forwardEncoded = await perCall(N, (i) => viewer(viewerRequestEvent({ clientIp: '192.0.2.1', method: 'GET', uri: `/v2/pause/blobs/sha256%3A${hex(i % 1000)}` })));
    const blobHeaders = { 'content-type': 'application/octet-stream', 'content-length': '1234', etag: '"abc"', server: 'AmazonS3', 'x-amz-request-id': 'X', 'x-amz-id-2': 'Y' };
    const served = await perCall(N, (i) => originResponse(originResponseEvent({ uri: `/containers/images/sha256:${hex(i % 1000)}`, status: 200, headers: blobHeaders })));
    // The fallback prints its EMF line; keep the terminal readable while measuring.
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const fallback = await perCall(N, (i) => originResponse(originResponseEvent({ uri: `/containers/images/sha256:${hex(i % 1000)}`, status: 404, requestHeaders: { 'x-registry-edge-repository': 'pause' } })));
    process.stdout.write = quietStdout;
    const figures = {
      viewerRedirectWarmUs: Math.round(warmRedirect * 10) / 10,
      viewerRedirectColdUs: Math.round(cold * 10) / 10,
      warmOverColdRatio: Math.round((warmRedirect / cold) * 1000) / 1000,
      viewerForwardEncodedUs: Math.round(forwardEncoded * 10) / 10,
      originResponseServeUs: Math.round(served * 10) / 10,
      originResponseFallbackUs: Math.round(fallback * 10) / 10,
    };
    console.log(JSON.stringify({ bench: 'edge', ...figures }, null, 2));
    record('edge', figures);
  } finally {
    process.stdout.write = quietStdout;
    build.dispose();
    server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
