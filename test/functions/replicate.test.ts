/**
 * The bundled replication function, without an S3 server: its S3 endpoint is a closed port, so anything
 * that needs S3 fails, and what needs none (events that are not replication work) must not try.
 * The full behaviour against moto is in test/e2e/replication-events.test.ts.
 */
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { type AsyncHandler, lambdaContext } from '../support/lambda-async';
import { type CapturedOutput, captureJsonOutput } from '../support/output-capture';
import { freePort } from '../support/ports';

jest.setTimeout(60_000);

const BLOB = `containers/images/sha256:${'e'.repeat(64)}`;
const s3Event = (key: string, bucket = 'registry-edge-local-us-east-1') => ({
  Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key) } } }],
});

let build: TemporaryBuild;
let handler: AsyncHandler;
let output: CapturedOutput;

beforeAll(async () => {
  const closed = await freePort();
  build = await buildTemporary({ stage: 'local', override: { buckets: { apiEndpoint: `http://127.0.0.1:${closed}/{bucket}` } }, only: ['replicate'] });
  handler = build.load('replicate') as unknown as AsyncHandler;
  output = captureJsonOutput();
});

afterAll(() => {
  output?.restore();
  build?.dispose();
});

test('events that are not replication work succeed without touching S3, and say so in logs and metrics', async () => {
  const from = output.lines.length;
  const test = { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'registry-edge-local-us-east-1' };

  const results = [
    await handler(s3Event('containers/images/index.json'), lambdaContext()),
    await handler(s3Event(BLOB, 'another-bucket'), lambdaContext()),
    await handler(test, lambdaContext()),
  ];

  for (const result of results) expect(result).toMatchObject({ objects: 0, checked: 0, ignored: 1, failed: 0 });
  const emf = output.lines.slice(from).filter((l) => l._aws);
  expect(emf).toHaveLength(3);
  expect(emf[0]!._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'RegistryEdge', Dimensions: [['service', 'stage']] }] });
  expect(emf[0]).toMatchObject({ service: 'replicate', stage: 'local', Ignored: 1, Copied: 0, Failed: 0 });
  expect(output.logs('INFO', from).find((l) => l.message === 'replication done')).toMatchObject({ function_name: 'replicate', ignored: 1 });
});

test('with S3 unreachable, a blob event fails the invocation (so Lambda retries it), naming every target', async () => {
  const outcome = handler(s3Event(BLOB), lambdaContext());

  await expect(outcome).rejects.toThrow(/^2 of 2 copies failed: .*registry-edge-local-eu-west-1.*registry-edge-local-ap-southeast-1/);
  await expect(outcome).rejects.toMatchObject({ name: 'ReplicationFailedError' });
});

test('behind SQS the same failure is reported per message instead of thrown', async () => {
  const result = await handler(
    { Records: [{ eventSource: 'aws:sqs', messageId: 'm-1', body: JSON.stringify(s3Event(BLOB)) }, { eventSource: 'aws:sqs', messageId: 'm-2', body: JSON.stringify(s3Event('containers/images/x')) }] },
    lambdaContext(),
  );

  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
});
