/**
 * The dashboard (main stack) and the blob buckets' S3 server access logs (regional stacks), from the stack
 * builders: what each widget watches, that the edge metrics it searches are the ones the edge functions
 * write, and that cfn-lint has nothing to say about the resources. test/deploy/packaged.test.ts checks the
 * same resources are in the templates osls writes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintTemplates } from '../../tools/package';
import { dashboardBody, EDGE_REGIONS } from '../../tools/stacks/dashboard';
import { FUNCTIONS } from '../../tools/stacks/functions';
import { mainStack } from '../../tools/stacks/main-stack';
import { deployNames } from '../../tools/stacks/names';
import { regionalStack, S3_ACCESS_LOG_EXPIRE_DAYS } from '../../tools/stacks/regional-stack';
import { testConfig } from '../support/configs';
import { resource, type Statement, type Template } from './template';

const ALL = Object.keys(FUNCTIONS).sort();
const main = (override: Record<string, unknown> = {}) => mainStack(testConfig(override), ALL).resources as unknown as Template & { Outputs: Record<string, { Value: unknown }> };
const regional = (region: string, override: Record<string, unknown> = {}) => regionalStack(testConfig(override), region, ALL) as unknown as Template & { Outputs: Record<string, { Value: unknown }> };

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { title?: string; region?: string; metrics?: unknown[][]; markdown?: string };
}

/** The dashboard as CloudWatch will read it, `${Distribution}` filled in the way Fn::Sub does. */
function widgetsOf(template: Template): Widget[] {
  const sub = resource(template, 'Dashboard').Properties.DashboardBody['Fn::Sub'] as [string, Record<string, unknown>];
  expect(sub[1]).toEqual({ Distribution: { Ref: 'Distribution' } });
  // Every ${...} in the body is one Fn::Sub fills in: a stray one would fail the deploy.
  expect([...sub[0].matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1])).toEqual(expect.arrayContaining(['Distribution']));
  expect(new Set([...sub[0].matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]))).toEqual(new Set(['Distribution']));
  return JSON.parse(sub[0].replaceAll('${Distribution}', 'E1234567890')).widgets;
}

const metricNames = (w: Widget) => (w.properties.metrics ?? []).map((m) => (typeof m[0] === 'object' ? String((m[0] as { expression: string }).expression) : String(m[1])));
const byTitle = (widgets: Widget[], title: RegExp) => widgets.filter((w) => title.test(w.properties.title ?? w.properties.markdown ?? ''));

