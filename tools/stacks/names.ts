/**
 * Names and ARNs of everything a stage deploys, derived from its configuration by convention. Stacks never
 * look each other up (`${cf(region):...}` needs credentials even to package, and the regional stacks are
 * deployed before the main one), so every cross-stack reference is a name computed here, in one place.
 */
import type { ResolvedConfig } from '../../layers/config/schema';

/** Lambda@Edge functions must be created in us-east-1, so the main service lives there. */
export const SERVICE_REGION = 'us-east-1';

/** The published IP ranges' change notifications (AWS documents this topic; it lives in us-east-1). */
export const IP_SPACE_CHANGED_TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged';

/** Namespace of the metrics the regular functions emit (CloudWatch Embedded Metric Format). */
export const METRICS_NAMESPACE = 'RegistryEdge';

/** A function folder whose name starts with this is a Lambda@Edge function (tools/build.ts agrees). */
export const isEdgeFunction = (name: string) => name.startsWith('edge-');

export interface BucketRef {
  region: string;
  name: string;
}

export interface DeployNames {
  service: string;
  stage: string;
  /** The regional bucket service: one stack of this name in every bucket region. */
  regionalService: string;
  mainStack: string;
  regionalStack: string;
  primary: BucketRef;
  /** Every bucket region, the primary's included, in configuration order. */
  buckets: BucketRef[];
  replicas: BucketRef[];
  configBucket: string;
  blobPrefix: string;
  /** Key prefix the range updater owns in the config bucket ("ranges/"). */
  rangesPrefix: string;
  deadLetterQueue: string;
  alarmTopic: string;
  /** Where CloudFront writes standard logs, when `distribution.accessLogs` is set; `created`: by the main stack. */
  accessLogs?: { bucket: string; prefix: string; created: boolean };
  /** The deployed name of a function folder: `<service>-<stage>-<folder>`. */
  functionName(fn: string): string;
  /** CloudWatch's FunctionName for a Lambda@Edge replica's metrics and log group, in every region. */
  edgeReplicaName(fn: string): string;
  /** The alarm topic a regional stack creates in `region`. */
  regionalAlarmTopic(region: string): string;
  /** The bucket receiving the S3 server access logs of the blob bucket in `region` (its regional stack creates it). */
  s3AccessLogBucket(region: string): string;
}

/** Key prefix of the blob buckets' S3 server access logs in their log bucket. */
export const S3_ACCESS_LOG_PREFIX = 's3-access/';

export function deployNames(config: ResolvedConfig): DeployNames {
  const { stage } = config.stage;
  const service = config.stage.service;
  const all = config.stage.buckets.regions.map((region) => ({ region, name: config.edge.buckets[region]! }));
  const primary = { region: config.stage.buckets.primaryRegion, name: config.primaryBucket };
  const pointer = config.stage.ranges.pointerKey;
  const rangesPrefix = pointer.includes('/') ? pointer.slice(0, pointer.lastIndexOf('/') + 1) : '';
  const functionName = (fn: string) => `${service}-${stage}-${fn}`;
  const logs = config.stage.distribution.accessLogs;
  return {
    service,
    stage,
    regionalService: `${service}-buckets`,
    mainStack: `${service}-${stage}`,
    regionalStack: `${service}-buckets-${stage}`,
    primary,
    buckets: all,
    replicas: config.replicaBuckets,
    configBucket: config.configBucket,
    blobPrefix: config.stage.buckets.blobPrefix,
    rangesPrefix,
    deadLetterQueue: `${service}-${stage}-replication-dlq`,
    alarmTopic: `${service}-${stage}-alarms`,
    ...(logs ? { accessLogs: { bucket: logs.bucket ?? `${config.stage.buckets.prefix}-${stage}-logs`, prefix: logs.prefix, created: logs.bucket === undefined } } : {}),
    functionName,
    edgeReplicaName: (fn) => `${SERVICE_REGION}.${functionName(fn)}`,
    regionalAlarmTopic: (region) => `${service}-${stage}-alarms-${region}`,
    s3AccessLogBucket: (region) => `${config.stage.buckets.prefix}-${stage}-${region}-access-logs`,
  };
}

export const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
export const objectsArn = (bucket: string, prefix = '') => `arn:aws:s3:::${bucket}/${prefix}*`;
