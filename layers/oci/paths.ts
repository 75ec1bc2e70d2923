/**
 * The registry API's path grammar (OCI distribution spec, "Pulling"): what a request asks for, or why it
 * is not a request we serve. Everything that does not match exactly is refused here, before any routing,
 * so that no odd path can reach a redirect.
 */
import { type OciError, ociError } from './errors';

export type RegistryPath =
  /** `/` (a browser, most likely) */
  | { kind: 'root' }
  /** `/v2` or `/v2/`: the API version check */
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

/** One path component of a repository name, per the spec. */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
/** The grammar `isRepositoryName` reads (kept as the specification's text). */
export const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Any digest the grammar allows (references to manifests go upstream, which knows more algorithms). */
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Blob digests we store: the key names the content, so only algorithms we can verify. */
const BLOB_DIGEST_HEX = { 'sha256:': 64, 'sha512:': 128 } as const;
/** Names longer than this are refused by registries (and clients). */
export const MAX_NAME_LENGTH = 255;
/** The longest request path taken (CloudFront's `uri`); a registry path is far shorter. */
const MAX_PATH_LENGTH = 2048;

/** Characters a path may hold at all: unreserved and the few sub-delims the grammar can use. */
const PATH_CHARS = /^[A-Za-z0-9/._:=+-]*$/;
/** Digest algorithms the OCI image spec registers, with their exact encoded form. */
const REGISTERED_DIGEST: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

/**
 * Decodes percent-encoded octets once (hex in either case): real clients encode the `:` of a digest.
 * Returns null for a malformed escape or an encoded "/", which would make one path mean two things (a
 * separator here, part of a name to whoever decodes it again). Whatever else comes out must still pass the
 * grammar, so a "%" left after decoding (double encoding), NUL, CR/LF or non-ASCII are refused after this.
 */
function decodeOnce(uri: string): string | null {
  if (!uri.includes('%')) return uri;
  let malformed = false;
  const decoded = uri.replace(/%([0-9A-Fa-f]{2})?/g, (_escape, hex: string | undefined) => {
    const code = hex === undefined ? -1 : parseInt(hex, 16);
    if (code < 0 || code === 0x2f) malformed = true;
    return code < 0 ? '' : String.fromCharCode(code);
  });
  return malformed ? null : decoded;
}

/** A digest reference: grammar-valid, and exact for the algorithms we know (others go upstream as they are). */
function checkDigest(text: string): OciError | null {
  if (!ANY_DIGEST.test(text)) return ociError(400, 'DIGEST_INVALID', 'invalid digest');
  const colon = text.indexOf(':');
  const exact = REGISTERED_DIGEST[text.slice(0, colon)];
  if (exact && !exact.test(text.slice(colon + 1))) return ociError(400, 'DIGEST_INVALID', `invalid ${text.slice(0, colon)} digest (${text.slice(0, colon) === 'sha256' ? 64 : 128} lower-case hex digits)`);
  return null;
}

/** 1 for the characters of lower-case hex, by character code. */
const LOWER_HEX = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

/**
 * `sha256:` + 64 or `sha512:` + 128 lower-case hex digits, read by `isLowerHexIn` rather than a regular
 * expression: every blob request passes here (measured on Node 22, on the digest as the path parser
 * slices it: 180 ns with a regular expression, 351 with a range test per character, which random hex
 * makes mispredict about a third of the time).
 */
export function isBlobDigest(text: string): boolean {
  if (typeof text !== 'string') return false;
  // Compared, not looked up: a property lookup by a sliced string has to find it among the internalized
  // strings first (several times the cost of the comparison).
  const algorithm = text.slice(0, 7);
  const hex = algorithm === 'sha256:' ? BLOB_DIGEST_HEX['sha256:'] : algorithm === 'sha512:' ? BLOB_DIGEST_HEX['sha512:'] : undefined;
  if (hex === undefined || text.length !== 7 + hex) return false;
  return isLowerHexIn(text, 7, text.length);
}

/**
 * Whether `text` holds only lower-case hex digits from `start` to `end` (read in place: no slice to read).
 *
 * Four characters at a time when the range is a whole number of fours (a digest's 64 or 128 always is):
 * the text is written out as UTF-8 into a scratch buffer (native code, a few nanoseconds for a path) and
 * read back as 32-bit words, each tested for four hex digits at once with byte-wise arithmetic. 39 ns
 * against 100 for the loop below on Node 22, for 64 digits in a blob path, and every blob request checks
 * one. The UTF-8 form lines up with the text only when every character is ASCII, which is exactly when
 * it is as long as the text; anything else (no hex digit at all) is refused.
 */
