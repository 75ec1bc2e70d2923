/**
 * Replaying the dead-letter queue: each message (a Lambda on-failure destination record carrying the
 * original S3 event, or an S3 event itself) is run through the replicator again; a message is removed only
 * when every target of every blob it names is settled. A message nobody can read stays for a human.
 *
 * The daily reconcile would copy the same blobs eventually; the replay does it now, and empties the queue
 * (which the DLQ alarm watches) only of what was really fixed.
 */
import { createLimiter } from '../s3/limit';
import { parseInvocation } from './events';
import type { Log, Replicator } from './replicate';
import { silentLog } from './replicate';
import { addReport, emptyTally, type Tally } from './tally';

export interface QueueMessage {
  id: string;
  body: string;
}

/** The queue as the replay needs it (the CLI adapts SQS to this). */
export interface DeadLetterQueue {
  /** Up to a batch of messages now invisible to others; empty when the queue is drained. */
  receive(): Promise<QueueMessage[]>;
  remove(message: QueueMessage): Promise<void>;
}

export interface ReplaySummary extends Tally {
  messages: number;
  /** Messages removed from the queue: everything they named is settled. */
  replayed: number;
  /** Messages left in the queue: some target still failed. */
  retained: number;
  /** Messages left in the queue because they cannot be read. */
  unreadable: number;
  quarantinedBlobs: number;
}

export interface ReplayOptions {
  queue: DeadLetterQueue;
  replicator: Replicator;
  sourceBucket: string;
  concurrency: number;
  log?: Log;
}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplaySummary> {
  const log = options.log ?? silentLog;
  const tally = emptyTally();
  const summary = { messages: 0, replayed: 0, retained: 0, unreadable: 0, quarantinedBlobs: 0 };
  const limit = createLimiter(options.concurrency);
  for (;;) {
    const messages = await options.queue.receive();
    if (messages.length === 0) break;
    await Promise.all(
      messages.map(async (message) => {
        summary.messages++;
        const parsed = parseInvocation(message.body);
        if (parsed.invalid.length > 0) {
          summary.unreadable++;
          log.error('unreadable DLQ message: left in the queue', { id: message.id, reasons: parsed.invalid });
          return;
        }
        const keys = new Set(parsed.batches.flatMap((b) => b.tasks.filter((t) => t.bucket === options.sourceBucket).map((t) => t.key)));
        const reports = await Promise.all([...keys].map((key) => limit(() => options.replicator.replicate(key))));
        for (const report of reports) {
          addReport(tally, report);
          if (report.quarantined) summary.quarantinedBlobs++;
        }
        if (reports.some((r) => r.targets.some((t) => t.outcome.status === 'failed'))) {
          summary.retained++;
          log.warn('DLQ message still fails: left in the queue', { id: message.id, keys: [...keys] });
        } else {
          await options.queue.remove(message);
          summary.replayed++;
        }
      }),
    );
  }
  return { ...tally, ...summary };
}
