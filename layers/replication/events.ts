/**
 * What a replication invocation is asked to do, from whichever envelope it came in:
 * - an S3 event notification (S3 → Lambda, asynchronous invocation; the usual wiring);
 * - an SQS event whose message bodies are S3 notifications (S3 → SQS → Lambda), or S3's test event;
 * - a Lambda on-failure destination record (what lands in the dead-letter queue), whose `requestPayload`
 *   is the original event: so the DLQ can be replayed through the same code.
 *
 * Every event becomes "make the targets agree with the source's current state for this key": the event
 * type and order do not matter (S3 delivers at least once, in no particular order), because the work
 * reads the source's state at the time it runs.
 */
export interface ReplicationTask {
  bucket: string;
  /** The object key, URL-decoded (S3 events carry keys form-encoded: "%3A" for ":", "+" for " "). */
  key: string;
  /** "ObjectCreated:Put", "ObjectRemoved:Delete", ... */
  eventName: string;
  /** When S3 says it happened (ms since the epoch), for the replication lag. */
  eventTime?: number;
}

/** A unit that succeeds or fails as a whole: an SQS message, or the whole invocation. */
export interface TaskBatch {
  /** The SQS message id (for partial batch failures); absent for direct invocations. */
  messageId?: string;
  tasks: ReplicationTask[];
}

export interface ParsedInvocation {
  /** Whether failures are reported per message (SQS `batchItemFailures`) or by failing the invocation. */
  mode: 'sqs' | 'direct';
  batches: TaskBatch[];
  /** Things that are not replication work (S3 test events, other event sources), said in words. */
  ignored: string[];
  /** Messages that can never succeed (not JSON, not an event we know): logged and dropped, not retried. */
  invalid: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** S3 event keys are form-encoded; a malformed escape is kept as is (it will not be a blob key). */
export function decodeEventKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/** S3 writes "2026-11-27T15:23:41.585Z"; some emulators leave out the zone, which means UTC here. */
function parseEventTime(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const withZone = /(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : undefined;
}

function taskFromS3Record(record: Json): ReplicationTask | string {
  const s3 = record.s3;
  if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) return 'an S3 record without s3.bucket/s3.object';
  const bucket = s3.bucket.name;
  const key = s3.object.key;
  if (typeof bucket !== 'string' || typeof key !== 'string') return 'an S3 record without a bucket name or key';
  const eventTime = parseEventTime(record.eventTime);
  return {
    bucket,
    key: decodeEventKey(key),
    eventName: typeof record.eventName === 'string' ? record.eventName : 'unknown',
    ...(eventTime !== undefined ? { eventTime } : {}),
  };
}

/** An S3 event, an S3 test event or a destination record (possibly a JSON string), as tasks. */
function tasksFromPayload(payload: unknown, ignored: string[]): ReplicationTask[] | string {
  let value = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return 'a message that is not JSON';
    }
  }
  if (!isObject(value)) return 'a message that is not a JSON object';
  if (value.Event === 's3:TestEvent') {
    ignored.push(`S3 test event for bucket ${String(value.Bucket)}`);
    return [];
  }
  // Lambda's on-failure destination: the original event is in requestPayload.
  if (isObject(value.requestPayload) && isObject(value.requestContext)) return tasksFromPayload(value.requestPayload, ignored);
  if (!Array.isArray(value.Records)) return 'a message that is neither an S3 event nor a Lambda destination record';
  const tasks: ReplicationTask[] = [];
  for (const record of value.Records) {
    if (!isObject(record) || record.eventSource !== 'aws:s3') {
      ignored.push(`a record from ${isObject(record) ? String(record.eventSource) : 'nowhere'}`);
      continue;
    }
    const task = taskFromS3Record(record);
    if (typeof task === 'string') return task;
    tasks.push(task);
  }
  return tasks;
}

/** Reads any of the envelopes above. Never throws: what cannot be read is reported in `invalid`. */
export function parseInvocation(event: unknown): ParsedInvocation {
  const ignored: string[] = [];
  const invalid: string[] = [];
  const records = isObject(event) && Array.isArray(event.Records) ? event.Records : undefined;
  if (records && records.length > 0 && records.every((r) => isObject(r) && r.eventSource === 'aws:sqs')) {
    const batches: TaskBatch[] = [];
    for (const message of records as Json[]) {
      const messageId = String(message.messageId);
      const tasks = tasksFromPayload(message.body, ignored);
      if (typeof tasks === 'string') invalid.push(`SQS message ${messageId}: ${tasks}`);
      else batches.push({ messageId, tasks });
    }
    return { mode: 'sqs', batches, ignored, invalid };
  }
  const tasks = tasksFromPayload(event, ignored);
  if (typeof tasks === 'string') return { mode: 'direct', batches: [], ignored, invalid: [tasks] };
  return { mode: 'direct', batches: [{ tasks }], ignored, invalid };
}
