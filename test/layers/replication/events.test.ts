import { decodeEventKey, parseInvocation } from '../../../layers/replication/events';

const HEX = 'ab'.repeat(32);
const s3Record = (key: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime: '2026-11-27T15:23:41.585Z',
  eventName: 'ObjectCreated:Put',
  s3: { bucket: { name: 'primary' }, object: { key, size: 11, eTag: 'x', sequencer: '01' } },
  ...extra,
});
const task = (key: string, extra: Record<string, unknown> = {}) => ({
  bucket: 'primary',
  key,
  eventName: 'ObjectCreated:Put',
  eventTime: Date.parse('2026-11-27T15:23:41.585Z'),
  ...extra,
});

describe('decodeEventKey', () => {
  test.each([
    ['containers%2Fimages%2Fsha256%3Aab', 'containers/images/sha256:ab'],
    ['containers/images/sha256:ab', 'containers/images/sha256:ab'],
    ['a+b%2Bc', 'a b+c'],
    ['bad%zzescape', 'bad%zzescape'],
  ])('%s → %s', (raw, decoded) => {
    expect(decodeEventKey(raw)).toBe(decoded);
  });
});

describe('parseInvocation', () => {
  const key = `containers/images/sha256:${HEX}`;
  const encoded = encodeURIComponent(key);

  test('an S3 event (direct asynchronous invocation)', () => {
    expect(parseInvocation({ Records: [s3Record(encoded), s3Record(encoded, { eventName: 'ObjectRemoved:Delete' })] })).toEqual({
      mode: 'direct',
      batches: [{ tasks: [task(key), task(key, { eventName: 'ObjectRemoved:Delete' })] }],
      ignored: [],
      invalid: [],
    });
  });

  test('an event time without a zone is UTC (moto writes them so)', () => {
    const parsed = parseInvocation({ Records: [s3Record(encoded, { eventTime: '2026-11-27T15:23:41.585276' })] });
    expect(parsed.batches[0]!.tasks[0]!.eventTime).toBe(Date.parse('2026-11-27T15:23:41.585Z'));
  });

  test('an SQS event: one batch per message, test events ignored, unreadable messages reported', () => {
    const parsed = parseInvocation({
      Records: [
        { eventSource: 'aws:sqs', messageId: 'm1', body: JSON.stringify({ Records: [s3Record(encoded)] }) },
        { eventSource: 'aws:sqs', messageId: 'm2', body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'primary' }) },
        { eventSource: 'aws:sqs', messageId: 'm3', body: 'not json' },
        { eventSource: 'aws:sqs', messageId: 'm4', body: JSON.stringify({ hello: 'world' }) },
      ],
    });
    expect(parsed.mode).toBe('sqs');
    expect(parsed.batches).toEqual([{ messageId: 'm1', tasks: [task(key)] }, { messageId: 'm2', tasks: [] }]);
    expect(parsed.ignored).toEqual(['S3 test event for bucket primary']);
    expect(parsed.invalid).toEqual([
      'SQS message m3: a message that is not JSON',
      'SQS message m4: a message that is neither an S3 event nor a Lambda destination record',
    ]);
  });

  test('a Lambda on-failure destination record (a DLQ message) yields the original event', () => {
    const record = {
      version: '1.0',
      requestContext: { requestId: 'r', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { Records: [s3Record(encoded)] },
      responsePayload: { errorMessage: 'boom' },
    };
    expect(parseInvocation(record).batches).toEqual([{ tasks: [task(key)] }]);
    // ...also as the body of an SQS message (the DLQ wired back to the function).
    expect(parseInvocation({ Records: [{ eventSource: 'aws:sqs', messageId: 'd', body: JSON.stringify(record) }] }).batches).toEqual([{ messageId: 'd', tasks: [task(key)] }]);
  });

  test('records from other sources are ignored, a broken S3 record is invalid', () => {
    expect(parseInvocation({ Records: [{ eventSource: 'aws:sns' }] })).toMatchObject({ batches: [{ tasks: [] }], ignored: ['a record from aws:sns'] });
    expect(parseInvocation({ Records: [{ eventSource: 'aws:s3', s3: { bucket: {} } }] })).toMatchObject({ batches: [], invalid: ['an S3 record without s3.bucket/s3.object'] });
    expect(parseInvocation(null)).toMatchObject({ batches: [], invalid: ['a message that is not a JSON object'] });
    expect(parseInvocation('[]')).toMatchObject({ batches: [], invalid: ['a message that is not a JSON object'] });
  });
});
