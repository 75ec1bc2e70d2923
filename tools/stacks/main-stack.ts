/**
 * The main stack of a stage (us-east-1): the functions and everything that is not per region, i.e. the
 * CloudFront distribution with its cache and origin policies, origin access control and WAF web ACL, the
 * private config bucket, the replication dead-letter queue, one IAM role per function and the alarms.
 *
 * serverless.yml pulls `functions` and `resources` from here (through tools/stacks/serverless.cjs); the
 * plugin (tools/stacks/plugin.ts) builds the bundles and attaches the edge functions' versions to the
 * distribution once the framework has created them.
 */
import { bucketUrl } from '../../layers/config/edge';
import type { ResolvedConfig } from '../../layers/config/schema';
import { ORIGIN_ROLE_HEADER } from '../../layers/cloudfront/origin';
import { cachePolicyConfig, customErrorResponses, originRequestPolicyConfig } from './cache-policy';
import { dashboard, dashboardUrl } from './dashboard';
import { alarm, alarmTopic, denyInsecureTransport, getAtt, type Json, logBucket, pascal, policyDocument, ref, type Resources, type Statement } from './cloudformation';
import { type EdgeEventType, FUNCTIONS, logStatements } from './functions';
import { type DeployNames, deployNames, isEdgeFunction, METRICS_NAMESPACE, SERVICE_REGION } from './names';

/** Status codes from the nearest bucket that make CloudFront retry the blob on the primary bucket. */
export const FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];
/** How long the access-log bucket the stack creates keeps files, unless `distribution.accessLogs.expireDays` says. */
export const ACCESS_LOG_EXPIRE_DAYS = 90;
export const DISTRIBUTION = 'Distribution';
export const ORIGIN_GROUP = 'blobs';

export interface MainStack {
  functions: Record<string, Json>;
  resources: { Resources: Resources; Outputs: Record<string, Json> };
  /** Edge function folder -> its CloudFront event (the plugin associates their versions). */
  edge: Record<string, EdgeEventType>;
}

export class DeployConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployConfigError';
  }
}

/** Checks what only matters for a deployment (the local stack may do otherwise). */
export function checkDeployable(config: ResolvedConfig, functions: string[]): void {
  const where = `config/${config.stage.stage}.json`;
  if (config.stage.buckets.primaryRegion !== SERVICE_REGION) {
    // S3 notifies only Lambda functions in the bucket's own region, and the functions live in us-east-1.
    throw new DeployConfigError(`${where}: buckets.primaryRegion must be ${SERVICE_REGION} to deploy (S3 events reach only functions in the bucket's region)`);
  }
  for (const url of [config.stage.buckets.publicEndpoint, config.stage.buckets.apiEndpoint]) {
    if (!new URL(bucketUrl(url, 'bucket', SERVICE_REGION)).hostname.endsWith('.amazonaws.com')) {
      throw new DeployConfigError(`${where}: buckets.publicEndpoint and buckets.apiEndpoint must be S3 endpoints to deploy (got ${url})`);
    }
  }
  const unknown = functions.filter((fn) => !FUNCTIONS[fn]);
  if (unknown.length > 0) {
    throw new DeployConfigError(`functions/${unknown.join(', functions/')}: no deployment entry; add one to tools/stacks/functions.ts (trigger, size, IAM statements)`);
  }
}

function functionRole(names: DeployNames, fn: string, config: ResolvedConfig): Resources {
  const spec = FUNCTIONS[fn]!;
  const edge = spec.edge !== undefined;
  const statements: Statement[] = [...logStatements(names, fn, edge), ...spec.statements(config, names)];
  if (spec.deadLetterQueue) statements.push({ Sid: 'SendToDeadLetterQueue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt('DeadLetterQueue', 'Arn') });
  const services = edge ? ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'] : ['lambda.amazonaws.com'];
  return {
    [`${pascal(fn)}Role`]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `${names.functionName(fn)}: least privilege`,
        AssumeRolePolicyDocument: policyDocument([{ Effect: 'Allow', Principal: { Service: services }, Action: 'sts:AssumeRole' }]),
        Policies: [{ PolicyName: 'least-privilege', PolicyDocument: policyDocument(statements) }],
      },
    },
  };
}

