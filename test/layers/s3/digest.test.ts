import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { blobKey, digestFromBlobKey, fullObjectSha256, hashStream, parseBlobDigest } from '../../../layers/s3/digest';

const HEX = 'a'.repeat(64);
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

describe('blob keys and digests', () => {
  test.each([
    ['sha256:' + HEX, { algorithm: 'sha256', hex: HEX }],
    ['sha512:' + 'b'.repeat(128), { algorithm: 'sha512', hex: 'b'.repeat(128) }],
    ['sha256:' + HEX.toUpperCase(), undefined],
    ['sha256:' + HEX.slice(1), undefined],
    ['md5:' + 'a'.repeat(32), undefined],
    ['sha256:' + HEX + '/x', undefined],
    ['', undefined],
  ])('parseBlobDigest(%j)', (digest, expected) => {
    expect(parseBlobDigest(digest)).toEqual(expected);
  });

  test.each([
    ['containers/images/sha256:' + HEX, 'sha256:' + HEX],
    ['containers/images/sha512:' + 'c'.repeat(128), 'sha512:' + 'c'.repeat(128)],
    // Not blobs: other prefixes, nested paths, other names under the prefix.
    ['other/sha256:' + HEX, undefined],
    ['containers/images/x/sha256:' + HEX, undefined],
    ['containers/images/index.json', undefined],
    ['containers/images/', undefined],
    ['containers/imagessha256:' + HEX, undefined],
  ])('digestFromBlobKey(%j)', (key, expected) => {
    expect(digestFromBlobKey('containers/images/', key)).toBe(expected);
  });

  test('blobKey is the inverse of digestFromBlobKey', () => {
    expect(digestFromBlobKey('p/', blobKey('p/', 'sha256:' + HEX))).toBe('sha256:' + HEX);
  });
});

describe('fullObjectSha256: which S3 checksums speak for the whole object', () => {
  test.each([
    ['a full-object checksum on a single-part object', { checksumSha256: b64(HEX), etag: 'abc' }, HEX],
    ['one typed FULL_OBJECT', { checksumSha256: b64(HEX), checksumType: 'FULL_OBJECT', etag: 'abc-3' }, HEX],
    ['a COMPOSITE one', { checksumSha256: b64(HEX), checksumType: 'COMPOSITE', etag: 'abc' }, undefined],
    ['a composite value with its part count', { checksumSha256: `${b64(HEX)}-3`, etag: 'abc-3' }, undefined],
    ['an untyped one on a multipart object (a composite, from a server that omits the type)', { checksumSha256: b64(HEX), etag: 'abc-2' }, undefined],
    ['none', { etag: 'abc' }, undefined],
    ['one of the wrong length', { checksumSha256: Buffer.alloc(20).toString('base64'), etag: 'abc' }, undefined],
  ])('%s', (_name, info, expected) => {
    expect(fullObjectSha256(info)).toBe(expected);
  });
});

test('hashStream hashes every chunk and counts the bytes', async () => {
  const chunks = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(0)];
  const result = await hashStream(Readable.from(chunks), 'sha256');
  expect(result).toEqual({ hex: createHash('sha256').update('hello world').digest('hex'), size: 11 });
  expect((await hashStream(Readable.from([Buffer.from('x')]), 'sha512')).hex).toBe(createHash('sha512').update('x').digest('hex'));
});