describe('the dashboard', () => {
  const template = main();
  const widgets = widgetsOf(template);

  test('is named after the main stack, and the stack says where it is', () => {
    expect(resource(template, 'Dashboard').Properties.DashboardName).toBe('registry-edge-test');
    expect(template.Outputs.DashboardUrl!.Value).toBe('https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=registry-edge-test');
  });

  test('the distribution: requests, bytes, 4xx/5xx rates, from CloudFront\'s global metrics', () => {
    const cloudFront = widgets.filter((w) => (w.properties.metrics ?? []).some((m) => m[0] === 'AWS/CloudFront'));
    expect(cloudFront.flatMap(metricNames).sort()).toEqual(['4xxErrorRate', '5xxErrorRate', 'BytesDownloaded', 'BytesUploaded', 'Requests']);
    for (const w of cloudFront) {
      expect(w.properties.region).toBe('us-east-1');
      for (const m of w.properties.metrics!) expect(m.slice(2, 6)).toEqual(['DistributionId', 'E1234567890', 'Region', 'Global']);
    }
  });

  test('cache hit rate: a graph with additional metrics, otherwise a note saying how to turn them on', () => {
    expect(byTitle(widgets, /Cache hit rate/)[0]!.properties.markdown).toMatch(/distribution\.additionalMetrics/);
    const withMetrics = widgetsOf(main({ distribution: { additionalMetrics: true } }));
    expect(byTitle(withMetrics, /Cache hit rate/).flatMap(metricNames)).toEqual(['CacheHitRate']);
  });

  test('replication lag, dead-letter depth, the published table\'s age, quarantined blobs (us-east-1)', () => {
    const names = deployNames(testConfig());
    const lag = byTitle(widgets, /Replication lag/)[0]!;
    expect(lag.properties.metrics!.map((m) => m.slice(0, 6))).toEqual([
      ['RegistryEdge', 'ReplicationLag', 'service', 'replicate', 'stage', 'test'],
      ['RegistryEdge', 'ReplicationLag', 'service', 'replicate', 'stage', 'test'],
    ]);
    expect(byTitle(widgets, /Dead-letter/)[0]!.properties.metrics![0]!.slice(0, 4)).toEqual(['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', names.deadLetterQueue]);
    expect(byTitle(widgets, /Published range table age/)[0]!.properties.metrics![0]!.slice(0, 6)).toEqual(['RegistryEdge', 'TableAgeSeconds', 'service', 'ranges-update', 'stage', 'test']);
    expect(byTitle(widgets, /Quarantined/).flatMap(metricNames)).toEqual(['Quarantined', 'Quarantined']);
  });

  test('one row per region where edge functions run, each searching that region for the edge metrics', () => {
    for (const region of EDGE_REGIONS) {
      const row = widgets.filter((w) => w.properties.title?.startsWith(`${region}: `));
      expect(row.map((w) => w.properties.region)).toEqual([region, region, region]);
      const searches = row.flatMap(metricNames).join('\n');
      for (const metric of ['Decisions', 'BlobChecks', 'VerifyFallbacks', 'OriginRequests', 'OriginFailovers', 'UpstreamFallback', 'TableAgeSeconds', 'RangeRefreshFailures', 'RangeTableSwaps', 'TableGeneration']) {
        expect(searches).toContain(`MetricName="${metric}"`);
      }
    }
    expect(EDGE_REGIONS).toContain('us-east-1');
    expect(EDGE_REGIONS).toContain('ap-southeast-2');
  });

  test('the edge searches name the dimension sets the edge functions write (test/e2e/edge-metrics.test.ts reads them)', () => {
    const body = dashboardBody({ config: testConfig(), names: deployNames(testConfig()), functions: ALL });
    expect(body).toContain(`SEARCH('{RegistryEdge,action,bucketRegion,service,stage} MetricName=\\"Decisions\\" service=\\"edge-viewer-request\\" stage=\\"test\\"', 'Sum', 300)`);
    expect(body).toContain(`{RegistryEdge,cached,result,service,stage} MetricName=\\"BlobChecks\\"`);
    expect(body).toContain(`{RegistryEdge,bucketRegion,service,stage} MetricName=\\"OriginRequests\\" service=\\"edge-origin-request\\"`);
  });

  test('widgets do not overlap and fit the 24-column grid', () => {
    const cells = new Set<string>();
    for (const w of widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });
});

describe('S3 server access logs of the blob buckets', () => {
  test.each(['us-east-1', 'eu-west-1'])('%s: the blob bucket logs into a log bucket of its own region', (region) => {
    const template = regional(region);
    const blob = resource(template, 'BlobBucket');
    expect(blob.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: 'AccessLogBucket' }, LogFilePrefix: 's3-access/' });
    expect(blob.DependsOn).toEqual(['AccessLogBucketPolicy']);
    const logs = resource(template, 'AccessLogBucket');
    expect(logs.Properties.BucketName).toBe(`edge-test-${region}-access-logs`);
    expect(template.Outputs.AccessLogsLocation!.Value).toBe(`s3://edge-test-${region}-access-logs/s3-access/`);
  });

  test('the log bucket: private, no ACLs, SSE-S3, files expire, kept when the stack goes', () => {
    const logs = resource(regional('eu-west-1'), 'AccessLogBucket');
    expect([logs.DeletionPolicy, logs.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    expect(logs.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(logs.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
    expect(logs.Properties.LifecycleConfiguration.Rules).toContainEqual({ Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: S3_ACCESS_LOG_EXPIRE_DAYS });
  });

  test('only S3\'s log delivery may write, only under the prefix, only for this account\'s blob bucket; nothing public', () => {
    const statements: Statement[] = resource(regional('eu-west-1'), 'AccessLogBucketPolicy').Properties.PolicyDocument.Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Sid: 'S3ServerAccessLogDelivery',
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::edge-test-eu-west-1-access-logs/s3-access/*',
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::edge-test-eu-west-1' }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(statements.find((s) => s.Sid === 'DenyInsecureTransport')?.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });

  test('an existing primary bucket is not touched, but its log bucket is there for its owner to point at', () => {
    const template = regional('us-east-1', { buckets: { primaryExisting: true } });
    expect(template.Resources.BlobBucket).toBeUndefined();
    expect(resource(template, 'AccessLogBucket').Properties.BucketName).toBe('edge-test-us-east-1-access-logs');
  });

  test('a bucket prefix too long for the log bucket\'s name is refused, naming the field', () => {
    expect(() => regional('ap-southeast-1', { stage: 'b'.repeat(16), buckets: { prefix: 'a'.repeat(31) } })).toThrow(/buckets\.prefix is too long for the access-log bucket name/);
  });
});

test('cfn-lint finds nothing in the dashboard and access-log resources', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'observability-lint-'));
  try {
    const stacks = [main(), main({ distribution: { additionalMetrics: true } }), regional('us-east-1'), regional('eu-west-1')];
    const files = stacks.map((template, i) => {
      const file = join(dir, `stack-${i}.json`);
      writeFileSync(file, JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', ...template }));
      return file;
    });
    const findings = await lintTemplates(files);
    expect(findings.filter((f) => f.level === 'Error')).toEqual([]);
    expect(findings.filter((f) => /Dashboard|AccessLog|BlobBucket/.test(f.path.join('.')))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
