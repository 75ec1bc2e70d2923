/**
 * Counting distinct strings in bounded memory: exactly while there are few (a Set up to `exactLimit`),
 * then approximately with a HyperLogLog sketch (2^12 one-byte registers, about 1.6 % standard error),
 * so that a log naming millions of unknown digests costs kilobytes, not a string each.
 *
 * The strings are hashed (not trusted to be uniform: a digest in a log line is whatever a client asked
 * for) into two 32-bit words: one picks the register, the other gives the rank.
 */
import { ownCopy } from './own-copy';

const P = 12;
const REGISTERS = 1 << P;

/**
 * Two 32-bit FNV-1a hashes of a string (different offset bases), each finished with a xorshift so that
 * every input bit reaches every output bit. Shifts and adds only: the multiplication by FNV's prime is
 * written out, which also keeps it fast where Math.imul is not inlined (jest's sandboxed globals).
 */
function hash64(text: string, out: Uint32Array): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 ^= c;
    h1 = (h1 + (h1 << 1) + (h1 << 4) + (h1 << 7) + (h1 << 8) + (h1 << 24)) | 0;
    h2 ^= c;
    h2 = (h2 + (h2 << 1) + (h2 << 4) + (h2 << 7) + (h2 << 8) + (h2 << 24)) | 0;
  }
  h1 ^= h1 << 13;
  h1 ^= h1 >>> 17;
  h1 ^= h1 << 5;
  h2 ^= h2 >>> 15;
  h2 ^= h2 << 11;
  h2 ^= h2 >>> 7;
  h2 ^= h2 << 17;
  out[0] = h1;
  out[1] = h2;
}

export class DistinctCounter {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;
  private readonly hash = new Uint32Array(2);

  constructor(private readonly exactLimit = 10_000) {}

  add(text: string): void {
    if (this.exact) {
      // A copy: the text may be a slice of a much larger string (./own-copy.ts).
      if (!this.exact.has(text)) this.exact.add(ownCopy(text));
      if (this.exact.size <= this.exactLimit) return;
      this.registers = new Uint8Array(REGISTERS);
      for (const seen of this.exact) this.sketch(seen);
      this.exact = null;
      return;
    }
    this.sketch(text);
  }

  private sketch(text: string): void {
    hash64(text, this.hash);
    // One hash picks the register; the other's leading zeros (plus one) are the rank.
    const index = this.hash[0]! & (REGISTERS - 1);
    const rank = Math.clz32(this.hash[1]!) + 1;
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
