/**
 * An alarm on a custom metric watches one exact set of dimensions; a handler that emits another set leaves
 * it silent forever. So the dimensions the alarms use (tools/stacks/main-stack.ts `metricDimensions`) are
 * checked against what the bundled functions really print (CloudWatch Embedded Metric Format), each run in
 * a way that needs no network: an unreadable event, feeds on a closed local port. (reconcile builds its
 * Metrics the same way but emits only after listing real buckets: its e2e tests run it against moto.)
 */
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { deployNames, METRICS_NAMESPACE } from '../../tools/stacks/names';
import { metricDimensions } from '../../tools/stacks/main-stack';
import { loadStageConfig } from '../../tools/build';
import { captureJsonOutput } from '../support/output-capture';
import { lambdaContext } from '../support/lambda-async';
import { freePort } from '../support/ports';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

let build: TemporaryBuild;
const names = deployNames(loadStageConfig({ stage: 'sandbox' }));

beforeAll(async () => {
  // Nothing listens on this port: every feed download and S3 call fails at once.
  const closed = `http://127.0.0.1:${await freePort()}`;
  build = await buildTemporary({
    stage: 'sandbox',
    override: { buckets: { apiEndpoint: `${closed}/{bucket}` }, ranges: { awsUrl: `${closed}/ip-ranges.json`, gcpUrl: `${closed}/cloud.json` } },
    only: ['replicate', 'ranges-update'],
  });
}, 120_000);

afterAll(() => build?.dispose());

/** Runs a bundled handler and returns the EMF documents it printed (its error, if any, is expected here). */
async function emitted(fn: string, event: unknown): Promise<EmfDocument[]> {
  const handler = require(build.functions[fn]!.file).handler as Handler;
  const output = captureJsonOutput();
  try {
    await handler(event, lambdaContext(fn, 120_000)).catch(() => undefined);
  } finally {
    output.restore();
  }
  return output.lines.filter((line): line is EmfDocument => typeof line._aws === 'object');
}

/** The dimension sets and values of the documents that carry `metric`. */
function dimensionsOf(documents: EmfDocument[], metric: string): Record<string, unknown>[] {
  return documents
    .filter((d) => d._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === metric)))
    .map((d) => {
      const [group] = d._aws.CloudWatchMetrics;
      expect(group!.Namespace).toBe(METRICS_NAMESPACE);
      return Object.fromEntries(group!.Dimensions[0]!.map((name) => [name, d[name]]));
    });
}

test.each([
  // An event the replicator cannot read: it counts it and returns.
  ['replicate', { nonsense: true }, 'InvalidEvents'],
  // The AWS feed is unreachable: the run fails and says so.
  ['ranges-update', { source: 'aws.events', 'detail-type': 'Scheduled Event' }, 'RangesFailed'],
])('%s emits its metrics with the dimensions the alarms watch', async (fn, event, metric) => {
  const documents = await emitted(fn, event);
  const dimensions = dimensionsOf(documents, metric);
  // Some points carry one more dimension as well (a failure's reason); the plain one must be there.
  expect(dimensions).toContainEqual(metricDimensions(names, fn));
}, 60_000);
