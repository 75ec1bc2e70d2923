/**
 * Prefixes to intervals: the compile-time half of the range table.
 *
 * CIDR blocks are either disjoint or nested, never partly overlapping. Sweeping them in (start, length)
 * order with a stack of open blocks yields, for every stretch of the address space, the block that wins
 * there: the one of the higher-priority cloud and, within a cloud, the longest prefix. That matters: 638
 * AWS `GLOBAL` prefixes contain 247 more specific regional ones, and the regional one must win.
 *
 * This runs where the table is compiled (build, range updater, CLI), never at the edge: the edge loads the
 * finished intervals without a loop, so its cold start does not grow with the feeds.
 */
import type { Cidr } from './ip';
import { CLOUD_PRIORITY, type Intervals, MAX_PLACES, NO_MATCH, type RangeEntry, type RangeTableData } from './types';

export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let w = 0; w < 4; w++) {
    const d = a.words[w]! - b.words[w]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Entries of one family in sweep order, as parallel arrays (address words at 4i..4i+3). */
interface Packed {
  words: Uint32Array;
  lengths: Uint8Array;
  places: Uint16Array;
  priority: Uint8Array;
  count: number;
}

function pack(entries: RangeEntry[], data: RangeTableData): Packed {
  const sorted = [...entries].sort((a, b) => compareCidr(a.cidr, b.cidr) || a.place - b.place);
  const packed: Packed = {
    words: new Uint32Array(4 * sorted.length),
    lengths: new Uint8Array(sorted.length),
    places: new Uint16Array(sorted.length),
    priority: new Uint8Array(sorted.length),
    count: sorted.length,
  };
  sorted.forEach((e, i) => {
    const w = e.cidr.words;
    packed.words[4 * i] = w[0]!;
    packed.words[4 * i + 1] = w[1]!;
    packed.words[4 * i + 2] = w[2]!;
    packed.words[4 * i + 3] = w[3]!;
    packed.lengths[i] = e.cidr.length;
    packed.places[i] = e.place;
    packed.priority[i] = CLOUD_PRIORITY[data.places[e.place]!.cloud];
  });
  return packed;
}

/** Compares the `width`-word key at a[ia..] with b[ib..]. */
function compareKey(a: Uint32Array, ia: number, b: Uint32Array, ib: number, width: number): number {
  for (let w = 0; w < width; w++) {
    const d = a[ia + w]! - b[ib + w]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Flattens one family's entries (`width` words per address, `bits` bits) into intervals. */
function sweep(packed: Packed, width: number, bits: number): { starts: Uint32Array; info: Uint16Array } {
  const { words, lengths } = packed;
  // Entry a strictly beats entry b where both match: a higher-priority cloud, or a longer prefix.
  const better = (a: number, b: number) =>
    packed.priority[a] !== packed.priority[b] ? packed.priority[a]! > packed.priority[b]! : lengths[a]! > lengths[b]!;

  const maxIntervals = 2 * packed.count + 1;
  const starts = new Uint32Array(width * maxIntervals);
  const winners = new Int32Array(maxIntervals);
  winners[0] = -1;
  let n = 1;
  const openEnds = new Uint32Array(width * (packed.count + 1));
  const openInfinite = new Uint8Array(packed.count + 1);
  const openWinners = new Int32Array(packed.count + 1);
  let depth = 0;
  const end = new Uint32Array(width);

  const emit = (source: Uint32Array, offset: number, winner: number) => {
    const last = n - 1;
    if (compareKey(starts, last * width, source, offset, width) === 0) {
      winners[last] = winner;
      if (last > 0 && winners[last - 1] === winner) n--; // merge with the previous interval
    } else if (winners[last] !== winner) {
      for (let w = 0; w < width; w++) starts[n * width + w] = source[offset + w]!;
      winners[n++] = winner;
    }
  };
  // Close every open block that ends at or before `position` (all of them when position is null).
  const closeUntil = (position: Uint32Array | null, offset: number) => {
    while (depth > 0) {
      const top = depth - 1;
      if (openInfinite[top]) break;
      if (position !== null && compareKey(position, offset, openEnds, top * width, width) < 0) break;
      depth--;
      emit(openEnds, top * width, depth > 0 ? openWinners[depth - 1]! : -1);
    }
  };

  for (let e = 0; e < packed.count; e++) {
    const base = 4 * e;
    closeUntil(words, base);
    const parent = depth > 0 ? openWinners[depth - 1]! : -1;
    const winner = parent >= 0 && !better(e, parent) ? parent : e;
    // end = start + 2^(bits - length), with carry; a block reaching the top of the space never closes.
    for (let w = 0; w < width; w++) end[w] = words[base + w]!;
    const shift = bits - lengths[e]!;
    let infinite = shift >= bits;
    if (!infinite) {
      let word = width - 1 - Math.floor(shift / 32);
      let add = 2 ** (shift % 32);
      while (add > 0) {
        if (word < 0) {
          infinite = true;
          break;
        }
        const sum = end[word]! + add;
        end[word] = sum >>> 0;
        add = sum >= 2 ** 32 ? 1 : 0;
        word--;
      }
    }
    openEnds.set(end, depth * width);
    openInfinite[depth] = infinite ? 1 : 0;
    openWinners[depth] = winner;
    depth++;
    emit(words, base, winner);
  }
  closeUntil(null, 0);

  const info = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const w = winners[i]!;
    info[i] = w < 0 ? NO_MATCH : packed.places[w]! | (lengths[w]! << 8);
  }
  return { starts: starts.slice(0, n * width), info };
}

export function buildIntervals(data: RangeTableData): Intervals {
  if (data.places.length > MAX_PLACES) throw new Error(`a range table holds at most ${MAX_PLACES} places, not ${data.places.length}`);
  const v4 = sweep(pack(data.entries.filter((e) => e.cidr.family === 4), data), 1, 32);
  const v6 = sweep(pack(data.entries.filter((e) => e.cidr.family === 6), data), 4, 128);
  return { v4Starts: v4.starts, v4Info: v4.info, v6Starts: v6.starts, v6Info: v6.info };
}
