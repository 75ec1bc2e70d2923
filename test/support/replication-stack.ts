/**
 * A primary bucket and regional buckets on one moto_server, with the primary's S3 event notifications
 * delivered to an SQS queue (as S3 → SQS does), a dead-letter queue, and helpers to make blobs, collect
 * events and check every copy byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createBucket, LOCAL_CREDENTIALS, localS3Client, type Moto, startMoto } from '../../local/moto';
import { listObjects } from '../../layers/s3/objects';
import { freePort } from './ports';

export const BLOB_PREFIX = 'containers/images/';

export interface Blob {
  bytes: Buffer;
  digest: string;
  key: string;
}

export function makeBlob(size: number, prefix = BLOB_PREFIX): Blob {
  const bytes = randomBytes(size);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { bytes, digest, key: `${prefix}${digest}` };
}

/** Bytes stored under a key naming other content: what the replicator must quarantine. */
export function makeMismatchedBlob(size: number): Blob {
  const claimed = makeBlob(size);
  return { ...claimed, bytes: randomBytes(size) };
}

export interface PutOptions {
  /** Ask S3 to keep a SHA-256 checksum (as a careful uploader does); default true. */
  checksum?: boolean;
  contentType?: string;
  metadata?: Record<string, string>;
}

export async function putBlob(s3: S3Client, bucket: string, blob: Blob, options: PutOptions = {}): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: blob.key,
      Body: blob.bytes,
      ContentType: options.contentType ?? 'application/octet-stream',
      ...(options.metadata ? { Metadata: options.metadata } : {}),
      ...(options.checksum === false ? {} : { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: createHash('sha256').update(blob.bytes).digest('base64') }),
    }),
  );
}

export async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

/** Every object in `bucket`, hashed: which keys there are, and which do not hash to their digest. */
export async function auditBucket(s3: S3Client, bucket: string, prefix = BLOB_PREFIX): Promise<{ keys: Set<string>; corrupt: string[] }> {
  const keys = new Set<string>();
  const corrupt: string[] = [];
  const entries = [];
  for await (const entry of listObjects(s3, bucket, prefix)) entries.push(entry);
  const queue = [...entries];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        keys.add(entry.key);
        const bytes = await getBytes(s3, bucket, entry.key);
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (`${prefix}${digest}` !== entry.key) corrupt.push(entry.key);
      }
    }),
  );
  return { keys, corrupt };
}

export interface ReplicationStack {
  moto: Moto;
  s3: S3Client;
  sqs: SQSClient;
  primary: string;
  targets: string[];
  eventsQueue: string;
  dlq: string;
  stop(): Promise<void>;
}

export async function startReplicationStack(buckets: { primary: string; targets: string[] }): Promise<ReplicationStack> {
  const moto = await startMoto(await freePort());
  try {
    const s3 = localS3Client(moto.endpoint);
    const sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    for (const bucket of [buckets.primary, ...buckets.targets]) await createBucket(s3, bucket);
    const eventsQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'replication-events' }))).QueueUrl!;
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: 'replication-dlq' }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: eventsQueue, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: buckets.primary,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
      }),
    );
    return {
      moto,
      s3,
      sqs,
      ...buckets,
      eventsQueue,
      dlq,
      async stop() {
        s3.destroy();
        sqs.destroy();
        await moto.stop();
      },
    };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}

/** One receive (no waiting) of up to ten messages, deleted once read; the bodies, parsed. */
export async function receiveOnce(sqs: SQSClient, queueUrl: string): Promise<unknown[]> {
  // No long polling: moto waits out the whole wait time unless it has ten messages to give.
  const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  const messages = answer.Messages ?? [];
  if (messages.length === 0) return [];
  await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  return messages.map((m) => JSON.parse(m.Body!));
}

/** Receives and deletes messages until `enough(bodies)` holds or `timeoutMs` passes; the bodies, parsed. */
export async function drainQueue(sqs: SQSClient, queueUrl: string, enough: (bodies: unknown[]) => boolean, timeoutMs = 30_000): Promise<unknown[]> {
  const bodies: unknown[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!enough(bodies)) {
    if (Date.now() > deadline) throw new Error(`only ${bodies.length} messages on ${queueUrl} after ${timeoutMs} ms`);
    const got = await receiveOnce(sqs, queueUrl);
    if (got.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    bodies.push(...got);
  }
  return bodies;
}

/** S3 event bodies (those with Records) naming any of `keys`, in the order they came. */
export function eventsFor(bodies: unknown[], keys: Iterable<string>): { Records: unknown[] }[] {
  const wanted = new Set(keys);
  return bodies.filter((b): b is { Records: { s3: { object: { key: string } } }[] } => {
    const records = (b as { Records?: { s3?: { object?: { key?: string } } }[] }).Records;
    return Array.isArray(records) && records.some((r) => wanted.has(decodeURIComponent(r.s3?.object?.key ?? '')));
  });
}

/** Keys (decoded) named by S3 event bodies. */
export function eventKeys(bodies: unknown[]): string[] {
  return bodies.flatMap((b) => ((b as { Records?: { s3?: { object?: { key?: string } } }[] }).Records ?? []).map((r) => decodeURIComponent(r.s3?.object?.key ?? '')));
}

export async function sendMessage(sqs: SQSClient, queueUrl: string, body: unknown): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}
