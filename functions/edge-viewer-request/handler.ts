/**
 * Lambda@Edge, viewer request: where should this pull go? Every request to the distribution passes here.
 * Configuration and the range table are compiled into the bundle; see layers/cloudfront/viewer.ts.
 */
import { edgeConfig } from 'registry-edge:edge-config';
import { embeddedTable } from 'registry-edge:ranges';
import { createViewerRequestHandler } from '../../layers/cloudfront/viewer';
import { loadTable } from '../../layers/net/load';

// Checked when it was built; loading is a few typed-array views, well under a millisecond.
const embedded = loadTable(embeddedTable, { check: false });

export const handler = createViewerRequestHandler({
  config: edgeConfig,
  table: () => embedded.table,
});
