/**
 * Blob sizes. A redirect's log line carries only the 307's own bytes, so what the client then downloaded
 * from a bucket or the registry is the blob's size, looked up by digest. Sizes come from a listing of the
 * primary bucket (./bucket-sizes.ts) or from a file:
 *
 *   - JSON `{"sha256:…": 1234, …}`
 *   - JSON from `aws s3api list-objects-v2` (`{"Contents": [{"Key": "containers/images/sha256:…", "Size": 1234}]}`)
 *   - text from `aws s3 ls [--recursive] s3://<bucket>/containers/images/`
 *     (`2026-11-27 15:59:01    1234 containers/images/sha256:…`; `PRE …/` lines are folders)
 *
 * Keys that are not blob digests are ignored; anything else unexpected is a SizesError naming the line or
 * field, never a silent guess.
 *
 * Memory: a catalogue of millions of blobs must not cost a string and a Map entry each (about 150 bytes).
 * A digest is already a uniform hash, so its first 64 bits stand for it: kept in typed arrays sorted by
 * those bits, a size costs 16 bytes (4M blobs: 64 MiB) and a lookup is one binary search inside a bucket
 * of the top 16 bits. Two different digests sharing 64 bits is a one-in-10^6 event for 4M blobs; should
 * it happen with different sizes, the build refuses it like any other conflicting listing.
 */
import { z } from 'zod';
import { isBlobDigest } from '../oci/paths';

export class SizesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizesError';
  }
}

/** What the report asks of the sizes: a lookup by digest, and facts about the whole catalogue. */
export interface SizeLookup {
  get(digest: string): number | undefined;
  /** Distinct blobs known. */
  readonly size: number;
  /** The largest blob's size (0 when none is known). */
  readonly maxBytes: number;
  /** Every known blob's bytes, once each: what a full copy of the catalogue stores. */
  readonly totalBytes: number;
  /** Bytes of blobs created on each day ("YYYY-MM-DD"), when the listing says when (growth estimates). */
  readonly createdByDay: ReadonlyMap<string, number>;
}

const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const DigestSizes = z.record(z.string(), size);
const ListObjects = z.looseObject({ Contents: z.array(z.looseObject({ Key: z.string(), Size: size, LastModified: z.string().optional() })) });

/** The digest a key names: its last path segment, when that is a blob digest. */
export function digestOfKey(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return isBlobDigest(name) ? name : undefined;
}

/** Hex digit values by character code (digests are lower-case hex, checked before they get here). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * 32 bits of a digest's hex from `at`, as an unsigned number. By character codes, not parseInt of a
 * slice: this runs for every sizes line and every blob download.
 */
function hex32(digest: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 8; i++) value = (value << 4) | HEX[digest.charCodeAt(i) & 0x7f]!;
  return value >>> 0;
}

/** Where a digest's hex starts ("sha256:" and "sha512:" are both 7 characters). */
const HEX_AT = 7;

