/**
 * Replication: S3 ObjectCreated (and, with propagateDeletes, ObjectRemoved) events on the primary bucket
 * → every regional bucket. See layers/replication/invocation.ts (retries, DLQ) and replicate.ts (checks).
 * Also accepts SQS events carrying S3 notifications, and DLQ (on-failure destination) records.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { stageConfig } from 'registry-edge:stage-config';
import { createInvocationHandler } from '../../layers/replication/invocation';
import { createReplicator } from '../../layers/replication/replicate';
import { replicationSetup } from '../../layers/replication/setup';
import { METRICS_NAMESPACE } from '../../layers/replication/tally';
import { createLimiter } from '../../layers/s3/limit';

const logger = new Logger({ serviceName: 'replicate' });
const setup = replicationSetup(stageConfig);
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'replicate', defaultDimensions: { stage: stageConfig.stage.stage } });

const replicate = createInvocationHandler({
  replicator: createReplicator({ ...setup, limit: createLimiter(setup.concurrency * 2), log: logger }),
  sourceBucket: setup.source.bucket,
  concurrency: setup.concurrency,
  log: logger,
  metrics,
});

export const handler = middy(async (event: unknown) => {
  const result = await replicate(event);
  // Behind SQS, Lambda reads the failed messages from this; for S3's direct invocations it is only logged.
  return result.mode === 'sqs' ? { batchItemFailures: result.batchItemFailures } : result.summary;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
