/**
 * Lambda@Edge, origin request: on a cache miss for a blob, read it from the bucket nearest this regional
 * edge cache. See layers/cloudfront/origin.ts.
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { createOriginRequestHandler } from '../../layers/cloudfront/origin';

export const handler = createOriginRequestHandler({
  config: edgeConfig,
  // Set by the Lambda runtime (not by us: edge functions cannot have environment variables).
  region: () => process.env.AWS_REGION,
});