function functionDefinition(config: ResolvedConfig, names: DeployNames, fn: string): Json {
  const spec = FUNCTIONS[fn]!;
  const dir = `dist/${names.stage}/${fn}`;
  const definition: Record<string, Json> = {
    name: names.functionName(fn),
    description: spec.description,
    handler: `${dir}/index.handler`,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role: `${pascal(fn)}Role`,
    package: { patterns: [`${dir}/**`] },
  };
  if (spec.edge) {
    // Lambda@Edge: x86_64 only, no environment (configuration is compiled into the bundle).
    definition.architecture = 'x86_64';
  } else {
    definition.architecture = 'arm64';
    // Configuration is compiled in here too; the bundles carry source maps for readable stack traces.
    definition.environment = { NODE_OPTIONS: '--enable-source-maps' };
    definition.events = spec.events?.(config, names) ?? [];
  }
  if (spec.deadLetterQueue) {
    definition.maximumRetryAttempts = 2;
    definition.destinations = { onFailure: { type: 'sqs', arn: getAtt('DeadLetterQueue', 'Arn') } };
  }
  return definition;
}

function distribution(config: ResolvedConfig, names: DeployNames): Resources {
  const { distribution: settings } = config.stage;
  const primaryDomain = new URL(bucketUrl(config.stage.buckets.apiEndpoint, names.primary.name, names.primary.region)).hostname;
  const s3Origin = (id: string, role: string, oac: boolean): Json => ({
    Id: id,
    DomainName: primaryDomain,
    // Blob prefixes are public, so the "nearest" member needs no signature (origin-request rewrites it to
    // another bucket, which OAC could not sign for anyway); the failover member signs with OAC.
    S3OriginConfig: { OriginAccessIdentity: '' },
    ...(oac ? { OriginAccessControlId: getAtt('OriginAccessControl', 'Id') } : {}),
    OriginCustomHeaders: [{ HeaderName: ORIGIN_ROLE_HEADER, HeaderValue: role }],
    ConnectionAttempts: 2,
    ConnectionTimeout: 5,
  });
  const viewerCertificate: Json = settings.certificateArn
    ? { AcmCertificateArn: settings.certificateArn, SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' }
    : { CloudFrontDefaultCertificate: true };
  const resources: Resources = {
    OriginAccessControl: {
      Type: 'AWS::CloudFront::OriginAccessControl',
      Properties: {
        OriginAccessControlConfig: {
          Name: `${names.mainStack}-primary`,
          Description: `Signs requests to ${names.primary.name}`,
          OriginAccessControlOriginType: 's3',
          SigningBehavior: 'always',
          SigningProtocol: 'sigv4',
        },
      },
    },
    // Blobs are immutable and addressed by digest: cached for a year, keyed by path alone (see
    // tools/stacks/cache-policy.ts for why MinTTL is 0 and 403/404 are not error-cached). The viewer
    // function keeps the query string on the request it forwards, but it never changes which blob is asked
    // for, so it stays out of the key (and is not passed to S3, where ?acl and friends mean other things).
    // No Accept-Encoding either: layers are compressed already and their bytes must match their digest.
    BlobCachePolicy: {
      Type: 'AWS::CloudFront::CachePolicy',
      Properties: {
        CachePolicyConfig: {
          Name: `${names.mainStack}-blobs`,
          Comment: 'Immutable content-addressed blobs: path-only key, a year by Cache-Control',
          ...cachePolicyConfig(),
        },
      },
    },
    // Only the repository header reaches the origin side beyond the key (the fallback's upstream URL needs it).
    BlobOriginRequestPolicy: {
      Type: 'AWS::CloudFront::OriginRequestPolicy',
      Properties: {
        OriginRequestPolicyConfig: {
          Name: `${names.mainStack}-blobs`,
          Comment: 'Forward the repository header to the origin functions, nothing else',
          ...originRequestPolicyConfig(),
        },
      },
    },
    WebAcl: {
      Type: 'AWS::WAFv2::WebACL',
      Properties: {
        Name: names.mainStack,
        Description: `registry-edge ${names.stage}: per-IP rate limit`,
        Scope: 'CLOUDFRONT',
        DefaultAction: { Allow: {} },
        // Registry clients back off on 429 and show an OCI error body.
        CustomResponseBodies: {
          TooManyRequests: {
            ContentType: 'APPLICATION_JSON',
            Content: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'too many requests from this address, retry later', detail: null }] }),
          },
        },
        Rules: [
          {
            Name: 'RateLimitPerIp',
            Priority: 0,
            Statement: { RateBasedStatement: { Limit: settings.wafRateLimit, EvaluationWindowSec: 300, AggregateKeyType: 'IP' } },
            Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'TooManyRequests', ResponseHeaders: [{ Name: 'retry-after', Value: '60' }] } } },
            VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: `${names.mainStack}-rate-limit` },
          },
        ],
        VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: names.mainStack },
      },
    },
    [DISTRIBUTION]: {
      Type: 'AWS::CloudFront::Distribution',
      Properties: {
        DistributionConfig: {
          Enabled: true,
          Comment: `registry-edge ${names.stage}`,
          PriceClass: settings.priceClass,
          HttpVersion: 'http2and3',
          IPV6Enabled: true,
          ...(settings.aliases.length > 0 ? { Aliases: settings.aliases } : {}),
          ...(names.accessLogs ? { Logging: accessLogging(names.accessLogs) } : {}),
          ViewerCertificate: viewerCertificate,
          WebACLId: getAtt('WebAcl', 'Arn'),
          Origins: [s3Origin('nearest', 'nearest', false), s3Origin('primary', 'failover', true)],
          OriginGroups: {
            Quantity: 1,
            Items: [
              {
                Id: ORIGIN_GROUP,
                FailoverCriteria: { StatusCodes: { Quantity: FAILOVER_STATUS_CODES.length, Items: FAILOVER_STATUS_CODES } },
                Members: { Quantity: 2, Items: [{ OriginId: 'nearest' }, { OriginId: 'primary' }] },
              },
            ],
          },
          DefaultCacheBehavior: {
            TargetOriginId: ORIGIN_GROUP,
            ViewerProtocolPolicy: 'https-only',
            // Pulls only; origin groups allow no more.
            AllowedMethods: ['GET', 'HEAD'],
            CachedMethods: ['GET', 'HEAD'],
            Compress: false,
            CachePolicyId: ref('BlobCachePolicy'),
            OriginRequestPolicyId: ref('BlobOriginRequestPolicy'),
            // LambdaFunctionAssociations: added by the plugin, with the versions the framework publishes.
          },
          // A blob missing from both buckets may arrive any minute, and the fallback is decided per request.
          CustomErrorResponses: customErrorResponses(),
        },
      },
    },
  };
  if (names.accessLogs?.created) Object.assign(resources, accessLogBucket(names.accessLogs.bucket, settings.accessLogs?.expireDays ?? ACCESS_LOG_EXPIRE_DAYS));
  if (settings.additionalMetrics) {
    resources.DistributionAdditionalMetrics = {
      Type: 'AWS::CloudFront::MonitoringSubscription',
      Properties: { DistributionId: ref(DISTRIBUTION), MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } } },
    };
  }
  return resources;
}

