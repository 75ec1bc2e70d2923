import { MultiBar, Presets } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ReconcileProgress, reconcile } from '../../layers/replication/reconcile';
import type { Bucket, Log } from '../../layers/replication/replicate';
import { createS3Client, type S3ClientOptions } from '../../layers/s3/client';
import { fail, printJson } from '../io';

/** Options every command that copies between buckets shares (reconcile, replay-dlq). */
export interface BucketOptions {
  s3Endpoint?: string;
  region: string;
  source: string;
  targets: string[];
  prefix: string;
  concurrency: number;
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  verbose?: boolean;
}

export function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    return n;
  };
}

function bucketList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.find((name) => !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name));
  if (names.length === 0 || bad !== undefined) throw new InvalidArgumentError(bad ? `"${bad}" is not a valid bucket name` : 'name at least one bucket');
  return names;
}

function bytes(value: string): number {
  const match = /^(\d+)\s*(|k|m|g)i?b?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a size such as 5242880, 64MiB or 1GiB');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(match[1]) * unit;
  if (n < 5 * 1024 ** 2 || n > 5 * 1024 ** 3) throw new InvalidArgumentError('must be from 5MiB to 5GiB (S3 part limits)');
  return n;
}

/** Adds the source/targets/endpoint/copy options (defaults as in the stage configuration). */
export function addBucketOptions(command: Command): Command {
  return command
    .option('--s3-endpoint <url>', 'S3 API endpoint (a local S3 server; default: AWS, following each bucket to its region)')
    .option('--region <region>', 'region of the S3 client', process.env.AWS_REGION ?? 'us-east-1')
    .requiredOption('--source <bucket>', 'the primary bucket')
    .requiredOption('--targets <buckets>', 'regional buckets, comma-separated', bucketList)
    .option('--prefix <prefix>', 'key prefix of the blobs', 'containers/images/')
    .option('--concurrency <n>', 'blobs worked on at once', positiveInt(256), 16)
    .addOption(new Option('--multipart-threshold <size>', 'copy in parts above this size').argParser(bytes).default(512 * 1024 ** 2, '512MiB'))
    .addOption(new Option('--part-size <size>', 'part size of multipart copies').argParser(bytes).default(64 * 1024 ** 2, '64MiB'))
    .option('--part-concurrency <n>', 'parts copied at once per object', positiveInt(64), 8)
    .option('--verbose', 'log every copy, not only problems');
}

export function bucketsFrom(options: BucketOptions): { source: Bucket; targets: Bucket[] } {
  const clientOptions: S3ClientOptions = options.s3Endpoint
    ? { endpoint: options.s3Endpoint, region: options.region, maxSockets: options.concurrency * 4 }
    : { region: options.region, followRegionRedirects: true, maxSockets: options.concurrency * 4 };
  if (options.s3Endpoint) {
    try {
      new URL(options.s3Endpoint);
    } catch {
      throw new Error(`--s3-endpoint "${options.s3Endpoint}" is not a URL`);
    }
  }
  if (options.targets.includes(options.source)) throw new Error(`--targets names the source bucket ${options.source}`);
  const client = createS3Client(clientOptions);
  return {
    source: { bucket: options.source, region: options.region, client },
    targets: options.targets.map((bucket) => ({ bucket, region: options.region, client })),
  };
}

/** Problems as one JSON line each on stderr (through the progress bar, when there is one). */
export function stderrLog(verbose: boolean, write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  const line = (level: string) => (message: string, ...attributes: Record<string, unknown>[]) =>
    write(`${JSON.stringify({ level, message, ...Object.assign({}, ...attributes) })}\n`);
  const quiet = () => {};
  return { debug: quiet, info: verbose ? line('info') : quiet, warn: line('warn'), error: line('error') };
}

export function registerReconcile(program: Command): void {
  addBucketOptions(
    program
      .command('reconcile')
      .description(
        'Copy every blob the targets lack (or hold differently) from the source, with the checks of replication (a digest-mismatched source is quarantined, never copied). Ends with one JSON line; exits 1 if any copy failed.',
      )
      .option('--dry-run', 'read and verify, but copy, tag and delete nothing'),
  ).action(async (options: BucketOptions & { dryRun?: boolean }) => {
    const { source, targets } = bucketsFrom(options);
    // A bar only for people: on a terminal, on stderr, so stdout stays one JSON line.
    const bars = process.stderr.isTTY
      ? new MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: true, format: ' {phase} [{bar}] {value}/{total} pairs | {eta_formatted} left' }, Presets.shades_classic)
      : undefined;
    // Listing and copying overlap: while listing lasts, a line counting the keys listed and a bar over the
    // (blob, target) pairs found so far (no time left: the total is not known yet); then the bar over all
    // pairs, with its estimate.
    const phase = options.dryRun ? 'checking' : 'copying';
    let listingLine = bars?.create(0, 0, { listed: 0 }, { format: ' listing the buckets: {listed} keys' });
    let bar = bars?.create(0, 0, { phase }, { format: ' {phase} [{bar}] {value}/{total} pairs so far, still listing', emptyOnZero: true });
    bars?.update(); // drawn now, not at the next tick: a short run would otherwise show none
    const log = stderrLog(Boolean(options.verbose), bars ? (line) => bars.log(line) : undefined);
    const onProgress = (p: ReconcileProgress) => {
      if (!bars || !bar) return;
      if (listingLine && p.listing) listingLine.update(0, { listed: p.listed });
      if (listingLine && !p.listing) {
        bars.remove(listingLine);
        listingLine = undefined;
        bars.remove(bar);
        bar = bars.create(p.total, p.done, { phase });
      }
      bar.setTotal(p.total);
      bar.update(p.done);
    };
    try {
      const summary = await reconcile({
        source,
        targets,
        blobPrefix: options.prefix,
        copy: { multipartThresholdBytes: options.multipartThreshold, partSizeBytes: options.partSize, partConcurrency: options.partConcurrency },
        concurrency: options.concurrency,
        dryRun: Boolean(options.dryRun),
        log,
        onProgress,
      });
      bars?.stop();
      printJson({ checked: summary.checked, copied: summary.copied, skipped: summary.skipped, quarantined: summary.quarantined, failed: summary.failed });
      if (summary.failed > 0) fail(1);
    } finally {
      bars?.stop();
      source.client.destroy();
    }
  });
}