export function isLowerHexIn(text: string, start: number, end: number): boolean {
  if ((end - start) % 4 !== 0 || text.length > MAX_PATH_LENGTH) return isLowerHexEach(text, start, end);
  const { bytes, words } = (scratch ??= newScratch());
  if (bytes.write(text, 0, 'utf8') !== text.length) return false;
  let bad = 0;
  for (let i = start; i < end; i += 4) {
    const word = words.getUint32(i, true);
    // Per byte b < 0x80, adding 0x80 - n sets its top bit exactly when b >= n (no carry crosses into the
    // next byte): digits are >= "0" and not >= ":", letters >= "a" and not >= "g". Bytes >= 0x80 fail apart.
    const low = word & 0x7f7f7f7f;
    const hex = ((low + 0x50505050) & ~(low + 0x46464646)) | ((low + 0x1f1f1f1f) & ~(low + 0x19191919));
    bad |= ((hex & 0x80808080) ^ 0x80808080) | (word & 0x80808080);
  }
  return bad === 0;
}

/**
 * Where `isLowerHexIn` writes a text out, made on first use (a function that never checks a digest pays
 * nothing for it): room for any path (longer texts are read a character at a time) at up to three UTF-8
 * bytes a character, and its 32-bit view.
 */
let scratch: { bytes: Buffer; words: DataView } | undefined;
function newScratch(): { bytes: Buffer; words: DataView } {
  const bytes = Buffer.allocUnsafe(MAX_PATH_LENGTH * 3);
  return { bytes, words: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
}

/** `isLowerHexIn` a character at a time. */
function isLowerHexEach(text: string, start: number, end: number): boolean {
  let ok = 1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    // The table's entry for c, and 0 for c >= 128 (((c >>> 7) - 1) >>> 31 is 1 only when c >>> 7 is 0).
    ok &= LOWER_HEX[c & 0x7f]! & (((c >>> 7) - 1) >>> 31);
  }
  return ok === 1;
}

/** Whether a path has an empty, "." or ".." segment; without splitting it (no array per request). */
function hasBadSegment(path: string): boolean {
  let start = 0;
  for (;;) {
    const end = path.indexOf('/', start);
    const length = (end < 0 ? path.length : end) - start;
    if (length === 0 || (length <= 2 && path.charCodeAt(start) === 46 && (length === 1 || path.charCodeAt(start + 1) === 46))) return true;
    if (end < 0) return false;
    start = end + 1;
  }
}

/**
 * The spec's name grammar (`NAME` above), read by hand: every request passes here, and the expression's
 * nested repetitions cost several times this loop. Per character, what may follow what: a separator
 * ("." , "_", "__", a run of "-") or a "/" only after a letter or digit, and a letter or digit at the end.
 */
export function isRepositoryName(text: string): boolean {
  return typeof text === 'string' && isRepositoryNameIn(text, 0, text.length);
}

/** `isRepositoryName` of `text.slice(start, end)`, read in place. */
export function isRepositoryNameIn(text: string, start: number, end: number): boolean {
  if (end - start > MAX_NAME_LENGTH) return false;
  // 0: a component starts, 1: after a letter or digit, 2: after ".", 3: after "_", 4: after "__", 5: after "-".
  let state = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) state = 1;
    else if (c === 46 /* . */ && state === 1) state = 2;
    else if (c === 95 /* _ */ && (state === 1 || state === 3)) state = state === 1 ? 3 : 4;
    else if (c === 45 /* - */ && (state === 1 || state === 5)) state = 5;
    else if (c === 47 /* / */ && state === 1) state = 0;
    else return false;
  }
  return state === 1;
}

/**
 * Nearly every request is a well-formed blob GET, `/v2/<name>/blobs/<digest>`, unencoded: read it in one
 * pass over the text, in place, and slice only the two parts returned. Only a path the full parser below
 * would also accept, with the same answer, is taken here: the name's grammar admits only `[a-z0-9._/-]`
 * and no empty, "." or ".." segment, the digest only `[a-z0-9:]`, so the character and segment checks
 * hold, and the last two segments are "blobs" and the digest. Anything else (an error included) goes to
 * the full parser, so every refusal keeps its message.
 */
