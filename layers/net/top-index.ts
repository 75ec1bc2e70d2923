/**
 * The index that narrows a range-table search to a handful of intervals: 2^16 buckets on an address's
 * top 16 bits (IPv4, and IPv6's first 16 bits), and, for the few buckets crowded with intervals (AWS
 * space), a second level on the next bits, sized to the bucket (about one interval per sub-bucket), and a
 * third on the bits after those for the sub-buckets still crowded (AWS's IPv6 space is clustered: one
 * /27 of 2600::/16 holds hundreds of intervals). Measured on the bench workload (bench/classify.ts): the
 * IPv6 search about 50 ns with two levels, 35 with three; IPv4 gained nothing from a third, so it has none.
 *
 * Computed when a table is compiled and stored in the table file (codec.ts), so that loading it at an edge
 * cold start is a few typed-array views. Built at load instead, it cost 3-14 ms for the first table of a
 * process (the loops run in the interpreter before the JIT takes them) against 0.4 ms for the decode:
 * more than the rest of the edge's init. Stored, it adds about 21 KB to the deflated table (the index
 * is mostly runs of repeated values), leaving the viewer's zip just under 100 KB. A table from the network
 * is checked by building the index again and comparing (`decodeTable` with `check`: 3-30 ms, once per
 * refresh).
 *
 * Every entry is an interval number: for a (sub-)bucket, the last interval starting at or before the
 * bucket's first address. An address in bucket b lies in an interval between entry b and entry b + 1.
 */

export const BUCKET_BITS = 16;
const BUCKETS = 1 << BUCKET_BITS;
/** Buckets holding more intervals than this get a second level. */
export const CROWDED = 8;

/** How the index sees interval i: the top 32 bits of its start, and whether all its other bits are 0. */
export interface StartsView {
  count: number;
  top32(i: number): number;
  restZero(i: number): boolean;
  /** The next 32 bits (IPv6's second word; 0 for IPv4), and whether all bits after those 64 are 0. */
  word1(i: number): number;
  rest64Zero(i: number): boolean;
}

/**
 * The arrays holding interval numbers and offsets: 16-bit when every value of the table fits (today's
 * feeds have 11,000 IPv4 and 5,000 IPv6 intervals), else 32-bit. Half the bytes to read at a cold start
 * and half the cache lines touched by a lookup (see `narrowIndex`).
 */
export type IndexArray = Uint16Array | Uint32Array;

export interface TopIndex {
  /** BUCKETS + 1 entries. */
  first: IndexArray;
  /** Per bucket: 0, or 1 + the number of its second level. */
  crowded: Uint16Array;
  /** Per second level: where its entries start in `second`, and the shift that turns the bucket's low 16 bits into its key. */
  secondAt: IndexArray;
  secondShift: Uint8Array;
  second: IndexArray;
  /** Per second-level entry: 0, or 1 + the number of its third level. */
  thirdOf: Uint16Array;
  /**
   * Per third level: where its entries start in `third`, and the shift that turns the 32 address bits after
   * those its second level read (bit 32 - secondShift onwards) into its key.
   */
  thirdAt: IndexArray;
  thirdShift: Uint8Array;
  third: IndexArray;
}

/** The arrays of a `TopIndex` that `narrowIndex` may store in 16 bits. */
export const WIDE_ARRAYS = ['first', 'secondAt', 'second', 'thirdAt', 'third'] as const;

/** 2 when every interval number and offset of both families fits in 16 bits, else 4. */
export function indexWidth(index: TableIndex): 2 | 4 {
  const fits = (i: TopIndex) => WIDE_ARRAYS.every((name) => i[name].every((v) => v <= 0xffff));
  return fits(index.v4) && fits(index.v6) ? 2 : 4;
}

/** The index with its wide arrays in `width` bytes per entry (the values must fit: see `indexWidth`). */
export function narrowIndex(index: TableIndex, width: 2 | 4): TableIndex {
  const narrow = (i: TopIndex): TopIndex => {
    const out = { ...i };
    for (const name of WIDE_ARRAYS) out[name] = width === 2 ? Uint16Array.from(i[name]) : Uint32Array.from(i[name]);
    return out;
  };
  return { v4: narrow(index.v4), v6: narrow(index.v6) };
}

/**
 * Fills `index[at .. at + size]` for the intervals first..last: entry k is the last interval whose start
 * is at or before the k-th sub-bucket's first address; `keyOf(i)` is the (sub-)bucket holding interval
 * i's start (size or more when it lies beyond), `aligned(i)` whether it starts at that bucket's first address.
 */
function fillRuns(index: Uint32Array, at: number, size: number, first: number, last: number, keyOf: (i: number) => number, aligned: (i: number) => boolean): void {
  let next = 0; // the first entry not yet filled
  for (let i = first + 1; i <= last; i++) {
    // Entries whose first address lies before interval i's start end in interval i - 1.
    const before = Math.min(size + 1, aligned(i) ? keyOf(i) : keyOf(i) + 1);
    if (before > next) {
      index.fill(i - 1, at + next, at + before);
      next = before;
    }
  }
  index.fill(last, at + next, at + size + 1);
}

