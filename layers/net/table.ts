/**
 * The runtime range table: a longest-prefix match is one binary search over sorted, disjoint intervals
 * (see `intervals.ts` for how they are built). Built once per table version and shared by all requests;
 * `lookup` does not allocate.
 */
import { type Cidr, formatCidr, parseAddress } from './ip';
import { type Classification, type Intervals, NO_MATCH, type Place } from './types';

export * from './types';

/** What `lookup` returns when the text is not an address. */
export const INVALID = -2;
/** What `lookup` returns for an address outside every prefix. */
export const UNMATCHED = -1;

export class RangeTable {
  private readonly v4Count: number;
  private readonly v6Count: number;
  /** For each top byte b (and 256): the last IPv4 interval starting at or before b.0.0.0, to narrow searches. */
  private readonly v4ByTopByte = new Uint32Array(257);
  private readonly scratch = new Uint32Array(4);
  /** Per interval slot: its classification, built on first use so that init stays cheap. */
  private readonly answers: (Classification | undefined)[] = [];

  constructor(
    readonly places: readonly Place[],
    private readonly intervals: Intervals,
  ) {
    this.v4Count = intervals.v4Info.length;
    this.v6Count = intervals.v6Info.length;
    // 257 binary searches: a few microseconds at init, and each lookup then searches ~1/256 of the table.
    for (let b = 0; b < 256; b++) this.v4ByTopByte[b] = this.searchV4Between((b << 24) >>> 0, 0, this.v4Count - 1);
    this.v4ByTopByte[256] = this.v4Count - 1;
  }

  /**
   * The interval slot holding `text` when a prefix covers it, `UNMATCHED` when none does, `INVALID` when
   * `text` is not an address. Slots below `v4Count` are IPv4 intervals, the rest IPv6.
   */
  lookup(text: string): number {
    const family = parseAddress(text, this.scratch);
    let slot: number;
    let info: number;
    if (family === 4) {
      slot = this.searchV4(this.scratch[0]!);
      info = this.intervals.v4Info[slot]!;
    } else if (family === 6) {
      const i = this.searchV6(this.scratch);
      info = this.intervals.v6Info[i]!;
      slot = this.v4Count + i;
    } else {
      return INVALID;
    }
    return info === NO_MATCH ? UNMATCHED : slot;
  }

  /** The place (cloud and region) of a matched slot. */
  place(slot: number): Place {
    return this.places[this.info(slot) & 0xff]!;
  }

  /** The full classification of a matched slot, with the matched CIDR. */
  answer(slot: number): Classification {
    let answer = this.answers[slot];
    if (answer === undefined) {
      const info = this.info(slot);
      const place = this.places[info & 0xff]!;
      // The interval lies inside the winning prefix, so its start masked to the prefix length is the
      // prefix's network address: the table needs no list of prefixes besides the intervals.
      const length = info >>> 8;
      const words = new Uint32Array(4);
      if (slot < this.v4Count) words[0] = this.intervals.v4Starts[slot]!;
      else words.set(this.intervals.v6Starts.subarray(4 * (slot - this.v4Count), 4 * (slot - this.v4Count) + 4));
      const cidr: Cidr = { family: slot < this.v4Count ? 4 : 6, words, length };
      for (let w = 0; w < 4; w++) {
        const bits = length - 32 * w;
        words[w] = bits >= 32 ? words[w]! : bits <= 0 ? 0 : (words[w]! & (0xffffffff << (32 - bits))) >>> 0;
      }
      answer = { cloud: place.cloud, region: place.region, prefix: formatCidr(cidr) };
      this.answers[slot] = answer;
    }
    return answer;
  }

  /** Classifies a text address: its place, null outside every published range, undefined if not an address. */
  classify(text: string): Classification | null | undefined {
    const slot = this.lookup(text);
    if (slot === INVALID) return undefined;
    return slot === UNMATCHED ? null : this.answer(slot);
  }

  private info(slot: number): number {
    return slot < this.v4Count ? this.intervals.v4Info[slot]! : this.intervals.v6Info[slot - this.v4Count]!;
  }

  private searchV4(address: number): number {
    const top = address >>> 24;
    return this.searchV4Between(address, this.v4ByTopByte[top]!, this.v4ByTopByte[top + 1]!);
  }

  /** Largest i in [lo, hi] with starts[i] <= address (starts[lo] <= address holds). */
  private searchV4Between(address: number, lo: number, hi: number): number {
    const starts = this.intervals.v4Starts;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private searchV6(words: Uint32Array): number {
    const starts = this.intervals.v6Starts;
    const a0 = words[0]!;
    const a1 = words[1]!;
    const a2 = words[2]!;
    const a3 = words[3]!;
    let lo = 0;
    let hi = this.v6Count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const k = mid << 2;
      let notAfter: boolean;
      if (starts[k] !== a0) notAfter = starts[k]! < a0;
      else if (starts[k + 1] !== a1) notAfter = starts[k + 1]! < a1;
      else if (starts[k + 2] !== a2) notAfter = starts[k + 2]! < a2;
      else notAfter = starts[k + 3]! <= a3;
      if (notAfter) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
