import { type DeadLetterQueue, type QueueMessage, replayDeadLetters } from '../../../layers/replication/replay';
import type { Replicator } from '../../../layers/replication/replicate';

const key = (c: string) => `containers/images/sha256:${c.repeat(64)}`;
const destinationRecord = (...keys: string[]) =>
  JSON.stringify({
    version: '1.0',
    requestContext: { requestId: 'r', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: { Records: keys.map((k) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'primary' }, object: { key: encodeURIComponent(k) } } })) },
  });

function fakeQueue(bodies: string[]) {
  const waiting: QueueMessage[] = bodies.map((body, i) => ({ id: `m${i}`, body }));
  const removed: string[] = [];
  const queue: DeadLetterQueue = {
    async receive() {
      return waiting.splice(0, 2);
    },
    async remove(message) {
      removed.push(message.id);
    },
  };
  return { queue, removed };
}

test('a message leaves the queue only when everything it names is settled', async () => {
  const stillFailing = key('b');
  const replicator: Replicator = {
    async replicate(k) {
      const outcome = k === stillFailing ? ({ status: 'failed', error: 'still down' } as const) : ({ status: 'copied', method: 'single', bytes: 5 } as const);
      return { key: k, digest: k.slice(18), quarantined: false, targets: [{ bucket: 't', region: 'r', outcome }] };
    },
  };
  const { queue, removed } = fakeQueue([destinationRecord(key('a')), destinationRecord(key('a'), stillFailing), 'garbage', destinationRecord(key('c'))]);

  const summary = await replayDeadLetters({ queue, replicator, sourceBucket: 'primary', concurrency: 2 });

  expect(removed.sort()).toEqual(['m0', 'm3']);
  expect(summary).toMatchObject({ messages: 4, replayed: 2, retained: 1, unreadable: 1, copied: 3, failed: 1 });
});
