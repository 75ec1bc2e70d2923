/**
 * Lambda@Edge, origin request: on a cache miss for a blob, read it from the bucket nearest this regional
 * edge cache. See layers/cloudfront/origin.ts. Which bucket, and failovers to the primary, are counted and
 * written as CloudWatch EMF lines at most every `edgeMetrics.flushSeconds` (layers/metrics/edge.ts).
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { createOriginRequestHandler } from '../../layers/cloudfront/origin';
import { createOriginMetrics } from '../../layers/metrics/edge';

const metrics = createOriginMetrics({ service: 'edge-origin-request', config: edgeConfig });

const route = createOriginRequestHandler({
  config: edgeConfig,
  // Set by the Lambda runtime (not by us: edge functions cannot have environment variables).
  region: () => process.env.AWS_REGION,
  observe: metrics.routed,
});

export const handler: typeof route = (event) => {
  // First, so the lines written cover the requests before this one (see layers/metrics/emf.ts).
  metrics.tick();
  return route(event);
};
