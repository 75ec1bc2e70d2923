/**
 * `npm run package`, for real: osls packages every stack of every deployable stage (offline, with no AWS
 * credentials in its environment) and these tests read the CloudFormation it wrote, the zips beside it, and
 * what cfn-lint says about each template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFunctions, loadStageConfig } from '../../tools/build';
import { EDGE_REGIONS } from '../../tools/stacks/dashboard';
import { FAILOVER_STATUS_CODES } from '../../tools/stacks/main-stack';
import { deployNames, isEdgeFunction } from '../../tools/stacks/names';
import { deployableStages } from '../../tools/stacks/variables';
import { lintTemplates, type PackagedStack, packageAll, type PackageResult } from '../../tools/package';
import { list, ofType, only, resource, roleStatements, s3Grants, type Statement, type Template, trustedServices } from './template';
import { zipEntries } from './zip';

const EDGE_ZIP_LIMIT = 1024 * 1024;
const FUNCTIONS = listFunctions();
const STAGES = deployableStages();
let outDir: string;
let result: PackageResult;
const templates = new Map<PackagedStack, Template>();

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'registry-edge-package-'));
  result = await packageAll({ outDir });
  for (const stack of result.stacks) templates.set(stack, JSON.parse(readFileSync(stack.template, 'utf8')));
}, 600_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const stackOf = (stage: string, name: string) => {
  const stack = result.stacks.find((s) => s.stage === stage && s.name === name);
  if (!stack) throw new Error(`no packaged stack ${stage}/${name}`);
  return { stack, template: templates.get(stack)! };
};

test('the deployable stages are sandbox and prod', () => {
  expect(STAGES).toEqual(['prod', 'sandbox']);
});

test('every stage has its main stack, one regional stack per configured region and its ci-role stack', () => {
  for (const stage of STAGES) {
    const regions = loadStageConfig({ stage }).stage.buckets.regions;
    expect(result.stacks.filter((s) => s.stage === stage).map((s) => s.name)).toEqual(['main', ...regions.map((r) => `regional-${r}`), 'ci-role']);
  }
});

// Warnings too: moto's CloudFormation (test/e2e/deploy.test.ts) runs cfn-lint and refuses a template with any.
test('cfn-lint finds no error or warning in any template', async () => {
  const findings = await lintTemplates(result.stacks.map((s) => s.template));
  expect(findings.filter((f) => f.level !== 'Informational')).toEqual([]);
}, 120_000);

describe.each(STAGES)('main stack, %s', (stage) => {
  const config = () => loadStageConfig({ stage });
  const names = () => deployNames(config());
  const main = () => stackOf(stage, 'main').template;
  // The framework's logical IDs: "edge-viewer-request" -> "EdgeDashviewerDashrequestLambdaFunction".
  const lambdaId = (fn: string) => `${fn.replaceAll('-', 'Dash').replace(/^./, (c) => c.toUpperCase())}LambdaFunction`;
  const lambda = (fn: string) => resource(main(), lambdaId(fn));

  test('every function folder is a Lambda on nodejs22.x with a role of its own', () => {
    const lambdas = ofType(main(), 'AWS::Lambda::Function').filter(([, r]) => !String(r.Properties.FunctionName).includes('custom-resource'));
    expect(lambdas.map(([, r]) => r.Properties.FunctionName).sort()).toEqual(FUNCTIONS.map((fn) => `registry-edge-${stage}-${fn}`).sort());
    for (const [, r] of ofType(main(), 'AWS::Lambda::Function')) expect(r.Properties.Runtime).toBe('nodejs22.x');
    const roles = FUNCTIONS.map((fn) => lambda(fn).Properties.Role['Fn::GetAtt'][0]);
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    expect(main().Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  test('one zip per function, holding only its own bundle; the viewer\'s carries its range table', () => {
    const { stack } = stackOf(stage, 'main');
    for (const fn of FUNCTIONS) {
      const entries = zipEntries(join(stack.dir, `${fn}.zip`)).map((e) => e.name);
      expect(entries.every((name) => name.startsWith(`dist/${stage}/${fn}/`))).toBe(true);
      expect(entries).toContain(`dist/${stage}/${fn}/index.js`);
      expect(lambda(fn).Properties.Handler).toBe(`dist/${stage}/${fn}/index.handler`);
    }
    expect(zipEntries(join(stack.dir, 'edge-viewer-request.zip')).map((e) => e.name).sort()).toEqual([`dist/${stage}/edge-viewer-request/index.js`, `dist/${stage}/edge-viewer-request/ranges.bin`]);
  });

  test('edge zips are under the 1 MiB Lambda@Edge limit', () => {
    const { stack } = stackOf(stage, 'main');
    const edge = FUNCTIONS.filter(isEdgeFunction);
    expect(edge.length).toBeGreaterThanOrEqual(2);
    for (const fn of edge) {
      expect(stack.zips[fn]).toBeGreaterThan(0);
      expect(stack.zips[fn]).toBeLessThan(EDGE_ZIP_LIMIT);
    }
  });

  test('edge functions: no environment, the viewer at 128 MB / 5 s, kept when the stack goes', () => {
    for (const fn of FUNCTIONS.filter(isEdgeFunction)) {
      expect(lambda(fn).Properties.Environment).toBeUndefined();
      expect(lambda(fn).Properties.Architectures).toEqual(['x86_64']);
      expect([lambda(fn).DeletionPolicy, lambda(fn).UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    }
    expect([lambda('edge-viewer-request').Properties.MemorySize, lambda('edge-viewer-request').Properties.Timeout]).toEqual([128, 5]);
  });

  test('the distribution runs each edge function through a published version of it', () => {
    const associations = resource(main(), 'Distribution').Properties.DistributionConfig.DefaultCacheBehavior.LambdaFunctionAssociations as { EventType: string; LambdaFunctionARN: { Ref: string } }[];
    expect(associations.map((a) => a.EventType).sort()).toEqual(['origin-request', 'origin-response', 'viewer-request']);
    for (const association of associations) {
      const version = resource(main(), association.LambdaFunctionARN.Ref);
      expect(version.Type).toBe('AWS::Lambda::Version');
      expect(version.Properties.FunctionName).toEqual({ Ref: lambdaId(`edge-${association.EventType}`) });
    }
  });

  test('HTTPS only, pulls only, no compression, cache and origin policies on the origin group', () => {
    const distribution = resource(main(), 'Distribution').Properties.DistributionConfig;
    const behaviour = distribution.DefaultCacheBehavior;
    expect(behaviour).toEqual(
      expect.objectContaining({
        TargetOriginId: 'blobs',
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD'],
        Compress: false,
        CachePolicyId: { Ref: 'BlobCachePolicy' },
        OriginRequestPolicyId: { Ref: 'BlobOriginRequestPolicy' },
      }),
    );
    expect(distribution.PriceClass).toBe(config().stage.distribution.priceClass);
    expect(distribution.HttpVersion).toBe('http2and3');
  });

  test('origin group: the "nearest" origin first, failing over to the primary bucket on 403/404/5xx', () => {
    const distribution = resource(main(), 'Distribution').Properties.DistributionConfig;
    const group = distribution.OriginGroups.Items[0];
    expect(group.FailoverCriteria.StatusCodes.Items).toEqual(FAILOVER_STATUS_CODES);
    expect(FAILOVER_STATUS_CODES).toEqual([403, 404, 500, 502, 503, 504]);
    expect(group.Members.Items.map((m: { OriginId: string }) => m.OriginId)).toEqual(['nearest', 'primary']);
    const origin = (id: string) => distribution.Origins.find((o: { Id: string }) => o.Id === id);
    const domain = `${names().primary.name}.s3.us-east-1.amazonaws.com`;
    expect(origin('nearest')).toEqual(expect.objectContaining({ DomainName: domain, OriginCustomHeaders: [{ HeaderName: 'x-registry-edge-origin', HeaderValue: 'nearest' }] }));
    expect(origin('nearest').OriginAccessControlId).toBeUndefined();
    expect(origin('primary')).toEqual(
      expect.objectContaining({
        DomainName: domain,
        OriginAccessControlId: { 'Fn::GetAtt': ['OriginAccessControl', 'Id'] },
        OriginCustomHeaders: [{ HeaderName: 'x-registry-edge-origin', HeaderValue: 'failover' }],
      }),
    );
  });

  test('origin access control signs every request to S3 with SigV4', () => {
    expect(only(main(), 'AWS::CloudFront::OriginAccessControl').Properties.OriginAccessControlConfig).toEqual(
      expect.objectContaining({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' }),
    );
  });

  test('blobs are cached by path alone, for a year by Cache-Control; MinTTL 0 so no-store answers stay uncached', () => {
    const cache = resource(main(), 'BlobCachePolicy').Properties.CachePolicyConfig;
    // With MinTTL above 0 CloudFront would keep even the fallback 307 (no-store) that long.
    expect(cache.MinTTL).toBe(0);
    expect(cache.DefaultTTL).toBeGreaterThanOrEqual(365 * 24 * 3600);
    expect(cache.MaxTTL).toBeGreaterThanOrEqual(cache.DefaultTTL);
    expect(cache.ParametersInCacheKeyAndForwardedToOrigin).toEqual({
      EnableAcceptEncodingGzip: false,
      EnableAcceptEncodingBrotli: false,
      HeadersConfig: { HeaderBehavior: 'none' },
      CookiesConfig: { CookieBehavior: 'none' },
      QueryStringsConfig: { QueryStringBehavior: 'none' },
    });
  });

  test('the repository header reaches the origin side (its functions) but not the cache key; nothing else does', () => {
    const origin = resource(main(), 'BlobOriginRequestPolicy').Properties.OriginRequestPolicyConfig;
    expect([origin.HeadersConfig, origin.CookiesConfig, origin.QueryStringsConfig]).toEqual([
      { HeaderBehavior: 'whitelist', Headers: ['x-registry-edge-repository'] },
      { CookieBehavior: 'none' },
      { QueryStringBehavior: 'none' },
    ]);
  });

  test('403/404 and 5xx are not error-cached: the origin-response function decides each miss afresh', () => {
    const errors = resource(main(), 'Distribution').Properties.DistributionConfig.CustomErrorResponses as { ErrorCode: number; ErrorCachingMinTTL: number; ResponseCode?: unknown }[];
    expect(errors.map((e) => [e.ErrorCode, e.ErrorCachingMinTTL]).sort()).toEqual([
      [403, 0],
      [404, 0],
      [500, 0],
      [502, 0],
      [503, 0],
      [504, 0],
    ]);
    expect(errors.every((e) => e.ResponseCode === undefined)).toBe(true); // the function's answer is sent, not a replacement page
  });

  test('the origin-response function sits on the blob behaviour, at 128 MB / 5 s, with no permissions beyond its logs', () => {
    const associations = resource(main(), 'Distribution').Properties.DistributionConfig.DefaultCacheBehavior.LambdaFunctionAssociations as { EventType: string; LambdaFunctionARN: { Ref: string }; IncludeBody: boolean }[];
    const association = associations.find((a) => a.EventType === 'origin-response')!;
    expect(resource(main(), association.LambdaFunctionARN.Ref).Properties.FunctionName).toEqual({ Ref: lambdaId('edge-origin-response') });
    expect(association.IncludeBody).toBe(false);
    expect([lambda('edge-origin-response').Properties.MemorySize, lambda('edge-origin-response').Properties.Timeout]).toEqual([128, 5]);
    const role = lambda('edge-origin-response').Properties.Role['Fn::GetAtt'][0];
    const actions = roleStatements(main(), role).flatMap((st: Statement) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
    expect(actions.every((a: string) => a.startsWith('logs:'))).toBe(true);
  });

  test('a WAF web ACL blocks an address over the configured rate, with an OCI 429', () => {
    const acl = only(main(), 'AWS::WAFv2::WebACL').Properties;
    expect(acl.Scope).toBe('CLOUDFRONT');
    const rule = acl.Rules.find((r: { Statement: { RateBasedStatement?: unknown } }) => r.Statement.RateBasedStatement);
    expect(rule.Statement.RateBasedStatement).toEqual(expect.objectContaining({ Limit: config().stage.distribution.wafRateLimit, AggregateKeyType: 'IP' }));
    expect(rule.Action.Block.CustomResponse.ResponseCode).toBe(429);
    expect(JSON.parse(acl.CustomResponseBodies.TooManyRequests.Content).errors[0].code).toBe('TOOMANYREQUESTS');
    expect(resource(main(), 'Distribution').Properties.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': ['WebAcl', 'Arn'] });
  });

  test('IAM: only the copiers write blobs, only to the replicas; only the updater writes the range table', () => {
    const n = names();
    const replicaBlobs = n.replicas.map((b) => `arn:aws:s3:::${b.name}/${n.blobPrefix}*`).sort();
    const ranges = `arn:aws:s3:::${n.configBucket}/${n.rangesPrefix}*`;
    const roleOf = (fn: string) => lambda(fn).Properties.Role['Fn::GetAtt'][0] as string;
    const writes = (fn: string) => {
      const s3 = s3Grants(roleStatements(main(), roleOf(fn)));
      return [...new Set(['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'].flatMap((a) => s3[a] ?? []))].sort();
    };
    expect(writes('replicate')).toEqual(replicaBlobs);
    expect(writes('reconcile')).toEqual(replicaBlobs);
    expect(writes('ranges-update')).toEqual([ranges]);
    expect(writes('edge-viewer-request')).toEqual([]);
    expect(writes('edge-origin-request')).toEqual([]);
    expect(s3Grants(roleStatements(main(), roleOf('edge-viewer-request')))).toEqual({ 's3:GetObject': [ranges] });
    expect(trustedServices(main(), roleOf('edge-viewer-request'))).toEqual(['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
    expect(trustedServices(main(), roleOf('replicate'))).toEqual(['lambda.amazonaws.com']);
    // No role of ours grants anything on "*".
    for (const fn of FUNCTIONS) for (const s of roleStatements(main(), roleOf(fn))) expect(list(s.Resource)).not.toContain('*');
  });

  test('the replicator listens to the primary bucket\'s blob prefix and sends what still fails to the DLQ', () => {
    const n = names();
    const notification = only(main(), 'Custom::S3').Properties;
    expect(notification.BucketName).toBe(n.primary.name);
    expect(notification.FunctionName).toBe(`registry-edge-${stage}-replicate`);
    expect(notification.BucketConfigs).toEqual([{ Event: 's3:ObjectCreated:*', Rules: [{ Prefix: n.blobPrefix }] }]);
    // Re-applied on every deploy: a change to the bucket elsewhere cannot leave it unsubscribed.
    expect(typeof notification.ForceDeploy).toBe('number');
    const invoke = only(main(), 'AWS::Lambda::EventInvokeConfig').Properties;
    expect(invoke.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] });
    expect(invoke.MaximumRetryAttempts).toBe(2);
  });

  test('the updater runs on its schedule and on AmazonIpSpaceChanged; reconcile on its own', () => {
    const schedules = ofType(main(), 'AWS::Events::Rule').map(([, r]) => [r.Properties.Targets[0].Arn['Fn::GetAtt'][0], r.Properties.ScheduleExpression]);
    expect(schedules.sort()).toEqual(
      [
        [lambdaId('ranges-update'), config().stage.ranges.schedule],
        [lambdaId('reconcile'), config().stage.replication.reconcileSchedule],
      ].sort(),
    );
    const subscription = only(main(), 'AWS::SNS::Subscription').Properties;
    expect(subscription.TopicArn).toBe('arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged');
    expect(subscription.Protocol).toBe('lambda');
  });

  test('the config bucket is private', () => {
    const bucket = resource(main(), 'ConfigBucket');
    expect(bucket.Properties.BucketName).toBe(names().configBucket);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  });

  test('alarms: each regular function\'s errors, DLQ depth, quarantined blobs, range table age, 5xx rate', () => {
    const alarms = ofType(main(), 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    const watched = alarms.map((a) => a.MetricName ?? a.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName)[0]);
    expect(watched).toEqual(expect.arrayContaining(['Errors', 'ApproximateNumberOfMessagesVisible', 'Quarantined', 'TableAgeSeconds', '5xxErrorRate']));
    const errorsFor = alarms.filter((a) => a.MetricName === 'Errors').map((a) => a.Dimensions[0].Value);
    expect(errorsFor.sort()).toEqual(FUNCTIONS.filter((fn) => !isEdgeFunction(fn)).map((fn) => `registry-edge-${stage}-${fn}`).sort());
    const fiveXx = alarms.find((a) => a.MetricName === '5xxErrorRate');
    expect(fiveXx?.Dimensions).toEqual([{ Name: 'DistributionId', Value: { Ref: 'Distribution' } }, { Name: 'Region', Value: 'Global' }]);
    const dlq = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(dlq?.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }]);
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
  });
});

describe.each(STAGES.flatMap((stage) => loadStageConfig({ stage }).stage.buckets.regions.map((region) => [stage, region] as const)))('regional stack, %s %s', (stage, region) => {
  const template = () => stackOf(stage, `regional-${region}`).template;
  const names = () => deployNames(loadStageConfig({ stage }));

  test('its bucket follows <prefix>-<stage>-<region>', () => {
    const prefix = loadStageConfig({ stage }).stage.buckets.prefix;
    expect(resource(template(), 'BlobBucket').Properties.BucketName).toBe(`${prefix}-${stage}-${region}`);
  });

  test('anyone may GET a blob; nothing else is public, nothing is listed', () => {
    const bucket = resource(template(), 'BlobBucket').Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const statements: Statement[] = resource(template(), 'BlobBucketPolicy').Properties.PolicyDocument.Statement;
    const publicAllows = statements.filter((s) => s.Effect === 'Allow' && s.Principal === '*');
    expect(publicAllows.map((s) => [s.Action, s.Resource])).toEqual([['s3:GetObject', `arn:aws:s3:::${names().buckets.find((b) => b.region === region)!.name}/containers/images/*`]]);
    expect(statements.flatMap((s) => (s.Effect === 'Allow' ? list(s.Action) : []))).not.toContain('s3:ListBucket');
    expect(statements.find((s) => s.Sid === 'DenyInsecureTransport')?.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });

  test('incomplete multipart uploads are aborted', () => {
    const rules = resource(template(), 'BlobBucket').Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }));
  });

  test('alarms on the edge replicas that run in this region', () => {
    const alarms = ofType(template(), 'AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.MetricName, r.Properties.Dimensions[0].Value]);
    const expected = FUNCTIONS.filter(isEdgeFunction).flatMap((fn) => ['Errors', 'Throttles'].map((m) => [m, `us-east-1.registry-edge-${stage}-${fn}`]));
    expect(alarms.sort()).toEqual(expected.sort());
  });
});

// The dashboard and the blob buckets' access logs, as osls packaged them (test/deploy/observability.test.ts
// checks the builders in detail).
describe.each(STAGES)('observability, %s', (stage) => {
  test('the main stack has the stage\'s dashboard, over its distribution, with a row per edge region', () => {
    const dashboard = only(stackOf(stage, 'main').template, 'AWS::CloudWatch::Dashboard').Properties;
    expect(dashboard.DashboardName).toBe(`registry-edge-${stage}`);
    const [body, variables] = dashboard.DashboardBody['Fn::Sub'] as [string, Record<string, unknown>];
    expect(variables).toEqual({ Distribution: { Ref: 'Distribution' } });
    const widgets = JSON.parse(body).widgets as { properties: { region?: string } }[];
    const regions = new Set(widgets.map((w) => w.properties.region).filter(Boolean));
    expect(regions).toEqual(new Set(EDGE_REGIONS));
  });

  test.each(loadStageConfig({ stage }).stage.buckets.regions)('regional stack %s: its blob bucket logs into its own private access-log bucket', (region) => {
    const template = stackOf(stage, `regional-${region}`).template;
    const logBucket = `registry-edge-${stage}-${region}-access-logs`;
    expect(resource(template, 'BlobBucket').Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: 'AccessLogBucket' }, LogFilePrefix: 's3-access/' });
    expect(resource(template, 'AccessLogBucket').Properties.BucketName).toBe(logBucket);
    expect(resource(template, 'AccessLogBucket').Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const statements: Statement[] = resource(template, 'AccessLogBucketPolicy').Properties.PolicyDocument.Statement;
    expect(statements.filter((s) => s.Effect === 'Allow').map((s) => [s.Principal, s.Action, s.Resource])).toEqual([[{ Service: 'logging.s3.amazonaws.com' }, 's3:PutObject', `arn:aws:s3:::${logBucket}/s3-access/*`]]);
  });
});
