/** The deploy order, and the plugin's refusals (the rest of the plugin runs in packaged.test.ts). */
import { deployPlan, describeStep } from '../../tools/deploy';
import RegistryEdgePlugin, { edgeAssociations, PluginError } from '../../tools/stacks/plugin';
import { loadStageConfig } from '../../tools/build';
import { offlineEnv, stackTargets } from '../../tools/package';

describe('deploy plan', () => {
  test('regional stacks first, in configuration order, then the main stack', () => {
    const regions = loadStageConfig({ stage: 'prod' }).stage.buckets.regions;
    const plan = deployPlan({ stage: 'prod' });
    expect(plan.map((t) => `${t.kind} ${t.region}`)).toEqual([...regions.map((r) => `regional ${r}`), 'main us-east-1']);
    expect(describeStep(plan[0]!)).toBe(`(cd regional && npx osls deploy --stage prod --region ${regions[0]})`);
    expect(describeStep(plan.at(-1)!)).toBe('npx osls deploy --stage prod');
  });

  test('one region, or one kind', () => {
    expect(deployPlan({ stage: 'sandbox', region: 'eu-west-1' }).map((t) => t.name)).toEqual(['regional-eu-west-1']);
    expect(deployPlan({ stage: 'sandbox', only: 'main' }).map((t) => t.name)).toEqual(['main']);
    expect(deployPlan({ stage: 'sandbox', only: 'regional' }).map((t) => t.name)).toEqual(['regional-us-east-1', 'regional-eu-west-1']);
  });

  test('the ci-role stack only when asked for: the pipeline must not deploy its own role', () => {
    expect(deployPlan({ stage: 'prod' }).map((t) => t.kind)).not.toContain('ci-role');
    const plan = deployPlan({ stage: 'prod', only: 'ci-role' });
    expect(plan.map((t) => `${t.kind} ${t.region}`)).toEqual(['ci-role us-east-1']);
    expect(describeStep(plan[0]!)).toBe('(cd ci && npx osls deploy --stage prod)');
  });

  test('a region the stage does not have is refused, naming the ones it has', () => {
    expect(() => deployPlan({ stage: 'sandbox', region: 'ap-south-1' })).toThrow(/ap-south-1: not in buckets\.regions of config\/sandbox\.json \(us-east-1, eu-west-1\)/);
  });

  test('packaging sees no AWS credentials', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_PROFILE: 'prod' });
    try {
      const env = offlineEnv();
      expect(Object.keys(env).filter((k) => k.startsWith('AWS_') && !['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'].includes(k))).toEqual([]);
      expect(env.AWS_EC2_METADATA_DISABLED).toBe('true');
    } finally {
      process.env = saved;
    }
    expect(stackTargets('sandbox')).toHaveLength(4);
  });
});

describe('plugin', () => {
  const lambdaId = (fn: string) => `${fn}Fn`;

  test('associates each edge function with its one published version', () => {
    const resources = {
      viewerFn: { Type: 'AWS::Lambda::Function' },
      viewerVersionAbc: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'viewerFn' } } },
      otherVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'otherFn' } } },
    };
    expect(edgeAssociations(resources, { viewer: 'viewer-request' }, lambdaId)).toEqual([{ EventType: 'viewer-request', LambdaFunctionARN: { Ref: 'viewerVersionAbc' }, IncludeBody: false }]);
  });

  test('refuses to associate an unversioned function (CloudFront takes only numbered versions)', () => {
    expect(() => edgeAssociations({ viewerFn: { Type: 'AWS::Lambda::Function' } }, { viewer: 'viewer-request' }, lambdaId)).toThrow(/expected one published version in the template, found 0/);
  });

  test('`deploy function` of an edge function is refused: its version would not reach the distribution', () => {
    const serverless = { service: { custom: { registryEdge: { edge: { 'edge-viewer-request': 'viewer-request' } } } } };
    const plugin = new RegistryEdgePlugin(serverless as never, { function: 'edge-viewer-request', stage: 'prod' });
    expect(() => plugin.hooks['before:deploy:function:initialize']!()).toThrow(PluginError);
    expect(() => plugin.hooks['before:deploy:function:initialize']!()).toThrow(/serverless deploy --stage prod/);
    const regular = new RegistryEdgePlugin(serverless as never, { function: 'replicate', stage: 'prod' });
    expect(() => regular.hooks['before:deploy:function:initialize']!()).not.toThrow();
  });
});
