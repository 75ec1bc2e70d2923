/**
 * scripts/setup.sh, run for real by bash in a scratch copy of the repository, with stand-ins for the
 * commands it must not run here (apt-get, npm, id) that record how they were called.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../../local/processes';
import { ROOT } from '../../tools/build';
import { run } from './support/tools';

const TOOLS = ['skopeo', 'docker-registry', 'umoci', 'podman', 'ctr', 'chromium', 'moto_server'];

describe('scripts/setup.sh', () => {
  let dir: string;
  let calls: string;
  let policy: string;

  /** A scratch repo with `present` tools on PATH, run as root or not; returns the result and the calls made. */
  async function setup(options: { present: string[]; root: boolean; freshModules: boolean }) {
    const repo = join(dir, `repo-${Math.random().toString(36).slice(2)}`);
    const bin = join(repo, '.bin');
    mkdirSync(join(repo, 'scripts'), { recursive: true });
    mkdirSync(bin);
    copyFileSync(join(ROOT, 'scripts/setup.sh'), join(repo, 'scripts/setup.sh'));
    chmodSync(join(repo, 'scripts/setup.sh'), 0o755);
    writeFileSync(join(repo, 'package-lock.json'), '{}');
    if (options.freshModules !== undefined) {
      mkdirSync(join(repo, 'node_modules'));
      writeFileSync(join(repo, 'node_modules/.package-lock.json'), '{}');
      const [lock, modules] = options.freshModules ? [1_000, 2_000] : [2_000, 1_000];
      utimesSync(join(repo, 'package-lock.json'), lock, lock);
      utimesSync(join(repo, 'node_modules/.package-lock.json'), modules, modules);
    }
    const fake = (name: string, body = '', record = true) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${record ? `echo "${name} $*" >> ${calls}` : ''}\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    for (const tool of options.present) fake(tool);
    // apt-get notes whether services were kept from starting while it ran.
    fake('apt-get', `[ -x ${policy} ] && echo "policy-rc.d: $(tail -1 ${policy})" >> ${calls}`);
    fake('npm');
    fake('id', `echo ${options.root ? 0 : 1000}`, false);
    for (const tool of ['dirname', 'chmod', 'rm', 'tail']) symlinkSync(requireTool(tool, 'coreutils'), join(bin, tool));
    writeFileSync(calls, '');
    rmSync(policy, { force: true });
    const result = await run(requireTool('bash', 'bash'), [join(repo, 'scripts/setup.sh')], { PATH: bin, HOME: dir, SETUP_POLICY_RC_D: policy });
    return { ...result, calls: readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'setup-sh-'));
    calls = join(dir, 'calls');
    policy = join(dir, 'policy-rc.d');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('does nothing when everything is there', async () => {
    const result = await setup({ present: TOOLS, root: true, freshModules: true });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '', calls: [] });
  });

  it('as root, installs exactly the missing Debian packages', async () => {
    const result = await setup({ present: ['docker-registry', 'ctr', 'chromium', 'moto_server'], root: true, freshModules: true });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(['apt-get update -qq', 'policy-rc.d: exit 101', 'apt-get install -y -qq skopeo umoci podman', 'policy-rc.d: exit 101']);
    // ...and puts things back: no policy-rc.d is left behind.
    expect(existsSync(policy)).toBe(false);
  });

  it('not as root, names what is missing and fails, installing nothing', async () => {
    const result = await setup({ present: ['skopeo', 'umoci', 'ctr', 'moto_server'], root: false, freshModules: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('apt-get install -y docker-registry podman chromium');
    expect(result.calls).toEqual([]);
  });

  it('without moto_server, says where it comes from and fails', async () => {
    const result = await setup({ present: TOOLS.filter((t) => t !== 'moto_server'), root: true, freshModules: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("pip install 'moto[server]==5.2.1'");
  });

  it.each([
    ['stale (older than package-lock.json)', false],
    ['absent', undefined],
  ])('runs npm ci when node_modules is %s', async (_name, freshModules) => {
    const result = await setup({ present: TOOLS, root: true, freshModules: freshModules as boolean });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(['npm ci --no-audit --no-fund']);
  });
});
