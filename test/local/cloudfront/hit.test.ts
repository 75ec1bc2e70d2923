import type { CachedObject } from '../../../local/cloudfront/cache';
import { hitResponse } from '../../../local/cloudfront/hit';

const body = Buffer.from('0123456789');
const object = (extra: Partial<CachedObject> = {}): CachedObject => ({
  status: 200,
  statusMessage: 'OK',
  headers: { etag: '"d1"', 'content-type': 'application/octet-stream' },
  body,
  storedAt: 1_000_000,
  expiresAt: 2_000_000,
  ...extra,
});

describe('hitResponse: what the edge sends from a cached object', () => {
  it.each([
    ['no conditions: the whole object, with its age in seconds', {}, 200, '0123456789', { age: '7', 'content-length': 10 }],
    ['a range', { range: 'bytes=2-4' }, 206, '234', { 'content-range': 'bytes 2-4/10', 'content-length': 3 }],
    ['a range past the end: 416 naming the size', { range: 'bytes=10-' }, 416, '', { 'content-range': 'bytes */10', 'content-length': 0 }],
    ['If-None-Match naming its ETag: 304', { 'if-none-match': '"other", "d1"' }, 304, '', { etag: '"d1"' }],
    ['If-None-Match with a weak form of its ETag: 304', { 'if-none-match': 'W/"d1"' }, 304, '', { etag: '"d1"' }],
    ['If-None-Match naming another: the object', { 'if-none-match': '"other"' }, 200, '0123456789', {}],
    ['If-Range naming its ETag: the range', { range: 'bytes=0-0', 'if-range': '"d1"' }, 206, '0', {}],
    ['If-Range naming another ETag: the whole object', { range: 'bytes=0-0', 'if-range': '"old"' }, 200, '0123456789', {}],
  ])('%s', (_name, viewer, status, text, headers) => {
    const hit = hitResponse(object(), viewer, 1_007_500);
    expect([hit.status, hit.body.toString()]).toEqual([status, text]);
    expect(hit.headers).toMatchObject(headers);
  });

  it('a cached error is sent whole, Range or not', () => {
    const hit = hitResponse(object({ status: 404, statusMessage: 'Not Found', body: Buffer.from('{"errors":[]}') }), { range: 'bytes=0-1' }, 1_000_000);
    expect([hit.status, hit.body.toString(), hit.headers['content-length']]).toEqual([404, '{"errors":[]}', 13]);
  });

  it('a range from a cached part: the bytes at the right offset, with the whole size', () => {
    const part = object({ status: 206, statusMessage: 'Partial Content', body: Buffer.from('abcdefghij'), part: { start: 100, end: 109, total: 1000 } });
    const hit = hitResponse(part, { range: 'bytes=102-104' }, 1_000_000);
    expect([hit.status, hit.body.toString(), hit.headers['content-range'], hit.headers['content-length']]).toEqual([206, 'cde', 'bytes 102-104/1000', 3]);
    expect(() => hitResponse(part, { range: 'bytes=0-1' }, 1_000_000)).toThrow(/does not hold the range/);
  });

  it('a 304 carries no body headers', () => {
    const hit = hitResponse(object(), { 'if-none-match': '*' }, 1_000_000);
    expect(hit.headers['content-length']).toBeUndefined();
    expect(hit.headers['content-type']).toBeUndefined();
  });
});
