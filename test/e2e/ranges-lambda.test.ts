/**
 * The bundled ranges-update function (what serverless ships), invoked as its schedule and AWS's SNS
 * notification invoke it, against moto_server and a local server standing in for the feeds' hosts.
 * Checks what it publishes, what it logs and which metrics it emits (EMF on stdout).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { createS3Client, type S3Client } from '../../layers/s3/client';
import { createBucket, type Moto, startMoto } from '../../local/moto';
import { buildTemporary, type TemporaryBuild } from '../../tools/bundles';
import { TEST_CONFIG } from '../support/configs';
import { startServer, type TestServer } from '../support/http';
import { type CapturedOutput, captureJsonOutput } from '../support/output-capture';
import { freePort } from '../support/ports';
import { AWS_LATER_TOKEN, AWS_TOKEN, awsFeedText, gcpFeedText, keepFraction } from '../support/range-feeds';

jest.setTimeout(60_000);

type Handler = (event: unknown, context: Context) => Promise<Record<string, unknown>>;

const CONFIG_BUCKET = 'edge-test-config';
const TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged';
let moto: Moto;
let s3: S3Client;
let feeds: TestServer;
let build: TemporaryBuild;
let handler: Handler;
let output: CapturedOutput;
/** The AWS feed the fake ip-ranges.amazonaws.com serves now. */
let awsFeed = awsFeedText();

const context = { functionName: 'registry-edge-test-ranges-update', awsRequestId: 'req-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ranges-update', memoryLimitInMB: '512', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const scheduled = { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: '2026-11-27T12:00:00Z', region: 'us-east-1', resources: [], detail: {} };
const notification = (synctoken: string) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: {
        Type: 'Notification',
        TopicArn: TOPIC,
        Subject: '[RSS] Amazon IP Space Changed',
        Message: JSON.stringify({ 'create-time': '2026-08-22T15:17:05+00:00', synctoken, md5: '0'.repeat(32), url: 'https://ip-ranges.amazonaws.com/ip-ranges.json' }),
      },
    },
  ],
});

beforeAll(async () => {
  moto = await startMoto(await freePort());
  s3 = createS3Client({ endpoint: moto.endpoint });
  await createBucket(s3, CONFIG_BUCKET);
  feeds = await startServer((req, res) => res.end(req.url === '/cloud.json' ? gcpFeedText() : awsFeed));
  build = await buildTemporary({
    stage: 'test',
    config: TEST_CONFIG,
    override: {
      buckets: { apiEndpoint: `${moto.endpoint}/{bucket}` },
      ranges: { awsUrl: `${feeds.url}/ip-ranges.json`, gcpUrl: `${feeds.url}/cloud.json` },
    },
    only: ['ranges-update'],
  });
  handler = build.load('ranges-update') as unknown as Handler;
  output = captureJsonOutput();
}, 120_000);

afterAll(async () => {
  output?.restore();
  build?.dispose();
  await feeds?.close();
  await moto?.stop();
});

const pointer = async () => JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: CONFIG_BUCKET, Key: 'ranges/current.json' }))).Body!.transformToString());

describe('the bundled ranges-update function', () => {
  test('on its schedule, publishes the table, logs it and counts it', async () => {
    const from = output.lines.length;
    const result = await handler(scheduled, context);
    expect(result).toMatchObject({ outcome: 'published', syncToken: AWS_TOKEN });
    expect(await pointer()).toMatchObject({ syncToken: AWS_TOKEN, key: result.key });
    expect(output.metrics(from)).toMatchObject({ RangesPublished: 1, RangesUnknownRegions: 0, TableAgeSeconds: expect.any(Number) });
    expect(output.logs('INFO', from)).toContainEqual(
      expect.objectContaining({ message: 'ranges published', service: 'ranges-update', trigger: { kind: 'schedule' }, bucket: CONFIG_BUCKET, update: expect.objectContaining({ syncToken: AWS_TOKEN }) }),
    );
    const emf = output.lines.slice(from).find((l) => 'RangesPublished' in l)!;
    expect(emf).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'RegistryEdge', Dimensions: [expect.arrayContaining(['service', 'stage'])] }] }, stage: 'test', service: 'ranges-update' });
  });

  test('on the schedule again, with nothing new: unchanged', async () => {
    const from = output.lines.length;
    expect(await handler(scheduled, context)).toMatchObject({ outcome: 'unchanged', reason: 'same' });
    expect(output.metrics(from)).toMatchObject({ RangesUnchanged: 1 });
  });

  test('on AWS\'s notification, publishes the announced table', async () => {
    awsFeed = awsFeedText(undefined, 'aws-ip-ranges-2026-08-22.json');
    const from = output.lines.length;
    expect(await handler(notification(AWS_LATER_TOKEN), context)).toMatchObject({ outcome: 'published', syncToken: AWS_LATER_TOKEN, previousSyncToken: AWS_TOKEN });
    expect(output.logs('INFO', from)).toContainEqual(expect.objectContaining({ trigger: { kind: 'notification', syncToken: AWS_LATER_TOKEN, topic: TOPIC } }));
  });

  test('a notification ahead of the feed it can fetch (a stale cache) fails the invocation, so Lambda retries it', async () => {
    const from = output.lines.length;
    await expect(handler(notification('1799999999'), context)).rejects.toThrow(`served syncToken ${AWS_LATER_TOKEN}, older than the announced 1799999999`);
    expect(output.metrics(from)).toMatchObject({ RangesFailed: 2 }); // in total, and by reason
    expect(output.logs('ERROR', from)).toContainEqual(expect.objectContaining({ message: 'ranges failed: fetch' }));
  });

  test('refuses a shrunk feed without failing the invocation, counted by reason, and keeps the table', async () => {
    awsFeed = awsFeedText((f) => {
      f.syncToken = String(Number(AWS_LATER_TOKEN) + 60); // a minute after its createDate: plausible
      keepFraction(f, 0.5);
    }, 'aws-ip-ranges-2026-08-22.json');
    const from = output.lines.length;
    expect(await handler(scheduled, context)).toMatchObject({ outcome: 'refused', reason: 'shrink', syncToken: AWS_LATER_TOKEN });
    const refusedByReason = output.lines.slice(from).find((l) => 'RangesRefused' in l && l.reason === 'shrink');
    expect(refusedByReason).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'RegistryEdge', Dimensions: [expect.arrayContaining(['reason'])] }] } });
    expect(output.metrics(from)).toMatchObject({ RangesRefused: 2 });
    expect((await pointer()).syncToken).toBe(AWS_LATER_TOKEN);
  });
});
