/**
 * The stage's CloudWatch dashboard, in the main stack (us-east-1): the distribution's traffic, errors and
 * cache hit rate, replication lag and the dead-letter queue, the range table's age, and what the edge
 * functions decided.
 *
 * Where the numbers live: CloudFront's metrics are global (us-east-1, `Region=Global`); the regular
 * functions run in us-east-1; but a Lambda@Edge replica runs, logs and writes its EMF metrics in the
 * region of the regional edge cache that served the request, so the same edge metric exists once per
 * such region. CloudWatch cannot add metrics of several regions in one expression, so the dashboard gives
 * the edge one row per region (a widget's `region` selects where its SEARCH runs; regions with no
 * traffic show no data). A region CloudFront adds later needs a line in EDGE_REGIONS and a deploy.
 */
import type { ResolvedConfig } from '../../layers/config/schema';
import { FALLBACK_METRIC } from '../../layers/cloudfront/origin-response';
import { type Json, ref, type Resources } from './cloudformation';
import { type DeployNames, METRICS_NAMESPACE, SERVICE_REGION } from './names';

/**
 * The regions with CloudFront regional edge caches, where Lambda@Edge replicas run and write their logs
 * and metrics (the list AWS documented in 2022; none has been retired since).
 */
export const EDGE_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-central-1',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ap-northeast-2',
] as const;

const PERIOD = 300;
const WIDTH = 24;

type Widget = Record<string, Json>;

interface Place {
  x: number;
  y: number;
  width: number;
  height: number;
}

const text = (markdown: string, at: Place): Widget => ({ type: 'text', ...at, properties: { markdown } });

function metricWidget(title: string, region: string, metrics: Json[], at: Place, extra: Record<string, Json> = {}): Widget {
  return { type: 'metric', ...at, properties: { title, region, view: 'timeSeries', period: PERIOD, metrics, ...extra } };
}

/** A SEARCH over one exact dimension set of our namespace (the edge metrics' sets, see layers/metrics/edge.ts). */
function search(id: string, metric: string, dimensions: string[], terms: Record<string, string>, stat: string, label: string): Json {
  const schema = [METRICS_NAMESPACE, ...dimensions].join(',');
  const where = Object.entries({ MetricName: metric, ...terms })
    .map(([k, v]) => `${k}="${v}"`)
    .join(' ');
  return [{ expression: `SEARCH('{${schema}} ${where}', '${stat}', ${PERIOD})`, id, label }];
}

/** The CloudFront metrics of the distribution (`${Distribution}` is filled in by Fn::Sub). */
const cloudFront = (metric: string, options: Record<string, Json> = {}): Json => ['AWS/CloudFront', metric, 'DistributionId', '${Distribution}', 'Region', 'Global', options];

export interface DashboardOptions {
  config: ResolvedConfig;
  names: DeployNames;
  functions: string[];
}

