/**
 * The runtime range table: a longest-prefix match is one binary search over sorted, disjoint intervals
 * (see `intervals.ts` for how they are built), narrowed first by a 2^16-entry index on the address's top
 * 16 bits (IPv4 and IPv6 alike), so that a search covers a handful of intervals. Built once per table
 * version and shared by all requests; lookups do not allocate.
 *
 * The index is computed when a table is compiled and stored in it (see `top-index.ts`, `codec.ts`).
 */
import { readV4Head, readV4Tail, readV6Group1, readV6Head } from './client-ip';
import { type Cidr, formatCidr, parseAddress } from './ip';
import { buildTableIndex, CROWDED, type TableIndex, type TopIndex } from './top-index';
import { type Classification, type Intervals, NO_MATCH, type Place } from './types';

export * from './types';

/** The intervals a search counts through at its last step (see searchV4). */
const WINDOW = 8;

/** What `lookup` returns when the text is not an address. */
export const INVALID = -2;
/** What `lookup` returns for an address outside every prefix. */
export const UNMATCHED = -1;

export class RangeTable {
  private readonly v4Count: number;
  private readonly v6Count: number;
  private readonly v4Index: TopIndex;
  private readonly v6Index: TopIndex;
  private readonly scratch = new Uint32Array(4);
  /** Per interval slot: its classification, built on first use so that init stays cheap. */
  private readonly answers: (Classification | undefined)[] = [];