/** The index of both families of a table. */
export interface TableIndex {
  v4: TopIndex;
  v6: TopIndex;
}

export function buildTableIndex(intervals: { v4Starts: Uint32Array; v6Starts: Uint32Array; v4Info: Uint16Array; v6Info: Uint16Array }): TableIndex {
  const { v4Starts, v6Starts } = intervals;
  return {
    // IPv4 without a third level: measured, it saved nothing there and cost 10 KB of the edge zip.
    v4: buildTopIndex({ count: intervals.v4Info.length, top32: (i) => v4Starts[i]!, restZero: () => true, word1: () => 0, rest64Zero: () => true }, { thirdLevel: false }),
    v6: buildTopIndex({
      count: intervals.v6Info.length,
      top32: (i) => v6Starts[4 * i]!,
      restZero: (i) => v6Starts[4 * i + 1] === 0 && v6Starts[4 * i + 2] === 0 && v6Starts[4 * i + 3] === 0,
      word1: (i) => v6Starts[4 * i + 1]!,
      rest64Zero: (i) => v6Starts[4 * i + 2] === 0 && v6Starts[4 * i + 3] === 0,
    }),
  };
}

export function buildTopIndex(starts: StartsView, { thirdLevel = true } = {}): TopIndex {
  const first = new Uint32Array(BUCKETS + 1);
  fillRuns(first, 0, BUCKETS, 0, starts.count - 1, (i) => starts.top32(i) >>> BUCKET_BITS, (i) => (starts.top32(i) & 0xffff) === 0 && starts.restZero(i));

  const crowdedBuckets: number[] = [];
  for (let b = 0; b < BUCKETS; b++) if (first[b + 1]! - first[b]! > CROWDED) crowdedBuckets.push(b);
  const crowded = new Uint16Array(BUCKETS);
  const secondAt = new Uint32Array(crowdedBuckets.length);
  const secondShift = new Uint8Array(crowdedBuckets.length);
  const bits = crowdedBuckets.map((b) => Math.min(BUCKET_BITS, Math.ceil(Math.log2(first[b + 1]! - first[b]!))));
  const second = new Uint32Array(bits.reduce((sum, n) => sum + (1 << n) + 1, 0));
  let at = 0;
  crowdedBuckets.forEach((b, k) => {
    const shift = BUCKET_BITS - bits[k]!;
    const base = b * BUCKETS;
    const unit = 2 ** shift;
    crowded[b] = k + 1;
    secondAt[k] = at;
    secondShift[k] = shift;
    // Plain arithmetic, not 32-bit: the bucket's last interval may start in the next bucket (key 2^bits).
    fillRuns(
      second,
      at,
      1 << bits[k]!,
      first[b]!,
      first[b + 1]!,
      (i) => Math.floor((starts.top32(i) - base) / unit),
      (i) => (starts.top32(i) - base) % unit === 0 && starts.restZero(i),
    );
    at += (1 << bits[k]!) + 1;
  });

  // The third level, for second-level entries still crowded. Built where tables are compiled (and when a
  // downloaded one is checked), so 64-bit arithmetic in BigInt is fine here.
  const thirdOf = new Uint16Array(second.length);
  const thirdAt: number[] = [];
  const thirdShift: number[] = [];
  const thirdParts: Uint32Array[] = [];
  let thirdLength = 0;
  const head = (i: number) => (BigInt(starts.top32(i)) << 32n) | BigInt(starts.word1(i));
  crowdedBuckets.forEach((b, k) => {
    const read = BUCKET_BITS + bits[k]!; // address bits that select one of this second level's entries
    for (let s = 0; s < 1 << bits[k]!; s++) {
      const entry = secondAt[k]! + s;
      const lo = second[entry]!;
      const hi = second[entry + 1]!;
      if (!thirdLevel || hi - lo <= CROWDED || thirdAt.length >= 0xffff) continue;
      const bits3 = Math.min(BUCKET_BITS, Math.ceil(Math.log2(hi - lo)));
      const base = (BigInt(b) << 48n) | (BigInt(s) << BigInt(64 - read));
      const unit = 1n << BigInt(64 - read - bits3);
      const part = new Uint32Array((1 << bits3) + 1);
      fillRuns(
        part,
        0,
        1 << bits3,
        lo,
        hi,
        (i) => Number((head(i) - base) / unit),
        (i) => (head(i) - base) % unit === 0n && starts.rest64Zero(i),
      );
      thirdOf[entry] = thirdAt.length + 1;
      thirdAt.push(thirdLength);
      thirdShift.push(32 - bits3);
      thirdParts.push(part);
      thirdLength += part.length;
    }
  });
  const third = new Uint32Array(thirdLength);
  thirdParts.forEach((part, t) => third.set(part, thirdAt[t]!));
  return { first, crowded, secondAt, secondShift, second, thirdOf, thirdAt: Uint32Array.from(thirdAt), thirdShift: Uint8Array.from(thirdShift), third };
}