/** The dashboard body as a JSON string with `${Distribution}` in it (for Fn::Sub). */
export function dashboardBody({ config, names, functions }: DashboardOptions): string {
  const stage = names.stage;
  const widgets: Widget[] = [];
  let y = 0;

  widgets.push(text(`# registry-edge ${stage}\nTraffic and errors of the distribution, then replication and the range table (us-east-1), then one row per region where the edge functions ran. See docs/operations.md#dashboard.`, { x: 0, y, width: WIDTH, height: 2 }));
  y += 2;

  const quarter = { y, width: 6, height: 6 };
  widgets.push(metricWidget('Requests', SERVICE_REGION, [cloudFront('Requests', { stat: 'Sum' })], { ...quarter, x: 0 }));
  widgets.push(metricWidget('Bytes to viewers / from viewers', SERVICE_REGION, [cloudFront('BytesDownloaded', { stat: 'Sum' }), cloudFront('BytesUploaded', { stat: 'Sum' })], { ...quarter, x: 6 }));
  widgets.push(metricWidget('Error rate (%)', SERVICE_REGION, [cloudFront('4xxErrorRate', { stat: 'Average' }), cloudFront('5xxErrorRate', { stat: 'Average' })], { ...quarter, x: 12 }, { yAxis: { left: { min: 0 } } }));
  if (config.stage.distribution.additionalMetrics) {
    widgets.push(metricWidget('Cache hit rate (%)', SERVICE_REGION, [cloudFront('CacheHitRate', { stat: 'Average' })], { ...quarter, x: 18 }, { yAxis: { left: { min: 0, max: 100 } } }));
  } else {
    widgets.push(text('### Cache hit rate\nCloudFront publishes it only with its additional metrics: set `distribution.additionalMetrics` to `true` in the stage configuration (a monitoring subscription, billed as 8 custom metrics).', { ...quarter, x: 18 }));
  }
  y += 6;

  const row = { y, width: 6, height: 6 };
  const ours = (fn: string) => ({ service: fn, stage });
  if (functions.includes('replicate')) {
    widgets.push(
      metricWidget('Replication lag (ms, event to copy)', SERVICE_REGION, [
        [METRICS_NAMESPACE, 'ReplicationLag', 'service', 'replicate', 'stage', stage, { stat: 'p90', label: 'p90' }],
        [METRICS_NAMESPACE, 'ReplicationLag', 'service', 'replicate', 'stage', stage, { stat: 'Maximum', label: 'max' }],
      ], { ...row, x: 0 }),
    );
    widgets.push(metricWidget('Dead-letter queue depth', SERVICE_REGION, [['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.deadLetterQueue, { stat: 'Maximum' }]], { ...row, x: 6 }));
  }
  if (functions.includes('ranges-update')) {
    widgets.push(
      metricWidget('Published range table age (h)', SERVICE_REGION, [
        [METRICS_NAMESPACE, 'TableAgeSeconds', 'service', 'ranges-update', 'stage', stage, { stat: 'Maximum', id: 'age', visible: false }],
        [{ expression: 'age / 3600', id: 'hours', label: 'AWS feed behind the published table' }],
      ], { ...row, x: 12 }, { annotations: { horizontal: [{ label: 'alarm', value: config.stage.alarms.tableMaxAgeHours }] } }),
    );
  }
  const verifiers = ['replicate', 'reconcile'].filter((fn) => functions.includes(fn));
  if (verifiers.length > 0) {
    widgets.push(metricWidget('Quarantined blobs', SERVICE_REGION, verifiers.map((fn) => [METRICS_NAMESPACE, 'Quarantined', ...Object.entries(ours(fn)).flat(), { stat: 'Sum', label: fn }]), { ...row, x: 18 }));
  }
  y += 6;

  const viewer = { service: 'edge-viewer-request', stage };
  const origin = { service: 'edge-origin-request', stage };
  for (const region of EDGE_REGIONS) {
    const third = { y, width: 8, height: 6 };
    widgets.push(metricWidget(`${region}: decisions by action and bucket region`, region, [search('d', 'Decisions', ['action', 'bucketRegion', 'service', 'stage'], viewer, 'Sum', '')], { ...third, x: 0 }, { stacked: true }));
    widgets.push(
      metricWidget(
        `${region}: existence checks, fallbacks, cache misses`,
        region,
        [
          search('c', 'BlobChecks', ['cached', 'result', 'service', 'stage'], viewer, 'Sum', 'check'),
          search('f', 'VerifyFallbacks', ['bucketRegion', 'service', 'stage'], viewer, 'Sum', 'fell back from'),
          search('n', 'OriginRequests', ['bucketRegion', 'service', 'stage'], origin, 'Sum', 'cache miss, read from'),
          search('o', 'OriginFailovers', ['service', 'stage'], origin, 'Sum', 'origin failover'),
          // The origin-response function's 307s to the upstream registry (the blob in no bucket).
          search('u', FALLBACK_METRIC, ['service', 'stage'], { service: 'edge-origin-response', stage }, 'Sum', 'upstream fallback'),
        ],
        { ...third, x: 8 },
      ),
    );
    widgets.push(
      metricWidget(
        `${region}: range table at the edge`,
        region,
        [
          search('a', 'TableAgeSeconds', ['service', 'stage'], viewer, 'Maximum', 'oldest table age (s)'),
          search('r', 'RangeRefreshFailures', ['service', 'stage'], viewer, 'Sum', 'refresh failures'),
          search('s', 'RangeTableSwaps', ['service', 'stage'], viewer, 'Sum', 'tables taken up'),
          search('g', 'TableGeneration', ['service', 'stage'], viewer, 'Minimum', 'oldest generation'),
        ],
        { ...third, x: 16 },
      ),
    );
    y += 6;
  }
  return JSON.stringify({ start: '-PT6H', periodOverride: 'inherit', widgets });
}

export function dashboard(options: DashboardOptions): Resources {
  return {
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: { DashboardName: options.names.mainStack, DashboardBody: { 'Fn::Sub': [dashboardBody(options), { Distribution: ref('Distribution') }] } },
    },
  };
}

export const dashboardUrl = (names: DeployNames) => `https://${SERVICE_REGION}.console.aws.amazon.com/cloudwatch/home?region=${SERVICE_REGION}#dashboards:name=${names.mainStack}`;
