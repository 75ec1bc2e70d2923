/**
 * The edge's reader of CloudFront's `clientIp`, in stages, as far as the range table needs (see
 * `RangeTable.lookupClientIp`): the first 16 bits pick a bucket of the table's index, and most buckets
 * (all of the internet outside the clouds' space) hold one answer, so the rest of the text is not read;
 * else IPv4 is read to its end, and IPv6 by its first 64 bits.
 *
 * What it relies on: `clientIp` is the TCP peer's address as CloudFront writes it, a well-formed IPv4 or
 * IPv6 address (the viewer cannot choose its text). What decides the answer is still validated: every
 * octet or group read (digits, lengths, no leading zeros in IPv4, at most 255), and everything else
 * (compressed heads, IPv4-mapped and other addresses whose first group is zero, short or odd text) goes to
 * the strict parser (`parseAddress`). Text from anywhere else (the CLI, access logs) must use that: here
 * "2600:1f18:1:2:garbage" reads as the /64 2600:1f18:1:2::/64.
 *
 * Characters are read without branching on octet and group lengths (which random addresses mispredict:
 * a third of octets have two digits, most three; groups lose leading zeros): a reader takes the next few
 * characters unconditionally, where the caller has checked that they exist, and works out where the
 * octet or group ends with arithmetic. Measured against the branching reader it replaced (bench/classify.ts),
 * about a quarter off the IPv4 read.
 */
import { COLON, DOT, hexOf } from './ip';

/**
 * The head of IPv4 text, "a.b.": its top 16 bits, packed with where the rest starts as
 * `top16 | restAt << 16`; -1 when the text does not start so (IPv6, or not an address).
 */
export function readV4Head(text: string, len: number): number {
  if (len < 7) return -1;
  // An IPv4 text is at least 7 characters, and the characters octetAt reads for "a.b." are among the
  // first 7 but for a dot that a too-long second octet would put at the 8th (a failed read, as it should).
  const a = octetAt(text, 0);
  if (a < 0) return -1;
  const next = (a >>> 8) + 1;
  const b = octetAt(text, next);
  if (b < 0) return -1;
  return (((a & 0xff) << 8) | (b & 0xff) | (((b >>> 8) + 1) << 16)) >>> 0;
}

/** 1 when `d` (a character code minus 48) is a decimal digit, else 0. In int32 arithmetic only: d - 10 is negative when d < 10, ~d when d >= 0. */
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
  const value = octetOf(d0, d1, d2, one, two);
  const dot = i + 1 + one + two;
  if (value < 0 || text.charCodeAt(dot) !== DOT) return -1;
  return value | (dot << 8);
}

/**
 * The octet of digits d0, then d1 when `one`, then d2 when `two` (each 0 or 1), without a branch on which;
 * -1 when d0 is not a digit, for a leading zero, or over 255. The caller vouches for d1 and d2.
 */
function octetOf(d0: number, d1: number, d2: number, one: number, two: number): number {
  const tens = d0 + one * (d0 * 9 + d1);
  const value = tens + two * (tens * 9 + d2);
  return isDigit(d0) === 0 || (d0 === 0 && one === 1) || value > 255 ? -1 : value;
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
  // Every character read lies inside d (those past its length repeat one before), so all must be digits.
  const d = octetOf(d0, d1, d2, two, three);
  if ((isDigit(d1) & isDigit(d2)) === 0 || d < 0) return -1;
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
  if (g < 0 || (g & 0xffff) === 0) return -1; // not a group, or a zero one
  return g + (1 << 16);
}

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
  if (len - at < 5) return false;
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

