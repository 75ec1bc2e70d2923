/**
 * The command examples of README.md and docs/*.md, as a reader finds them: in sh code blocks (`$ ` lines
 * in output blocks too) and in inline code. Each one must hold up from a fresh clone:
 *  - `registry-edge` commands name a subcommand that exists and only options it has; files they read
 *    (`--aws`, `--gcp`, `--config`, `--sizes`, `--prices`) are in the repository;
 *  - `npm run X` / `npm start` / `npm test` name package.json scripts; deploy examples run (as --dry-run),
 *    and the stack command's options exist;
 *  - the offline ones run for real and succeed: classify, route, ranges compile, build, deploy --dry-run.
 * Examples with placeholders (`<stage>`, `B1,B2`, `...`) or that need AWS are checked as far as the above
 * goes, not run. A command of a kind this test does not know fails it: decide how to check it here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createProgram } from '../../cli/main';
import { ROOT } from '../../tools/build';
import { BIN } from '../support/cli';

interface Example {
  file: string;
  command: string;
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const COMMAND_WORDS = /^(npx |npm |registry-edge |scripts\/|aws |git |cd |for |done|skopeo )/;

/** Every command example of one Markdown file, continuation lines joined, comments dropped. */
export function extractExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  const add = (raw: string) => {
    const command = raw.replace(/\s+#\s.*$/, '').replace(/\s+/g, ' ').trim();
    // "`npx registry-edge ...`" in prose names the program, it is not an example.
    if (COMMAND_WORDS.test(command) && !/^(npx )?registry-edge( \.\.\.)?$/.test(command)) out.push({ file, command });
  };
  const blocks = /```(\w*)\n([\s\S]*?)```/g;
  for (const m of text.matchAll(blocks)) {
    const shell = m[1] === 'sh' || m[1] === 'bash';
    const lines = m[2]!.replace(/\\\n\s*/g, ' ').split('\n');
    for (const line of lines) {
      if (shell) add(line);
      else if (line.startsWith('$ ')) add(line.slice(2));
    }
  }
  const prose = text.replace(blocks, '');
  for (const m of prose.matchAll(/`([^`]+)`/g)) add(m[1]!);
  return out;
}

const examples = DOCS.flatMap((file) => extractExamples(file, readFileSync(join(ROOT, file), 'utf8')));
const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const program = createProgram();

/** A placeholder a reader fills in: <stage>, B1,B2, URL, IP..., release-..., [--flag]. */
const hasPlaceholder = (command: string) => /<[^>]+>|\.\.\.|…|\[|\\\||\b(URL|IP|URI|NAME:TAG|LOGS|F|M|S|B|B1,B2)\b/.test(command);

/** The registry-edge words after the program name: subcommand path(s) (a|b|c alternatives) and options. */
function registryEdgeParts(command: string): { paths: string[][]; options: string[]; args: string[] } {
  const words = command.replace(/^npx /, '').split(' ').slice(1);
  const first = words[0]!;
  const top = program.commands.find((c) => c.name() === first);
  let paths = [[first]];
  let rest = words.slice(1);
  if (top && top.commands.length > 0 && rest[0]) {
    paths = rest[0].replace(/\\/g, '').split('|').map((sub) => [first, sub]);
    rest = rest.slice(1);
  }
  const options = rest.map((w) => w.replace(/^\[|\]$/g, '')).filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!);
  return { paths, options, args: rest };
}

function findCommand(path: string[]): Command | undefined {
  return path.reduce<Command | undefined>((parent, name) => parent?.commands.find((c) => c.name() === name), program);
}

const knownOptions = (command: Command) => new Set([...command.options.map((o) => o.long), '--help']);

/** Input files named by an example that a fresh clone must have. */
function inputFiles(args: string[]): string[] {
  const files: string[] = [];
  for (const [i, word] of args.entries()) {
    if (['--aws', '--gcp', '--config', '--sizes', '--prices'].includes(word) && args[i + 1]) files.push(args[i + 1]!);
  }
  return files.filter((f) => !/^https?:|^-$|^none$|^\/|</.test(f));
}

const ofKind = (pattern: RegExp) => examples.filter((e) => pattern.test(e.command));
const label = (e: Example) => `${e.file}: ${e.command}`;

test('the docs hold command examples (the extraction works)', () => {
  expect(examples.length).toBeGreaterThan(40);
  expect(examples.map((e) => e.command)).toContain('npx registry-edge ranges compile --aws data/aws-ip-ranges.json --gcp data/gcp-cloud.json --out /tmp/table.bin');
});

test('every example is of a kind this test checks', () => {
  const known = /^(npx registry-edge |registry-edge |npm (run |start|test|ci)|npx osls |scripts\/setup\.sh|cd (regional|ci) && npx osls |git |aws |for |done|skopeo )/;
  expect(examples.filter((e) => !known.test(e.command)).map(label)).toEqual([]);
});

describe('registry-edge examples name commands and options that exist, and files that are in the repository', () => {
  const cases = ofKind(/^(npx )?registry-edge /).map((e) => [label(e), e] as const);
  test.each(cases)('%s', (_label, example) => {
    const { paths, options, args } = registryEdgeParts(example.command);
    for (const path of paths) {
      const command = findCommand(path);
      expect({ path: path.join(' '), exists: command !== undefined }).toEqual({ path: path.join(' '), exists: true });
      const unknown = options.filter((o) => !knownOptions(command!).has(o));
      expect({ path: path.join(' '), unknown }).toEqual({ path: path.join(' '), unknown: [] });
    }
    for (const file of inputFiles(args)) expect({ file, tracked: tracked.has(file) }).toEqual({ file, tracked: true });
  });
});

describe('npm examples name scripts that exist', () => {
  const cases = ofKind(/(^|&& )npm /).map((e) => [label(e), e] as const);
  test.each(cases)('%s', (_label, example) => {
    for (const m of example.command.matchAll(/npm (run (\S+)|start|test|ci)/g)) {
      const script = m[2] ?? m[1]!;
      if (script === 'ci') continue;
      expect({ script, exists: script in scripts }).toEqual({ script, exists: true });
    }
    // `npm start -- OPTIONS` is `registry-edge stack OPTIONS`.
    const start = /npm start -- (.*)$/.exec(example.command);
    if (start) {
      const stack = findCommand(['stack'])!;
      const unknown = start[1]!.split(' ').filter((w) => w.startsWith('--') && !knownOptions(stack).has(w));
      expect(unknown).toEqual([]);
    }
  });
});

test('the scripts the docs name are in the repository', () => {
  for (const e of ofKind(/(^|&& )scripts\//)) {
    const script = /scripts\/\S+/.exec(e.command)![0];
    expect({ script, tracked: tracked.has(script) }).toEqual({ script, tracked: true });
  }
  expect(tracked.has('node_modules/.bin/osls') || spawnSync(join(ROOT, 'node_modules/.bin/osls'), ['--version']).status === 0).toBe(true);
});

test('osls examples run in a folder that holds a service', () => {
  const osls = ofKind(/npx osls /);
  expect(osls.length).toBeGreaterThan(0);
  for (const e of osls) {
    const dir = /^cd (\S+) && /.exec(e.command)?.[1];
    const service = dir ? `${dir}/serverless.yml` : 'serverless.yml';
    expect({ example: label(e), tracked: tracked.has(service) }).toEqual({ example: label(e), tracked: true });
  }
});

describe('every deploy example runs (as --dry-run)', () => {
  const deploys = [...new Set(ofKind(/npm run deploy -- /).map((e) => /npm run deploy -- (.*?)(?: &&|$)/.exec(e.command)![1]!.replace(/<stage>/g, 'sandbox').replace(/ --dry-run\b/g, '')))];
  test.each(deploys.map((args) => [args]))('npm run deploy -- %s --dry-run', (args) => {
    const words = args.split(' ');
    const result = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'tools/deploy.ts'), ...words, '--dry-run'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^\[1\/\d+\] /);
  });
});

describe('every package example runs', () => {
  const packages = [...new Set(ofKind(/npm run package -- /).map((e) => /npm run package -- (.*?)(?: &&|$)/.exec(e.command)![1]!))];
  test('there are some', () => expect(packages.length).toBeGreaterThan(0));
  // Into a temporary folder (--out) rather than the checkout's .serverless/, which a developer may be using.
  test.each(packages.map((args) => [args]))('npm run package -- %s', (args) => {
    const out = mkdtempSync(join(tmpdir(), 'docs-package-'));
    try {
      const result = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'tools/package.ts'), ...args.split(' '), '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      expect(result.stdout).toMatch(/^cfn-lint: 0 errors, 0 warnings, \d+ notes in \d+ templates$/m);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('the offline examples run as written', () => {
  const OFFLINE = /^npx registry-edge (classify|route|ranges compile|build) /;
  const runnable = ofKind(OFFLINE).filter((e) => !hasPlaceholder(e.command));
  let work: string;
  beforeAll(() => {
    // A folder holding what a fresh clone has at the paths the examples use (outputs go to /tmp or dist/).
    work = mkdtempSync(join(tmpdir(), 'docs-commands-'));
    for (const dir of ['data', 'config']) symlinkSync(join(ROOT, dir), join(work, dir));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('there are some', () => {
    expect(runnable.map((e) => e.command.split(' ')[2])).toEqual(expect.arrayContaining(['classify', 'route', 'ranges', 'build']));
  });

  test.each(runnable.map((e) => [label(e), e] as const))('%s', (_label, example) => {
    const args = example.command.split(' ').slice(2);
    const result = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    expect({ status: result.status, stderr: result.stderr.trim().split('\n').filter((l) => /error|Error/.test(l)) }).toEqual({ status: 0, stderr: [] });
    expect(result.stdout.trim()).not.toBe('');
  }, 120_000);
});
