/**
 * `registry-edge sync`: back-fill the primary bucket from an existing registry (the upstream). A thin
 * call into layers/sync; this file only parses options, draws progress and prints the summary.
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { isRepositoryName } from '../../layers/oci/paths';
import { RegistryClient } from '../../layers/registry/client';
import { createRateLimiter, parseRate } from '../../layers/registry/rate-limit';
import { createS3Client, isLoopbackEndpoint, type S3Client } from '../../layers/s3/client';
import { createS3BlobTarget } from '../../layers/sync/s3-target';
import { runSync, type SyncEvent } from '../../layers/sync/sync';
import { fail, printJson } from '../io';

interface SyncCommandOptions {
  registry: string;
  repo?: string[];
  all?: boolean;
  s3Endpoint?: string;
  bucket: string;
  region: string;
  prefix: string;
  dryRun?: boolean;
  rate?: number;
  concurrency: number;
  partSize: number;
}

const positiveInteger = (what: string, max: number) => (text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}`);
  return value;
};

const repository = (text: string, previous: string[] = []) => {
  if (!isRepositoryName(text)) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a repository name (lower-case path components like "library/alpine")`);
  return [...previous, text];
};

const rate = (text: string) => {
  try {
    return parseRate(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

function s3Client(endpoint: string | undefined, region: string): S3Client {
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`--s3-endpoint ${JSON.stringify(endpoint)} is not a URL`);
    }
    if (url.protocol !== 'https:' && !isLoopbackEndpoint(endpoint)) throw new Error('--s3-endpoint must be https (plain http only for loopback)');
    return createS3Client({ region, endpoint: url.origin });
  }
  return createS3Client({ region, followRegionRedirects: true });
}

const MB = 1e6;

/** Progress on a terminal; nothing on a pipe (the summary line says it all). */
function progress(enabled: boolean) {
  if (!enabled) return { event: (_event: SyncEvent) => {}, log: (line: string) => process.stderr.write(`${line}\n`), stop: () => {} };
  const started = Date.now();
  let found = 0;
  let done = 0;
  let bytes = 0;
  let manifests = 0;
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'sync [{bar}] {value}/{total} blobs | {manifests} manifests | {mb} MB at {speed} MB/s',
    hideCursor: true,
    barsize: 30,
    etaBuffer: 50,
    fps: 5,
  });
  bar.start(0, 0, { manifests: 0, mb: '0.0', speed: '0.0' });
  const payload = () => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    return { manifests, mb: (bytes / MB).toFixed(1), speed: (bytes / MB / seconds).toFixed(1) };
  };
  return {
    event(event: SyncEvent) {
      if (event.type === 'blob-found') bar.setTotal(++found);
      else if (event.type === 'blob') done++;
      else if (event.type === 'bytes') bytes += event.count;
      else if (event.type === 'manifest') manifests++;
      else return;
      bar.update(done, payload());
    },
    log(line: string) {
      // Above the bar, which redraws below.
      process.stderr.write(`\r\x1b[2K${line}\n`);
    },
    stop: () => bar.stop(),
  };
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description(
      'Copy every blob of an existing registry that the primary bucket lacks (verified against its digest), ' +
        'then print one JSON summary line. Exit status 0 only when nothing failed.',
    )
    .requiredOption('--registry <url>', 'the registry to read (https; http only for loopback)')
    .option('--repo <name>', 'a repository to sync (repeatable)', repository)
    .option('--all', 'every repository in the registry catalog')
    .option('--s3-endpoint <url>', 'S3 API endpoint (default: AWS); loopback endpoints use the local stack credentials')
    .requiredOption('--bucket <bucket>', 'the primary bucket')
    .addOption(new Option('--region <region>', 'the bucket region').env('AWS_REGION').default('us-east-1'))
    .option('--prefix <prefix>', 'key prefix of blobs', 'containers/images/')
    .option('--dry-run', 'walk and compare, copy nothing; print each missing blob as a JSON line')
    .option('--rate <n/s>', 'registry requests per second at most, like 20/s (default: no limit)', rate)
    .option('--concurrency <n>', 'blobs transferred in parallel', positiveInteger('--concurrency', 64), 4)
    .option('--part-size <MiB>', 'multipart upload part size in MiB (5 or more)', positiveInteger('--part-size', 5120), 8)
    .addHelpText(
      'after',
      '\nRegistry credentials, when it needs any: REGISTRY_USERNAME and REGISTRY_PASSWORD.\n' +
        'Ctrl-C stops cleanly (transfers in flight are cancelled and cleaned up); run again to resume.',
    )
    .action(async (options: SyncCommandOptions) => {
      if (Boolean(options.all) === Boolean(options.repo?.length)) throw new Error('give either --repo NAME (one or more) or --all');
      if (options.partSize < 5) throw new Error('--part-size must be at least 5 (MiB), the S3 minimum');
      if (!/^([A-Za-z0-9._-]+\/)*$/.test(options.prefix)) throw new Error('--prefix must be path segments ending in "/"');
      const username = process.env.REGISTRY_USERNAME;
      const password = process.env.REGISTRY_PASSWORD;
      const client = new RegistryClient({
        url: options.registry,
        ...(username && password ? { credentials: { username, password } } : {}),
        ...(options.rate ? { limiter: createRateLimiter(options.rate) } : {}),
      });
      const s3 = s3Client(options.s3Endpoint, options.region);
      try {
        await s3.send(new HeadBucketCommand({ Bucket: options.bucket }));
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw new Error(`bucket ${options.bucket}: ${status === 404 ? 'does not exist' : status === 403 ? 'access denied' : (error as Error).message}`);
      }
      const target = createS3BlobTarget({ client: s3, bucket: options.bucket, prefix: options.prefix, partSize: options.partSize * 1024 * 1024 });

      const controller = new AbortController();
      const view = progress(process.stderr.isTTY === true);
      let interrupts = 0;
      const interrupt = () => {
        if (++interrupts > 1) process.exit(130);
        view.log('registry-edge sync: stopping; cancelling transfers in flight (again to quit at once)');
        controller.abort();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      const started = Date.now();
      try {
        const result = await runSync({
          client,
          target,
          ...(options.all ? {} : { repositories: options.repo! }),
          dryRun: options.dryRun === true,
          concurrency: options.concurrency,
          signal: controller.signal,
          onEvent(event) {
            view.event(event);
            if (event.type === 'problem') view.log(`registry-edge sync: ${event.message}`);
            else if (event.type === 'warning') view.log(`registry-edge sync: warning: ${event.message}`);
            else if (event.type === 'blob' && (event.outcome === 'failed' || event.outcome === 'quarantined')) view.log(`registry-edge sync: ${event.outcome}: ${event.message ?? event.digest}`);
            else if (event.type === 'blob' && event.outcome === 'missing') printJson({ missing: event.digest, size: event.size, repository: event.repository });
          },
        });
        view.stop();
        const seconds = (Date.now() - started) / 1000;
        const did = options.dryRun ? `${result.missing} blobs missing` : `copied ${(result.bytes / MB).toFixed(1)} MB`;
        view.log(`registry-edge sync: ${did} in ${seconds.toFixed(1)} s${result.interrupted ? ' (interrupted: run again to resume)' : ''}`);
        printJson({
          ...result.summary,
          ...(options.dryRun ? { missing: result.missing, dryRun: true } : {}),
          ...(result.interrupted ? { interrupted: true } : {}),
        });
        if (result.interrupted) fail(130);
        else if (result.summary.failed > 0) fail(1);
      } finally {
        view.stop();
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
      }
    });
}
