import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { type DeadLetterQueue, replayDeadLetters } from '../../layers/replication/replay';
import { createReplicator } from '../../layers/replication/replicate';
import { isLoopbackEndpoint } from '../../layers/s3/client';
import { createLimiter } from '../../layers/s3/limit';
import { fail, printJson } from '../io';
import { addBucketOptions, type BucketOptions, bucketsFrom, stderrLog } from './reconcile';

interface ReplayOptions extends BucketOptions {
  queueUrl: string;
  sqsEndpoint?: string;
  propagateDeletes?: boolean;
}

/** SQS as the replay's queue: messages stay invisible for `visibilitySeconds` while they are worked on. */
function sqsQueue(client: SQSClient, queueUrl: string, visibilitySeconds: number): DeadLetterQueue {
  return {
    async receive() {
      const answer = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: visibilitySeconds }));
      return (answer.Messages ?? []).map((m) => ({ id: m.ReceiptHandle!, body: m.Body ?? '' }));
    },
    async remove(message) {
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.id }));
    },
  };
}

export function registerReplay(program: Command): void {
  addBucketOptions(
    program
      .command('replay-dlq')
      .description(
        "Run the replication DLQ's messages (Lambda on-failure records, or S3 events) through replication again; remove each message once all it names is copied. Ends with one JSON line; exits 1 if any message stays.",
      )
      .requiredOption('--queue-url <url>', 'the dead-letter queue')
      .option('--sqs-endpoint <url>', 'SQS API endpoint (a local server; default: AWS)')
      .option('--propagate-deletes', 'delete from the targets blobs the source no longer has (as the stage does when configured)'),
  ).action(async (options: ReplayOptions) => {
    const { source, targets } = bucketsFrom(options);
    const local = options.sqsEndpoint !== undefined && isLoopbackEndpoint(options.sqsEndpoint);
    const sqs = new SQSClient({
      region: options.region,
      ...(options.sqsEndpoint ? { endpoint: options.sqsEndpoint } : {}),
      ...(local ? { credentials: { accessKeyId: 'registry-edge-local', secretAccessKey: 'registry-edge-local' } } : {}),
    });
    const log = stderrLog(Boolean(options.verbose));
    try {
      const summary = await replayDeadLetters({
        // Long enough for the slowest blob; a message not removed by then comes back on its own.
        queue: sqsQueue(sqs, options.queueUrl, 900),
        replicator: createReplicator({
          source,
          targets,
          blobPrefix: options.prefix,
          copy: { multipartThresholdBytes: options.multipartThreshold, partSizeBytes: options.partSize, partConcurrency: options.partConcurrency },
          propagateDeletes: Boolean(options.propagateDeletes),
          limit: createLimiter(options.concurrency * 2),
          log,
        }),
        sourceBucket: options.source,
        concurrency: options.concurrency,
        log,
      });
      printJson({
        messages: summary.messages,
        replayed: summary.replayed,
        retained: summary.retained + summary.unreadable,
        checked: summary.checked,
        copied: summary.copied,
        skipped: summary.skipped,
        quarantined: summary.quarantined,
        failed: summary.failed,
      });
      if (summary.retained + summary.unreadable > 0) fail(1);
    } finally {
      sqs.destroy();
      source.client.destroy();
    }
  });
}