/**
 * CloudFront standard logging (the "legacy" kind: gzip W3C files in an S3 bucket, what `registry-edge
 * cost-report` reads). The bucket is named by its S3 domain; a bucket the stack creates by GetAtt, so
 * CloudFormation creates it before it enables logging.
 */
function accessLogging(logs: NonNullable<DeployNames['accessLogs']>): Json {
  return { Bucket: logs.created ? getAtt('AccessLogBucket', 'DomainName') : `${logs.bucket}.s3.amazonaws.com`, Prefix: logs.prefix, IncludeCookies: false };
}

function accessLogBucket(bucket: string, expireDays: number): Resources {
  // CloudFront delivers standard logs through an ACL grant to its log-delivery account, so this bucket
  // keeps ACLs enabled; "preferred" makes the files it writes this account's all the same.
  return logBucket('AccessLogBucket', { name: bucket, ownership: 'BucketOwnerPreferred', expireDays });
}

function configBucket(names: DeployNames): Resources {
  return {
    // The range updater's output and anything else the functions read at run time. Private; keep it when
    // the stack goes, so a redeploy finds the tables it published.
    ConfigBucket: {
      Type: 'AWS::S3::Bucket',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: names.configBucket,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        // Versioned, so a bad pointer can be rolled back to the previous one.
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            { Id: 'expire-old-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
            { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
          ],
        },
      },
    },
    ConfigBucketPolicy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: ref('ConfigBucket'), PolicyDocument: policyDocument([denyInsecureTransport(names.configBucket)]) } },
  };
}

