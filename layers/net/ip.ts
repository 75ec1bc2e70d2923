/**
 * Text IP addresses to numbers, without allocation on the hot path.
 *
 * An address is written into a caller-owned `Uint32Array(4)`:
 * - IPv4: `out[0]` holds the address, family 4.
 * - IPv6: `out[0..3]` hold the 128 bits, most significant word first, family 6.
 * - IPv4-mapped IPv6 (`::ffff:a.b.c.d`, `::ffff:0102:0304`) is returned as IPv4: a dual-stack viewer is
 *   the same client as its IPv4 self, and only the IPv4 tables know where it is.
 *
 * The grammar is strict on purpose (it decides where clients are sent): IPv4 is four decimal octets
 * without leading zeros (`010.0.0.1` is octal to some parsers and decimal to others), IPv6 follows
 * RFC 4291 section 2.2 without zone identifiers or brackets.
 */

export type Family = 4 | 6;
/** 0 when the text is not an address. */
export type ParseResult = Family | 0;

const DOT = 0x2e;
const COLON = 0x3a;

/**
 * Parses dotted-quad IPv4 text between `start` and `end`; -1 when invalid. Unrolled by octet (one to
 * three digits, then a dot): every character is read once, and this is about a quarter faster than a
 * loop over characters with a state per octet (IPv4 is most of the edge's traffic).
 */
function parseV4Range(text: string, start: number, end: number): number {
  // Int32 arithmetic throughout (V8 keeps it in registers); the result is made unsigned at the end.
  let i = start;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (i >= end) return -1;
    let d = text.charCodeAt(i) - 48;
    if (d >>> 0 > 9) return -1;
    let octet = d;
    i++;
    if (i < end) {
      d = text.charCodeAt(i) - 48;
      if (d >>> 0 <= 9) {
        if (octet === 0) return -1; // leading zero: octal to some parsers, decimal to others
        octet = octet * 10 + d;
        i++;
        if (i < end) {
          d = text.charCodeAt(i) - 48;
          if (d >>> 0 <= 9) {
            octet = octet * 10 + d;
            i++;
            if (octet > 255) return -1;
          }
        }
      }
    }
    value = (value << 8) | octet;
    if (part < 3) {
      if (i >= end || text.charCodeAt(i) !== DOT) return -1;
      i++;
    }
  }
  return i === end ? value >>> 0 : -1;
}

/**
 * One decimal octet of IPv4 text at `i` (1-3 digits, no leading zero, at most 255), packed with the index
 * after it as `octet | next << 8`; -1 when there is none. What follows it is the caller's to check.
 */
function readOctet(text: string, i: number, end: number): number {
  if (i >= end) return -1;
  let d = text.charCodeAt(i) - 48;
  if (d >>> 0 > 9) return -1;
  let octet = d;
  i++;
  if (i < end) {
    d = text.charCodeAt(i) - 48;
    if (d >>> 0 <= 9) {
      if (octet === 0) return -1;
      octet = octet * 10 + d;
      i++;
      if (i < end) {
        d = text.charCodeAt(i) - 48;
        if (d >>> 0 <= 9) {
          octet = octet * 10 + d;
          i++;
          if (octet > 255) return -1;
        }
      }
    }
  }
  return octet | (i << 8);
}

/** Hex digit values by character code (-1: not a hex digit); a table beats branches per character. */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

// Scratch space for the eight 16-bit groups; module-level so parsing does not allocate.
const groups = new Uint16Array(8);

