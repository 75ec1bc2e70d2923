/**
 * The regional stack of a stage, deployed once in every bucket region (regional/serverless.yml):
 * the region's blob bucket `<prefix>-<stage>-<region>` (anyone may GET a blob, nothing else is public,
 * nothing is listed, stale multipart uploads are aborted), and alarms on the Lambda@Edge replicas that run
 * in this region (their metrics exist only here, and an alarm can only watch its own region's metrics).
 */
import type { ResolvedConfig } from '../../layers/config/schema';
import { ABORT_INCOMPLETE_UPLOADS_DAYS, alarm, alarmTopic, denyInsecureTransport, type Json, logBucket, pascal, policyDocument, ref, type Resources, type Statement, sub } from './cloudformation';
import { FUNCTIONS } from './functions';
import { DeployConfigError } from './main-stack';
import { bucketArn, deployNames, isEdgeFunction, objectsArn, S3_ACCESS_LOG_PREFIX } from './names';

export interface RegionalStack {
  Resources: Resources;
  Outputs: Record<string, Json>;
}

/** Days the blob buckets' S3 server access logs are kept. */
export const S3_ACCESS_LOG_EXPIRE_DAYS = 90;

/**
 * The bucket that receives the blob bucket's S3 server access logs: a client redirected to a bucket
 * downloads from S3 directly, so these logs are the only record of those bytes (CloudFront never sees
 * them). Private; ACLs off, so S3's log delivery is granted by the bucket policy (the logging service
 * principal, only for this account's blob bucket); SSE-S3 (server access logging cannot write to a bucket
 * whose default encryption is SSE-KMS); the files expire; kept when the stack goes.
 */
function accessLogBucket(name: string, blobBucket: string): Resources {
  return logBucket('AccessLogBucket', {
    name,
    ownership: 'BucketOwnerEnforced',
    expireDays: S3_ACCESS_LOG_EXPIRE_DAYS,
    statements: [
      {
        Sid: 'S3ServerAccessLogDelivery',
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: objectsArn(name, S3_ACCESS_LOG_PREFIX),
        Condition: { ArnLike: { 'aws:SourceArn': bucketArn(blobBucket) }, StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
      },
    ],
    tags: [{ Key: 'registry-edge:role', Value: 'access-logs' }],
  });
}

export function regionalStack(config: ResolvedConfig, region: string, functions: string[]): RegionalStack {
  const names = deployNames(config);
  const bucket = names.buckets.find((b) => b.region === region);
  if (!bucket) {
    throw new DeployConfigError(`config/${names.stage}.json: ${region} is not in buckets.regions (${names.buckets.map((b) => b.region).join(', ')}); add it there first`);
  }
  const isPrimary = region === names.primary.region;
  const logBucket = names.s3AccessLogBucket(region);
  if (logBucket.length > 63) throw new DeployConfigError(`config/${names.stage}.json: buckets.prefix is too long for the access-log bucket name "${logBucket}" (S3 allows 63 characters)`);
  const resources: Resources = { ...alarmTopic(names.regionalAlarmTopic(region), config.stage.alarms.email), ...accessLogBucket(logBucket, bucket.name) };
  const outputs: Record<string, Json> = {
    BucketName: { Value: bucket.name },
    AlarmTopicArn: { Value: ref('AlarmTopic') },
    AccessLogsLocation: { Description: 'S3 server access logs of the blob bucket (downloads redirected to it)', Value: `s3://${logBucket}/${S3_ACCESS_LOG_PREFIX}` },
  };

  // An existing primary bucket (the image promoter's) stays the promoter's: we add nothing to it here;
  // docs/operations.md gives the two policy statements its owner adds.
  if (!(isPrimary && config.stage.buckets.primaryExisting)) {
    const statements: Statement[] = [
      { Sid: 'PublicReadBlobs', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objectsArn(bucket.name, names.blobPrefix) },
      denyInsecureTransport(bucket.name),
    ];
    if (isPrimary) {
      // The distribution's failover origin signs with origin access control. Blobs are public anyway; this
      // keeps failover working should an operator ever close the public read. The distribution is created
      // after this stack, so the grant names the account's distributions rather than its ID.
      statements.push({
        Sid: 'CloudFrontOriginAccessControl',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: objectsArn(bucket.name, names.blobPrefix),
        Condition: { StringEquals: { 'AWS:SourceAccount': ref('AWS::AccountId') }, ArnLike: { 'AWS:SourceArn': sub('arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*') } },
      });
    }
    resources.BlobBucket = {
      Type: 'AWS::S3::Bucket',
      // Blobs are the product: never delete them with a stack.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      // Logging starts once the log bucket lets S3's log delivery write.
      DependsOn: ['AccessLogBucketPolicy'],
      Properties: {
        BucketName: bucket.name,
        LoggingConfiguration: { DestinationBucketName: ref('AccessLogBucket'), LogFilePrefix: S3_ACCESS_LOG_PREFIX },
        // ACLs off; public access only through the bucket policy below (which must stay allowed).
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: {
          Rules: [{ Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS } }],
        },
        Tags: [
          { Key: 'registry-edge:stage', Value: names.stage },
          { Key: 'registry-edge:role', Value: isPrimary ? 'primary' : 'replica' },
        ],
      },
    };
    resources.BlobBucketPolicy = { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: ref('BlobBucket'), PolicyDocument: policyDocument(statements) } };
    outputs.BucketArn = { Value: bucketArn(bucket.name) };
    outputs.BucketRegionalDomainName = { Value: { 'Fn::GetAtt': ['BlobBucket', 'RegionalDomainName'] } };
  }

  for (const fn of functions.filter((f) => isEdgeFunction(f) && FUNCTIONS[f])) {
    const replica = names.edgeReplicaName(fn);
    // Edge functions catch their own errors, so an Error here is a crash or a timeout: CloudFront answered 5xx.
    resources[`${pascal(fn)}ErrorsAlarm`] = alarm(
      `${names.regionalStack}-${region}-${fn}-errors`,
      {
        description: `${names.functionName(fn)} failed in ${region} (crash or timeout: viewers got a 5xx). See docs/operations.md#edge-function-errors`,
        metrics: { namespace: 'AWS/Lambda', metric: 'Errors', dimensions: { FunctionName: replica } },
        statistic: 'Sum',
        threshold: 0,
      },
      ref('AlarmTopic'),
    );
    resources[`${pascal(fn)}ThrottlesAlarm`] = alarm(
      `${names.regionalStack}-${region}-${fn}-throttles`,
      {
        description: `${names.functionName(fn)} was throttled in ${region}: the account's Lambda concurrency there is exhausted and CloudFront answers 503. See docs/operations.md#edge-function-throttles`,
        metrics: { namespace: 'AWS/Lambda', metric: 'Throttles', dimensions: { FunctionName: replica } },
        statistic: 'Sum',
        threshold: 0,
      },
      ref('AlarmTopic'),
    );
  }
  return { Resources: resources, Outputs: outputs };
}