function plainBlobPath(uri: string): RegistryPath | null {
  const length = uri.length;
  // "sha256:" and 64 hex digits, or "sha512:" and 128, after "/blobs/".
  // Compared as slices: `startsWith` with a position takes a slow path on Node 22, a loop over charCodeAt
  // costs more than the short slice.
  let digestAt = length - 71;
  if (!(digestAt > 10 && uri.slice(digestAt - 7, digestAt + 7) === '/blobs/sha256:')) {
    digestAt = length - 135;
    if (!(digestAt > 10 && uri.slice(digestAt - 7, digestAt + 7) === '/blobs/sha512:')) return null;
  }
  const nameEnd = digestAt - 7;
  if (uri.slice(0, 4) !== '/v2/') return null;
  if (!isLowerHexIn(uri, digestAt + 7, length) || !isRepositoryNameIn(uri, 4, nameEnd)) return null;
  return { kind: 'blob', name: uri.slice(4, nameEnd), digest: uri.slice(digestAt) };
}

/**
 * Parses a request path (CloudFront's `uri`, without the query string), percent-encoded or not.
 * Returns the request in its canonical (decoded) form, or the OCI error to answer with.
 */
export function parseRegistryPath(rawUri: string): RegistryPath | OciError {
  if (typeof rawUri !== 'string' || rawUri.length === 0 || rawUri.length > MAX_PATH_LENGTH) return ociError(400, 'UNSUPPORTED', 'invalid request path');
  if (!rawUri.includes('%')) {
    const blob = plainBlobPath(rawUri);
    if (blob !== null) return blob;
  }
  const uri = decodeOnce(rawUri);
  if (uri === null) return ociError(400, 'NAME_INVALID', 'malformed percent-encoding, or an encoded "/", in the path');
  if (!PATH_CHARS.test(uri)) return ociError(400, 'NAME_INVALID', 'the path has characters no registry path uses (double encoding included)');
  if (uri === '/') return { kind: 'root' };
  if (uri === '/v2' || uri === '/v2/') return { kind: 'base' };
  // Not startsWith: on Node 22 it takes a slow path V8 does not inline (about 60 ns here, every request).
  if (uri.slice(0, 4) !== '/v2/') return ociError(404, 'UNSUPPORTED', 'not a registry API path');
  const rest = uri.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  if (hasBadSegment(rest)) {
    return ociError(400, 'NAME_INVALID', 'empty, "." or ".." path segments are not allowed');
  }

  // The name may itself contain "blobs" or "manifests" components, so read the fixed tail: the last two
  // segments (no segment is empty here). Found with lastIndexOf rather than a backtracking expression.
  const lastSlash = rest.lastIndexOf('/');
  const kindSlash = lastSlash > 0 ? rest.lastIndexOf('/', lastSlash - 1) : -1;
  const kind = kindSlash > 0 ? rest.slice(kindSlash + 1, lastSlash) : '';
  const last = rest.slice(lastSlash + 1);
  const known = kind === 'blobs' || kind === 'manifests' || kind === 'referrers' || (kind === 'tags' && last === 'list');
  if (!known) return ociError(404, 'UNSUPPORTED', 'not a registry API path this service answers');
  const name = rest.slice(0, kindSlash);
  if (!isRepositoryName(name)) return ociError(400, 'NAME_INVALID', 'invalid repository name');
  switch (kind) {
    case 'blobs':
      if (!isBlobDigest(last)) return ociError(400, 'DIGEST_INVALID', 'invalid or unsupported blob digest (sha256 or sha512, lower-case hex)');
      return { kind: 'blob', name, digest: last };
    case 'manifests': {
      if (TAG.test(last)) return { kind: 'manifest', name, reference: last };
      // A tag cannot hold ":", so anything with one is meant as a digest (upstream would answer 500).
      if (!last.includes(':')) return ociError(400, 'UNSUPPORTED', 'invalid manifest reference');
      const invalid = checkDigest(last);
      return invalid ?? { kind: 'manifest', name, reference: last };
    }
    case 'referrers':
      return checkDigest(last) ?? { kind: 'referrers', name, digest: last };
    default:
      return { kind: 'tags', name };
  }
}
