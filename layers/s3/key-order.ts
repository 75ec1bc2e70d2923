/**
 * S3's key order. ListObjectsV2 returns keys "in ascending order based on the UTF-8 binary
 * representation", which is code point order. JavaScript's `<` compares UTF-16 code units instead, and the
 * two disagree in one place: a character above U+FFFF (stored as a surrogate pair, code units
 * D800-DFFF) sorts *before* U+E000-U+FFFF in UTF-16 but *after* them in UTF-8. Merging listings with `<`
 * would then see, e.g., "…😀" (U+1F600) and "…\uFF01" (fullwidth "!") in the wrong order and miss a match.
 */

/** Negative, zero or positive as `a` sorts before, with or after `b` in UTF-8 byte order (S3's). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only two code units that are both >= D800 can be ordered differently by UTF-16 and UTF-8: move the
    // surrogates (D800-DFFF) above E000-FFFF, which is where their code points (>= 10000) belong.
    if (x >= 0xd800 && y >= 0xd800) return utf8Rank(x) - utf8Rank(y);
    return x - y;
  }
  return a.length - b.length;
}

function utf8Rank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
