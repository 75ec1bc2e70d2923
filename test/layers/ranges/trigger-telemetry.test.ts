import { updateMetrics } from '../../../layers/ranges/telemetry';
import { triggerOf } from '../../../layers/ranges/trigger';
import type { UpdateResult } from '../../../layers/ranges/update';

const TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged';
const sns = (message: string) => ({ Records: [{ EventSource: 'aws:sns', Sns: { TopicArn: TOPIC, Message: message } }] });

describe('triggerOf', () => {
  test.each<[string, unknown, ReturnType<typeof triggerOf>]>([
    ['the schedule', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, { kind: 'schedule' }],
    [
      'AWS\'s change notification, with the token it announces',
      sns(JSON.stringify({ 'create-time': '2026-08-22T15:17:05+00:00', synctoken: '1787411825', md5: 'x', url: 'https://ip-ranges.amazonaws.com/ip-ranges.json' })),
      { kind: 'notification', syncToken: '1787411825', topic: TOPIC },
    ],
    ['a notification whose token is not a number', sns(JSON.stringify({ synctoken: '17874; rm -rf' })), { kind: 'notification', topic: TOPIC }],
    ['a notification that is not JSON', sns('hello'), { kind: 'notification', topic: TOPIC }],
    ['a manual invocation', {}, { kind: 'manual' }],
    ['nothing at all', null, { kind: 'manual' }],
  ])('recognises %s', (_name, event, expected) => {
    expect(triggerOf(event)).toEqual(expected);
  });
});

describe('updateMetrics', () => {
  const published = { syncToken: '2', tableAgeSeconds: 3600, tablePublishedAgeSeconds: -120, generation: 3 };
  test('a publication: one RangesPublished, unknown regions, compile time, both table ages (a future one below zero, not clamped)', () => {
    const result = { ...published, outcome: 'published', unknownRegions: ['xx-mars-1'], compileMs: 80 } as unknown as UpdateResult;
    expect(updateMetrics(result)).toEqual([
      { name: 'RangesPublished', unit: 'Count', value: 1 },
      { name: 'RangesUnknownRegions', unit: 'Count', value: 1 },
      { name: 'RangesCompileTime', unit: 'Milliseconds', value: 80 },
      { name: 'TableAgeSeconds', unit: 'Seconds', value: 3600 },
      { name: 'TablePublishedAgeSeconds', unit: 'Seconds', value: -120 },
    ]);
  });

  test('a refusal: counted in total and by reason, with the age of the table still published', () => {
    const result: UpdateResult = { ...published, outcome: 'refused', reason: 'shrink', message: 'AWS has …' };
    expect(updateMetrics(result)).toEqual([
      { name: 'RangesRefused', unit: 'Count', value: 1 },
      { name: 'RangesRefused', unit: 'Count', value: 1, dimensions: { reason: 'shrink' } },
      { name: 'TableAgeSeconds', unit: 'Seconds', value: 3600 },
      { name: 'TablePublishedAgeSeconds', unit: 'Seconds', value: -120 },
    ]);
  });

  test('a failure before anything is known: no table age', () => {
    const result: UpdateResult = { syncToken: null, tableAgeSeconds: null, tablePublishedAgeSeconds: null, generation: null, outcome: 'failed', reason: 'fetch', message: 'HTTP 503' };
    expect(updateMetrics(result)).toEqual([
      { name: 'RangesFailed', unit: 'Count', value: 1 },
      { name: 'RangesFailed', unit: 'Count', value: 1, dimensions: { reason: 'fetch' } },
    ]);
  });
});
