/**
 * The little CloudFormation vocabulary the stack builders share: intrinsic functions, IAM documents and
 * alarms. Plain objects; osls merges them into the template it packages.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Resource = { Type: string; Properties?: Record<string, Json>; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string; Condition?: string };
export type Resources = Record<string, Resource>;

/** Days after which S3 discards the parts of a multipart upload nobody completed (an interrupted copy). */
export const ABORT_INCOMPLETE_UPLOADS_DAYS = 1;

export const ref = (logicalId: string): Json => ({ Ref: logicalId });
export const getAtt = (logicalId: string, attribute: string): Json => ({ 'Fn::GetAtt': [logicalId, attribute] });
export const sub = (template: string): Json => ({ 'Fn::Sub': template });

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Json;
  Action: string | string[];
  /** Absent only in trust policies. */
  Resource?: Json;
  Condition?: Json;
}

export const policyDocument = (statements: Statement[]): Json => ({ Version: '2012-10-17', Statement: statements as unknown as Json[] });

/** "edge-viewer-request" -> "EdgeViewerRequest" (logical IDs of the resources we name ourselves). */
export const pascal = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

export interface MetricRef {
  namespace: string;
  metric: string;
  dimensions: Record<string, Json>;
}

export interface AlarmSpec {
  description: string;
  /** One metric, or several whose values are added (missing points count as 0), or with `combine: 'max'` the largest. */
  metrics: MetricRef | MetricRef[];
  /**
   * How several metrics make one value: `sum` (default; a missing point counts as 0) or `max` (the largest
   * of those present; none present is missing data, which `missing` then judges).
   */
  combine?: 'sum' | 'max';
  statistic: 'Sum' | 'Average' | 'Maximum';
  threshold: number;
  periodSeconds?: number;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
  /** What no data means: most metrics here are sparse (no errors, no data), so by default "fine". */
  missing?: 'notBreaching' | 'breaching';
}

const dimensionList = (dimensions: Record<string, Json>): Json => Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));

/** An alarm that notifies `topic` (a Ref or an ARN) on ALARM and OK. Threshold: value > threshold. */
export function alarm(name: Json, spec: AlarmSpec, topic: Json): Resource {
  const evaluationPeriods = spec.evaluationPeriods ?? 1;
  const period = spec.periodSeconds ?? 300;
  let metric: Record<string, Json>;
  if (Array.isArray(spec.metrics)) {
    const parts = spec.metrics.map((m, i) => ({
      Id: `m${i}`,
      ReturnData: false,
      MetricStat: { Metric: { Namespace: m.namespace, MetricName: m.metric, Dimensions: dimensionList(m.dimensions) }, Period: period, Stat: spec.statistic },
    }));
    const total =
      spec.combine === 'max'
        ? { Id: 'total', Label: `MAX(${spec.metrics.map((m) => m.metric).join(', ')})`, ReturnData: true, Expression: `MAX([${parts.map((p) => p.Id).join(', ')}])` }
        : { Id: 'total', Label: spec.metrics.map((m) => m.metric).join(' + '), ReturnData: true, Expression: parts.map((p) => `FILL(${p.Id}, 0)`).join(' + ') };
    metric = { Metrics: [...parts, total] };
  } else {
    metric = { Namespace: spec.metrics.namespace, MetricName: spec.metrics.metric, Dimensions: dimensionList(spec.metrics.dimensions), Statistic: spec.statistic, Period: period };
  }
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: spec.description,
      ...metric,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: spec.datapointsToAlarm ?? evaluationPeriods,
      Threshold: spec.threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: spec.missing ?? 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    },
  };
}

/** The alarm topic of a stack, and an e-mail subscription to it when an address is configured. */
export function alarmTopic(topicName: string, email: string | undefined): Resources {
  const resources: Resources = { AlarmTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: topicName, DisplayName: topicName } } };
  if (email) resources.AlarmEmailSubscription = { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: ref('AlarmTopic'), Protocol: 'email', Endpoint: email } };
  return resources;
}

/** Deny every request to `bucket` that does not use TLS. */
export function denyInsecureTransport(bucket: string): Statement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

export interface LogBucketSpec {
  name: string;
  /** BucketOwnerEnforced (ACLs off: delivery granted by the policy) or BucketOwnerPreferred (delivery by an ACL grant). */
  ownership: 'BucketOwnerEnforced' | 'BucketOwnerPreferred';
  expireDays: number;
  /** Statements beside the TLS-only one (e.g. the delivering service's grant). */
  statements?: Statement[];
  tags?: { Key: string; Value: string }[];
}

/**
 * A bucket that receives logs, and its policy, as the resources `<id>` and `<id>Policy`. Private, SSE-S3
 * (neither CloudFront nor S3 server access logging can deliver to a bucket whose default encryption is
 * SSE-KMS), its files expire, and it is kept when the stack goes (the logs are the record of what was
 * served and what it cost).
 */
export function logBucket(id: string, spec: LogBucketSpec): Resources {
  return {
    [id]: {
      Type: 'AWS::S3::Bucket',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: spec.name,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: spec.ownership }] },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: {
          Rules: [
            { Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: spec.expireDays },
            { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS } },
          ],
        },
        ...(spec.tags ? { Tags: spec.tags } : {}),
      },
    },
    [`${id}Policy`]: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: { Bucket: ref(id), PolicyDocument: policyDocument([...(spec.statements ?? []), denyInsecureTransport(spec.name)]) },
    },
  };
}
