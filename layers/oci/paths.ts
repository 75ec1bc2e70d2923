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
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Any digest the grammar allows (references to manifests go upstream, which knows more algorithms). */
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Blob digests we store: the key names the content, so only algorithms we can verify. */
const BLOB_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** Names longer than this are refused by registries (and clients). */
export const MAX_NAME_LENGTH = 255;

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

export function isBlobDigest(text: string): boolean {
  return BLOB_DIGEST.test(text);
}

export function isRepositoryName(text: string): boolean {
  return text.length <= MAX_NAME_LENGTH && NAME.test(text);
}

/**
 * Parses a request path (CloudFront's `uri`, without the query string), percent-encoded or not.
 * Returns the request in its canonical (decoded) form, or the OCI error to answer with.
 */
export function parseRegistryPath(rawUri: string): RegistryPath | OciError {
  if (typeof rawUri !== 'string' || rawUri.length === 0 || rawUri.length > 2048) return ociError(400, 'UNSUPPORTED', 'invalid request path');
  const uri = decodeOnce(rawUri);
  if (uri === null) return ociError(400, 'NAME_INVALID', 'malformed percent-encoding, or an encoded "/", in the path');
  if (!PATH_CHARS.test(uri)) return ociError(400, 'NAME_INVALID', 'the path has characters no registry path uses (double encoding included)');
  if (uri === '/') return { kind: 'root' };
  if (uri === '/v2' || uri === '/v2/') return { kind: 'base' };
  if (!uri.startsWith('/v2/')) return ociError(404, 'UNSUPPORTED', 'not a registry API path');
  const rest = uri.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  if (rest.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return ociError(400, 'NAME_INVALID', 'empty, "." or ".." path segments are not allowed');
  }

  // The name may itself contain "blobs" or "manifests" components, so match the fixed tail.
  const tail = /^(.+)\/(blobs|manifests|referrers)\/([^/]+)$/.exec(rest) ?? /^(.+)\/(tags)\/(list)$/.exec(rest);
  if (!tail) return ociError(404, 'UNSUPPORTED', 'not a registry API path this service answers');
  const [, name, kind, last] = tail as unknown as [string, string, string, string];
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
