/**
 * The osls plugin of the main service (serverless.yml):
 *  - builds the stage's bundles (tools/build.ts) before the framework zips them, so a plain
 *    `serverless package|deploy --stage X` ships what the tests tested;
 *  - checks every edge zip against the Lambda@Edge limit once it is written;
 *  - attaches the edge functions' published versions to the distribution (CloudFront takes only a
 *    numbered version) and keeps those functions when the stack goes (their replicas outlive it);
 *  - drops the DependsOn entries the framework adds beside a Ref/GetAtt to the same resource (cfn-lint
 *    W3005), so the templates lint without warnings: some CloudFormation APIs (moto's) refuse any warning.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_ZIP_LIMIT, buildStage } from '../build';
import { DISTRIBUTION, type MainStack } from './main-stack';

interface CfResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** The parts of osls this plugin touches. */
interface Serverless {
  serviceDir: string;
  service: {
    provider: { stage: string; compiledCloudFormationTemplate: { Resources: Record<string, CfResource> } };
    custom?: { registryEdge?: { edge?: MainStack['edge'] } };
    getFunction(name: string): { package?: { artifact?: string } };
    getAllFunctions(): string[];
  };
  getProvider(name: 'aws'): { naming: { getLambdaLogicalId(fn: string): string }; getStage(): string };
}

interface Options {
  stage?: string;
  function?: string;
}

export class PluginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryEdgePluginError';
  }
}

/** The edge functions' versions, as LambdaFunctionAssociations for the distribution's default behaviour. */
export function edgeAssociations(resources: Record<string, CfResource>, edge: MainStack['edge'], lambdaLogicalId: (fn: string) => string) {
  return Object.entries(edge).map(([fn, eventType]) => {
    const lambda = lambdaLogicalId(fn);
    const versions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Version' && (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === lambda);
    if (versions.length !== 1) throw new PluginError(`${fn}: expected one published version in the template, found ${versions.length} (is provider.versionFunctions off?)`);
    return { EventType: eventType, LambdaFunctionARN: { Ref: versions[0]![0] }, IncludeBody: false };
  });
}

/** The logical ids a value refers to through Ref, Fn::GetAtt or Fn::Sub (`${Id}`, `${Id.Attr}`). */
export function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) referencedIds(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const [text, variables] = Array.isArray(inner) ? inner : [inner, {}];
        // `${Name}` refers to a resource unless the Sub's own variable map defines Name.
        const local = new Set(Object.keys((variables ?? {}) as object));
        if (typeof text === 'string') for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) if (!local.has(m[1]!)) into.add(m[1]!);
        referencedIds(variables, into);
      } else referencedIds(inner, into);
    }
  }
  return into;
}

/**
 * Removes from each resource's DependsOn the ids its properties already refer to (the reference orders them
 * anyway, so nothing changes in what CloudFormation does); a DependsOn left empty goes.
 */
export function dropRedundantDependsOn(resources: Record<string, CfResource>): void {
  for (const resource of Object.values(resources)) {
    if (resource.DependsOn === undefined) continue;
    const referenced = referencedIds(resource.Properties ?? {});
    const kept = [resource.DependsOn].flat().filter((id) => !referenced.has(id));
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
}

export default class RegistryEdgePlugin {
  readonly hooks: Record<string, () => Promise<void> | void>;

  constructor(
    private readonly serverless: Serverless,
    private readonly options: Options,
  ) {
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.build(),
      'after:package:createDeploymentArtifacts': () => this.checkEdgeZips(),
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.attachEdgeVersions(),
      'before:deploy:function:initialize': () => this.refuseEdgeFunctionDeploy(),
      'before:deploy:function:packageFunction': () => this.build(),
    };
  }

  private get edge(): MainStack['edge'] {
    return this.serverless.service.custom?.registryEdge?.edge ?? {};
  }

  private async build() {
    const stage = this.serverless.getProvider('aws').getStage();
    // Into the service folder, where the function package patterns (dist/<stage>/<name>/**) look.
    const result = await buildStage({ stage, outDir: join(this.serverless.serviceDir, 'dist', stage) });
    const sizes = Object.values(result.functions).map((f) => `${f.name} ${(f.zippedBytes / 1024).toFixed(1)} KiB`);
    process.stderr.write(`registry-edge: built ${stage} into ${result.outDir}: ${sizes.join(', ')}\n`);
  }

  private checkEdgeZips() {
    for (const fn of Object.keys(this.edge)) {
      const artifact = this.serverless.service.getFunction(fn).package?.artifact;
      if (!artifact) throw new PluginError(`${fn}: the framework produced no zip`);
      const bytes = statSync(artifact).size;
      if (bytes > EDGE_ZIP_LIMIT) throw new PluginError(`${fn}: ${artifact} is ${bytes} bytes, over the Lambda@Edge limit of ${EDGE_ZIP_LIMIT}`);
    }
  }

  private attachEdgeVersions() {
    const { Resources } = this.serverless.service.provider.compiledCloudFormationTemplate;
    dropRedundantDependsOn(Resources);
    const distribution = Resources[DISTRIBUTION];
    if (!distribution) throw new PluginError(`no ${DISTRIBUTION} resource to attach the edge functions to`);
    const naming = this.serverless.getProvider('aws').naming;
    const behaviour = (distribution.Properties!.DistributionConfig as { DefaultCacheBehavior: Record<string, unknown> }).DefaultCacheBehavior;
    behaviour.LambdaFunctionAssociations = edgeAssociations(Resources, this.edge, (fn) => naming.getLambdaLogicalId(fn));
    for (const fn of Object.keys(this.edge)) {
      const lambda = Resources[naming.getLambdaLogicalId(fn)]!;
      // Lambda@Edge has no environment; the framework would strip it silently, we refuse.
      if (lambda.Properties?.Environment) throw new PluginError(`${fn}: Lambda@Edge functions cannot have environment variables`);
      // CloudFront deletes the replicas hours after the association goes; deleting the function before that
      // fails, and with it the stack. Keep it; `docs/operations.md` says how to remove it later.
      lambda.DeletionPolicy = 'Retain';
      lambda.UpdateReplacePolicy = 'Retain';
    }
  }

  private refuseEdgeFunctionDeploy() {
    const fn = this.options.function;
    if (fn && fn in this.edge) {
      throw new PluginError(`${fn} is a Lambda@Edge function: deploy the whole stack (\`serverless deploy --stage ${this.options.stage ?? '<stage>'}\`), which publishes a version and attaches it to the distribution`);
    }
  }
}
