/**
 * The regional stack of a stage, deployed once in every bucket region (regional/serverless.yml):
 * the region's blob bucket `<prefix>-<stage>-<region>` (anyone may GET a blob, nothing else is public,
 * nothing is listed, stale multipart uploads are aborted), and alarms on the Lambda@Edge replicas that run
 * in this region (their metrics exist only here, and an alarm can only watch its own region's metrics).
 */
import type { ResolvedConfig } from '../../layers/config/schema';
import { alarm, alarmTopic, denyInsecureTransport, type Json, pascal, policyDocument, ref, type Resources, type Statement, sub } from './cloudformation';
import { FUNCTIONS } from './functions';
import { DeployConfigError } from './main-stack';
import { bucketArn, deployNames, isEdgeFunction, objectsArn } from './names';

export interface RegionalStack {
  Resources: Resources;
  Outputs: Record<string, Json>;
}

/** Days after which S3 discards the parts of a multipart upload nobody completed (an interrupted copy). */
export const ABORT_INCOMPLETE_UPLOADS_DAYS = 1;

export function regionalStack(config: ResolvedConfig, region: string, functions: string[]): RegionalStack {
  const names = deployNames(config);
  const bucket = names.buckets.find((b) => b.region === region);
  if (!bucket) {
    throw new DeployConfigError(`config/${names.stage}.json: ${region} is not in buckets.regions (${names.buckets.map((b) => b.region).join(', ')}); add it there first`);
  }
  const isPrimary = region === names.primary.region;
  const resources: Resources = { ...alarmTopic(names.regionalAlarmTopic(region), config.stage.alarms.email) };
  const outputs: Record<string, Json> = { BucketName: { Value: bucket.name }, AlarmTopicArn: { Value: ref('AlarmTopic') } };

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
      Properties: {
        BucketName: bucket.name,
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
