/**
 * Lambda@Edge, origin response (blob behaviour): name served blobs by their digest, and send a blob both
 * buckets lack to the upstream registry, uncached and counted. See layers/cloudfront/origin-response.ts.
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { createOriginResponseHandler } from '../../layers/cloudfront/origin-response';

export const handler = createOriginResponseHandler({
  config: edgeConfig,
  // One EMF line per fallback: CloudWatch Logs turns it into the UpstreamFallback metric. Straight to
  // stdout (the runtime sends it to the log group) so no prefix the EMF parser would refuse is added.
  log: (line) => process.stdout.write(`${line}\n`),
});
