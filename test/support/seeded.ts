/** A seeded generator for tests and benches: the same seed, the same sequence (a failing run can be repeated). */

/** mulberry32: small, seeded, good enough to pick faults (and shuffles a failing run can repeat). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