const hexOfKey = (hi: number, lo: number) => `${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;

/** A typed array that doubles when full. */
class Growable<T extends Uint32Array | Float64Array> {
  length = 0;
  constructor(private data: T, private readonly make: (n: number) => T) {}
  push(value: number) {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  at(i: number): number {
    return this.data[i]!;
  }
}

const TOP_BITS = 16;

/** The sorted, compact catalogue. Build it with a SizesBuilder. */
export class BlobSizes implements SizeLookup {
  constructor(
    private readonly hi: Uint32Array,
    private readonly lo: Uint32Array,
    private readonly bytes: Float64Array,
    /** Start of each top-16-bit bucket in the arrays (length 2^16 + 1). */
    private readonly starts: Uint32Array,
    readonly maxBytes: number,
    readonly totalBytes: number,
    readonly createdByDay: ReadonlyMap<string, number>,
  ) {}

  get size(): number {
    return this.hi.length;
  }

  get(digest: string): number | undefined {
    const hi = hex32(digest, HEX_AT);
    const lo = hex32(digest, HEX_AT + 8);
    const top = hi >>> (32 - TOP_BITS);
    let low = this.starts[top]!;
    let high = this.starts[top + 1]! - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const h = this.hi[mid]!;
      const l = this.lo[mid]!;
      if (h === hi && l === lo) return this.bytes[mid];
      if (h < hi || (h === hi && l < lo)) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }
}

/** Collects sizes from any number of sources, then sorts them once into a BlobSizes. */
export class SizesBuilder {
  private readonly hi = new Growable(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly lo = new Growable(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly bytes = new Growable(new Float64Array(1024), (n) => new Float64Array(n));
  private readonly created = new Map<string, number>();
  private lastDay: string | undefined;
  private lastDayBytes = 0;

  private flushDay() {
    if (this.lastDay !== undefined) this.created.set(this.lastDay, (this.created.get(this.lastDay) ?? 0) + this.lastDayBytes);
    this.lastDay = undefined;
    this.lastDayBytes = 0;
  }

  /** Entries added so far (a digest listed twice counts twice until `build`). */
  get added(): number {
    return this.hi.length;
  }

  /** `created`: when the blob was written ("YYYY-MM-DD…"), if the source says. */
  add(digest: string, bytes: number, created?: string): void {
    this.hi.push(hex32(digest, HEX_AT));
    this.lo.push(hex32(digest, HEX_AT + 8));
    this.bytes.push(bytes);
    if (created !== undefined) {
      // Listings come sorted by key, not date, but most blobs share few days: remember the last one.
      if (this.lastDay !== undefined && created.startsWith(this.lastDay)) this.lastDayBytes += bytes;
      else if (/^\d{4}-\d{2}-\d{2}/.test(created)) {
        this.flushDay();
        this.lastDay = created.slice(0, 10);
        this.lastDayBytes = bytes;
      }
    }
  }

  /** Sorts (a counting sort on the top 16 bits, then each small bucket); a digest with two sizes is a SizesError. */
  build(): BlobSizes {
    this.flushDay();
    const n = this.hi.length;
    const buckets = 1 << TOP_BITS;
    const counts = new Uint32Array(buckets + 1);
    for (let i = 0; i < n; i++) counts[(this.hi.at(i) >>> (32 - TOP_BITS)) + 1]!++;
    for (let b = 0; b < buckets; b++) counts[b + 1]! += counts[b]!;
    const order = new Uint32Array(n);
    const next = counts.slice(0, buckets);
    for (let i = 0; i < n; i++) order[next[this.hi.at(i) >>> (32 - TOP_BITS)]!++] = i;
    const less = (a: number, b: number) => this.hi.at(a) - this.hi.at(b) || this.lo.at(a) - this.lo.at(b);
    for (let b = 0; b < buckets; b++) {
      const start = counts[b]!;
      const end = counts[b + 1]!;
      if (end - start > 1) order.subarray(start, end).sort(less);
    }
    // Copy in order, dropping repeats (the same blob from two sources) and refusing conflicts.
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const bytes = new Float64Array(n);
    const starts = new Uint32Array(buckets + 1);
    let kept = 0;
    let maxBytes = 0;
    let totalBytes = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const h = this.hi.at(i);
      const l = this.lo.at(i);
      const b = this.bytes.at(i);
      if (kept > 0 && hi[kept - 1] === h && lo[kept - 1] === l) {
        if (bytes[kept - 1] !== b) throw new SizesError(`the blob sha…:${hexOfKey(h, l)}… is listed as ${bytes[kept - 1]} and as ${b} bytes`);
        continue;
      }
      hi[kept] = h;
      lo[kept] = l;
      bytes[kept] = b;
      starts[(h >>> (32 - TOP_BITS)) + 1]!++;
      maxBytes = Math.max(maxBytes, b);
      totalBytes += b;
      kept++;
    }
    for (let t = 0; t < buckets; t++) starts[t + 1]! += starts[t]!;
    // subarray, not slice: no second copy of a table that may be tens of MB.
    return new BlobSizes(hi.subarray(0, kept), lo.subarray(0, kept), bytes.subarray(0, kept), starts, maxBytes, totalBytes, new Map(this.created));
  }
}

const LS_LINE = /^(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}\s+(\d{1,16})\s+(\S.*)$/;
const LS_FOLDER = /^\s*PRE\s+\S.*\/$/;

/** One line of `aws s3 ls` output into `into`; `where` ("file:12") names it in errors (a function: built only then). */
export function addSizesLine(raw: string, where: string | (() => string), into: SizesBuilder): void {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (addUsualLsLine(line, into)) return;
  if (line.trim() === '' || LS_FOLDER.test(line)) return;
  const match = LS_LINE.exec(line);
  if (!match) throw new SizesError(`${typeof where === 'string' ? where : where()}: not a line of \`aws s3 ls\` output ("<date> <time> <bytes> <key>"): ${JSON.stringify(line.slice(0, 80))}`);
  const digest = digestOfKey(match[3]!.trim());
  if (digest) into.add(digest, Number(match[2]), match[1]);
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** Where the date and time of an `aws s3 ls` line have digits ("2026-11-27 15:59:01"). */
const LS_DIGITS_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * The usual line, "2026-11-27 15:59:01 <spaces><bytes> <spaces><key>" with a blob key of printable ASCII,
 * read by character codes: true when it was one (and is added), false for anything else, which LS_LINE
 * then reads or refuses. A listing of millions of blobs is millions of these lines.
 */
