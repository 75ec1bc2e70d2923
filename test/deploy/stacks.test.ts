/**
 * The stack builders on their own (no osls): what each configuration choice turns into, and what each
 * function may touch. test/deploy/packaged.test.ts checks the templates osls really writes.
 */
import { resolveConfig } from '../../layers/config/schema';
import { mergeConfig } from '../../tools/build';
import { FUNCTIONS } from '../../tools/stacks/functions';
import { DeployConfigError, mainStack, updaterSilenceHours } from '../../tools/stacks/main-stack';
import { regionalStack } from '../../tools/stacks/regional-stack';
import { TEST_CONFIG, testConfig } from '../support/configs';
import { list, resource, roleStatements, s3Grants, type Template, trustedServices } from './template';

const ALL = Object.keys(FUNCTIONS).sort();
const PRIMARY = 'edge-test-us-east-1';
const REPLICAS = ['edge-test-ap-southeast-1', 'edge-test-eu-west-1'];
const blobs = (bucket: string) => `arn:aws:s3:::${bucket}/containers/images/*`;
const RANGES = 'arn:aws:s3:::edge-test-config/ranges/*';

function main(override: Record<string, unknown> = {}, functions = ALL) {
  const stack = mainStack(testConfig(override), functions);
  return { stack, template: stack.resources as unknown as Template };
}

