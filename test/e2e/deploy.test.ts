/**
 * `npm run deploy -- --stage sandbox`, end to end, against a stock moto_server (its CloudFormation, S3,
 * Lambda, IAM, SQS, SNS and EventBridge), from inside a network namespace that holds only loopback: the
 * deploy can reach moto and nothing else (no AWS, no npm registry). It runs twice; the second run must
 * change nothing. Then the test reads back what CloudFormation created (test/e2e/support/read-deployment.ts,
 * in the same namespace): every stack complete, each function with its runtime, memory, timeout and role,
 * IAM statements that name buckets and a queue that exist, the schedules, the dead-letter queue. Last,
 * the pipeline's role stack (`--ci-role`) and the role's trust conditions.
 *
 * What moto cannot check, and where it is checked instead (test/deploy/, on the packaged templates):
 * moto's CloudFormation skips, with a warning, the CloudFront distribution and its cache/origin-request
 * policies and origin access control (so the edge associations are not deployed anywhere here), the WAF
 * web ACL, CloudWatch alarms (and dashboards), S3 bucket policies (public GET of blobs, TLS only), SNS
 * subscriptions (the AmazonIpSpaceChanged trigger, alarm e-mail) and Lambda EventInvokeConfig (the
 * dead-letter destination), and the IAM OIDC provider. It records Lambda functions without running them, and does not apply a
 * bucket's PublicAccessBlockConfiguration from a template, so the deployment bucket's public-access block
 * is checked in the template CloudFormation holds.
 */
import { join } from 'node:path';
import { loadStageConfig, ROOT } from '../../tools/build';
import { pascal } from '../../tools/stacks/cloudformation';
import { FUNCTIONS } from '../../tools/stacks/functions';
import { deployNames, SERVICE_REGION } from '../../tools/stacks/names';
import { requireTool } from '../../local/processes';
import type { DeployedCiRole, Deployment } from './support/read-deployment';
import { type Namespace, startInNamespace } from './support/netns';
import type { RunResult } from './support/tools';

const STAGE = 'sandbox';
/** Inside the namespace nothing else listens, so a fixed port is free. */
const MOTO = 'http://127.0.0.1:5000';
const names = deployNames(loadStageConfig({ stage: STAGE }));
const config = loadStageConfig({ stage: STAGE });

/** Resource types moto's CloudFormation accepts but does not create (see the header). */
const SKIPPED_BY_MOTO = new Set([
  'AWS::CloudFront::Distribution',
  'AWS::CloudFront::CachePolicy',
  'AWS::CloudFront::OriginRequestPolicy',
  'AWS::CloudFront::OriginAccessControl',
  'AWS::CloudFront::ResponseHeadersPolicy',
  'AWS::WAFv2::WebACL',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::Lambda::EventInvokeConfig',
]);

/** The deploy's environment: moto's endpoint and dummy keys, and no other AWS setting from this machine. */
function deployEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_ENDPOINT_URL: MOTO,
    AWS_ACCESS_KEY_ID: 'registry-edge-deploy-test',
    AWS_SECRET_ACCESS_KEY: 'registry-edge-deploy-test',
    AWS_REGION: SERVICE_REGION,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/registry-edge/credentials',
    AWS_CONFIG_FILE: '/nonexistent/registry-edge/config',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

let ns: Namespace;
let first: RunResult;
let second: RunResult;
let deployed: Deployment;
let again: Deployment;
let ciRole: RunResult;
let ciRoleRead: DeployedCiRole;

