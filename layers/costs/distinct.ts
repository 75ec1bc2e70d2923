/**
 * Counting distinct strings in bounded memory: exactly while there are few (a Set up to `exactLimit`),
 * then approximately with a HyperLogLog sketch (2^12 one-byte registers, about 1.6 % standard error),
 * so that a log naming millions of unknown digests costs kilobytes, not a string each.
 *
 * The strings are hashed (not trusted to be uniform: a digest in a log line is whatever a client asked
 * for) with two rounds of 32-bit FNV-1a mixing into 53 bits.
 */
const P = 12;
const REGISTERS = 1 << P;

/** A 53-bit hash of a string (cyrb53, public domain). */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export class DistinctCounter {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;

  constructor(private readonly exactLimit = 10_000) {}

  add(text: string): void {
    if (this.exact) {
      this.exact.add(text);
      if (this.exact.size <= this.exactLimit) return;
      this.registers = new Uint8Array(REGISTERS);
      for (const seen of this.exact) this.sketch(seen);
      this.exact = null;
      return;
    }
    this.sketch(text);
  }

  private sketch(text: string): void {
    const h = hash53(text);
    const index = h % REGISTERS;
    // The remaining 41 bits: the position of the first 1 bit, counted from 1.
    let rest = Math.floor(h / REGISTERS);
    let rank = 1;
    while (rank <= 41 && (rest & 1) === 0) {
      rest = Math.floor(rest / 2);
      rank++;
    }
    if (rank > this.registers![index]!) this.registers![index] = rank;
  }

  /** True while the count is exact. */
  get exactCount(): boolean {
    return this.exact !== null;
  }

  /** The number of distinct strings added (an estimate once past `exactLimit`). */
  count(): number {
    if (this.exact) return this.exact.size;
    const registers = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (const r of registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / REGISTERS);
    const raw = (alpha * REGISTERS * REGISTERS) / sum;
    // Small-range correction (linear counting), as in the HyperLogLog paper.
    const estimate = raw <= 2.5 * REGISTERS && zeros > 0 ? REGISTERS * Math.log(REGISTERS / zeros) : raw;
    return Math.round(estimate);
  }
}