  /** `index` is the one stored in the table file (see codec.ts); without it, it is built here. */
  constructor(
    readonly places: readonly Place[],
    private readonly intervals: Intervals,
    index: TableIndex = buildTableIndex(intervals),
  ) {
    this.v4Count = intervals.v4Info.length;
    this.v6Count = intervals.v6Info.length;
    this.v4Index = index.v4;
    this.v6Index = index.v6;
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

  /**
   * `lookup` for CloudFront's `clientIp`, which is well-formed (the viewer cannot choose its text), read
   * only as far as the answer needs:
   * - the first 16 bits (IPv4's "a.b.", IPv6's first group) pick a bucket of the index; when the bucket
   *   lies inside one interval (all of the internet outside the clouds' space, half of the traffic) that
   *   is the answer, and the rest of the text is not read;
   * - otherwise IPv4 is read to its end, and IPv6 by its first 64 bits, the rest only when an interval
   *   starts inside that /64 (see `client-ip.ts`).
   * Same answers as `lookup` for every well-formed address; text that is not one may get an answer instead
   * of `INVALID` ("9.9.x" reads as 9.9.0.0/16 when that bucket holds one answer), so untrusted text goes
   * to `lookup`.
   */
  lookupClientIp(text: string): number {
    if (typeof text !== 'string') return INVALID;
    const len = text.length;
    if (len > 45) return INVALID;
    const v4 = readV4Head(text, len);
    if (v4 >= 0) {
      const top = v4 & 0xffff;
      const first = this.v4Index.first;
      let slot = first[top]!;
      if (first[top + 1] !== slot) {
        const tail = readV4Tail(text, v4 >>> 16, len);
        if (tail < 0) return INVALID;
        slot = this.searchV4(((top << 16) | tail) >>> 0);
      }
      return this.intervals.v4Info[slot] === NO_MATCH ? UNMATCHED : slot;
    }
    const v6 = readV6Group1(text, len);
    if (v6 < 0) return this.lookup(text);
    const top = v6 & 0xffff;
    const first = this.v6Index.first;
    let i = first[top]!;
    if (first[top + 1] !== i) {
      const out = this.scratch;
      if (!readV6Head(text, v6 >>> 16, len, top, out)) return this.lookup(text);
      i = this.searchV6Head(out[0]!, out[1]!);
      const starts = this.intervals.v6Starts;
      // Interval i starts at or before the address's /64; if it starts inside it, the low bits decide.
      if (starts[4 * i] === out[0] && starts[4 * i + 1] === out[1] && (starts[4 * i + 2] !== 0 || starts[4 * i + 3] !== 0)) {
        if (parseAddress(text, out) !== 6) return INVALID;
        while (this.v6StartAfter(i, out)) i--;
      }
    }
    return this.intervals.v6Info[i] === NO_MATCH ? UNMATCHED : this.v4Count + i;
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
    const { first, crowded, secondAt, secondShift, second, thirdOf, thirdAt, thirdShift, third } = this.v4Index;
    const top = address >>> 16;
    let lo = first[top]!;
    let hi = first[top + 1]!;
    if (hi - lo > CROWDED) {
      const k = crowded[top]! - 1;
      const shift = secondShift[k]!;
      const at = secondAt[k]! + ((address & 0xffff) >>> shift);
      lo = second[at]!;
      hi = second[at + 1]!;
      const t = hi - lo > CROWDED ? thirdOf[at]! : 0;
      if (t !== 0) {
        // The address bits after the 32 - shift read so far (an IPv4 address has no more after its 32).
        const at3 = thirdAt[t - 1]! + (shift === 0 ? 0 : ((address << (32 - shift)) >>> thirdShift[t - 1]!));
        lo = third[at3]!;
        hi = third[at3 + 1]!;
      }
    }
    const starts = this.intervals.v4Starts;
    // Largest i in [lo, hi] with starts[i] <= address (starts[lo] <= address holds): halve the window
    // down to WINDOW, then count. Every interval after hi starts after the address, so counting the
    // WINDOW starts after lo needs no bound; the count has no branch to mispredict, a search on random
    // addresses mispredicts about every other step.
    while (hi - lo > WINDOW) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    if (lo + WINDOW >= this.v4Count) return this.searchV4Tail(lo, hi, address);
    return (
      lo +
      +(starts[lo + 1]! <= address) +
      +(starts[lo + 2]! <= address) +
      +(starts[lo + 3]! <= address) +
      +(starts[lo + 4]! <= address) +
      +(starts[lo + 5]! <= address) +
      +(starts[lo + 6]! <= address) +
      +(starts[lo + 7]! <= address) +
      +(starts[lo + 8]! <= address)
    );
  }

  /** searchV4's last step near the end of the array, where a window of WINDOW would run past it. */
  private searchV4Tail(lo: number, hi: number, address: number): number {
    const starts = this.intervals.v4Starts;
    while (lo < hi && starts[lo + 1]! <= address) lo++;
    return lo;
  }

  /** The last IPv6 interval whose start's first 64 bits are at or before (a0, a1). */
  private searchV6Head(a0: number, a1: number): number {
    const { first, crowded, secondAt, secondShift, second, thirdOf, thirdAt, thirdShift, third } = this.v6Index;
    const top = a0 >>> 16;
    let lo = first[top]!;
    let hi = first[top + 1]!;
    if (hi - lo > CROWDED) {
      const k = crowded[top]! - 1;
      const shift = secondShift[k]!;
      const at = secondAt[k]! + ((a0 & 0xffff) >>> shift);
      lo = second[at]!;
      hi = second[at + 1]!;
      const t = hi - lo > CROWDED ? thirdOf[at]! : 0;
      if (t !== 0) {
        // The 32 address bits after the 32 - shift read so far.
        const window = shift === 0 ? a1 : ((a0 << (32 - shift)) | (a1 >>> shift)) >>> 0;
        const at3 = thirdAt[t - 1]! + (window >>> thirdShift[t - 1]!);
        lo = third[at3]!;
        hi = third[at3 + 1]!;
      }
    }
    while (hi - lo > WINDOW) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.v6HeadAtOrBefore(mid, a0, a1)) lo = mid;
      else hi = mid - 1;
    }
    if (lo + WINDOW >= this.v6Count) {
      while (lo < hi && this.v6HeadAtOrBefore(lo + 1, a0, a1)) lo++;
      return lo;
    }
    // As in searchV4: count the WINDOW starts after lo that are at or before the address.
    return (
      lo +
      this.v6HeadAtOrBefore(lo + 1, a0, a1) +
      this.v6HeadAtOrBefore(lo + 2, a0, a1) +
      this.v6HeadAtOrBefore(lo + 3, a0, a1) +
      this.v6HeadAtOrBefore(lo + 4, a0, a1) +
      this.v6HeadAtOrBefore(lo + 5, a0, a1) +
      this.v6HeadAtOrBefore(lo + 6, a0, a1) +
      this.v6HeadAtOrBefore(lo + 7, a0, a1) +
      this.v6HeadAtOrBefore(lo + 8, a0, a1)
    );
  }

  /** 1 when IPv6 interval i's first 64 bits are at or before (a0, a1), else 0; without a branch. */
  private v6HeadAtOrBefore(i: number, a0: number, a1: number): number {
    const starts = this.intervals.v6Starts;
    const s0 = starts[i << 2]!;
    return +(s0 < a0) | (+(s0 === a0) & +(starts[(i << 2) + 1]! <= a1));
  }

  /** Whether IPv6 interval i starts after the address in `words` (all 128 bits). */
  private v6StartAfter(i: number, words: Uint32Array): boolean {
    const starts = this.intervals.v6Starts;
    const k = i << 2;
    for (let w = 0; w < 4; w++) {
      if (starts[k + w] !== words[w]) return starts[k + w]! > words[w]!;
    }
    return false;
  }

  private searchV6(words: Uint32Array): number {
    let i = this.searchV6Head(words[0]!, words[1]!);
    while (this.v6StartAfter(i, words)) i--;
    return i;
  }
}
