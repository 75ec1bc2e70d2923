/**
 * The ci-role stack (ci/serverless.yml, tools/stacks/ci-role-stack.ts), packaged by osls as the other stacks
 * are: GitHub's OIDC tokens may assume the deploy role only for this repository's jobs in the stage's
 * environment and for STS's audience; the role may deploy its own stage's stacks (every resource type they
 * hold is covered) and touch nothing named for another stage.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFunctions, loadStageConfig } from '../../tools/build';
import { regionalStack } from '../../tools/stacks/regional-stack';
import { CI_ROLE, ciRoleStack, GITHUB_OIDC_HOST } from '../../tools/stacks/ci-role-stack';
import { deployNames } from '../../tools/stacks/names';
import { deployableStages } from '../../tools/stacks/variables';
import { packageAll, type PackageResult } from '../../tools/package';
import { list, ofType, resource, roleStatements, type Statement, type Template } from './template';

const STAGES = deployableStages();
let outDir: string;
let result: PackageResult;
const template = (stage: string, name = 'ci-role'): Template => {
  const stack = result.stacks.find((s) => s.stage === stage && s.name === name);
  if (!stack) throw new Error(`no packaged stack ${stage}/${name}`);
  return JSON.parse(readFileSync(stack.template, 'utf8')) as Template;
};

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'registry-edge-ci-role-'));
  // The ci-role stacks, and the main stacks: the resource types the role must be able to deploy (the
  // regional stacks' are read from their builder, which is all there is to them but the framework's bucket).
  result = await packageAll({ outDir, kinds: ['ci-role', 'main'], stages: STAGES });
}, 600_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** What creating each resource type of our stacks asks of the deployer (one action per type is enough to say it is covered). */
const CREATE_ACTION: Record<string, string> = {
  'AWS::S3::Bucket': 's3:CreateBucket',
  'AWS::S3::BucketPolicy': 's3:PutBucketPolicy',
  'AWS::IAM::Role': 'iam:CreateRole',
  'AWS::Lambda::Function': 'lambda:CreateFunction',
  'AWS::Lambda::Version': 'lambda:PublishVersion',
  'AWS::Lambda::Permission': 'lambda:AddPermission',
  'AWS::Lambda::EventInvokeConfig': 'lambda:PutFunctionEventInvokeConfig',
  'AWS::Logs::LogGroup': 'logs:CreateLogGroup',
  'AWS::Events::Rule': 'events:PutRule',
  'AWS::SQS::Queue': 'sqs:CreateQueue',
  'AWS::SNS::Topic': 'sns:CreateTopic',
  'AWS::SNS::Subscription': 'sns:Subscribe',
  'AWS::CloudWatch::Alarm': 'cloudwatch:PutMetricAlarm',
  'AWS::CloudWatch::Dashboard': 'cloudwatch:PutDashboard',
  'AWS::CloudFront::Distribution': 'cloudfront:CreateDistribution',
  'AWS::CloudFront::CachePolicy': 'cloudfront:CreateCachePolicy',
  'AWS::CloudFront::OriginRequestPolicy': 'cloudfront:CreateOriginRequestPolicy',
  'AWS::CloudFront::OriginAccessControl': 'cloudfront:CreateOriginAccessControl',
  'AWS::CloudFront::MonitoringSubscription': 'cloudfront:CreateMonitoringSubscription',
  'AWS::WAFv2::WebACL': 'wafv2:CreateWebACL',
  // The framework's custom resource runs as its own role (created above); CloudFormation invokes it.
  'Custom::S3': 'iam:PassRole',
};