function addUsualLsLine(line: string, into: SizesBuilder): boolean {
  if (line.length < 29 || line.charCodeAt(4) !== 0x2d || line.charCodeAt(7) !== 0x2d || line.charCodeAt(10) !== 0x20 || line.charCodeAt(13) !== 0x3a || line.charCodeAt(16) !== 0x3a || line.charCodeAt(19) !== 0x20) return false;
  for (const i of LS_DIGITS_AT) if (!isDigit(line.charCodeAt(i))) return false;
  let i = 20;
  while (line.charCodeAt(i) === 0x20) i++;
  const digits = i;
  let bytes = 0;
  while (isDigit(line.charCodeAt(i))) bytes = bytes * 10 + (line.charCodeAt(i++) - 0x30);
  const count = i - digits;
  if (count === 0 || count > 16 || line.charCodeAt(i) !== 0x20) return false;
  // Past 15 digits a sum of digits may round differently from Number().
  if (count > 15) bytes = Number(line.slice(digits, i));
  while (line.charCodeAt(i) === 0x20) i++;
  // The key ends in the digest: its last 71 characters (sha256) or 135 (sha512), after a "/" if any.
  const name = line.length - (line.startsWith('sha256:', line.length - 71) ? 71 : 135);
  if (name < i || (name > i && line.charCodeAt(name - 1) !== 0x2f)) return false;
  for (let k = i; k < name; k++) {
    const c = line.charCodeAt(k);
    if (c < 0x21 || c > 0x7e) return false;
  }
  const digest = line.slice(name);
  if (!isBlobDigest(digest)) return false;
  // The line starts with the day the blob was written, which is all `add` reads of it.
  into.add(digest, bytes, line);
  return true;
}

/** Parses a sizes file's text (`source` names it in errors) into `into`. */
export function parseSizes(text: string, source: string, into: SizesBuilder = new SizesBuilder()): SizesBuilder {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SizesError(`${source}: not valid JSON (${(error as Error).message})`);
    }
    if (json !== null && typeof json === 'object' && 'Contents' in json) {
      const listing = ListObjects.safeParse(json);
      if (!listing.success) throw new SizesError(`${source}: ${issue(listing.error)}`);
      for (const entry of listing.data.Contents) {
        const digest = digestOfKey(entry.Key);
        if (digest) into.add(digest, entry.Size, entry.LastModified);
      }
      return into;
    }
    const map = DigestSizes.safeParse(json);
    if (!map.success) throw new SizesError(`${source}: ${issue(map.error)} (expected {"<digest>": <bytes>, ...})`);
    for (const [key, bytes] of Object.entries(map.data)) {
      const digest = digestOfKey(key);
      if (!digest) throw new SizesError(`${source}: "${key.slice(0, 80)}" is not a blob digest (sha256:<64 hex> or sha512:<128 hex>)`);
      into.add(digest, bytes);
    }
    return into;
  }
  text.split('\n').forEach((line, i) => addSizesLine(line, `${source}:${i + 1}`, into));
  return into;
}

/** Sizes from parsed text in one step (tests, small files). */
export function sizesOf(text: string, source = 'sizes'): BlobSizes {
  return parseSizes(text, source).build();
}

/** No sizes at all. */
export const NO_SIZES: SizeLookup = new SizesBuilder().build();

function issue(error: z.ZodError): string {
  const first = error.issues[0]!;
  return `${first.path.join('.') || '(root)'}: ${first.message}`;
}
