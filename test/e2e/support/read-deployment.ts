/**
 * Reads back what a deploy created in a CloudFormation API (moto_server in the deploy test) and prints it
 * as one JSON object on stdout, for test/e2e/deploy.test.ts to assert on. It runs inside the test's network
 * namespace (through nsenter), where only loopback exists, so it reaches nothing but AWS_ENDPOINT_URL.
 *
 *   tsx test/e2e/support/read-deployment.ts <stage>            # the stage's stacks
 *   tsx test/e2e/support/read-deployment.ts <stage> --ci-role  # its ci-role stack and the role in it
 *
 * The AWS SDK clients here are the ones osls itself depends on (installed with it).
 */
import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import { GetPublicAccessBlockCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadStageConfig } from '../../../tools/build';
import { deployNames, SERVICE_REGION } from '../../../tools/stacks/names';

export interface DeployedStack {
  name: string;
  region: string;
  status: string;
  lastUpdated: string | null;
  /** The template CloudFormation holds (what the deploy uploaded). */
  template: { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };
  resources: { logicalId: string; type: string; physicalId: string; status: string }[];
}

export interface DeployedFunction {
  name: string;
  runtime?: string;
  memorySize?: number;
  timeout?: number;
  role?: string;
  codeSha256?: string;
  versions: string[];
  /** The role's inline policy statements. */
  statements: { Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown }[];
}

export interface Deployment {
  stacks: DeployedStack[];
  functions: DeployedFunction[];
  buckets: string[];
  deploymentBuckets: { name: string; publicAccessBlock: Record<string, boolean | undefined> | null }[];
  rules: { name: string; schedule?: string; state?: string; targets: string[] }[];
  queue: { url: string; arn?: string; retentionSeconds?: number } | null;
}

async function readStack(name: string, region: string): Promise<DeployedStack> {
  const cf = new CloudFormationClient({ region });
  const { Stacks } = await cf.send(new DescribeStacksCommand({ StackName: name }));
  const stack = Stacks![0]!;
  const resources: DeployedStack['resources'] = [];
  let token: string | undefined;
  do {
    const page = await cf.send(new ListStackResourcesCommand({ StackName: name, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) resources.push({ logicalId: r.LogicalResourceId!, type: r.ResourceType!, physicalId: r.PhysicalResourceId ?? '', status: r.ResourceStatus! });
    token = page.NextToken;
  } while (token);
  const { TemplateBody } = await cf.send(new GetTemplateCommand({ StackName: name }));
  return { name, region, status: stack.StackStatus!, lastUpdated: (stack.LastUpdatedTime ?? stack.CreationTime)?.toISOString() ?? null, template: JSON.parse(TemplateBody!), resources };
}

/**
 * An inline policy document as IAM returns it: URL-encoded JSON. moto returns the policies CloudFormation
 * created as the repr of a Python dict (single quotes), which is read here too (our policies hold no
 * quote characters, True/False or None).
 */
export function parsePolicyDocument(raw: string): { Statement: unknown } {
  const text = /^%7B/i.test(raw) ? decodeURIComponent(raw) : raw;
  try {
    return JSON.parse(text) as { Statement: unknown };
  } catch {
    return JSON.parse(text.replace(/'((?:[^'\\]|\\.)*)'/g, (_m, inner: string) => JSON.stringify(inner.replace(/\\(.)/g, '$1')))) as { Statement: unknown };
  }
}

async function readFunction(name: string, lambda: LambdaClient, iam: IAMClient): Promise<DeployedFunction> {
  const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
  const roleName = fn.Role?.split('/').pop();
  const statements: DeployedFunction['statements'] = [];
  if (roleName) {
    const { PolicyNames } = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    for (const policy of PolicyNames ?? []) {
      const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policy }));
      const document = parsePolicyDocument(PolicyDocument!);
      statements.push(...([document.Statement].flat() as DeployedFunction['statements']));
    }
  }
  const versions = ((await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }))).Versions ?? []).map((v) => v.Version!);
  return { name, runtime: fn.Runtime, memorySize: fn.MemorySize, timeout: fn.Timeout, role: fn.Role, codeSha256: fn.CodeSha256, versions, statements };
}