describe('least privilege, function by function', () => {
  const { template } = main();

  test('replicate reads and tags the primary, writes only the replicas\' blob prefix, lists only blob keys', () => {
    const s3 = s3Grants(roleStatements(template, 'ReplicateRole'));
    expect(s3).toEqual({
      's3:GetObject': [blobs(PRIMARY), ...REPLICAS.map(blobs)].sort(),
      's3:GetObjectTagging': [blobs(PRIMARY)],
      's3:PutObjectTagging': [blobs(PRIMARY), ...REPLICAS.map(blobs)].sort(),
      's3:PutObject': REPLICAS.map(blobs),
      's3:AbortMultipartUpload': REPLICAS.map(blobs),
      's3:DeleteObject': REPLICAS.map(blobs),
      's3:ListBucket': [PRIMARY, ...REPLICAS].map((b) => `arn:aws:s3:::${b}`).sort(),
    });
    for (const statement of roleStatements(template, 'ReplicateRole').filter((s) => list(s.Action).includes('s3:ListBucket'))) {
      expect(statement.Condition).toEqual({ StringLike: { 's3:prefix': ['containers/images/*'] } });
    }
    const sqs = roleStatements(template, 'ReplicateRole').filter((s) => list(s.Action).some((a) => a.startsWith('sqs:')));
    expect(sqs).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } })]);
  });

  test('reconcile has the same bucket access as replicate and no queue', () => {
    expect(s3Grants(roleStatements(template, 'ReconcileRole'))).toEqual(s3Grants(roleStatements(template, 'ReplicateRole')));
    expect(roleStatements(template, 'ReconcileRole').flatMap((s) => list(s.Action)).filter((a) => a.startsWith('sqs:'))).toEqual([]);
  });

  test('ranges-update reads and writes only the ranges/ prefix of the config bucket', () => {
    expect(s3Grants(roleStatements(template, 'RangesUpdateRole'))).toEqual({
      's3:GetObject': [RANGES],
      's3:PutObject': [RANGES],
      's3:ListBucket': ['arn:aws:s3:::edge-test-config'],
    });
  });

  test('the viewer reads only the range table; the origin-request function touches no bucket', () => {
    expect(s3Grants(roleStatements(template, 'EdgeViewerRequestRole'))).toEqual({ 's3:GetObject': [RANGES] });
    expect(s3Grants(roleStatements(template, 'EdgeOriginRequestRole'))).toEqual({});
  });

  test.each(ALL)('%s: Allow statements are scoped (no "*" resource, no service-wide action)', (fn) => {
    const role = `${fn.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}Role`;
    for (const statement of roleStatements(template, role)) {
      expect(statement.Effect).toBe('Allow');
      for (const action of list(statement.Action)) expect(action).not.toMatch(/(^\*$|:\*$)/);
      for (const r of list(statement.Resource)) expect(r).not.toBe('*');
    }
  });

  test('each function writes only its own logs; edge replicas in any region, regular functions here', () => {
    const logs = (role: string) => roleStatements(template, role).filter((s) => list(s.Action).some((a) => a.startsWith('logs:')));
    expect(JSON.stringify(logs('ReplicateRole'))).toContain('logs:us-east-1:${AWS::AccountId}:log-group:/aws/lambda/registry-edge-test-replicate:*');
    expect(JSON.stringify(logs('ReplicateRole'))).not.toContain('logs:*');
    const edge = JSON.stringify(logs('EdgeViewerRequestRole'));
    expect(edge).toContain('logs:*:${AWS::AccountId}:log-group:/aws/lambda/us-east-1.registry-edge-test-edge-viewer-request:*');
    expect(edge).not.toContain('origin-request');
  });

  test('edge roles trust Lambda@Edge; the others only Lambda', () => {
    expect(trustedServices(template, 'EdgeViewerRequestRole')).toEqual(['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
    expect(trustedServices(template, 'EdgeOriginRequestRole')).toEqual(['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
    expect(trustedServices(template, 'ReplicateRole')).toEqual(['lambda.amazonaws.com']);
  });

  test('without replicas the copiers get no write access at all', () => {
    const single = main({ buckets: { regions: ['us-east-1'] } }).template;
    const s3 = s3Grants(roleStatements(single, 'ReplicateRole'));
    expect(s3['s3:PutObject']).toBeUndefined();
    expect(s3['s3:GetObject']).toEqual([blobs(PRIMARY)]);
  });
});

describe('functions', () => {
  const { stack } = main();
  const fn = (name: string) => stack.functions[name] as Record<string, any>;

  test('edge functions: no environment, x86_64, the viewer at CloudFront\'s 128 MB / 5 s', () => {
    for (const name of ['edge-viewer-request', 'edge-origin-request', 'edge-origin-response']) {
      expect(fn(name).environment).toBeUndefined();
      expect(fn(name).events).toBeUndefined();
      expect(fn(name).architecture).toBe('x86_64');
    }
    expect([fn('edge-viewer-request').memorySize, fn('edge-viewer-request').timeout]).toEqual([128, 5]);
    expect(stack.edge).toEqual({ 'edge-viewer-request': 'viewer-request', 'edge-origin-request': 'origin-request', 'edge-origin-response': 'origin-response' });
  });

  test('each function ships its own bundle folder and runs with its own role', () => {
    for (const name of ALL) {
      expect(fn(name).package).toEqual({ patterns: [`dist/test/${name}/**`] });
      expect(fn(name).handler).toBe(`dist/test/${name}/index.handler`);
      expect(fn(name).name).toBe(`registry-edge-test-${name}`);
    }
    expect(new Set(ALL.map((name) => fn(name).role)).size).toBe(ALL.length);
  });

  test('triggers come from the configuration', () => {
    const { stack: custom } = main({ ranges: { schedule: 'rate(30 minutes)' }, replication: { reconcileSchedule: 'cron(0 5 * * ? *)' } });
    const events = (name: string) => (custom.functions[name] as { events: unknown[] }).events;
    expect(events('ranges-update')).toEqual([
      { schedule: { rate: ['rate(30 minutes)'], description: expect.any(String) } },
      { sns: 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged' },
    ]);
    expect(events('reconcile')).toEqual([{ schedule: { rate: ['cron(0 5 * * ? *)'], description: expect.any(String) } }]);
    expect(events('replicate')).toEqual([{ s3: { bucket: PRIMARY, event: 's3:ObjectCreated:*', rules: [{ prefix: 'containers/images/' }], existing: true, forceDeploy: true } }]);
    expect(fn('replicate').destinations).toEqual({ onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } });
  });

  test('propagating deletes subscribes to removals too', () => {
    const { stack: deletes } = main({ replication: { propagateDeletes: true } });
    const events = (deletes.functions.replicate as { events: { s3: { event: string } }[] }).events.map((e) => e.s3.event);
    expect(events).toEqual(['s3:ObjectCreated:*', 's3:ObjectRemoved:*']);
  });
});

describe('distribution settings', () => {
  const config = (template: Template) => resource(template, 'Distribution').Properties.DistributionConfig;

  test('no aliases: CloudFront\'s own certificate', () => {
    const distribution = config(main().template);
    expect(distribution.Aliases).toBeUndefined();
    expect(distribution.ViewerCertificate).toEqual({ CloudFrontDefaultCertificate: true });
  });

  test('aliases with an ACM certificate: SNI, TLS 1.2 at least', () => {
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f7e1c52-1111-2222-3333-444455556666';
    const distribution = config(main({ distribution: { aliases: ['registry.example.org'], certificateArn: arn, priceClass: 'PriceClass_200' } }).template);
    expect(distribution.Aliases).toEqual(['registry.example.org']);
    expect(distribution.ViewerCertificate).toEqual({ AcmCertificateArn: arn, SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' });
    expect(distribution.PriceClass).toBe('PriceClass_200');
  });

  test('aliases without a certificate are refused, naming the field', () => {
    expect(() => resolveConfig(mergeConfig(TEST_CONFIG, { distribution: { aliases: ['registry.example.org'] } }), 'x')).toThrow(/distribution\.aliases: aliases need a certificateArn/);
  });

  test('additional CloudFront metrics only when asked for', () => {
    expect(main().template.Resources.DistributionAdditionalMetrics).toBeUndefined();
    expect(resource(main({ distribution: { additionalMetrics: true } }).template, 'DistributionAdditionalMetrics').Properties).toEqual({
      DistributionId: { Ref: 'Distribution' },
      MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } },
    });
  });

  test('the WAF limit comes from the configuration', () => {
    const rule = resource(main({ distribution: { wafRateLimit: 1234 } }).template, 'WebAcl').Properties.Rules[0];
    expect(rule.Statement.RateBasedStatement).toEqual({ Limit: 1234, EvaluationWindowSec: 300, AggregateKeyType: 'IP' });
  });
});

describe('alarms', () => {
  test('an e-mail subscription only when an address is configured', () => {
    expect(main().template.Resources.AlarmEmailSubscription).toBeUndefined();
    expect(resource(main({ alarms: { email: 'oncall@example.org' } }).template, 'AlarmEmailSubscription').Properties).toEqual({ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: 'oncall@example.org' });
  });

  test('quarantined blobs: the sum of what replicate and reconcile report, by their service and stage dimensions', () => {
    const metrics = resource(main().template, 'QuarantinedBlobsAlarm').Properties.Metrics;
    expect(metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: any) => [m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions])).toEqual([
      ['RegistryEdge', 'Quarantined', [{ Name: 'service', Value: 'reconcile' }, { Name: 'stage', Value: 'test' }]],
      ['RegistryEdge', 'Quarantined', [{ Name: 'service', Value: 'replicate' }, { Name: 'stage', Value: 'test' }]],
    ]);
    expect(metrics.at(-1)).toEqual(expect.objectContaining({ Expression: 'FILL(m0, 0) + FILL(m1, 0)', ReturnData: true }));
  });

  test('range table age: the larger of the feed\'s age and the publication\'s, the configured hours, and silence counts as old', () => {
    const alarm = resource(main({ alarms: { tableMaxAgeHours: 12 } }).template, 'RangeTableAgeAlarm').Properties;
    expect([alarm.Threshold, alarm.TreatMissingData]).toEqual([12 * 3600, 'breaching']);
    const stats = alarm.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: any) => [m.MetricStat.Metric.MetricName, m.MetricStat.Stat, m.MetricStat.Metric.Dimensions]);
    const dimensions = [{ Name: 'service', Value: 'ranges-update' }, { Name: 'stage', Value: 'test' }];
    expect(stats).toEqual([['TableAgeSeconds', 'Maximum', dimensions], ['TablePublishedAgeSeconds', 'Maximum', dimensions]]);
    // No FILL: with neither metric reported, the alarm has no data, which counts as breaching (a silent updater).
    expect(alarm.Metrics.at(-1)).toEqual(expect.objectContaining({ Expression: 'MAX([m0, m1])', ReturnData: true }));
  });

  test.each([
    ['rate(1 hour)', 3],
    ['rate(30 minutes)', 3],
    ['rate(6 hours)', 12],
    ['rate(2 days)', 24],
    ['cron(0 * * * ? *)', 24],
  ])('the updater counts as silent after missing two runs of %s (%i h)', (schedule, hours) => {
    expect(updaterSilenceHours(schedule)).toBe(hours);
  });

  test('only the functions that exist get alarms and resources', () => {
    const { template } = main({}, ['edge-origin-request', 'edge-origin-response', 'edge-viewer-request']);
    const ids = Object.keys(template.Resources);
    expect(ids.filter((id) => id.endsWith('Alarm'))).toEqual(['ServerErrorRateAlarm']);
    expect(ids).not.toContain('DeadLetterQueue');
    expect(ids).not.toContain('ReplicateRole');
  });
});

