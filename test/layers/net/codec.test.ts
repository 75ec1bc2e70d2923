import fc from 'fast-check';
import { decodeTable, encodeTable } from '../../../layers/net/codec';
import { loadTable } from '../../../layers/net/load';
import { RangeTable } from '../../../layers/net/table';
import { snapshot } from '../../support/snapshot';

describe('the range table wire format', () => {
  const { compiled, table } = snapshot();

  test('round-trips the snapshot: same metadata, places and answers', () => {
    const decoded = decodeTable(compiled.bytes);
    expect(decoded.metadata).toEqual(compiled.metadata);
    expect(decoded.places).toEqual(compiled.data.places);
    expect(encodeTable(decoded.metadata, decoded.places, decoded.intervals)).toEqual(compiled.bytes);
    expect(loadTable(compiled.bytes).table.classify('3.4.12.4')).toEqual(table.classify('3.4.12.4'));
  });

  test('records where the table came from', () => {
    expect(compiled.metadata).toMatchObject({
      aws: { syncToken: '1785313625', createDate: '2026-07-29-08-27-05', prefixes: 16424 },
      gcp: { syncToken: '1785333953849', prefixes: 1047 },
    });
  });

  test('loads from an unaligned buffer (Buffers from pools and base64 often are)', () => {
    const shifted = new Uint8Array(compiled.bytes.length + 1).subarray(1);
    shifted.set(compiled.bytes);
    expect(loadTable(shifted).table.classify('64.252.81.7')?.region).toBe('sa-east-1');
  });

  /** Overwrites the first occurrence of `from` in the header with `to` (same length). */
  const replaceText = (bytes: Uint8Array, from: string, to: string) => {
    const text = Buffer.from(bytes).toString('latin1');
    const at = text.indexOf(from);
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from(to, 'latin1'), at);
  };
  const corrupt = (edit: (bytes: Uint8Array, view: DataView) => void) => {
    const bytes = compiled.bytes.slice();
    edit(bytes, new DataView(bytes.buffer));
    return () => decodeTable(bytes);
  };
  const arraysAt = () => {
    const view = new DataView(compiled.bytes.buffer, compiled.bytes.byteOffset);
    return (24 + view.getUint32(8, true) + 3) & ~3;
  };

  /** Where the stored index starts (after the intervals): 32 bytes of counts, then its arrays. */
  const indexAt = () => {
    const view = new DataView(compiled.bytes.buffer, compiled.bytes.byteOffset);
    const n4 = view.getUint32(12, true);
    const n6 = view.getUint32(16, true);
    return (arraysAt() + 4 * n4 + 16 * n6 + 2 * n4 + 2 * n6 + 3) & ~3;
  };

  test('stores the lookup index, which loads as views: the same lookups as an index built from the intervals', () => {
    const decoded = decodeTable(compiled.bytes, { check: false });
    expect(decoded.index.v4.first.buffer).toBe(decoded.intervals.v4Starts.buffer);
    expect(decoded.index.v4.first.length).toBe(65537);
    expect(decoded.index.v6.second.length).toBeGreaterThan(0);
    expect(decoded.index.v6.third.length).toBeGreaterThan(0); // AWS's clustered IPv6 space gets a third level
    const rebuilt = new RangeTable(decoded.places, decoded.intervals);
    for (const ip of ['3.4.12.4', '64.252.81.7', '2600:1f18::1', '2406:daba:f000::1', '8.8.8.8']) expect(loadTable(compiled.bytes).table.lookup(ip)).toBe(rebuilt.lookup(ip));
  });

  test('stores the index in 16 bits when its values fit (the snapshot\'s do), in 32 bits when they do not', () => {
    const decoded = decodeTable(compiled.bytes, { check: false });
    expect(compiled.bytes[5]).toBe(2);
    expect(decoded.index.v4.first).toBeInstanceOf(Uint16Array);
    expect(decoded.index.v6.third).toBeInstanceOf(Uint16Array);
    // 70,000 IPv4 intervals (every /24 of 0.0.0.0/6 and some): interval numbers past 65,535 need 32 bits.
    const n4 = 70_000;
    const v4Starts = Uint32Array.from({ length: n4 }, (_, i) => i << 8);
    const v4Info = Uint16Array.from({ length: n4 }, (_, i) => (i % 2 === 0 ? 0 | (24 << 8) : 0xffff));
    const intervals = { v4Starts, v4Info, v6Starts: new Uint32Array(4), v6Info: Uint16Array.of(0xffff) };
    const bytes = encodeTable({}, [{ cloud: 'aws', region: 'us-east-1' }], intervals);
    expect(bytes[5]).toBe(4);
    const wide = loadTable(bytes); // checked: the stored index is the one the intervals give
    expect(decodeTable(bytes).index.v4.first).toBeInstanceOf(Uint32Array);
    expect(wide.table.classify('1.17.110.9')).toEqual({ cloud: 'aws', region: 'us-east-1', prefix: '1.17.110.0/24' }); // interval 69,998
    expect(wide.table.classify('1.17.111.9')).toBeNull();
  });

  test.each<[string, (b: Uint8Array, v: DataView) => void, RegExp]>([
    ['a wrong magic', (b) => (b[0] = 0x58), /bad magic/],
    ['an unknown format version', (b) => (b[4] = 9), /format 9 is not supported/],
    ['an index width other than 2 or 4', (b) => (b[5] = 3), /index width 3 is not 2 or 4/],
    ['a count that disagrees with the size', (_b, v) => v.setUint32(12, v.getUint32(12, true) + 1, true), /header says/],
    ['a header that is not JSON', (b) => (b[24] = 0x7b + 1), /header is not valid JSON/],
    ['a place with an unknown cloud', (b) => replaceText(b, '["gcp",', '["gxp",'), /place \d+ is invalid/],
    ['metadata that is not an object', (b) => replaceText(b, '{"metadata":{', '{"metadata":[{'.slice(0, 13)), /header is not valid JSON|metadata is not an object/],
    ['IPv4 intervals out of order', (_b, v) => v.setUint32(arraysAt() + 8, 0, true), /IPv4 interval 2 is out of order/],
    ['an interval naming a place that does not exist', (_b, v) => v.setUint16(arraysAt() + 4 * v.getUint32(12, true) + 16 * v.getUint32(16, true), 250, true), /IPv4 interval 0 is invalid/],
    ['an IPv4 index entry that does not follow from the intervals', (_b, v) => v.setUint32(indexAt() + 32 + 4 * 0x0304, 7, true), /IPv4 index does not match/],
    [
      'an IPv6 second-level entry that does not follow from the intervals',
      (_b, v) => {
        const at = indexAt();
        // Counts: v4 then v6 (second levels, their entries, third levels, theirs); then the u32 arrays.
        const [k4, m4, k6] = [0, 4, 16].map((o) => v.getUint32(at + o, true)) as [number, number, number];
        const v6Second = at + 32 + 2 * 4 * 65537 + 4 * (k4 + k6) + 4 * m4;
        v.setUint32(v6Second + 4, v.getUint32(v6Second + 4, true) + 1, true);
      },
      /IPv6 index does not match/,
    ],
    ['index counts that disagree with the size', (_b, v) => v.setUint32(indexAt() + 4, v.getUint32(indexAt() + 4, true) + 1, true), /header says/],
  ])('refuses %s', (_name, edit, message) => {
    expect(corrupt(edit)).toThrow(message);
  });

  test('refuses truncation at every length', () => {
    for (const length of [0, 3, 23, 24, 100, compiled.bytes.length - 4, compiled.bytes.length - 1]) {
      expect(() => decodeTable(compiled.bytes.subarray(0, length))).toThrow(/range table|not a registry-edge/);
    }
  });

  test('random corruption is refused or yields a table that still answers (never a crash or a hang)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(compiled.bytes.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), (flips) => {
        const bytes = compiled.bytes.slice();
        for (const [at, value] of flips) bytes[at] = value;
        let loaded;
        try {
          loaded = loadTable(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          return;
        }
        // A flip in the arrays that keeps them well-formed gives a different but valid table.
        for (const ip of ['3.4.12.4', '2600:1f18::1', '8.8.8.8']) expect(() => loaded.table.classify(ip)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
