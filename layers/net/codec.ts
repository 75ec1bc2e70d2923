/**
 * The range table's wire format. The lookup arrays are stored as they sit in memory (little-endian,
 * 4-byte aligned), so loading a table is a few typed-array views over its bytes: no loop over entries at
 * an edge cold start, however large the feeds grow.
 *
 *   0  "RETB"   4  u8 version | u8 index width (2, 4) | u16 0   8  u32 header bytes   12 u32 IPv4 intervals   16 u32 IPv6 intervals
 *   20 u32 0   24 header: UTF-8 JSON {"metadata": {...}, "places": [["aws", "us-east-1"], ...]} | padding to 4
 *   v4 starts (u32 each) | v6 starts (4 x u32 each) | v4 info (u16 each) | v6 info (u16 each) | padding to 4
 *   index (format 3, see top-index.ts): 8 x u32 counts (per family, v4 then v6: second levels, second-level
 *   entries, third levels, third-level entries) | then each array of `INDEX_ARRAYS` below, v4 then v6:
 *   the index-width ones (first, secondAt, second, thirdAt, third: u16 when every value of the table fits,
 *   else u32), the u16 ones (crowded, thirdOf), the u8 ones (secondShift, thirdShift) | padding to 4
 *
 * The AWS + GCP feeds (18,000 entries, 5 MB of JSON) become 770 KB, 81 KB deflated (the index is 620 KB of
 * it, 930 KB in format 2's 32-bit entries; mostly runs of repeated values). Integrity is the publisher's
 * job (a SHA-256 in the pointer object); `decodeTable`
 * checks structure and bounds and never trusts a length it has not compared with the bytes it has.
 */
import { buildTableIndex, indexWidth, narrowIndex, type TableIndex, type TopIndex } from './top-index';
import { CLOUDS, type Intervals, MAX_PLACES, NO_MATCH, type Place } from './types';

// One decoder for every table: constructing one costs more than decoding a header with it.
let decoder: InstanceType<typeof TextDecoder> | undefined;
const textDecoder = () => (decoder ??= new TextDecoder('utf-8', { fatal: true }));

const MAGIC = 0x42544552; // "RETB" read as a little-endian u32
/** 2: the lookup index is stored after the intervals. 3: its interval numbers in 16 bits when they fit. */
export const TABLE_FORMAT_VERSION = 3;
const HEADER_BYTES = 24;

/** What a table says about where it came from (feed sync tokens and dates, overlay size). */
export type TableMetadata = Record<string, unknown>;

export interface DecodedTable {
  metadata: TableMetadata;
  places: Place[];
  intervals: Intervals;
  index: TableIndex;
}

const pad4 = (n: number) => (n + 3) & ~3;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const FIRST_ENTRIES = (1 << 16) + 1;
const CROWDED_ENTRIES = 1 << 16;

/** The index's counts for one family: second levels, their entries, third levels, their entries. */
type IndexCounts = [number, number, number, number];
const countsOf = (i: TopIndex): IndexCounts => [i.secondAt.length, i.second.length, i.thirdAt.length, i.third.length];
const INDEX_COUNTS_BYTES = 32;

/**
 * The index's arrays in file order (widest first, so each stays aligned): name, element bytes (`w`: the
 * table's index width, 2 or 4, byte 5 of the file), length.
 */
const INDEX_ARRAYS: [keyof TopIndex, 'w' | 2 | 1, (c: IndexCounts) => number][] = [
  ['first', 'w', () => FIRST_ENTRIES],
  ['secondAt', 'w', (c) => c[0]],
  ['second', 'w', (c) => c[1]],
  ['thirdAt', 'w', (c) => c[2]],
  ['third', 'w', (c) => c[3]],
  ['crowded', 2, () => CROWDED_ENTRIES],
  ['thirdOf', 2, (c) => c[1]],
  ['secondShift', 1, (c) => c[0]],
  ['thirdShift', 1, (c) => c[2]],
];

/** Bytes of the index section, from the counts of both families and the index width. */
const indexBytes = (c4: IndexCounts, c6: IndexCounts, width: 2 | 4) =>
  pad4(INDEX_COUNTS_BYTES + INDEX_ARRAYS.reduce((sum, [, size, length]) => sum + (size === 'w' ? width : size) * (length(c4) + length(c6)), 0));