/** Hours without a fresh TableAgeSeconds (or TablePublishedAgeSeconds) after which the updater counts as silent: two missed runs, at least 3 h. */
export function updaterSilenceHours(schedule: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule.trim());
  const hours = rate ? (Number(rate[1]) * { minute: 1 / 60, minutes: 1 / 60, hour: 1, hours: 1, day: 24, days: 24 }[rate[2] as 'hour']) : 24;
  return Math.min(24, Math.max(3, Math.ceil(2 * hours)));
}

/**
 * The dimensions of the RegistryEdge metrics a function emits: its handler's Powertools `Metrics` set
 * `serviceName` to the function's folder name and a default `stage` dimension (checked by
 * test/deploy/metrics.test.ts against what the bundled handler really prints).
 */
export const metricDimensions = (names: DeployNames, fn: string): Record<string, Json> => ({ service: fn, stage: names.stage });

function alarms(config: ResolvedConfig, names: DeployNames, functions: string[]): Resources {
  const topic = ref('AlarmTopic');
  const alarmName = (what: string) => `${names.mainStack}-${what}`;
  const resources: Resources = { ...alarmTopic(names.alarmTopic, config.stage.alarms.email) };
  for (const fn of functions.filter((f) => !isEdgeFunction(f))) {
    resources[`${pascal(fn)}ErrorsAlarm`] = alarm(
      alarmName(`${fn}-errors`),
      {
        description: `${names.functionName(fn)} failed at least once in 5 minutes. See docs/operations.md#function-errors`,
        metrics: { namespace: 'AWS/Lambda', metric: 'Errors', dimensions: { FunctionName: names.functionName(fn) } },
        statistic: 'Sum',
        threshold: 0,
      },
      topic,
    );
  }
  if (functions.includes('replicate')) {
    resources.ReplicateLostEventsAlarm = alarm(
      alarmName('replicate-lost-events'),
      {
        description: 'Failed replication events could not be delivered to the dead-letter queue: they are lost until reconcile runs. See docs/operations.md#lost-events',
        metrics: { namespace: 'AWS/Lambda', metric: 'DestinationDeliveryFailures', dimensions: { FunctionName: names.functionName('replicate') } },
        statistic: 'Sum',
        threshold: 0,
      },
      topic,
    );
    resources.DeadLetterQueueAlarm = alarm(
      alarmName('replication-dlq'),
      {
        description: 'Replication events failed after retries and wait in the dead-letter queue. See docs/operations.md#dead-letter-queue',
        metrics: { namespace: 'AWS/SQS', metric: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: getAtt('DeadLetterQueue', 'QueueName') } },
        statistic: 'Maximum',
        threshold: 0,
      },
      topic,
    );
  }
  // Both replicate and reconcile verify before they copy; either may quarantine a blob.
  const verifiers = functions.filter((fn) => fn === 'replicate' || fn === 'reconcile');
  if (verifiers.length > 0) {
    resources.QuarantinedBlobsAlarm = alarm(
      alarmName('quarantined-blobs'),
      {
        description: 'A blob in the primary bucket did not match its digest and was quarantined (tagged, not replicated). See docs/operations.md#quarantined-blobs',
        metrics: verifiers.map((fn) => ({ namespace: METRICS_NAMESPACE, metric: 'Quarantined', dimensions: metricDimensions(names, fn) })),
        statistic: 'Sum',
        threshold: 0,
      },
      topic,
    );
  }
  if (functions.includes('ranges-update')) {
    const silence = updaterSilenceHours(config.stage.ranges.schedule);
    resources.RangeTableAgeAlarm = alarm(
      alarmName('range-table-age'),
      {
        description: `The published IP range table is older than ${config.stage.alarms.tableMaxAgeHours} h (since its AWS feed was published, or since it was published), or the updater reported nothing for ${silence} h. See docs/operations.md#range-table-age`,
        // Both ages, unclamped: a table whose feed claims a time in the future reads below zero by the first
        // and still grows by the second, so it cannot silence the alarm.
        metrics: ['TableAgeSeconds', 'TablePublishedAgeSeconds'].map((metric) => ({ namespace: METRICS_NAMESPACE, metric, dimensions: metricDimensions(names, 'ranges-update') })),
        combine: 'max',
        statistic: 'Maximum',
        threshold: config.stage.alarms.tableMaxAgeHours * 3600,
        periodSeconds: 3600,
        evaluationPeriods: silence,
        datapointsToAlarm: silence,
        // No data means the updater is not running: that is the problem this alarm is for.
        missing: 'breaching',
      },
      topic,
    );
  }
  resources.ServerErrorRateAlarm = alarm(
    alarmName('5xx-rate'),
    {
      description: `More than ${config.stage.alarms.serverErrorRatePercent}% of requests got a 5xx (edge function failures in any region show up here too). See docs/operations.md#5xx-rate`,
      metrics: { namespace: 'AWS/CloudFront', metric: '5xxErrorRate', dimensions: { DistributionId: ref(DISTRIBUTION), Region: 'Global' } },
      statistic: 'Average',
      threshold: config.stage.alarms.serverErrorRatePercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    },
    topic,
  );
  return resources;
}

