import { DIGEST_METADATA, sameContent } from '../../../layers/replication/replicate';
import type { ObjectInfo } from '../../../layers/s3/objects';

const HEX = 'cd'.repeat(32);
const DIGEST = `sha256:${HEX}`;
const sha = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const info = (over: Partial<ObjectInfo>): ObjectInfo => ({ size: 100, etag: 'md5-source', metadata: {}, ...over });

describe('sameContent: does the target already hold the blob?', () => {
  const source = info({});
  test.each([
    ['missing size match', info({ size: 99, etag: 'md5-source' }), false],
    ['same single-part ETag (same MD5)', info({ etag: 'md5-source' }), true],
    ['other ETag, no other evidence', info({ etag: 'md5-other' }), false],
    ['S3 SHA-256 equal to the digest', info({ etag: 'x', checksumSha256: sha(HEX) }), true],
    ['S3 SHA-256 of other bytes (overrules an equal ETag and our mark)', info({ etag: 'md5-source', checksumSha256: sha('ee'.repeat(32)), metadata: { [DIGEST_METADATA]: DIGEST } }), false],
    ['our multipart copy, marked with the digest', info({ etag: 'abc-3', metadata: { [DIGEST_METADATA]: DIGEST } }), true],
    ['a mark for another digest', info({ etag: 'abc-3', metadata: { [DIGEST_METADATA]: 'sha256:' + 'ee'.repeat(32) } }), false],
    ['a composite checksum says nothing: falls back to the mark', info({ etag: 'abc-2', checksumSha256: `${sha('ee'.repeat(32))}-2`, metadata: { [DIGEST_METADATA]: DIGEST } }), true],
  ])('%s → %s', (_name, target, expected) => {
    expect(sameContent(source, target, DIGEST)).toBe(expected);
  });

  test('an empty ETag never matches', () => {
    expect(sameContent(info({ etag: '' }), info({ etag: '' }), DIGEST)).toBe(false);
  });
});