export function encodeTable(metadata: TableMetadata, places: readonly Place[], intervals: Intervals): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('range tables are little-endian; this machine is not');
  for (const place of places) {
    if (!CLOUDS.includes(place.cloud) || !isRegionName(place.region)) throw new Error(`place ${place.cloud} "${place.region}" cannot be encoded`);
  }
  const header = new TextEncoder().encode(JSON.stringify({ metadata, places: places.map((p) => [p.cloud, p.region]) }));
  const n4 = intervals.v4Info.length;
  const n6 = intervals.v6Info.length;
  const arraysAt = pad4(HEADER_BYTES + header.length);
  const indexAt = pad4(arraysAt + 4 * n4 + 16 * n6 + 2 * n4 + 2 * n6);
  const built = buildTableIndex(intervals);
  const width = indexWidth(built);
  const { v4, v6 } = narrowIndex(built, width);
  const total = indexAt + indexBytes(countsOf(v4), countsOf(v6), width);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, TABLE_FORMAT_VERSION);
  view.setUint8(5, width);
  view.setUint32(8, header.length, true);
  view.setUint32(12, n4, true);
  view.setUint32(16, n6, true);
  out.set(header, HEADER_BYTES);
  let at = arraysAt;
  // The arrays as they sit in memory (this machine is little-endian, as decodeTable requires).
  const put = (values: Uint32Array | Uint16Array | Uint8Array) => {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  };
  const put32 = put;
  const put16 = put;
  put32(intervals.v4Starts);
  put32(intervals.v6Starts);
  put16(intervals.v4Info);
  put16(intervals.v6Info);
  at = indexAt;
  put32(Uint32Array.from([...countsOf(v4), ...countsOf(v6)]));
  for (const [name] of INDEX_ARRAYS) for (const family of [v4, v6]) put(family[name]);
  return out;
}

function isRegionName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}


/**
 * Reads a table. With `check` (for tables from the network) it also walks the intervals: sorted, places
 * in range, prefix lengths possible. The embedded table was checked at build time and skips that walk.
 */
