/**
 * The local stack as a user meets it (`registry-edge stack`, what `npm start` runs), in one run:
 *
 * - start-up: from launching the command to its `ready:` line, with the demo image cached (every start
 *   after the first) and without (a fresh clone);
 * - pulling the demo image with skopeo through the stack, as an internet client (blobs through the
 *   CloudFront emulator; after the warm-up pull, from its cache) and as a client in eu-west-1 (blobs by
 *   redirect to its bucket), against the baseline: the same pull straight from the upstream registry,
 *   runs interleaved, medians compared;
 * - the edge cache's hit ratio over the internet pulls after the first (from the stack's standard log);
 * - per-request cost of the edge: a generated answer (/v2/), a blob redirect for a client in eu-west-1
 *   with the existence cache warm (what the edge adds before the client reaches its bucket), and a 1 MiB
 *   blob through the emulator (a cache hit), next to the same blob straight from moto_server;
 * - memory: resident set of every process of the stack (node with the emulator and its workers,
 *   moto_server, docker-registry) after the pulls.
 *
 *   npx tsx bench/stack.ts [runs]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../local/ports';
import { ROOT } from '../tools/build';
import { CLOUDFRONT_LOG_FIELDS } from '../layers/costs/access-log';
import { record } from './results';

const sh = promisify(execFile);
const RUNS = Number(process.argv[2] ?? 7);
const work = mkdtempSync(join(tmpdir(), 'bench-stack-'));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

interface Running {
  child: ChildProcess;
  output: () => string;
  readyMs: number;
}

async function startCommand(cacheDir: string, accessLog?: string): Promise<Running> {
  const port = await freePort();
  const started = performance.now();
  const extra = accessLog ? ['--access-log', accessLog] : [];
  const child = spawn(process.execPath, [join(ROOT, 'bin/registry-edge.js'), 'stack', '--quiet', '--port', String(port), '--dist', join(work, 'dist'), '--cache', cacheDir, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => reject(new Error(`the stack exited (${code}) before ready:\n${output}`));
    const watch = () => {
      if (!/^ready: /m.test(output)) return;
      child.off('exit', early);
      child.stdout!.off('data', watch);
      resolve({ child, output: () => output, readyMs: performance.now() - started });
    };
    child.once('exit', early);
    child.stdout!.on('data', watch);
  });
}

async function stopCommand(running: Running) {
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

async function pull(reference: string): Promise<number> {
  const dest = join(work, `pull-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  await sh('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `dir:${dest}`]);
  const ms = performance.now() - started;
  rmSync(dest, { recursive: true, force: true });
  return ms;
}

function get(url: string, localAddress?: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ ms: performance.now() - started, bytes }));
    })
      .on('error', reject)
      .end();
  });
}

/** Resident memory (kB) of `pid` and every process below it, by command name. */
function treeRss(pid: number): Record<string, number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: Record<string, number> = {};
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const name = /^Name:\s+(.+)$/m.exec(status)![1]!;
      const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      out[name] = (out[name] ?? 0) + rss;
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

