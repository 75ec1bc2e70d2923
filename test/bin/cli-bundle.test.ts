/**
 * The CLI's prebuilt bundle (bin/cli-bundle.js): built on first use, used while its sources are unchanged,
 * rebuilt as soon as one changes (or a new file changes what an import resolves to), never stale. Checked on
 * a small project of its own in a temporary folder, laid out as this one is (cli/main.ts exporting `main`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

const { loadBundledCli } = require('../../bin/cli-bundle.js') as {
  loadBundledCli(root: string): Promise<{ cli: { main(): string; where(): string[] }; bundle: string; built: boolean } | undefined>;
};

let root: string;
const write = (path: string, text: string) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
};
/**
 * Waits until the files written last are out of the racy window: a build from files changed in the two
 * seconds before it is not recorded (they may have changed during it), and a change time cannot be set back.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_100));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cli-bundle-'));
  write('tsconfig.json', '{}');
  write('cli/main.ts', "import { value } from '../lib/value';\nimport { here } from '../lib/deep/here';\nexport const main = (): string => value;\nexport const where = (): string[] => [__dirname, here()];\n");
  write('lib/value.ts', "export const value: string = 'one';\n");
  write('lib/deep/here.ts', 'export const here = (): string => __filename;\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('built on first use, then used as it is until a source changes', async () => {
  await settle();
  const first = await loadBundledCli(root);
  expect([first?.built, first?.cli.main()]).toEqual([true, 'one']);
  expect(first!.bundle.startsWith(join(root, '.cache', 'cli'))).toBe(true);
  const again = await loadBundledCli(root);
  expect([again?.built, again?.bundle]).toEqual([false, first!.bundle]);

  write('lib/value.ts', "export const value: string = 'two';\n");
  await settle();
  const edited = await loadBundledCli(root);
  expect([edited?.built, edited?.cli.main()]).toEqual([true, 'two']);
}, 30_000);

test('each source keeps its own __dirname and __filename', async () => {
  const loaded = await loadBundledCli(root);
  expect(loaded?.cli.where()).toEqual([join(root, 'cli'), join(root, 'lib/deep/here.ts')]);
});

test('a new file that changes what an import resolves to rebuilds it', async () => {
  write('lib/value.ts', "export { value } from './pick';\n");
  write('lib/pick/index.ts', "export const value: string = 'from the folder';\n");
  await settle();
  expect((await loadBundledCli(root))?.cli.main()).toBe('from the folder');
  // ./pick now resolves to pick.ts, beside the folder; none of the files built from has changed.
  write('lib/pick.ts', "export const value: string = 'from the file';\n");
  await settle();
  const loaded = await loadBundledCli(root);
  expect([loaded?.built, loaded?.cli.main()]).toEqual([true, 'from the file']);
}, 30_000);

test('a build from files changed during it is used but not recorded: the next start builds again', async () => {
  write('lib/value.ts', "export const value: string = 'just now';\n");
  const first = await loadBundledCli(root);
  expect([first?.built, first?.cli.main()]).toEqual([true, 'just now']);
  expect((await loadBundledCli(root))?.built).toBe(true);
});

test('sources that do not build: undefined (the caller runs them through tsx, which says why)', async () => {
  write('lib/value.ts', 'export const value: string = ;\n');
  expect(await loadBundledCli(root)).toBeUndefined();
});

test('a deleted bundle is built again, not required', async () => {
  await settle();
  const first = await loadBundledCli(root);
  rmSync(first!.bundle);
  const again = await loadBundledCli(root);
  expect([again?.built, again?.cli.main()]).toEqual([true, 'one']);
  expect(JSON.parse(readFileSync(join(root, '.cache/cli/manifest.json'), 'utf8')).bundle).toBe(again!.bundle.split('/').pop());
}, 30_000);

test('a checkout where the bundle cannot be kept (no folder .cache/cli/ can be made): undefined', async () => {
  mkdirSync(join(root, '.cache'));
  writeFileSync(join(root, '.cache', 'cli'), 'a file where the folder would be');
  expect(await loadBundledCli(root)).toBeUndefined();
});

test('REGISTRY_EDGE_NO_BUNDLE=1 asks for the sources through tsx', async () => {
  process.env.REGISTRY_EDGE_NO_BUNDLE = '1';
  try {
    expect(await loadBundledCli(root)).toBeUndefined();
  } finally {
    delete process.env.REGISTRY_EDGE_NO_BUNDLE;
  }
});

test('the command itself, run from the bundle and through tsx, answers alike', () => {
  const bundled = runCli(['classify', '3.5.140.2']);
  const tsx = runCli(['classify', '3.5.140.2'], undefined, { REGISTRY_EDGE_NO_BUNDLE: '1' });
  expect([bundled.status, bundled.stderr]).toEqual([0, '']);
  expect(tsx).toEqual(bundled);
  expect(bundled.lines).toEqual([expect.objectContaining({ ip: '3.5.140.2', cloud: 'aws' })]);
}, 60_000);