export function decodeTable(input: Uint8Array, { check = true } = {}): DecodedTable {
  if (!LITTLE_ENDIAN) throw new Error('range tables are little-endian; this machine is not');
  // Typed-array views need 4-byte alignment; Buffers from pools or base64 may not have it.
  const bytes = input.byteOffset % 4 === 0 ? input : input.slice();
  if (bytes.length < HEADER_BYTES) throw new Error(`range table truncated: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('not a registry-edge range table (bad magic)');
  const version = view.getUint8(4);
  if (version !== TABLE_FORMAT_VERSION) throw new Error(`range table format ${version} is not supported (expected ${TABLE_FORMAT_VERSION})`);
  const width = view.getUint8(5);
  if (width !== 2 && width !== 4) throw new Error(`range table index width ${width} is not 2 or 4`);
  const headerLength = view.getUint32(8, true);
  const n4 = view.getUint32(12, true);
  const n6 = view.getUint32(16, true);
  const arraysAt = pad4(HEADER_BYTES + headerLength);
  const indexAt = pad4(arraysAt + 4 * n4 + 16 * n6 + 2 * n4 + 2 * n6);
  if (indexAt + INDEX_COUNTS_BYTES > bytes.length) throw new Error(`range table is ${bytes.length} bytes, its header says more than ${indexAt + INDEX_COUNTS_BYTES}`);
  const counts = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => view.getUint32(indexAt + 4 * k, true));
  const c4 = counts.slice(0, 4) as IndexCounts;
  const c6 = counts.slice(4) as IndexCounts;
  const expected = indexAt + indexBytes(c4, c6, width);
  if (expected !== bytes.length) throw new Error(`range table is ${bytes.length} bytes, its header says ${expected}`);
  if (n4 === 0 || n6 === 0) throw new Error('range table has an empty address family');

  let header: { metadata?: unknown; places?: unknown };
  try {
    header = JSON.parse(textDecoder().decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + headerLength)));
  } catch (error) {
    throw new Error(`range table header is not valid JSON: ${(error as Error).message}`);
  }
  const metadata = header?.metadata;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new Error('range table metadata is not an object');
  if (!Array.isArray(header?.places) || header.places.length > MAX_PLACES) throw new Error('range table places are not a list');
  const places: Place[] = [];
  for (const entry of header.places as unknown[]) {
    const [cloud, region] = Array.isArray(entry) ? entry : [];
    if (!CLOUDS.includes(cloud) || !isRegionName(region)) throw new Error(`range table place ${places.length} is invalid`);
    places.push({ cloud, region });
  }
  const placeCount = places.length;

  const base = bytes.byteOffset + arraysAt;
  const intervals: Intervals = {
    v4Starts: new Uint32Array(bytes.buffer, base, n4),
    v6Starts: new Uint32Array(bytes.buffer, base + 4 * n4, 4 * n6),
    v4Info: new Uint16Array(bytes.buffer, base + 4 * n4 + 16 * n6, n4),
    v6Info: new Uint16Array(bytes.buffer, base + 4 * n4 + 16 * n6 + 2 * n4, n6),
  };
  // Views, no copies (the sizes were checked against the bytes above).
  let at = bytes.byteOffset + indexAt + INDEX_COUNTS_BYTES;
  const views: Record<string, unknown>[] = [{}, {}];
  const viewOf = (size: 4 | 2 | 1, count: number) =>
    size === 4 ? new Uint32Array(bytes.buffer, at, count) : size === 2 ? new Uint16Array(bytes.buffer, at, count) : new Uint8Array(bytes.buffer, at, count);
  for (const [name, entryBytes, length] of INDEX_ARRAYS) {
    const size = entryBytes === 'w' ? width : entryBytes;
    [c4, c6].forEach((c, family) => {
      views[family]![name] = viewOf(size, length(c));
      at += size * length(c);
    });
  }
  const index: TableIndex = { v4: views[0] as unknown as TopIndex, v6: views[1] as unknown as TopIndex };
  if (check) {
    checkIntervals(intervals, placeCount);
    // The index follows from the intervals: it must be exactly the one they give.
    const rebuilt = buildTableIndex(intervals);
    if (!sameIndex(index.v4, rebuilt.v4)) throw new Error('range table IPv4 index does not match its intervals');
    if (!sameIndex(index.v6, rebuilt.v6)) throw new Error('range table IPv6 index does not match its intervals');
  }
  return { metadata: metadata as TableMetadata, places, intervals, index };
}

function sameIndex(a: TopIndex, b: TopIndex): boolean {
  const same = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  return INDEX_ARRAYS.every(([name]) => same(a[name], b[name]));
}

function checkIntervals(t: Intervals, placeCount: number): void {
  const checkInfo = (info: Uint16Array, maxLength: number, family: string) => {
    for (let i = 0; i < info.length; i++) {
      const v = info[i]!;
      if (v !== NO_MATCH && ((v & 0xff) >= placeCount || v >>> 8 > maxLength)) throw new Error(`range table ${family} interval ${i} is invalid`);
    }
  };
  checkInfo(t.v4Info, 32, 'IPv4');
  checkInfo(t.v6Info, 128, 'IPv6');
  if (t.v4Starts[0] !== 0) throw new Error('range table IPv4 intervals do not start at 0');
  for (let i = 1; i < t.v4Starts.length; i++) {
    if (t.v4Starts[i]! <= t.v4Starts[i - 1]!) throw new Error(`range table IPv4 interval ${i} is out of order`);
  }
  const s = t.v6Starts;
  if (s[0] !== 0 || s[1] !== 0 || s[2] !== 0 || s[3] !== 0) throw new Error('range table IPv6 intervals do not start at 0');
  for (let i = 4; i < s.length; i += 4) {
    let order = 0;
    for (let w = 0; w < 4 && order === 0; w++) order = s[i + w]! - s[i - 4 + w]!;
    if (order <= 0) throw new Error(`range table IPv6 interval ${i / 4} is out of order`);
  }
}
