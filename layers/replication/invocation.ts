/**
 * One invocation of the replication function: envelope in (see events.ts), every blob key once, every
 * target attempted, then the verdict.
 *
 * Retries: S3 invokes the function asynchronously; a thrown error makes Lambda retry the whole event
 * (twice), then send it to the on-failure destination (the DLQ). The error is thrown only after every
 * target of every key was attempted, and the retry skips what already arrived (the targets hold the
 * same object), so in effect only what failed is redone. Behind SQS the failed messages are reported
 * individually (`batchItemFailures`) instead.
 */
import { parseInvocation, type ReplicationTask } from './events';
import { createLimiter } from '../s3/limit';
import type { Log, ObjectReport, Replicator } from './replicate';
import { addReport, emptyTally, failedTargets, type MetricSink, recordTally, type Tally } from './tally';

export interface InvocationOptions {
  replicator: Replicator;
  /** Events for other buckets are ignored: only the primary's blobs are replicated. */
  sourceBucket: string;
  /** Blob keys worked on at once (each fans out to every target). */
  concurrency: number;
  log: Log;
  metrics?: MetricSink;
  now?: () => number;
}

export interface InvocationSummary extends Tally {
  /** Distinct blob keys worked on. */
  objects: number;
  /** Keys that are not blobs, events for other buckets, test events. */
  ignored: number;
  /** Messages that could not be read at all (dropped: a retry would not help). */
  invalid: number;
  /** Blobs whose content did not match their key. */
  quarantinedBlobs: number;
}

export class ReplicationFailedError extends Error {
  constructor(
    readonly summary: InvocationSummary,
    readonly failures: string[],
  ) {
    const shown = failures.slice(0, 5).join('; ');
    super(`${summary.failed} of ${summary.checked} copies failed: ${shown}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}`);
    this.name = 'ReplicationFailedError';
  }
}

export type InvocationResult = { summary: InvocationSummary } & ({ mode: 'direct' } | { mode: 'sqs'; batchItemFailures: { itemIdentifier: string }[] });

export function createInvocationHandler(options: InvocationOptions): (event: unknown) => Promise<InvocationResult> {
  const { replicator, log } = options;
  const now = options.now ?? Date.now;

  return async (event) => {
    const parsed = parseInvocation(event);
    for (const reason of parsed.invalid) log.error('unreadable replication event: dropped', { reason });
    for (const reason of parsed.ignored) log.info('not replication work: ignored', { reason });
    let ignored = parsed.ignored.length;

    // Each key once, however many records name it; remember the earliest event time for the lag.
    const work = new Map<string, ReplicationTask>();
    for (const batch of parsed.batches) {
      for (const task of batch.tasks) {
        if (task.bucket !== options.sourceBucket) {
          ignored++;
          log.warn('event for a bucket other than the primary: ignored', { bucket: task.bucket, key: task.key, primary: options.sourceBucket });
          continue;
        }
        const seen = work.get(task.key);
        if (!seen || (task.eventTime ?? Infinity) < (seen.eventTime ?? Infinity)) work.set(task.key, task);
      }
    }

    const limit = createLimiter(options.concurrency);
    const reports = new Map<string, ObjectReport>();
    await Promise.all(
      [...work.values()].map((task) =>
        limit(async () => {
          const report = await replicator.replicate(task.key);
          reports.set(task.key, report);
          const done = now();
          for (const target of report.targets) {
            if (target.outcome.status === 'copied' && task.eventTime !== undefined) options.metrics?.addMetric('ReplicationLag', 'Milliseconds', Math.max(0, done - task.eventTime));
          }
        }),
      ),
    );

    const tally = emptyTally();
    let objects = 0;
    let quarantinedBlobs = 0;
    const failures: string[] = [];
    for (const report of reports.values()) {
      if (report.digest === undefined) {
        ignored++;
        continue;
      }
      objects++;
      addReport(tally, report);
      if (report.quarantined) quarantinedBlobs++;
      failures.push(...failedTargets(report).map((f) => `${report.key} → ${f}`));
    }
    const summary: InvocationSummary = { ...tally, objects, ignored, invalid: parsed.invalid.length, quarantinedBlobs };
    if (options.metrics) {
      recordTally(options.metrics, tally, quarantinedBlobs);
      options.metrics.addMetric('Ignored', 'Count', ignored);
      options.metrics.addMetric('InvalidEvents', 'Count', parsed.invalid.length);
    }
    log.info('replication done', { ...summary });

    if (parsed.mode === 'sqs') {
      const failedKey = (key: string) => reports.get(key)?.targets.some((t) => t.outcome.status === 'failed') ?? false;
      const batchItemFailures = parsed.batches
        .filter((batch) => batch.tasks.some((task) => task.bucket === options.sourceBucket && failedKey(task.key)))
        .map((batch) => ({ itemIdentifier: batch.messageId! }));
      return { mode: 'sqs', summary, batchItemFailures };
    }
    if (summary.failed > 0) throw new ReplicationFailedError(summary, failures);
    return { mode: 'direct', summary };
  };
}
