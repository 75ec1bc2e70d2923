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

/**
 * The clock, read once per request (in beforeRequest, first thing) and shared by the metrics, the refresher
 * and the existence caches: each Date.now() costs about 30 ns, and a decision's whole budget is 500.
 * Between requests it holds the last arrival, so whatever runs then (a HEAD's answer being cached) sees a
 * time a little early: an entry expires a little sooner, never later.
 */
let arrived = Date.now();
const requestClock = () => arrived;

// Checked when it was built; loading is a few typed-array views, well under a millisecond.
const embedded = loadTable(embeddedTable, { check: false });

const metrics = createViewerMetrics({ service: 'edge-viewer-request', config: edgeConfig, now: requestClock, rangeStatus: () => ranges.status() });

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
  checker: createBlobChecker({ ...edgeConfig.verify, now: requestClock, onResult: metrics.checked }),
  beforeRequest: () => {
    arrived = Date.now();
    // First, so the lines written cover the requests before this one (see layers/metrics/emf.ts).
    metrics.tick();
    return ranges.beforeRequest(arrived);
  },
  observe: metrics.decided,
});

/** Which table this instance uses and how its refreshes went (for tests and diagnostics, not CloudFront). */
export const rangeRefresh = { status: ranges.status, idle: ranges.idle };