describe.each(STAGES)('ci-role stack, %s', (stage) => {
  const names = deployNames(loadStageConfig({ stage }));
  const subject = `repo:registry-edge/registry-edge:environment:${stage}`;

  test('the GitHub OIDC provider: its URL, for the STS audience', () => {
    const providers = ofType(template(stage), 'AWS::IAM::OIDCProvider');
    expect(providers).toHaveLength(1);
    const provider = providers[0]![1];
    expect(provider.Properties.Url).toBe(`https://${GITHUB_OIDC_HOST}`);
    expect(provider.Properties.ClientIdList).toEqual(['sts.amazonaws.com']);
  });

  test("the role trusts only this repository's jobs in the stage's environment, for STS", () => {
    const role = resource(template(stage), CI_ROLE);
    const trust: Statement[] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Principal: { Federated: { Ref: 'GitHubOidcProvider' } },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com', [`${GITHUB_OIDC_HOST}:sub`]: subject } },
      },
    ]);
    expect(JSON.stringify(trust)).not.toMatch(/\*/);
  });

  test('no statement grants every action of a service, and "*" resources only where AWS has no narrower one', () => {
    const statements = roleStatements(template(stage), CI_ROLE);
    for (const s of statements) for (const action of list(s.Action)) expect([s.Sid, action]).not.toEqual([s.Sid, expect.stringMatching(/^([a-z0-9]+:)?\*$/)]);
    const unscoped = statements.filter((s) => list(s.Resource).includes('*')).map((s) => s.Sid);
    expect(unscoped.sort()).toEqual(['DescribeLogGroups', 'Distribution', 'ValidateTemplates']);
  });

  test("CloudFormation only on the stage's own stacks", () => {
    const cfn = roleStatements(template(stage), CI_ROLE).find((s) => s.Sid === 'DeployTheStagesStacks')!;
    expect(list(cfn.Resource).map((r) => JSON.stringify(r))).toEqual([names.mainStack, names.regionalStack].map((stack) => JSON.stringify({ 'Fn::Sub': `arn:\${AWS::Partition}:cloudformation:*:\${AWS::AccountId}:stack/${stack}/*` })));
  });

  test('nothing named for another stage', () => {
    const policy = JSON.stringify(roleStatements(template(stage), CI_ROLE));
    for (const other of STAGES.filter((s) => s !== stage)) expect(policy).not.toContain(`-${other}-`);
  });

  test('the role may create every resource type the stage deploys', () => {
    const statements = roleStatements(template(stage), CI_ROLE);
    const granted = new Set(statements.flatMap((s) => list(s.Action)));
    const matches = (action: string) => [...granted].some((g) => g === action || (g.endsWith('*') && action.startsWith(g.slice(0, -1))));
    const config = loadStageConfig({ stage });
    const regional = config.stage.buckets.regions.flatMap((region) => Object.values(regionalStack(config, region, listFunctions()).Resources));
    const types = new Set([...Object.values(template(stage, 'main').Resources), ...regional].map((r) => r.Type));
    const uncovered = [...types].filter((type) => !CREATE_ACTION[type] || !matches(CREATE_ACTION[type]!));
    expect(uncovered).toEqual([]);
  });

  test('the role ARN is an output (for the GitHub environment variable)', () => {
    expect(template(stage).Outputs?.DeployRoleArn).toEqual(expect.objectContaining({ Value: { 'Fn::GetAtt': [CI_ROLE, 'Arn'] } }));
  });
});

test('with ci.oidcProviderArn, the stack reuses that provider instead of creating one', () => {
  const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
  const stack = ciRoleStack(loadStageConfig({ stage: 'sandbox', override: { ci: { oidcProviderArn: arn, environment: 'staging', repository: 'acme/registry' } } }));
  expect(Object.values(stack.resources.Resources).map((r) => r.Type)).toEqual(['AWS::IAM::Role']);
  const trust = (stack.resources.Resources[CI_ROLE]!.Properties!.AssumeRolePolicyDocument as unknown as { Statement: Statement[] }).Statement[0]!;
  expect(trust.Principal).toEqual({ Federated: arn });
  expect(trust.Condition).toEqual({ StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com', [`${GITHUB_OIDC_HOST}:sub`]: 'repo:acme/registry:environment:staging' } });
});

test.each([
  [{ repository: 'no-slash' }, /ci\.repository.*owner\/name/],
  [{ oidcProviderArn: 'arn:aws:iam::123:oidc-provider/example.com' }, /ci\.oidcProviderArn/],
  [{ role: 'x' }, /ci/],
])('a bad ci setting is refused, naming the field: %j', (ci, message) => {
  expect(() => loadStageConfig({ stage: 'sandbox', override: { ci } })).toThrow(message);
});
