/**
 * Lambda@Edge, viewer request: where should this pull go? Every request to the distribution passes here.
 * Configuration and the range table are compiled into the bundle; see layers/cloudfront/viewer.ts.
 * Newer tables published to the config bucket are taken up as they come (layers/ranges/refresh.ts).
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { embeddedTable } from 'registry-edge:ranges';
import { createViewerRequestHandler } from '../../layers/cloudfront/viewer';
import { loadTable } from '../../layers/net/load';
import { createRangeRefresher, credentialsFromEnv } from '../../layers/ranges/refresh';

// Checked when it was built; loading is a few typed-array views, well under a millisecond.
const embedded = loadTable(embeddedTable, { check: false });

const ranges = createRangeRefresher({
  initial: embedded,
  config: edgeConfig,
  // Set by the Lambda runtime for the function's role (edge functions have no user environment variables).
  credentials: () => credentialsFromEnv(process.env),
});

export const handler = createViewerRequestHandler({
  config: edgeConfig,
  table: ranges.table,
  beforeRequest: ranges.beforeRequest,
});

/** Which table this instance uses and how its refreshes went (for tests and diagnostics, not CloudFront). */
export const rangeRefresh = { status: ranges.status, idle: ranges.idle };