async function main(stage: string): Promise<Deployment> {
  const names = deployNames(loadStageConfig({ stage }));
  const stacks = [...(await Promise.all(names.buckets.map((b) => readStack(names.regionalStack, b.region)))), await readStack(names.mainStack, SERVICE_REGION)];

  const lambda = new LambdaClient({ region: SERVICE_REGION });
  const iam = new IAMClient({ region: SERVICE_REGION });
  const main = stacks.at(-1)!;
  const functionNames = main.resources.filter((r) => r.type === 'AWS::Lambda::Function').map((r) => r.physicalId);
  const functions = await Promise.all(functionNames.map((name) => readFunction(name, lambda, iam)));

  const s3 = new S3Client({ region: SERVICE_REGION, forcePathStyle: true });
  const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!).sort();
  const deploymentBuckets = await Promise.all(
    buckets
      .filter((b) => b.includes('serverlessdeploymentbucket') || b.startsWith('serverless-framework-deployments'))
      .map(async (name) => {
        try {
          const { PublicAccessBlockConfiguration } = await s3.send(new GetPublicAccessBlockCommand({ Bucket: name }));
          return { name, publicAccessBlock: { ...PublicAccessBlockConfiguration } };
        } catch (error) {
          if ((error as { name?: string }).name === 'NoSuchPublicAccessBlockConfiguration') return { name, publicAccessBlock: null };
          throw error;
        }
      }),
  );

  const events = new EventBridgeClient({ region: SERVICE_REGION });
  const rules = await Promise.all(
    ((await events.send(new ListRulesCommand({}))).Rules ?? []).map(async (rule) => ({
      name: rule.Name!,
      schedule: rule.ScheduleExpression,
      state: rule.State,
      targets: ((await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name! }))).Targets ?? []).map((t) => t.Arn!),
    })),
  );

  const sqs = new SQSClient({ region: SERVICE_REGION });
  let queue: Deployment['queue'] = null;
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.deadLetterQueue }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'MessageRetentionPeriod'] }));
    queue = { url: QueueUrl!, arn: Attributes?.QueueArn, retentionSeconds: Attributes?.MessageRetentionPeriod ? Number(Attributes.MessageRetentionPeriod) : undefined };
  } catch (error) {
    if ((error as { name?: string }).name !== 'QueueDoesNotExist' && (error as { name?: string }).name !== 'AWS.SimpleQueueService.NonExistentQueue') throw error;
  }
  return { stacks, functions, buckets, deploymentBuckets, rules, queue };
}

export interface DeployedCiRole {
  stack: DeployedStack;
  role: { name: string; trust: { Statement: { Effect: string; Action: string; Condition?: Record<string, Record<string, string>> }[] }; statements: DeployedFunction['statements'] };
}

async function readCiRole(stage: string): Promise<DeployedCiRole> {
  const names = deployNames(loadStageConfig({ stage }));
  const stack = await readStack(`${names.service}-ci-${stage}`, SERVICE_REGION);
  const iam = new IAMClient({ region: SERVICE_REGION });
  const name = stack.resources.find((r) => r.type === 'AWS::IAM::Role')!.physicalId;
  const { Role } = await iam.send(new GetRoleCommand({ RoleName: name }));
  const trust = parsePolicyDocument(Role!.AssumeRolePolicyDocument!) as DeployedCiRole['role']['trust'];
  const statements: DeployedFunction['statements'] = [];
  for (const policy of (await iam.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames ?? []) {
    const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policy }));
    statements.push(...([parsePolicyDocument(PolicyDocument!).Statement].flat() as DeployedFunction['statements']));
  }
  return { stack, role: { name, trust, statements } };
}

const [stageArg = 'sandbox', what] = process.argv.slice(2);
(what === '--ci-role' ? readCiRole(stageArg) : main(stageArg)).then(
  (deployment) => process.stdout.write(`${JSON.stringify(deployment)}\n`),
  (error: Error) => {
    process.stderr.write(`read-deployment: ${error.name}: ${error.message}\n`);
    process.exit(1);
  },
);
