/**
 * Reconcile, on a schedule (daily): list the primary and every regional bucket and copy what is missing or
 * different, with the same checks as replication. Stops starting new blobs a minute before the Lambda's
 * deadline; what is left is counted as deferred and picked up by the next run.
 */
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { stageConfig } from 'registry-edge:stage-config';
import { reconcile } from '../../layers/replication/reconcile';
import { replicationSetup } from '../../layers/replication/setup';
import { METRICS_NAMESPACE, recordTally } from '../../layers/replication/tally';

const logger = new Logger({ serviceName: 'reconcile' });
const setup = replicationSetup(stageConfig);
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'reconcile', defaultDimensions: { stage: stageConfig.stage.stage } });
/** Time kept back from the Lambda timeout for the copies in flight to finish. */
const SAFETY_MARGIN_MS = 60_000;

export const handler = middy(async (_event: unknown, context: Context) => {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  const summary = await reconcile({
    ...setup,
    log: logger,
    ...(remaining !== undefined ? { deadline: Date.now() + Math.max(0, remaining - SAFETY_MARGIN_MS) } : {}),
  });
  recordTally(metrics, summary, summary.quarantinedBlobs);
  metrics.addMetric('Deferred', 'Count', summary.deferred);
  metrics.addMetric('Objects', 'Count', summary.objects);
  // Failed pairs fail the run (an error, so the alarm on Errors fires too); the next run retries them.
  if (summary.failed > 0) throw new Error(`reconcile: ${summary.failed} of ${summary.checked} copies failed`);
  return summary;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