const npm = () => requireTool('npm', 'npm');
const deploy = () => ns.exec(npm(), ['run', 'deploy', '--', '--stage', STAGE], { env: deployEnv(), cwd: ROOT, timeoutMs: 240_000 });
async function readBack<T = Deployment>(...extra: string[]): Promise<T> {
  const result = await ns.exec(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/e2e/support/read-deployment.ts'), STAGE, ...extra], { env: deployEnv(), cwd: ROOT });
  if (result.code !== 0) throw new Error(`read-deployment failed (exit ${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  const moto = requireTool('moto_server', 'python3-moto (or pip install "moto[server]")');
  const probe = `require('net').connect(5000, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  ns = await startInNamespace(moto, ['-H', '127.0.0.1', '-p', '5000'], { command: process.execPath, args: ['-e', probe], timeoutMs: 20_000 });
  first = await deploy();
  if (first.code !== 0) throw new Error(`first deploy failed (exit ${first.code}):\n${first.stdout}\n${first.stderr}\nmoto:\n${ns.output().slice(-4000)}`);
  deployed = await readBack();
  second = await deploy();
  again = await readBack();
  // The pipeline's role, as an administrator deploys it (docs/operations.md, "The pipeline").
  ciRole = await ns.exec(npm(), ['run', 'deploy', '--', '--stage', STAGE, '--ci-role'], { env: deployEnv(), cwd: ROOT, timeoutMs: 120_000 });
  if (ciRole.code === 0) ciRoleRead = await readBack<DeployedCiRole>('--ci-role');
}, 480_000);

afterAll(async () => {
  await ns?.stop();
});

test('the deploy ran in a namespace that holds only loopback', async () => {
  const links = await ns.exec(requireTool('ip', 'iproute2'), ['-o', 'link', 'show']);
  expect(links.code).toBe(0);
  expect(links.stdout.trim().split('\n').map((line) => line.split(':')[1]!.trim())).toEqual(['lo']);
});

test('the deploy does the regional stacks, then the main stack', () => {
  const steps = [...(first.stdout + first.stderr).matchAll(/^\[(\d)\/(\d)\] (\S+) (\S+) (\S+):/gm)].map((m) => `${m[4]} ${m[5]}`);
  expect(steps).toEqual([...names.buckets.map((b) => `regional ${b.region}`), `main ${SERVICE_REGION}`]);
});

test('every stack is complete, in its region', () => {
  expect(deployed.stacks.map((s) => [s.name, s.region])).toEqual([...names.buckets.map((b) => [names.regionalStack, b.region]), [names.mainStack, SERVICE_REGION]]);
  for (const stack of deployed.stacks) expect([stack.name, stack.status]).toEqual([stack.name, expect.stringMatching(/^(CREATE|UPDATE)_COMPLETE$/)]);
});

test('every resource of every template was created, except the types moto skips', () => {
  for (const stack of deployed.stacks) {
    const created = new Map(stack.resources.filter((r) => r.logicalId).map((r) => [r.logicalId, r]));
    const missing = Object.entries(stack.template.Resources)
      // moto gives Lambda versions and permissions no physical id; the versions are read back per function below.
      .filter(([id, r]) => !SKIPPED_BY_MOTO.has(r.Type) && !(created.get(id)?.type === r.Type && /_COMPLETE$/.test(created.get(id)!.status)))
      .map(([id, r]) => `${stack.region} ${id} (${r.Type}): ${JSON.stringify(created.get(id) ?? null)}`);
    expect(missing).toEqual([]);
  }
  // The stacks are not trivially complete: the main one has the functions, roles, queue and rules.
  const main = deployed.stacks.at(-1)!;
  const types = new Set(main.resources.map((r) => r.type));
  for (const type of ['AWS::Lambda::Function', 'AWS::Lambda::Version', 'AWS::IAM::Role', 'AWS::SQS::Queue', 'AWS::Events::Rule', 'AWS::S3::Bucket', 'AWS::SNS::Topic']) expect(types).toContain(type);
});

test('each function has its runtime, memory, timeout and its own role', () => {
  const main = deployed.stacks.at(-1)!;
  const roleName = (logicalId: string) => main.resources.find((r) => r.logicalId === logicalId)?.physicalId;
  for (const [fn, spec] of Object.entries(FUNCTIONS)) {
    const deployedFn = deployed.functions.find((f) => f.name === names.functionName(fn));
    expect({ fn, runtime: deployedFn?.runtime, memorySize: deployedFn?.memorySize, timeout: deployedFn?.timeout }).toEqual({ fn, runtime: 'nodejs22.x', memorySize: spec.memorySize, timeout: spec.timeout });
    const role = roleName(`${pascal(fn)}Role`);
    expect(role).toBeTruthy();
    expect(deployedFn!.role).toMatch(new RegExp(`:role/${role}$`));
    // A published version: what CloudFront associates (edge) and what pruning keeps.
    expect(deployedFn!.versions).toContain('1');
  }
});

test('the IAM statements name buckets and a queue that exist', () => {
  const ours = deployed.functions.filter((f) => Object.keys(FUNCTIONS).some((fn) => names.functionName(fn) === f.name));
  const arns = ours.flatMap((f) => f.statements.flatMap((s) => [s.Resource].flat())).filter((r): r is string => typeof r === 'string');
  const bucketsNamed = new Set(arns.filter((a) => a.startsWith('arn:aws:s3:::')).map((a) => a.slice('arn:aws:s3:::'.length).split('/')[0]!));
  expect([...bucketsNamed].sort()).toEqual([names.configBucket, ...names.buckets.map((b) => b.name)].sort());
  for (const bucket of bucketsNamed) expect(deployed.buckets).toContain(bucket);

  expect(deployed.queue).not.toBeNull();
  const queuesNamed = arns.filter((a) => a.startsWith('arn:aws:sqs:'));
  expect(queuesNamed).toEqual([deployed.queue!.arn]);
  const replicate = deployed.functions.find((f) => f.name === names.functionName('replicate'))!;
  expect(replicate.statements.find((s) => s.Sid === 'SendToDeadLetterQueue')?.Resource).toBe(deployed.queue!.arn);
});

test('the schedules invoke the range updater and the reconcile job', () => {
  const target = (fn: string) => `arn:aws:lambda:${SERVICE_REGION}:123456789012:function:${names.functionName(fn)}`;
  const schedules = deployed.rules.map((r) => ({ schedule: r.schedule, state: r.state, targets: r.targets })).sort((a, b) => String(a.schedule).localeCompare(String(b.schedule)));
  const expected = [
    { schedule: config.stage.ranges.schedule, state: 'ENABLED', targets: [target('ranges-update')] },
    { schedule: config.stage.replication.reconcileSchedule, state: 'ENABLED', targets: [target('reconcile')] },
  ].sort((a, b) => a.schedule.localeCompare(b.schedule));
  expect(schedules).toEqual(expected);
});

test('the dead-letter queue keeps messages 14 days', () => {
  expect(deployed.queue!.url).toMatch(new RegExp(`/${names.deadLetterQueue}$`));
  expect(deployed.queue!.retentionSeconds).toBe(14 * 24 * 3600);
});

test("the framework's deployment bucket blocks public access, in every stack", () => {
  for (const stack of deployed.stacks) {
    const bucket = stack.template.Resources.ServerlessDeploymentBucket;
    expect([stack.region, bucket?.Properties?.PublicAccessBlockConfiguration]).toEqual([
      stack.region,
      { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    ]);
  }
  // One per stack, and they exist.
  expect(deployed.deploymentBuckets).toHaveLength(deployed.stacks.length);
});

/**
 * A template with what changes on every deploy by design taken out: osls uploads each deploy's artefacts
 * under a new key, and the replicator's S3 subscription carries a ForceDeploy stamp so every deploy
 * re-asserts it (tools/stacks/functions.ts).
 */
function stable(template: Deployment['stacks'][number]['template']): unknown {
  return JSON.parse(JSON.stringify(template), (key, value) => (key === 'S3Key' || key === 'ForceDeploy' ? '<per deploy>' : value));
}

test('the second deploy changes nothing', () => {
  expect(second.code).toBe(0);
  // The regional stacks: osls finds nothing to change.
  expect(`${second.stdout}${second.stderr}`.match(/did not include any changes/g)).toHaveLength(names.buckets.length);
  expect(again.stacks.map((s) => s.status)).toEqual(deployed.stacks.map(() => expect.stringMatching(/_COMPLETE$/)));
  expect(again.stacks.map((s) => stable(s.template))).toEqual(deployed.stacks.map((s) => stable(s.template)));
  // Nothing replaced (the subscription's custom resource runs again on purpose, so it is left out, and so
  // are the resources moto lists without a logical id: the types it skips).
  const physicalIds = (d: Deployment) => d.stacks.map((s) => s.resources.filter((r) => r.logicalId && !r.type.startsWith('Custom::')).map((r) => `${r.logicalId} ${r.physicalId}`).sort());
  expect(physicalIds(again)).toEqual(physicalIds(deployed));
  // Same code, and no new version published (CloudFront would otherwise roll the edge functions out again).
  expect(again.functions.map((f) => [f.name, f.codeSha256, f.versions])).toEqual(deployed.functions.map((f) => [f.name, f.codeSha256, f.versions]));
});

// moto creates the role but not the GitHub OIDC provider (so the trust's Federated principal is empty
// here); test/deploy/ci-role.test.ts checks the provider and the principal in the template.
test("the ci-role stack deploys: the role trusts GitHub's tokens for this repository's sandbox environment only", () => {
  expect({ code: ciRole.code, stderr: ciRole.code === 0 ? '' : ciRole.stderr }).toEqual({ code: 0, stderr: '' });
  expect(ciRoleRead.stack.status).toMatch(/^(CREATE|UPDATE)_COMPLETE$/);
  expect(ciRoleRead.role.name).toBe(`${names.service}-${STAGE}-github-deploy`);
  expect(ciRoleRead.role.trust.Statement.map((s) => [s.Effect, s.Action, s.Condition])).toEqual([
    [
      'Allow',
      'sts:AssumeRoleWithWebIdentity',
      { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': `repo:registry-edge/registry-edge:environment:${STAGE}` } },
    ],
  ]);
  // Its permissions name this stage's stacks.
  const cfn = ciRoleRead.role.statements.find((s) => s.Sid === 'DeployTheStagesStacks')!;
  expect(cfn.Resource).toEqual([names.mainStack, names.regionalStack].map((stack) => `arn:aws:cloudformation:*:123456789012:stack/${stack}/*`));
});