async function main() {
  const figures: Record<string, unknown> = { runs: RUNS };

  // Start-up, without the demo image cached (as after a fresh clone), then with it.
  const coldCache = join(work, 'cache');
  const cold = await startCommand(coldCache);
  await stopCommand(cold);
  const warm: number[] = [];
  let running: Running | undefined;
  const accessLog = join(work, 'access.log');
  for (let i = 0; i < 3; i++) {
    running = await startCommand(coldCache, i === 2 ? accessLog : undefined);
    warm.push(running.readyMs);
    if (i < 2) await stopCommand(running);
  }
  figures.startup = { coldCacheMs: Math.round(cold.readyMs), warmMs: warm.map(Math.round), warmMedianMs: Math.round(median(warm)) };

  const out = running!.output();
  const edge = /^ready: .* docker:\/\/([^/]+)\//m.exec(out)![1]!;
  const upstream = /upstream \(docker-registry\)\s+http:\/\/(\S+)/.exec(out)![1]!;
  const s3 = /S3 \(moto_server\)\s+(http:\/\/\S+)/.exec(out)![1]!;
  const euRelay = /aws eu-west-1\s+127\.0\.2\.10\s+skopeo copy \S+ docker:\/\/([^/]+)\//.exec(out)![1]!;
  const reference = 'demo/hello:1';

  // Pulls, interleaved so drift on a shared machine hits every variant alike. One warm-up each.
  const variants = { direct: `${upstream}/${reference}`, internet: `${edge}/${reference}`, euWest1: `${euRelay}/${reference}` };
  const times: Record<string, number[]> = { direct: [], internet: [], euWest1: [] };
  for (const ref of Object.values(variants)) await pull(ref);
  const logLinesBefore = readFileSync(accessLog, 'utf8').split('\n').length;
  for (let i = 0; i < RUNS; i++) for (const [name, ref] of Object.entries(variants)) times[name]!.push(await pull(ref));
  const direct = median(times.direct!);
  // Hits among the internet client's blob requests after its first pull (x-edge-result-type).
  await new Promise((r) => setTimeout(r, 300)); // the stack writes a line when a response has ended
  const field = (line: string, name: string) => line.split('\t')[CLOUDFRONT_LOG_FIELDS.indexOf(name as (typeof CLOUDFRONT_LOG_FIELDS)[number])];
  const internetBlobLines = readFileSync(accessLog, 'utf8')
    .split('\n')
    .slice(logLinesBefore - 1)
    .filter((l) => l && !l.startsWith('#') && field(l, 'c-ip') === '127.0.0.1' && field(l, 'cs-uri-stem')!.includes('/blobs/'));
  const hits = internetBlobLines.filter((l) => field(l, 'x-edge-result-type') === 'Hit').length;
  figures.cache = { blobRequestsAfterFirstPull: internetBlobLines.length, hits, hitRatio: round(hits / internetBlobLines.length, 3) };
  figures.pull = {
    baseline: 'skopeo copy straight from docker-registry',
    directMedianMs: round(direct),
    throughStack: {
      internetClient: { medianMs: round(median(times.internet!)), ratio: round(median(times.internet!) / direct, 2) },
      euWest1Client: { medianMs: round(median(times.euWest1!)), ratio: round(median(times.euWest1!) / direct, 2) },
    },
    samplesMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((t) => round(t))])),
  };

  // Per request: 50 each, sequential, new connection each time (as the pulls above make them).
  const manifest = JSON.parse((await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', '--override-arch', 'amd64', `docker://${upstream}/${reference}`])).stdout);
  const amd64 = manifest.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'amd64');
  const image = JSON.parse((await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${upstream}/demo/hello@${amd64.digest}`])).stdout);
  const big = image.layers.reduce((a: { size: number }, b: { size: number }) => (b.size > a.size ? b : a));
  const measure = async (url: string) => {
    for (let i = 0; i < 5; i++) await get(url);
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) samples.push((await get(url)).ms);
    return round(median(samples), 2);
  };
  const measureFrom = async (url: string, localAddress: string) => {
    for (let i = 0; i < 5; i++) await get(url, localAddress);
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) samples.push((await get(url, localAddress)).ms);
    return round(median(samples), 2);
  };
  const blobViaEdge = await measure(`http://${edge}/v2/demo/hello/blobs/${big.digest}`);
  const blobFromS3 = await measure(`${s3}/registry-edge-local-us-east-1/containers/images/${big.digest}`);
  const generatedV2Ms = await measure(`http://${edge}/v2/`);
  // A client in eu-west-1 asking for a blob: the viewer function checks the bucket (existence cache warm
  // after the warm-up requests) and answers 307. Its whole round trip is what the edge adds to the pull.
  const redirectMs = await measureFrom(`http://${edge}/v2/demo/hello/blobs/${big.digest}`, '127.0.2.10');
  figures.request = {
    generatedV2Ms,
    blobRedirectWarmExistenceCacheMs: redirectMs,
    existenceCheckWarmMs: round(redirectMs - generatedV2Ms, 2),
    blob1MiBViaEdgeCacheHitMs: blobViaEdge,
    blob1MiBStraightFromS3Ms: blobFromS3,
    edgeOverheadMs: round(blobViaEdge - blobFromS3, 2),
  };
  const pullFigures = figures.pull as { throughStack: { internetClient: { ratio: number } } };
  record('pull', {
    warmCacheVsDirect: pullFigures.throughStack.internetClient.ratio,
    secondPullHitRatio: (figures.cache as { hitRatio: number }).hitRatio,
    edgeAddedMsPerBlobWarm: redirectMs,
  });

  const rss = treeRss(running!.child.pid!);
  figures.memory = { totalMiB: round(Object.values(rss).reduce((a, b) => a + b, 0) / 1024), byProcessMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, round(v / 1024)])) };
  await stopCommand(running!);

  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}

main()
  .catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
