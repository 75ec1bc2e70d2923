import { createHash } from 'node:crypto';
import { TABLE_FORMAT_VERSION } from '../../../layers/net/codec';
import { checkPointer, describeTable, parsePointer, readableFormat, sha256Hex, tableKey } from '../../../layers/ranges/pointer';

const describeInput = {
  key: `ranges/${'a'.repeat(64)}.bin`,
  sha256: 'a'.repeat(64),
  bytes: 160_000,
  metadata: { aws: { syncToken: '1785313625', createDate: '2026-07-29-08-27-05', prefixes: 16424 }, gcp: { syncToken: '1785333953849', creationTime: '2026-07-29T07:05:53.849365', prefixes: 1047 } },
  counts: { aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: 11809 },
  publishedAt: new Date('2026-11-27T12:00:00Z'),
  forced: false,
};
const good = describeTable(describeInput);

describe('the pointer object', () => {
  test('a successor is one generation on and remembers what it replaced; one written before generations reads as generation 0', () => {
    const next = describeTable({ ...describeInput, key: `ranges/${'b'.repeat(64)}.bin`, sha256: 'b'.repeat(64), replacing: good });
    expect(next).toMatchObject({ generation: 2, previous: { key: good.key, sha256: good.sha256, generation: 1, syncToken: '1785313625', gcpSyncToken: '1785333953849' } });
    const legacy: Record<string, unknown> = { ...good };
    for (const field of ['generation', 'coverage', 'previous', 'rolledBackFrom']) delete legacy[field];
    expect(parsePointer(JSON.stringify(legacy))).toEqual({ ...good, generation: 0 });
  });

  test('describes a table: key, checksum, size, both feeds\' versions, counts, when', () => {
    expect(good).toEqual({
      format: 1,
      tableFormat: TABLE_FORMAT_VERSION,
      key: `ranges/${'a'.repeat(64)}.bin`,
      sha256: 'a'.repeat(64),
      bytes: 160_000,
      syncToken: '1785313625',
      createDate: '2026-07-29-08-27-05',
      gcp: { syncToken: '1785333953849', creationTime: '2026-07-29T07:05:53.849365' },
      counts: { aws: { v4: 10544, v6: 5880 }, gcp: { v4: 999, v6: 48 }, overlay: 0, entries: 11809 },
      publishedAt: '2026-11-27T12:00:00.000Z',
      forced: false,
      generation: 1,
      coverage: null,
      previous: null,
      rolledBackFrom: [],
    });
    expect(parsePointer(JSON.stringify(good))).toEqual(good);
    expect(readableFormat(good)).toBe(true);
  });

  test.each<[string, unknown, string]>([
    ['a format from the future', { ...good, format: 2 }, 'format 2 is not supported'],
    ['a key leaving its folder', { ...good, key: 'ranges/../secrets' }, 'key:'],
    ['a key with a space', { ...good, key: 'ranges/a b.bin' }, 'key:'],
    ['an upper-case checksum', { ...good, sha256: 'A'.repeat(64) }, 'sha256:'],
    ['a short checksum', { ...good, sha256: 'a'.repeat(63) }, 'sha256:'],
    ['a negative size', { ...good, bytes: -1 }, 'bytes:'],
    ['a negative generation', { ...good, generation: -1 }, 'generation:'],
    ['a fractional generation', { ...good, generation: 1.5 }, 'generation:'],
    ['a previous table without a checksum', { ...good, previous: { key: good.key, generation: 1, syncToken: '1', gcpSyncToken: null } }, 'previous:'],
    ['a rolled-back record without a key', { ...good, rolledBackFrom: [{ syncToken: '1', gcpSyncToken: null, at: '2026-11-27T12:00:00Z' }] }, 'rolledBackFrom:'],
    ['a size of 1 GB', { ...good, bytes: 2 ** 30 }, 'bytes:'],
    ['a numeric syncToken', { ...good, syncToken: 1785313625 }, 'syncToken:'],
    ['a GCP part without a token', { ...good, gcp: { creationTime: 'x' } }, 'gcp:'],
    ['counts without aws', { ...good, counts: { gcp: null, overlay: 0, entries: 1 } }, 'counts:'],
    ['no publishedAt', { ...good, publishedAt: 'yesterday' }, 'publishedAt:'],
    ['an array', [good], 'not a JSON object'],
  ])('refuses %s, naming the field', (_name, value, message) => {
    expect(checkPointer(value)).toEqual(expect.stringContaining(message));
  });

  test('refuses text that is not JSON, or too big to be a pointer', () => {
    expect(parsePointer('{"format":1,')).toEqual(expect.stringContaining('not valid JSON'));
    expect(parsePointer(' '.repeat(70_000))).toEqual(expect.stringContaining('larger than'));
  });

  test('tables sit beside the pointer, named by their checksum', () => {
    expect(tableKey('ranges/current.json', 'ab'.repeat(32))).toBe(`ranges/${'ab'.repeat(32)}.bin`);
    expect(tableKey('current.json', 'ab'.repeat(32))).toBe(`${'ab'.repeat(32)}.bin`);
  });

  test('sha256Hex (synchronous, as at the edge) gives the FIPS 180-2 vectors and agrees with WebCrypto', async () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7919) & 0xff);
    const webCrypto = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
    expect(sha256Hex(bytes)).toBe(webCrypto);
    expect(sha256Hex(bytes.subarray(10, 20))).toBe(createHash('sha256').update(bytes.subarray(10, 20)).digest('hex'));
  });
});
