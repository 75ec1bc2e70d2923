/**
 * The ci-role stack of a stage (us-east-1, ci/serverless.yml): the IAM role GitHub Actions assumes to deploy
 * that stage, through GitHub's OIDC provider; no stored keys anywhere. Deployed by hand, once, by an
 * administrator (`npm run deploy -- --stage <stage> --ci-role`): the pipeline itself may not change the
 * role it runs as.
 *
 * Trust: only tokens for audience sts.amazonaws.com whose subject is a job of `ci.repository` running in
 * the stage's GitHub environment (`repo:<owner>/<name>:environment:<stage>`). Which branches and tags may
 * use that environment (main for sandbox, release tags for prod) and who must approve are the
 * environment's protection rules on GitHub (docs/operations.md, "The pipeline").
 *
 * Permissions: what `npm run deploy` does to this stage's stacks and nothing else: CloudFormation on the
 * stage's own stacks, and on the resources those stacks hold, scoped by the names they have by convention
 * (tools/stacks/names.ts). CloudFront and WAF creation cannot be scoped to a name before the resource
 * exists; those statements name only the actions the stacks need.
 */
import type { ResolvedConfig } from '../../layers/config/schema';
import { type Json, policyDocument, ref, type Resources, type Statement, sub } from './cloudformation';
import { deployNames, IP_SPACE_CHANGED_TOPIC } from './names';

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
export const CI_ROLE = 'DeployRole';

export interface CiRoleStack {
  service: string;
  resources: { Resources: Resources; Outputs: Record<string, Json> };
}

/** The OIDC subject GitHub gives a job that runs in `environment` of `repository`. */
export const environmentSubject = (repository: string, environment: string) => `repo:${repository}:environment:${environment}`;