describe('what cannot be deployed is refused before anything is written', () => {
  test('a primary bucket outside us-east-1 (S3 notifies only same-region functions)', () => {
    expect(() => main({ buckets: { primaryRegion: 'eu-west-1' } })).toThrow(DeployConfigError);
    expect(() => main({ buckets: { primaryRegion: 'eu-west-1' } })).toThrow(/buckets\.primaryRegion must be us-east-1/);
  });

  test('the local stack\'s endpoints', () => {
    expect(() => main({ buckets: { apiEndpoint: 'http://127.0.0.1:4566/{bucket}' } })).toThrow(/must be S3 endpoints/);
  });

  test('a function folder nobody described', () => {
    expect(() => main({}, [...ALL, 'mystery'])).toThrow(/functions\/mystery: no deployment entry/);
  });
});

describe('regional stack', () => {
  const template = (region: string, override: Record<string, unknown> = {}) => regionalStack(testConfig(override), region, ALL) as unknown as Template;

  test('the bucket follows <prefix>-<stage>-<region>', () => {
    expect(resource(template('eu-west-1'), 'BlobBucket').Properties.BucketName).toBe('edge-test-eu-west-1');
  });

  test('only the primary bucket grants CloudFront\'s origin access control, for this account\'s distributions', () => {
    const statements = (region: string) => resource(template(region), 'BlobBucketPolicy').Properties.PolicyDocument.Statement as { Sid: string; Condition?: unknown }[];
    expect(statements('eu-west-1').map((s) => s.Sid)).toEqual(['PublicReadBlobs', 'DenyInsecureTransport']);
    const oac = statements('us-east-1').find((s) => s.Sid === 'CloudFrontOriginAccessControl');
    expect(oac?.Condition).toEqual({
      StringEquals: { 'AWS:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'AWS:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*' } },
    });
  });

  test('an existing primary bucket is left alone; the replicas are still created', () => {
    expect(template('us-east-1', { buckets: { primaryExisting: true } }).Resources.BlobBucket).toBeUndefined();
    expect(template('us-east-1', { buckets: { primaryExisting: true } }).Resources.EdgeViewerRequestErrorsAlarm).toBeDefined();
    expect(template('eu-west-1', { buckets: { primaryExisting: true } }).Resources.BlobBucket).toBeDefined();
  });

  test('a region that is not configured is refused, naming the list', () => {
    expect(() => template('sa-east-1')).toThrow(/sa-east-1 is not in buckets\.regions \(us-east-1, eu-west-1, ap-southeast-1\)/);
  });
});
