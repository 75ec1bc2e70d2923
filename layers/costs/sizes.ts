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
 */
import { z } from 'zod';
import { isBlobDigest } from '../oci/paths';

export class SizesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizesError';
  }
}

export type Sizes = Map<string, number>;

const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const DigestSizes = z.record(z.string(), size);
const ListObjects = z.looseObject({ Contents: z.array(z.looseObject({ Key: z.string(), Size: size })) });

/** The digest a key names: its last path segment, when that is a blob digest. */
export function digestOfKey(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return isBlobDigest(name) ? name : undefined;
}

function add(sizes: Sizes, digest: string, bytes: number, where: string) {
  const known = sizes.get(digest);
  if (known !== undefined && known !== bytes) throw new SizesError(`${where}: ${digest} is listed as ${known} and as ${bytes} bytes`);
  sizes.set(digest, bytes);
}

/** Adds `from` to `into`; a digest both give with different sizes is a SizesError naming `source`. */
export function mergeSizes(into: Sizes, from: Sizes, source: string): Sizes {
  for (const [digest, bytes] of from) add(into, digest, bytes, source);
  return into;
}

const LS_LINE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s+(\d{1,16})\s+(\S.*)$/;
const LS_FOLDER = /^\s*PRE\s+\S.*\/$/;

/** Parses a sizes file's text (`source` names it in errors); adds to `into` when given. */
export function parseSizes(text: string, source: string, into: Sizes = new Map()): Sizes {
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
      for (const [i, entry] of listing.data.Contents.entries()) {
        const digest = digestOfKey(entry.Key);
        if (digest) add(into, digest, entry.Size, `${source} Contents[${i}]`);
      }
      return into;
    }
    const map = DigestSizes.safeParse(json);
    if (!map.success) throw new SizesError(`${source}: ${issue(map.error)} (expected {"<digest>": <bytes>, ...})`);
    for (const [key, bytes] of Object.entries(map.data)) {
      const digest = digestOfKey(key);
      if (!digest) throw new SizesError(`${source}: "${key.slice(0, 80)}" is not a blob digest (sha256:<64 hex> or sha512:<128 hex>)`);
      add(into, digest, bytes, source);
    }
    return into;
  }
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || LS_FOLDER.test(line)) continue;
    const match = LS_LINE.exec(line);
    if (!match) throw new SizesError(`${source}:${i + 1}: not a line of \`aws s3 ls\` output ("<date> <time> <bytes> <key>"): ${JSON.stringify(line.slice(0, 80))}`);
    const digest = digestOfKey(match[3]!.trim());
    if (digest) add(into, digest, Number(match[2]), `${source}:${i + 1}`);
  }
  return into;
}

function issue(error: z.ZodError): string {
  const first = error.issues[0]!;
  return `${first.path.join('.') || '(root)'}: ${first.message}`;
}
