import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobMismatchError, DigestVerifier } from '../../../layers/sync/verify';

const digestOf = (text: string, algorithm = 'sha256') => `${algorithm}:${createHash(algorithm).update(text).digest('hex')}`;

/** Runs `chunks` through a verifier; reports what reached the far side and whether it saw the end. */
async function run(chunks: string[], digest: string, size: number) {
  const received: string[] = [];
  let ended = false;
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      received.push(String(chunk));
      callback();
    },
    final(callback) {
      ended = true;
      callback();
    },
  });
  const error = await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), new DigestVerifier(digest, size), sink).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { received: received.join(''), ended, error };
}

describe('DigestVerifier', () => {
  test.each([
    ['sha256', 'sha256'],
    ['sha512', 'sha512'],
  ])('passes matching bytes through (%s)', async (_name, algorithm) => {
    const result = await run(['hello ', 'world'], digestOf('hello world', algorithm), 11);
    expect(result).toEqual({ received: 'hello world', ended: true, error: undefined });
  });

  test.each([
    ['other bytes of the same size', ['hello there'], 11],
    ['too few bytes', ['hello'], 11],
    ['the right bytes but a wrong descriptor size', ['hello world'], 12],
  ])('%s: an error instead of the end', async (_name, chunks, size) => {
    const result = await run(chunks, digestOf('hello world'), size);
    expect(result.error).toBeInstanceOf(BlobMismatchError);
    expect(result.ended).toBe(false);
  });

  test('a byte beyond the announced size is never passed on', async () => {
    const result = await run(['hello', ' world', ' and more'], digestOf('hello world'), 11);
    expect(result.error).toBeInstanceOf(BlobMismatchError);
    expect(result.received).toBe('hello world');
    expect(result.ended).toBe(false);
  });

  test('an unverifiable algorithm is refused up front', () => {
    expect(() => new DigestVerifier(`md5:${'a'.repeat(32)}`, 1)).toThrow(RangeError);
  });
});
