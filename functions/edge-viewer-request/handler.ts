/**
 * Lambda@Edge, viewer request: where should this pull go? Every request to the distribution passes here.
 * Configuration and the range table are compiled into the bundle; see layers/cloudfront/viewer.ts.
 * Newer tables published to the config bucket are taken up as they come (layers/ranges/refresh.ts).
 * Decisions, existence checks and the table's age are counted in memory and written as CloudWatch EMF
 * lines at most every `edgeMetrics.flushSeconds` (layers/metrics/edge.ts).
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { embeddedTable } from 'registry-edge:ranges';
import { createViewerRequestHandler } from '../../layers/cloudfront/viewer';
import { createViewerMetrics } from '../../layers/metrics/edge';
import { loadTable } from '../../layers/net/load';
import { createRangeRefresher, credentialsFromEnv } from '../../layers/ranges/refresh';
import { createBlobChecker } from '../../layers/routing/blob-check';

// Checked when it was built; loading is a few typed-array views, well under a millisecond.
const embedded = loadTable(embeddedTable, { check: false });

const metrics = createViewerMetrics({ service: 'edge-viewer-request', config: edgeConfig, rangeStatus: () => ranges.status() });

const ranges = createRangeRefresher({
  initial: embedded,
  config: edgeConfig,
  // Set by the Lambda runtime for the function's role (edge functions have no user environment variables).
  credentials: () => credentialsFromEnv(process.env),
  log: (record) => {
    metrics.refreshLogged(record);
    console.log(JSON.stringify(record));
  },
});

export const handler = createViewerRequestHandler({
  config: edgeConfig,
  table: ranges.table,
  checker: createBlobChecker({ ...edgeConfig.verify, onResult: metrics.checked }),
  beforeRequest: () => {
    // First, so the lines written cover the requests before this one (see layers/metrics/emf.ts).
    metrics.tick();
    return ranges.beforeRequest();
  },
  observe: metrics.decided,
});

/** Which table this instance uses and how its refreshes went (for tests and diagnostics, not CloudFront). */
export const rangeRefresh = { status: ranges.status, idle: ranges.idle };
