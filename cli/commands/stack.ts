/**
 * `registry-edge stack` (`npm start`): the whole distribution on this machine. Prints where everything
 * is, then one line starting with `ready:` that holds a working pull command, then an access log line per
 * request. Ctrl-C or SIGTERM stops every process it started.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AccessLogEntry } from '../../local/cloudfront/emulator';
import { createStandardLogWriter, type StandardLogWriter } from '../../local/cloudfront/standard-log';
import { DEFAULT_CACHE_DIR } from '../../local/demo-image';
import { type Stack, startStack } from '../../local/stack';
import { stackStatePath } from '../../local/stack-state';
import { ROOT } from '../../tools/build';

interface StackCommandOptions {
  port: string;
  edgeRegion: string;
  dist: string;
  cache: string;
  quiet?: boolean;
  accessLog?: string;
  edgeCacheMb: string;
}

const shortDigests = (text: string) => text.replace(/(sha256:[0-9a-f]{12})[0-9a-f]{52}/g, '$1…');

/** The bucket (or host) an origin URL points at: path-style local S3 URLs name it first. */
const originName = (url: string) => {
  const parsed = new URL(url);
  return parsed.pathname.split('/')[1] || parsed.host;
};

/**
 * One access log line: who asked for what, what they got, and where it came from.
 *   127.0.2.10  GET  307 /v2/demo/hello/blobs/sha256:fb6aee57c27d… → http://127.0.0.1:…/registry-edge-local-eu-west-1/… (2.1 ms)
 *   127.0.0.1   GET  200 /v2/demo/hello/blobs/sha256:fb6aee57c27d… ← registry-edge-local-eu-west-1 404, registry-edge-local-us-east-1 200 (9.3 ms)
 *   127.0.0.1   GET  200 /v2/demo/hello/blobs/sha256:fb6aee57c27d… ← edge cache (0.8 ms)
 */
export function formatAccess(entry: AccessLogEntry): string {
  const request = `${entry.clientIp.padEnd(11)} ${entry.method.padEnd(4)} ${entry.status} ${shortDigests(entry.uri)}${entry.querystring ? `?${entry.querystring}` : ''}`;
  const where = entry.location
    ? ` → ${shortDigests(entry.location)}`
    : entry.cacheHit
      ? ' ← edge cache'
      : entry.origins.length
      ? ` ← ${entry.origins.map((o) => `${originName(o.url)} ${o.status ?? o.error}`).join(', ')}`
      : '';
  const problem = entry.error ? ` [${entry.resultType}: ${entry.error}]` : entry.aborted ? ' [aborted]' : '';
  return `${request}${where}${problem} (${entry.durationMs} ms)`;
}

function summary(stack: Stack, options: StackCommandOptions): string[] {
  const { config } = stack;
  const regional = Object.entries(stack.buckets.regional).map(([region, bucket]) => (bucket === stack.buckets.primary ? `${bucket} (primary, ${region})` : `${bucket} (${region})`));
  const lines = [
    `registry-edge local stack: up in ${(stack.timings.total! / 1000).toFixed(1)} s`,
    `  edge (CloudFront emulator)   ${stack.endpoint}   regional edge cache ${stack.emulator.edgeRegion}, functions in ${options.dist}, ${stack.emulator.cache ? `cache ${stack.emulator.cache.maxBytes / (1024 * 1024)} MiB` : 'no cache'}`,
    `  S3 (moto_server)             ${stack.s3Endpoint}   ${regional.join(', ')}`,
    `  upstream (docker-registry)   ${stack.registryUrl}   ${stack.image.reference} = ${stack.image.index.digest}`,
    `  clients: 127.0.0.1 is an internet client (served through CloudFront); to pull as a client elsewhere, use its relay:`,
  ];
  for (const client of stack.clients) {
    const where = `${client.cloud} ${client.region}`;
    const note = client.cloud === 'aws' && !config.edge.buckets[client.region] ? ` (no bucket: nearest is ${config.edge.nearest[client.region]})` : '';
    lines.push(`    ${where.padEnd(18)} ${client.address.padEnd(11)} ${stack.pullCommand(join(tmpdir(), `hello-${client.region}`), client.relay?.address)}${note}`);
  }
  return lines;
}

export function registerStack(program: Command): void {
  program
    .command('stack')
    .description('Run the whole distribution on this machine: CloudFront emulator with the bundled edge functions, moto_server (S3) and docker-registry with a demo image.')
    .option('--port <port>', 'port of the CloudFront emulator (env PORT)', process.env.PORT || '8080')
    .option('--edge-region <region>', "region of the emulated regional edge cache (the origin-request function's AWS_REGION)", 'us-east-1')
    .option('--dist <dir>', 'where to build the edge functions', join(ROOT, 'dist', 'local'))
    .option('--cache <dir>', 'where the demo image is cached between runs', DEFAULT_CACHE_DIR)
    .option('--quiet', 'no access log')
    .option('--edge-cache-mb <MiB>', 'size of the emulated edge cache, which caches as the packaged distribution does (0: no cache, every blob request goes to S3)', '256')
    .option('--access-log <file>', 'also append every request to this file as a CloudFront standard log line (input for registry-edge cost-report)')
    .action(async (options: StackCommandOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port/PORT must be a port number, not "${options.port}"`);
      const cacheMb = Number(options.edgeCacheMb);
      if (!/^\d+$/.test(options.edgeCacheMb) || !Number.isSafeInteger(cacheMb * 1024 * 1024)) throw new Error(`--edge-cache-mb must be a whole number of MiB (0 for no cache), not "${options.edgeCacheMb}"`);
      let signalled: NodeJS.Signals | null = null;
      let wake = () => {};
      const onSignal = (signal: NodeJS.Signals) => {
        // A second Ctrl-C does not wait: the exit hook in local/processes.ts still kills the servers.
        if (signalled) process.exit(130);
        signalled = signal;
        wake();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const out = (line: string) => process.stdout.write(`${line}\n`);
      let accessLog: StandardLogWriter | undefined;
      try {
        accessLog = options.accessLog ? createStandardLogWriter(options.accessLog) : undefined;
      } catch (error) {
        throw new Error(`--access-log ${options.accessLog}: ${(error as Error).message}`);
      }
      const onAccess = (entry: AccessLogEntry) => {
        accessLog?.write(entry);
        if (!options.quiet) out(formatAccess(entry));
      };
      const stack = await startStack({
        port,
        edgeRegion: options.edgeRegion,
        distDir: options.dist,
        cacheDir: options.cache,
        cache: cacheMb === 0 ? false : { maxBytes: cacheMb * 1024 * 1024 },
        relays: true,
        log: (message) => out(`  ${message}`),
        ...(options.quiet && !accessLog ? {} : { onAccess }),
        onFunctionLog: (fn, line) => process.stderr.write(`[${fn}] ${line}\n`),
        stateFile: stackStatePath(),
      });
      if (!signalled) {
        for (const line of summary(stack, options)) out(line);
        if (accessLog) out(`  access log (CloudFront standard log format): ${accessLog.path}; report on it with: registry-edge cost-report --stage local --s3-endpoint ${stack.s3Endpoint} ${accessLog.path}`);
        out(`  range table: generation ${stack.rangesPublished.generation} in s3://${stack.buckets.config}; change it with \`registry-edge ranges update --stage local\` or \`ranges rollback --stage local --previous\` (state in ${stack.stateFile})`);
        out(`ready: ${stack.pullCommand(join(tmpdir(), 'hello'))}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      out(`stopping (${signalled})`);
      await stack.stop();
      accessLog?.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      out('stopped');
    });
}