function deployStatements(config: ResolvedConfig): Statement[] {
  const names = deployNames(config);
  const own = `${names.service}-${names.stage}`;
  const stacks = [names.mainStack, names.regionalStack];
  const arn = (service: string, resource: string, region = '*') => sub(`arn:\${AWS::Partition}:${service}:${region}:\${AWS::AccountId}:${resource}`);
  const prefix = config.stage.buckets.prefix;
  return [
    {
      Sid: 'DeployTheStagesStacks',
      Effect: 'Allow',
      Action: [
        'cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents',
        'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackResources', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate',
        'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet',
        'cloudformation:ListChangeSets', 'cloudformation:UpdateTerminationProtection',
      ],
      Resource: stacks.map((stack) => arn('cloudformation', `stack/${stack}/*`)),
    },
    // No resource-level permissions exist for these two.
    { Sid: 'ValidateTemplates', Effect: 'Allow', Action: ['cloudformation:ValidateTemplate', 'cloudformation:ListStacks'], Resource: '*' },
    {
      // The framework's deployment buckets: CloudFormation names them after the stack name, truncated (the
      // regional stacks' to "registry-edge-buckets-s"), so the pattern cannot tell stages apart: stages that
      // share an account share this statement's reach (another reason to give prod an account of its own).
      Sid: 'DeploymentBuckets',
      Effect: 'Allow',
      Action: ['s3:CreateBucket', 's3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:PutBucketPublicAccessBlock', 's3:PutEncryptionConfiguration', 's3:GetBucketLocation', 's3:ListBucket', 's3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutBucketTagging'],
      Resource: [`arn:aws:s3:::${names.service}-*serverlessdeploymentbucket-*`],
    },
    {
      Sid: 'TheStagesBuckets',
      Effect: 'Allow',
      Action: ['s3:CreateBucket', 's3:ListBucket', 's3:GetBucket*', 's3:PutBucket*', 's3:DeleteBucketPolicy', 's3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration', 's3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration'],
      Resource: [`arn:aws:s3:::${prefix}-${names.stage}-*`],
    },
    {
      Sid: 'FunctionRoles',
      Effect: 'Allow',
      Action: ['iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRolePolicy', 'iam:TagRole', 'iam:UntagRole', 'iam:UpdateAssumeRolePolicy'],
      Resource: arn('iam', `role/${names.mainStack}-*`, ''),
    },
    {
      Sid: 'PassFunctionRolesToLambda',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: arn('iam', `role/${names.mainStack}-*`, ''),
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    },
    {
      // Lambda@Edge replication and CloudFront's logging need these service-linked roles (created once per account).
      Sid: 'EdgeServiceLinkedRoles',
      Effect: 'Allow',
      Action: 'iam:CreateServiceLinkedRole',
      Resource: [arn('iam', 'role/aws-service-role/replicator.lambda.amazonaws.com/*', ''), arn('iam', 'role/aws-service-role/logger.cloudfront.amazonaws.com/*', '')],
    },
    {
      Sid: 'Functions',
      Effect: 'Allow',
      Action: [
        'lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion', 'lambda:ListVersionsByFunction', 'lambda:ListAliases', 'lambda:AddPermission', 'lambda:RemovePermission',
        'lambda:GetPolicy', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:ListTags', 'lambda:PutFunctionEventInvokeConfig',
        'lambda:UpdateFunctionEventInvokeConfig', 'lambda:DeleteFunctionEventInvokeConfig', 'lambda:GetFunctionEventInvokeConfig',
        'lambda:EnableReplication*', 'lambda:DisableReplication*',
      ],
      Resource: [arn('lambda', `function:${own}-*`), arn('lambda', `function:${own}-*:*`)],
    },
    { Sid: 'LogGroups', Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:TagResource', 'logs:TagLogGroup'], Resource: arn('logs', `log-group:/aws/lambda/${own}-*`) },
    { Sid: 'DescribeLogGroups', Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*' },
    { Sid: 'Schedules', Effect: 'Allow', Action: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:PutTargets', 'events:RemoveTargets', 'events:TagResource'], Resource: arn('events', `rule/${own}-*`) },
    { Sid: 'DeadLetterQueue', Effect: 'Allow', Action: ['sqs:CreateQueue', 'sqs:DeleteQueue', 'sqs:GetQueueAttributes', 'sqs:SetQueueAttributes', 'sqs:TagQueue'], Resource: arn('sqs', `${own}-*`) },
    { Sid: 'AlarmTopics', Effect: 'Allow', Action: ['sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:Subscribe', 'sns:Unsubscribe', 'sns:TagResource'], Resource: arn('sns', `${own}-*`) },
    { Sid: 'RangeChangeNotifications', Effect: 'Allow', Action: ['sns:Subscribe', 'sns:Unsubscribe'], Resource: IP_SPACE_CHANGED_TOPIC },
    {
      Sid: 'AlarmsAndDashboards',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:TagResource', 'cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
      Resource: [arn('cloudwatch', `alarm:${own}-*`), arn('cloudwatch', `alarm:${names.regionalStack}-*`), sub(`arn:\${AWS::Partition}:cloudwatch::\${AWS::AccountId}:dashboard/${own}*`)],
    },
    {
      // Distributions and their policies get their ids when created, so nothing narrower than the actions.
      Sid: 'Distribution',
      Effect: 'Allow',
      Action: [
        'cloudfront:CreateDistribution', 'cloudfront:UpdateDistribution', 'cloudfront:GetDistribution', 'cloudfront:GetDistributionConfig', 'cloudfront:TagResource',
        'cloudfront:ListTagsForResource', 'cloudfront:CreateCachePolicy', 'cloudfront:UpdateCachePolicy', 'cloudfront:GetCachePolicy', 'cloudfront:DeleteCachePolicy',
        'cloudfront:CreateOriginRequestPolicy', 'cloudfront:UpdateOriginRequestPolicy', 'cloudfront:GetOriginRequestPolicy', 'cloudfront:DeleteOriginRequestPolicy',
        'cloudfront:CreateOriginAccessControl', 'cloudfront:UpdateOriginAccessControl', 'cloudfront:GetOriginAccessControl', 'cloudfront:DeleteOriginAccessControl',
        // The additional distribution metrics (cache hit rate on the dashboard).
        'cloudfront:CreateMonitoringSubscription', 'cloudfront:GetMonitoringSubscription', 'cloudfront:DeleteMonitoringSubscription',
      ],
      Resource: '*',
    },
    {
      Sid: 'RateLimit',
      Effect: 'Allow',
      Action: ['wafv2:CreateWebACL', 'wafv2:UpdateWebACL', 'wafv2:GetWebACL', 'wafv2:DeleteWebACL', 'wafv2:TagResource', 'wafv2:ListTagsForResource'],
      Resource: arn('wafv2', `global/webacl/${names.mainStack}*/*`, 'us-east-1'),
    },
  ];
}

export function ciRoleStack(config: ResolvedConfig): CiRoleStack {
  const names = deployNames(config);
  const { repository, environment = names.stage, oidcProviderArn } = config.stage.ci;
  const resources: Resources = {};
  if (!oidcProviderArn) {
    resources.GitHubOidcProvider = {
      Type: 'AWS::IAM::OIDCProvider',
      // IAM no longer checks the thumbprint for this provider (it trusts GitHub's certificate authority), but
      // the property is still required by older API versions; this is GitHub's published one.
      Properties: { Url: `https://${GITHUB_OIDC_HOST}`, ClientIdList: ['sts.amazonaws.com'], ThumbprintList: ['6938fd4d98bab03faadb97b34396831e3780aea1'] },
    };
  }
  const provider: Json = oidcProviderArn ?? ref('GitHubOidcProvider');
  const trust: Statement = {
    Effect: 'Allow',
    Principal: { Federated: provider },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com', [`${GITHUB_OIDC_HOST}:sub`]: environmentSubject(repository, environment) } },
  };
  resources[CI_ROLE] = {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: `${names.service}-${names.stage}-github-deploy`,
      Description: `GitHub Actions (${repository}, environment ${environment}) deploying stage ${names.stage}: least privilege`,
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: policyDocument([trust]),
      Policies: [{ PolicyName: 'deploy-stage', PolicyDocument: policyDocument(deployStatements(config)) }],
    },
  };
  return {
    service: `${names.service}-ci`,
    resources: {
      Resources: resources,
      Outputs: { DeployRoleArn: { Description: 'role-to-assume for aws-actions/configure-aws-credentials (the AWS_DEPLOY_ROLE_ARN variable of the GitHub environment)', Value: { 'Fn::GetAtt': [CI_ROLE, 'Arn'] } } },
    },
  };
}
