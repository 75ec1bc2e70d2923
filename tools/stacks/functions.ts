/**
 * What each function needs to run: its trigger, its size, and the least it may do (IAM statements scoped to
 * exact ARNs). A function folder without an entry here cannot be packaged: a new function must say what it
 * is allowed to touch before it can be deployed.
 */
import type { ResolvedConfig } from '../../layers/config/schema';
import { type Json, type Statement, sub } from './cloudformation';
import { bucketArn, type DeployNames, IP_SPACE_CHANGED_TOPIC, objectsArn, SERVICE_REGION } from './names';

export type EdgeEventType = 'viewer-request' | 'origin-request' | 'origin-response';

export interface FunctionSpec {
  description: string;
  /** Lambda@Edge functions: the CloudFront event they are associated with. */
  edge?: EdgeEventType;
  memorySize: number;
  timeout: number;
  /** osls event definitions (regular functions only). */
  events?: (config: ResolvedConfig, names: DeployNames) => Json[];
  /** Statements beyond writing its own logs. */
  statements: (config: ResolvedConfig, names: DeployNames) => Statement[];
  /** Asynchronous invocations that still fail after Lambda's retries go to the dead-letter queue. */
  deadLetterQueue?: boolean;
}

/**
 * s3:ListBucket limited to one prefix: listings stay inside it, and a HEAD of a missing key there answers
 * 404 rather than 403 (S3 decides that with the key as s3:prefix), which the copy code relies on.
 */
function listPrefix(bucket: string, prefix: string, sid: string): Statement {
  return { Sid: sid, Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn(bucket), Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } };
}

/**
 * Server-side copies into the replica buckets' blob prefix (CopyObject, or multipart UploadPartCopy), the
 * HEAD that skips blobs already there, and deletes: of a copy that came out wrong (always) and of blobs gone
 * from the primary (with replication.propagateDeletes). Tagging: CopyObject with TaggingDirective REPLACE.
 */
function writeReplicaBlobs(names: DeployNames): Statement[] {
  const replicas = names.replicas.map((b) => objectsArn(b.name, names.blobPrefix));
  if (replicas.length === 0) return [];
  return [
    { Sid: 'WriteReplicaBlobs', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:DeleteObject'], Resource: replicas },
    ...names.replicas.map((b, i) => listPrefix(b.name, names.blobPrefix, `ListReplicaBlobs${i}`)),
  ];
}

/** Reading (and verifying) the primary's blobs, and tagging the ones whose content does not match their digest. */
function readPrimaryBlobs(names: DeployNames): Statement[] {
  return [
    { Sid: 'ReadAndQuarantinePrimaryBlobs', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging'], Resource: objectsArn(names.primary.name, names.blobPrefix) },
    listPrefix(names.primary.name, names.blobPrefix, 'ListPrimaryBlobs'),
  ];
}

export const FUNCTIONS: Record<string, FunctionSpec> = {
  'edge-viewer-request': {
    description: 'Lambda@Edge viewer request: redirect or route each pull',
    edge: 'viewer-request',
    // CloudFront's limits for viewer triggers.
    memorySize: 128,
    timeout: 5,
    // It reads the range pointer and table the updater publishes (SigV4, its own role), nothing else. Its
    // blob checks are anonymous HEADs on the public blob prefix.
    statements: (_config, names) => [{ Sid: 'ReadRangeTable', Effect: 'Allow', Action: 's3:GetObject', Resource: objectsArn(names.configBucket, names.rangesPrefix) }],
  },
  'edge-origin-request': {
    description: 'Lambda@Edge origin request: fetch blobs from the bucket nearest the edge',
    edge: 'origin-request',
    memorySize: 128,
    timeout: 5,
    // It only rewrites the request's origin; CloudFront does the fetching.
    statements: () => [],
  },
  'edge-origin-response': {
    description: 'Lambda@Edge origin response: name blobs by digest; send blobs no bucket holds upstream',
    edge: 'origin-response',
    memorySize: 128,
    timeout: 5,
    // It only rewrites the response CloudFront got; it reads and writes nothing.
    statements: () => [],
  },
  'ranges-update': {
    description: 'Publish the IP range table (hourly and on AmazonIpSpaceChanged)',
    memorySize: 512,
    timeout: 120,
    events: (config): Json[] => [{ schedule: { rate: [config.stage.ranges.schedule], description: 'Refresh the IP range table' } }, { sns: IP_SPACE_CHANGED_TOPIC }],
    statements: (_config, names) => [
      { Sid: 'PublishRangeTable', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objectsArn(names.configBucket, names.rangesPrefix) },
      listPrefix(names.configBucket, names.rangesPrefix, 'ListRangeTables'),
    ],
  },
  replicate: {
    description: 'Copy each new blob of the primary bucket to every regional bucket',
    memorySize: 512,
    // Multipart copies of multi-GB layers take minutes.
    timeout: 900,
    // The primary bucket belongs to the regional stack (or to the image promoter): the framework adds our
    // notification to its configuration, keeping the others. forceDeploy re-applies it on every deploy of
    // this stack, so an update of the bucket elsewhere cannot leave replication silently unsubscribed.
    events: (config, names) => {
      const on = (event: string): Json => ({ s3: { bucket: names.primary.name, event, rules: [{ prefix: names.blobPrefix }], existing: true, forceDeploy: true } });
      return config.stage.replication.propagateDeletes ? [on('s3:ObjectCreated:*'), on('s3:ObjectRemoved:*')] : [on('s3:ObjectCreated:*')];
    },
    statements: (_config, names) => [...readPrimaryBlobs(names), ...writeReplicaBlobs(names)],
    deadLetterQueue: true,
  },
  reconcile: {
    description: 'Daily: list the primary and regional buckets and copy what is missing',
    memorySize: 1024,
    timeout: 900,
    events: (config) => [{ schedule: { rate: [config.stage.replication.reconcileSchedule], description: 'Reconcile the regional buckets' } }],
    statements: (_config, names) => [...readPrimaryBlobs(names), ...writeReplicaBlobs(names)],
  },
};

/** Writing its own logs: regular functions in this region; Lambda@Edge replicas in every region they run in. */
export function logStatements(names: DeployNames, fn: string, edge: boolean): Statement[] {
  if (!edge) {
    // The framework creates this log group (with the configured retention), so no CreateLogGroup.
    return [{ Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: sub(`arn:\${AWS::Partition}:logs:${SERVICE_REGION}:\${AWS::AccountId}:log-group:/aws/lambda/${names.functionName(fn)}:*`) }];
  }
  // Replicas log to /aws/lambda/us-east-1.<name> in the region that ran them, creating the group on first use.
  const group = `arn:\${AWS::Partition}:logs:*:\${AWS::AccountId}:log-group:/aws/lambda/${names.edgeReplicaName(fn)}`;
  // A direct invocation (a test from the console) logs to the framework's group in us-east-1.
  const direct = `arn:\${AWS::Partition}:logs:${SERVICE_REGION}:\${AWS::AccountId}:log-group:/aws/lambda/${names.functionName(fn)}:*`;
  return [
    { Sid: 'CreateEdgeLogGroups', Effect: 'Allow', Action: 'logs:CreateLogGroup', Resource: sub(group) },
    { Sid: 'WriteEdgeLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [sub(`${group}:*`), sub(direct)] },
  ];
}