export function mainStack(config: ResolvedConfig, functions: string[]): MainStack {
  checkDeployable(config, functions);
  const names = deployNames(config);
  const definitions: Record<string, Json> = {};
  const edge: Record<string, EdgeEventType> = {};
  let resources: Resources = {};
  for (const fn of functions) {
    definitions[fn] = functionDefinition(config, names, fn);
    resources = { ...resources, ...functionRole(names, fn, config) };
    const type = FUNCTIONS[fn]!.edge;
    if (type) edge[fn] = type;
  }
  resources = {
    ...resources,
    ...configBucket(names),
    ...distribution(config, names),
    ...alarms(config, names, functions),
    ...dashboard({ config, names, functions }),
  };
  if (functions.some((fn) => FUNCTIONS[fn]!.deadLetterQueue)) {
    resources.DeadLetterQueue = {
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: names.deadLetterQueue, MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true },
    };
  }
  const outputs: Record<string, Json> = {
    DistributionId: { Description: 'CloudFront distribution', Value: ref(DISTRIBUTION) },
    DistributionDomainName: { Description: 'Point DNS (aliases) here; registry clients pull from https://<this>/v2/...', Value: getAtt(DISTRIBUTION, 'DomainName') },
    ConfigBucketName: { Value: ref('ConfigBucket') },
    AlarmTopicArn: { Description: 'Subscribe on-call tools here', Value: ref('AlarmTopic') },
    WebAclArn: { Value: getAtt('WebAcl', 'Arn') },
    DashboardUrl: { Description: 'CloudWatch dashboard: traffic, errors, replication, and the edge by region', Value: dashboardUrl(names) },
  };
  if (resources.DeadLetterQueue) outputs.DeadLetterQueueUrl = { Value: ref('DeadLetterQueue') };
  if (names.accessLogs) {
    outputs.AccessLogsLocation = { Description: 'CloudFront standard logs (registry-edge cost-report reads them)', Value: `s3://${names.accessLogs.bucket}/${names.accessLogs.prefix}` };
  }
  return { functions: definitions, resources: { Resources: resources, Outputs: outputs }, edge };
}
