/**
 * Range updates: on a schedule and on AWS's AmazonIpSpaceChanged notification, fetch the AWS and GCP
 * feeds, check them, compile the table and publish it to the config bucket (layers/ranges/update.ts).
 * The edge takes the new table up within `ranges.refreshSeconds`, with no redeploy.
 *
 * A failed run (feeds or bucket unreachable) throws, so that Lambda retries it and counts an error; a
 * refused feed does not (retrying would refuse it again): it is logged and counted by reason.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { stageConfig } from 'registry-edge:stage-config';
import { rangeUpdateSetup } from '../../layers/ranges/setup';
import { METRICS_NAMESPACE, updateMetrics } from '../../layers/ranges/telemetry';
import { triggerOf } from '../../layers/ranges/trigger';
import { runRangeUpdate } from '../../layers/ranges/update';

const logger = new Logger({ serviceName: 'ranges-update' });
const setup = rangeUpdateSetup(stageConfig);
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'ranges-update', defaultDimensions: { stage: stageConfig.stage.stage } });

export const handler = middy(async (event: unknown) => {
  const trigger = triggerOf(event);
  const result = await runRangeUpdate({ ...setup, ...(trigger.kind === 'notification' && trigger.syncToken ? { expectSyncToken: trigger.syncToken } : {}) });

  for (const point of updateMetrics(result)) {
    if (point.dimensions) {
      const single = metrics.singleMetric();
      for (const [name, value] of Object.entries(point.dimensions)) single.addDimension(name, value);
      single.addMetric(point.name, point.unit, point.value);
    } else {
      metrics.addMetric(point.name, point.unit, point.value);
    }
  }
  const record = { trigger, bucket: setup.bucket.name, update: result };
  if (result.outcome !== 'refused' && result.outcome !== 'failed') logger.info(`ranges ${result.outcome}`, record);
  else logger.error(`ranges ${result.outcome}: ${result.reason}`, record);
  if (result.outcome === 'failed') throw new Error(`range update failed (${result.reason}): ${result.message}`);
  return result;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
