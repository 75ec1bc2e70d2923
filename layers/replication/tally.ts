/**
 * Counting outcomes, the same way for the replication Lambda, the reconcile and the CLI: every count is of
 * (blob, target) pairs, so copied + skipped + quarantined + failed + deleted = checked. Metrics too.
 */
import type { ObjectReport } from './replicate';

export interface Tally {
  checked: number;
  copied: number;
  skipped: number;
  quarantined: number;
  failed: number;
  deleted: number;
  /** Bytes copied (or that a dry run would copy). */
  bytes: number;
  /** Pairs skipped because the source no longer exists (part of `skipped`). */
  sourceMissing: number;
}

export function emptyTally(): Tally {
  return { checked: 0, copied: 0, skipped: 0, quarantined: 0, failed: 0, deleted: 0, bytes: 0, sourceMissing: 0 };
}

export function addReport(tally: Tally, report: ObjectReport): Tally {
  for (const { outcome } of report.targets) {
    tally.checked++;
    switch (outcome.status) {
      case 'copied':
        tally.copied++;
        tally.bytes += outcome.bytes;
        break;
      case 'skipped':
        tally.skipped++;
        if (outcome.reason === 'source-missing') tally.sourceMissing++;
        break;
      case 'quarantined':
        tally.quarantined++;
        break;
      case 'deleted':
        tally.deleted++;
        break;
      case 'failed':
        tally.failed++;
        break;
    }
  }
  return tally;
}

export function failedTargets(report: ObjectReport): string[] {
  return report.targets.flatMap((t) => (t.outcome.status === 'failed' ? [`${t.bucket}: ${t.outcome.error}`] : []));
}

/** CloudWatch namespace of every registry-edge metric; the function name is the `service` dimension. */
export const METRICS_NAMESPACE = 'RegistryEdge';

/** CloudWatch units the replication metrics use (a subset of Powertools' MetricUnit). */
export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** Where metrics go: Powertools' Metrics fits, so does a test's recorder. */
export interface MetricSink {
  addMetric(name: string, unit: MetricUnit, value: number): void;
}

/**
 * Metric names (namespace and service dimension are the function's): Copied, Skipped, SourceMissing,
 * Quarantined (blobs, not pairs: the alarm counts bad blobs), Failed, Deleted, BytesCopied. Counts are
 * sent even when zero, so that dashboards and alarms see a value every invocation.
 */
export function recordTally(sink: MetricSink, tally: Tally, quarantinedBlobs: number): void {
  sink.addMetric('Copied', 'Count', tally.copied);
  sink.addMetric('Skipped', 'Count', tally.skipped);
  sink.addMetric('SourceMissing', 'Count', tally.sourceMissing);
  sink.addMetric('Quarantined', 'Count', quarantinedBlobs);
  sink.addMetric('Failed', 'Count', tally.failed);
  sink.addMetric('Deleted', 'Count', tally.deleted);
  sink.addMetric('BytesCopied', 'Bytes', tally.bytes);
}
