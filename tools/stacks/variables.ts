/**
 * What serverless.yml and regional/serverless.yml read through `${file(.../serverless.cjs):...}`: the stage's
 * validated configuration turned into functions and resources. osls calls these with the command line's
 * options; the stage must be given (`--stage sandbox`), so nobody deploys a default by accident.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listFunctions, loadStageConfig, ROOT } from '../build';
import { ciRoleStack } from './ci-role-stack';
import { checkDeployable, DeployConfigError, mainStack } from './main-stack';
import { deployNames, SERVICE_REGION } from './names';
import { regionalStack } from './regional-stack';

interface ServerlessVariableContext {
  options: { stage?: string; region?: string };
}

/** Stages that can be deployed: config/<stage>.json, except the local stack's. */
export function deployableStages(): string[] {
  return readdirSync(join(ROOT, 'config'))
    .filter((f) => f.endsWith('.json') && f !== 'local.json')
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * Stages whose stacks get CloudFormation termination protection. The setting is left out of the other stages'
 * templates altogether (`null`), not set to false: osls calls UpdateTerminationProtection after every
 * deploy whenever the setting is there, even to turn it off, and not every CloudFormation API has that call
 * (moto, which the deploy test runs against, does not).
 */
export const DELETION_PROTECTED_STAGES = ['prod'];

/** `provider.deletionProtection` of a stage: true, or null (absent) where the stage has none. */
export const deletionProtection = (stage: string): true | null => (DELETION_PROTECTED_STAGES.includes(stage) ? true : null);

function stageOf(options: ServerlessVariableContext['options']): string {
  const stages = deployableStages();
  if (!options.stage) throw new DeployConfigError(`pass --stage (one of ${stages.join(', ')})`);
  if (!stages.includes(options.stage)) throw new DeployConfigError(`--stage ${options.stage}: no config/${options.stage}.json (deployable stages: ${stages.join(', ')})`);
  return options.stage;
}

export function mainVariables({ options }: ServerlessVariableContext) {
  const stage = stageOf(options);
  if (options.region && options.region !== SERVICE_REGION) {
    throw new DeployConfigError(`--region ${options.region}: the main stack lives in ${SERVICE_REGION} (Lambda@Edge); regional stacks deploy from regional/`);
  }
  const config = loadStageConfig({ stage });
  const stack = mainStack(config, listFunctions());
  return { stage, service: config.stage.service, region: SERVICE_REGION, deletionProtection: deletionProtection(stage), functions: stack.functions, resources: stack.resources, edge: stack.edge };
}

export function regionalVariables({ options }: ServerlessVariableContext) {
  const stage = stageOf(options);
  const config = loadStageConfig({ stage });
  const names = deployNames(config);
  if (!options.region) throw new DeployConfigError(`pass --region (one of ${names.buckets.map((b) => b.region).join(', ')})`);
  checkDeployable(config, listFunctions());
  return { stage, service: names.regionalService, region: options.region, deletionProtection: deletionProtection(stage), resources: regionalStack(config, options.region, listFunctions()) };
}

export function ciRoleVariables({ options }: ServerlessVariableContext) {
  const stage = stageOf(options);
  if (options.region && options.region !== SERVICE_REGION) throw new DeployConfigError(`--region ${options.region}: the ci-role stack lives in ${SERVICE_REGION}`);
  const stack = ciRoleStack(loadStageConfig({ stage }));
  return { stage, service: stack.service, region: SERVICE_REGION, deletionProtection: deletionProtection(stage), resources: stack.resources };
}