/** Parses the IPv6 text in text[0..len) into `out`; returns 6, 4 (IPv4-mapped, address in out[0]) or 0. */
function parseV6(text: string, len: number, out: Uint32Array): ParseResult {
  if (len < 2 || len > 45) return 0;
  let count = 0; // groups written
  let gap = -1; // index in `groups` where "::" stands
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return 0;
    gap = 0;
    i = 2;
    if (i === len) {
      groups.fill(0);
      return finishV6(out);
    }
  }
  while (i < len) {
    if (count === 8) return 0;
    // Read one group: up to four hex digits, or an embedded IPv4 address in the last 32 bits.
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < len) {
      const c = text.charCodeAt(i);
      const h = c < 128 ? HEX[c]! : -1;
      if (h < 0) break;
      value = (value << 4) | h;
      if (++digits > 4) return 0;
      i++;
    }
    if (i < len && text.charCodeAt(i) === DOT) {
      if (count > 6) return 0;
      const v4 = parseV4Range(text, groupStart, len);
      if (v4 < 0) return 0;
      groups[count++] = Math.floor(v4 / 65536);
      groups[count++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (digits === 0 || digits > 4) return 0;
    groups[count++] = value;
    if (i === len) break;
    if (text.charCodeAt(i) !== COLON) return 0;
    i++;
    if (i < len && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return 0; // only one "::"
      gap = count;
      i++;
      if (i === len) break;
    } else if (i === len) {
      return 0; // trailing single colon
    }
  }
  if (gap < 0) {
    if (count !== 8) return 0;
  } else {
    if (count > 7) return 0; // "::" must stand for at least one group
    // Move the groups after the gap to the end and zero the middle.
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  return finishV6(out);
}

/** Packs `groups` into `out`, unmapping IPv4-mapped addresses. */
function finishV6(out: Uint32Array): ParseResult {
  const w0 = ((groups[0]! << 16) | groups[1]!) >>> 0;
  const w1 = ((groups[2]! << 16) | groups[3]!) >>> 0;
  const w2 = ((groups[4]! << 16) | groups[5]!) >>> 0;
  const w3 = ((groups[6]! << 16) | groups[7]!) >>> 0;
  if (w0 === 0 && w1 === 0 && w2 === 0x0000ffff) {
    out[0] = w3;
    return 4;
  }
  out[0] = w0;
  out[1] = w1;
  out[2] = w2;
  out[3] = w3;
  return 6;
}

/**
 * Parses `text` into `out` and returns its family (IPv4-mapped IPv6 counts as 4), or 0 when `text` is not
 * an address. Never throws.
 */
export function parseAddress(text: string, out: Uint32Array): ParseResult {
  if (typeof text !== 'string') return 0;
  const len = text.length;
  if (len === 0 || len > 45) return 0;
  // IPv4 first (most traffic): a text that is not IPv4 fails within its first four characters, and
  // the two grammars are disjoint (IPv4 has no colon, IPv6 always has one).
  const v4 = parseV4Range(text, 0, len);
  if (v4 >= 0) {
    out[0] = v4;
    return 4;
  }
  return parseV6(text, len, out);
}

/** What `parseClientIp` returns for IPv6 when it read only the first 64 bits (in `out[0..1]`). */
export const HEAD64 = 64;

/**
 * The edge's parser for CloudFront's `clientIp`: like `parseAddress`, but for IPv6 it reads only the
 * first four groups when they are written out (no "::" among them), and leaves the rest of the text unread.
 * The caller reads the rest (with `parseAddress`) only when a range boundary falls inside that /64 — a
 * few dozen of the published prefixes are longer than /64 — so the common viewer costs 20 characters.
 *
 * What it relies on: `clientIp` is the TCP peer's address as CloudFront writes it, a well-formed IPv4 or
 * IPv6 address (the viewer cannot choose its text). What decides the answer is still validated: IPv4 in
 * full, IPv6's first four groups (1-4 hex digits each, single colons), and everything else (compressed
 * heads, IPv4-mapped and other addresses whose first 64 bits are zero, short or odd text) goes through the
 * strict parser. Text from anywhere else (the CLI, access logs) must use `parseAddress`: here
 * "2600:1f18:1:2:garbage" reads as the /64 2600:1f18:1:2::/64.
 */
export function parseClientIp(text: string, out: Uint32Array): ParseResult | typeof HEAD64 {
  if (typeof text !== 'string') return 0;
  const len = text.length;
  if (len > 45) return 0;
  const v4 = parseV4Range(text, 0, len);
  if (v4 >= 0) {
    out[0] = v4;
    return 4;
  }
  let i = 0;
  let head = 0; // the groups read so far, packed 16 bits each into the current word
  for (let group = 0; group < 4; group++) {
    let value = 0;
    const start = i;
    while (i < len) {
      const c = text.charCodeAt(i);
      const h = c < 128 ? HEX[c]! : -1;
      if (h < 0) break;
      value = (value << 4) | h;
      i++;
    }
    // "::" (no digits), a fifth digit, the end of the text or any other character: the strict parser decides.
    if ((i - start - 1) >>> 0 > 3 || i === len || text.charCodeAt(i) !== COLON) return parseV6(text, len, out);
    i++;
    head = (head << 16) | value;
    if (group === 1) out[0] = head >>> 0;
  }
  out[1] = head >>> 0;
  // All-zero heads hold IPv4-mapped and other special addresses: rare, and the full text decides.
  if (out[0] === 0 && out[1] === 0) return parseV6(text, len, out);
  return HEAD64;
}

/*
 * The edge reads CloudFront's `clientIp` in stages, as far as the range table needs (see
 * `RangeTable.lookupClientIp`): the first 16 bits pick a bucket of the table's index, and most buckets
 * (all of the internet outside the clouds' space) hold one answer, so the rest of the text is not read.
 */

/**
 * The head of IPv4 text, "a.b.": its top 16 bits, packed with where the rest starts as
 * `top16 | restAt << 16`; -1 when the text does not start so (IPv6, or not an address).
 */
export function readV4Head(text: string, len: number): number {
  if (len < 7) return -1;
  // Every IPv4 text is at least 7 characters and its second octet ends by the 7th, so the first 7 can be
  // read unconditionally: each octet's length comes from arithmetic, not from branches on its digits,
  // which random addresses mispredict (a third of octets have two digits, most have three).
  const a = octetAt(text, 0);
  if (a < 0) return -1;
  const next = (a >>> 8) + 1;
  const b = octetAt(text, next);
  if (b < 0) return -1;
  return (((a & 0xff) << 8) | (b & 0xff) | (((b >>> 8) + 1) << 16)) >>> 0;
}

/** 1 when `d` (a character code minus 48) is a decimal digit, else 0. */
// Int32 arithmetic only: (d - 10) is negative when d < 10, ~d when d >= 0.
const isDigit = (d: number) => ((d - 10) & ~d) >>> 31;

/**
 * The octet starting at `i` and the dot after it, read without branching on its length: characters i..i+3
 * must exist. Packed as `octet | dotAt << 8`, or -1 (no digit, a leading zero, over 255, no dot after it).
 */
function octetAt(text: string, i: number): number {
  const d0 = text.charCodeAt(i) - 48;
  const d1 = text.charCodeAt(i + 1) - 48;
  const d2 = text.charCodeAt(i + 2) - 48;
  const one = isDigit(d1);
  const two = one & isDigit(d2);
  const tens = d0 + one * (d0 * 9 + d1);
  const value = tens + two * (tens * 9 + d2);
  const dot = i + 1 + one + two;
  if (isDigit(d0) === 0 || (d0 === 0 && one === 1) || value > 255 || text.charCodeAt(dot) !== DOT) return -1;
  return value | (dot << 8);
}

/** The rest of IPv4 text from `at` ("c.d", to the end): the address's low 16 bits, or -1. */
export function readV4Tail(text: string, at: number, len: number): number {
  // "c.d" is at least 3 characters, so c's three are there to read (octetAt); d's length is what is left.
  if (len - at < 3) return -1;
  const c = octetAt(text, at);
  if (c < 0) return -1;
  const r = (c >>> 8) + 1;
  const n = len - r;
  if ((n - 1) >>> 0 > 2) return -1;
  const two = (1 - n) >>> 31; // n >= 2
  const three = (2 - n) >>> 31; // n === 3
  const d0 = text.charCodeAt(r) - 48;
  const d1 = text.charCodeAt(r + two) - 48;
  const d2 = text.charCodeAt(r + 2 * three) - 48;
  const tens = d0 + two * (d0 * 9 + d1);
  const d = tens + three * (tens * 9 + d2);
  if ((isDigit(d0) & isDigit(d1) & isDigit(d2)) === 0 || (d0 === 0 && two === 1) || d > 255) return -1;
  return ((c & 0xff) << 8) | d;
}

/**
 * IPv6 text's first group when it is written out (1-4 hex digits, then a colon) and not zero, packed with
 * where the rest starts as `group | restAt << 16`; -1 otherwise. A compressed or zero first group is left to
 * the strict parser: IPv4-mapped and the other special addresses live there.
 */
export function readV6Group1(text: string, len: number): number {
  if (len < 7) return -1;
  const g = groupAt(text, 0);
  if (g <= 0xffff) return -1; // not a group, or zero (restAt is never 0)
  return g + (1 << 16);
}

/** The hex value of character code `c`, -1 when it is not a hex digit. */
const hexOf = (c: number) => (c < 128 ? HEX[c]! : -1);

/**
 * The group starting at `i` and the colon after it, read without branching on its length (leading zeros
 * are dropped, so lengths vary): characters i..i+4 must exist. Packed as `value | colonAt << 16`, or -1.
 */
function groupAt(text: string, i: number): number {
  const h0 = hexOf(text.charCodeAt(i));
  const h1 = hexOf(text.charCodeAt(i + 1));
  const h2 = hexOf(text.charCodeAt(i + 2));
  const h3 = hexOf(text.charCodeAt(i + 3));
  // kN: 1 when the group has more than N digits (hexOf is -1, all ones, for a non-digit).
  const k1 = (~h1 >>> 31) & (~h0 >>> 31);
  const k2 = k1 & (~h2 >>> 31);
  const k3 = k2 & (~h3 >>> 31);
  let value = h0;
  value = (value << (4 * k1)) | (h1 & -k1);
  value = (value << (4 * k2)) | (h2 & -k2);
  value = (value << (4 * k3)) | (h3 & -k3);
  const colon = i + 1 + k1 + k2 + k3;
  if (h0 < 0 || text.charCodeAt(colon) !== COLON) return -1;
  return value | (colon << 16);
}

/**
 * IPv6 text's groups 2-4 from `at` (each 1-4 hex digits and a colon), with the first group already read:
 * the address's first 64 bits into `out[0..1]`. False when they are not written out so ("::" among them,
 * or not an address), for the strict parser to decide.
 */
export function readV6Head(text: string, at: number, len: number, group1: number, out: Uint32Array): boolean {
  // The fourth group's colon is followed by at least one character, so its five can be read when there
  // are four more after it: true of every address written out past its /64 but the shortest.
  const g2 = groupAt(text, at);
  if (g2 < 0) return false;
  const g3at = (g2 >>> 16) + 1;
  if (len - g3at < 10) return false;
  const g3 = groupAt(text, g3at);
  if (g3 < 0) return false;
  const g4 = groupAt(text, (g3 >>> 16) + 1);
  if (g4 < 0) return false;
  out[0] = ((group1 << 16) | (g2 & 0xffff)) >>> 0;
  out[1] = (((g3 & 0xffff) << 16) | (g4 & 0xffff)) >>> 0;
  return true;
}

export function formatV4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (two or more) of zero groups as "::". */
export function formatV6(words: ArrayLike<number>): string {
  const g: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = words[w]! >>> 0;
    g.push(word >>> 16, word & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** A CIDR's network address and length; the address words follow `parseAddress`'s layout. */
export interface Cidr {
  family: Family;
  words: Uint32Array;
  length: number;
}

/**
 * Parses `a.b.c.d/n` or `x:y::/n`. Strict: the length must be in range and no host bits may be set (a
 * published range with host bits is a typo we should refuse, not guess at). Returns an error message
 * instead of throwing, so validators can name the bad entry.
 */
export function parseCidr(text: string): Cidr | string {
  if (typeof text !== 'string') return 'not a string';
  // Scanned in place, without slicing or regular expressions: the range compiler parses ~18,000 of these
  // on every update, mostly before the JIT has warmed up.
  const slash = text.indexOf('/');
  if (slash < 0) return `"${text}" has no "/length"`;
  const digits = text.length - slash - 1;
  let length = 0;
  for (let i = slash + 1; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || digits > 3 || (d === 0 && i === slash + 1 && digits > 1)) return `"${text}" has an invalid prefix length`;
    length = length * 10 + d;
  }
  if (digits === 0) return `"${text}" has an invalid prefix length`;
  const words = new Uint32Array(4);
  let family: Family | 0 = 0;
  if (text.lastIndexOf(':', slash) >= 0) {
    // Not unmapped: a mapped address in CIDR form would shift the length by 96; feeds never use one.
    const parsed = slash <= 45 ? parseV6(text, slash, words) : 0;
    if (parsed === 4) {
      words[3] = words[0]!;
      words[0] = 0;
      words[2] = 0xffff;
    }
    family = parsed === 0 ? 0 : 6;
  } else {
    const v4 = parseV4Range(text, 0, slash);
    if (v4 >= 0) {
      words[0] = v4;
      family = 4;
    }
  }
  if (family === 0) return `"${text}" has an invalid address`;
  const bits = family === 4 ? 32 : 128;
  if (length > bits) return `"${text}" has a prefix length over ${bits}`;
  if (!hostBitsClear(words, family, length)) return `"${text}" has host bits set`;
  return { family, words, length };
}

/** Mask of the top `bits` bits of a 32-bit word (0 <= bits <= 32). */
export function topMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** True when no bit after the first `length` is set (a proper network address). */
export function hostBitsClear(words: ArrayLike<number>, family: Family, length: number): boolean {
  const wordCount = family === 4 ? 1 : 4;
  for (let w = 0; w < wordCount; w++) {
    const keep = topMask(length - 32 * w);
    if ((words[w]! & ~keep) >>> 0 !== 0) return false;
  }
  return true;
}

export function formatCidr(cidr: Cidr): string {
  const address = cidr.family === 4 ? formatV4(cidr.words[0]!) : formatV6(cidr.words);
  return `${address}/${cidr.length}`;
}
