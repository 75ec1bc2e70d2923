import fc from 'fast-check';
import { isBlobDigest, isRepositoryName, NAME, parseRegistryPath } from '../../../layers/oci/paths';

const sha256 = `sha256:${'a'.repeat(64)}`;
const sha512 = `sha512:${'0123456789abcdef'.repeat(8)}`;

describe('parseRegistryPath', () => {
  test.each([
    ['/', { kind: 'root' }],
    ['/v2', { kind: 'base' }],
    ['/v2/', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    [`/v2/pause/blobs/${sha256}`, { kind: 'blob', name: 'pause', digest: sha256 }],
    [`/v2/k8s/kube-proxy/blobs/${sha512}`, { kind: 'blob', name: 'k8s/kube-proxy', digest: sha512 }],
    // A repository may have components called "blobs" or "manifests": the fixed tail decides.
    [`/v2/a/blobs/b/blobs/${sha256}`, { kind: 'blob', name: 'a/blobs/b', digest: sha256 }],
    ['/v2/a/manifests/b/manifests/latest', { kind: 'manifest', name: 'a/manifests/b', reference: 'latest' }],
    ['/v2/pause/manifests/3.9', { kind: 'manifest', name: 'pause', reference: '3.9' }],
    [`/v2/pause/manifests/${sha256}`, { kind: 'manifest', name: 'pause', reference: sha256 }],
    ['/v2/my-org/my_image.x__y/manifests/v1.2.3-rc_1', { kind: 'manifest', name: 'my-org/my_image.x__y', reference: 'v1.2.3-rc_1' }],
    ['/v2/pause/tags/list', { kind: 'tags', name: 'pause' }],
    [`/v2/pause/referrers/${sha256}`, { kind: 'referrers', name: 'pause', digest: sha256 }],
    // Percent-encoded octets are decoded once (hex either case); the result is the canonical form.
    [`/v2/pause/blobs/sha256%3A${'a'.repeat(64)}`, { kind: 'blob', name: 'pause', digest: sha256 }],
    [`/v2/pause/blobs/sha256%3a${'a'.repeat(64)}`, { kind: 'blob', name: 'pause', digest: sha256 }],
    [`/v2/pause/blobs/sha512%3a${'0123456789abcdef'.repeat(8)}`, { kind: 'blob', name: 'pause', digest: sha512 }],
    [`/v2/pause/manifests/sha256%3A${'a'.repeat(64)}`, { kind: 'manifest', name: 'pause', reference: sha256 }],
    [`/v2/pause/referrers/sha256%3A${'a'.repeat(64)}`, { kind: 'referrers', name: 'pause', digest: sha256 }],
    ['/v2/my%2Dorg/pau%73e/tags/list', { kind: 'tags', name: 'my-org/pause' }],
    ['/v2/pause/manifests/v1%2E0', { kind: 'manifest', name: 'pause', reference: 'v1.0' }],
    ['/%76%32/', { kind: 'base' }],
    // Registered algorithms are exact; others with a valid grammar are upstream's business.
    [`/v2/pause/manifests/sha384:${'a'.repeat(96)}`, { kind: 'manifest', name: 'pause', reference: `sha384:${'a'.repeat(96)}` }],
    [`/v2/pause/manifests/sha256+b64u:abcDEF_-`, { kind: 'manifest', name: 'pause', reference: 'sha256+b64u:abcDEF_-' }],
  ])('%s', (uri, expected) => {
    expect(parseRegistryPath(uri)).toEqual(expected);
  });

  test.each([
    ['/v2/pause/blobs/sha256:abc', 400, 'DIGEST_INVALID'],
    [`/v2/pause/blobs/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'], // upper-case hex is not canonical
    [`/v2/pause/blobs/sha384:${'a'.repeat(96)}`, 400, 'DIGEST_INVALID'], // a valid grammar, but not stored
    [`/v2/pause/blobs/${sha256}/`, 400, 'NAME_INVALID'],
    [`/v2/Pause/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/-pause/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/pa..use/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/../blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a/../b/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a/./b/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2//pause/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a%2Fb/blobs/${sha256}`, 400, 'NAME_INVALID'], // an encoded slash
    [`/v2/a%2fb/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/pause/blobs/${sha256}%0d%0aLocation:evil`, 400, 'NAME_INVALID'],
    [`/v2/pause/blobs/${sha256}\r\nX: y`, 400, 'NAME_INVALID'], // raw CR/LF
    ['/v2/pause/manifests/lat est', 400, 'NAME_INVALID'],
    ['/v2/pause/manifests/.hidden', 400, 'UNSUPPORTED'],
    [`/v2/pause/manifests/${'t'.repeat(129)}`, 400, 'UNSUPPORTED'],
    [`/v2/${'a/'.repeat(128)}b/manifests/latest`, 400, 'NAME_INVALID'], // names are at most 255 characters
    ['/v2/pause/blobs/uploads/', 400, 'NAME_INVALID'],
    ['/v2/pause/blobs/uploads/abc', 404, 'UNSUPPORTED'],
    ['/v2/pause', 404, 'UNSUPPORTED'],
    ['/v2/pause/tags/other', 404, 'UNSUPPORTED'],
    ['/v1/_ping', 404, 'UNSUPPORTED'],
    ['/favicon.ico', 404, 'UNSUPPORTED'],
    ['', 400, 'UNSUPPORTED'],
    ['//evil.example.com/x', 404, 'UNSUPPORTED'],
    ['/v2/pause/manifests/ünïcode', 400, 'NAME_INVALID'],
    // Encoded forms: what decoding produces must pass the same grammar.
    [`/v2/pause/blobs/sha256%253A${'a'.repeat(64)}`, 400, 'NAME_INVALID'], // double encoding leaves a "%"
    [`/v2/pause/blobs/sha256%3A${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'], // upper-case hex, decoded
    [`/v2/pa%00use/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/pause/blobs/${sha256}%0D%0A`, 400, 'NAME_INVALID'],
    [`/v2/pause%0a/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a/%2e%2e/b/blobs/${sha256}`, 400, 'NAME_INVALID'], // ".." after decoding
    [`/v2/a/%2E/b/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/%2E%2E/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a%2F..%2Fb/blobs/${sha256}`, 400, 'NAME_INVALID'],
    [`/v2/a%5Cb/blobs/${sha256}`, 400, 'NAME_INVALID'], // a backslash
    [`/v2/pause/blobs/sha256%3${'a'.repeat(64)}`, 400, 'DIGEST_INVALID'], // "%3a" is the escape: 63 hex digits are left
    [`/v2/pause/blobs/sha256%G1${'a'.repeat(64)}`, 400, 'NAME_INVALID'], // not hex
    [`/v2/pause/blobs/${sha256}%`, 400, 'NAME_INVALID'], // a lone "%"
    [`/v2/pause/blobs/${sha256}%4`, 400, 'NAME_INVALID'], // a truncated escape
    ['/v2/pause/manifests/%C3%BCber', 400, 'NAME_INVALID'], // non-ASCII, encoded
    ['/v2/pause/manifests/lat%20est', 400, 'NAME_INVALID'],
    // A reference with ":" is a digest: registered algorithms must be exact.
    ['/v2/pause/manifests/sha256:baddigeststring', 400, 'DIGEST_INVALID'],
    [`/v2/pause/manifests/sha256:${'a'.repeat(63)}`, 400, 'DIGEST_INVALID'],
    [`/v2/pause/manifests/sha256:${'a'.repeat(65)}`, 400, 'DIGEST_INVALID'],
    [`/v2/pause/manifests/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'],
    [`/v2/pause/manifests/sha512:${'a'.repeat(64)}`, 400, 'DIGEST_INVALID'],
    [`/v2/pause/manifests/sha256%3Abaddigeststring`, 400, 'DIGEST_INVALID'],
    [`/v2/pause/referrers/sha256:${'a'.repeat(63)}`, 400, 'DIGEST_INVALID'],
    ['/v2/pause/manifests/sha256:', 400, 'DIGEST_INVALID'],
  ])('%j is refused with %i %s', (uri, status, code) => {
    expect(parseRegistryPath(uri)).toMatchObject({ status, code });
  });
});

/**
 * The grammar as it was written with regular expressions (before the hot path read it by hand): the
 * hand-written parser must give the same answer on every path, valid or not.
 */
describe('parseRegistryPath agrees with the regular-expression grammar', () => {
  const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
  const NAME_GRAMMAR = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
  const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
  const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
  const BLOB_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
  const PATH_CHARS = /^[A-Za-z0-9/._:=+-]*$/;
  const REGISTERED: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };
  const decodeOnce = (uri: string): string | null => {
    let malformed = false;
    const decoded = uri.replace(/%([0-9A-Fa-f]{2})?/g, (_e, hex: string | undefined) => {
      const code = hex === undefined ? -1 : parseInt(hex, 16);
      if (code < 0 || code === 0x2f) malformed = true;
      return code < 0 ? '' : String.fromCharCode(code);
    });
    return malformed ? null : decoded;
  };
  const checkDigest = (text: string): unknown => {
    if (!ANY_DIGEST.test(text)) return [400, 'DIGEST_INVALID'];
    const colon = text.indexOf(':');
    const exact = REGISTERED[text.slice(0, colon)];
    return exact && !exact.test(text.slice(colon + 1)) ? [400, 'DIGEST_INVALID'] : null;
  };
  /** What the parser answered when it was all regular expressions: the kind and fields, or the error status and code. */
  function reference(rawUri: string): unknown {
    if (rawUri.length === 0 || rawUri.length > 2048) return [400, 'UNSUPPORTED'];
    const uri = decodeOnce(rawUri);
    if (uri === null) return [400, 'NAME_INVALID'];
    if (!PATH_CHARS.test(uri)) return [400, 'NAME_INVALID'];
    if (uri === '/') return { kind: 'root' };
    if (uri === '/v2' || uri === '/v2/') return { kind: 'base' };
    if (!uri.startsWith('/v2/')) return [404, 'UNSUPPORTED'];
    const rest = uri.slice(4);
    if (rest === '_catalog') return { kind: 'catalog' };
    if (rest.split('/').some((s) => s === '' || s === '.' || s === '..')) return [400, 'NAME_INVALID'];
    const tail = /^(.+)\/(blobs|manifests|referrers)\/([^/]+)$/.exec(rest) ?? /^(.+)\/(tags)\/(list)$/.exec(rest);
    if (!tail) return [404, 'UNSUPPORTED'];
    const [, name, kind, last] = tail as unknown as [string, string, string, string];
    if (!(name.length <= 255 && NAME_GRAMMAR.test(name))) return [400, 'NAME_INVALID'];
    if (kind === 'blobs') return BLOB_DIGEST.test(last) ? { kind: 'blob', name, digest: last } : [400, 'DIGEST_INVALID'];
    if (kind === 'manifests') {
      if (TAG.test(last)) return { kind: 'manifest', name, reference: last };
      if (!last.includes(':')) return [400, 'UNSUPPORTED'];
      return checkDigest(last) ?? { kind: 'manifest', name, reference: last };
    }
    if (kind === 'referrers') return checkDigest(last) ?? { kind: 'referrers', name, digest: last };
    return { kind: 'tags', name };
  }
  const actual = (uri: string): unknown => {
    const parsed = parseRegistryPath(uri) as { status?: number; code?: string };
    return parsed.status !== undefined ? [parsed.status, parsed.code] : parsed;
  };

  // Paths built from the pieces that matter: segments that look like kinds, digests near valid, dots.
  const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefA'), minLength: n, maxLength: n });
  const segment = fc.oneof(
    fc.constantFrom('', '.', '..', '...', 'blobs', 'manifests', 'referrers', 'tags', 'list', '_catalog', 'v2', 'a', 'pause', 'my-org', 'x__y', 'Up', 'a.b', 'a..b'),
    fc.tuple(fc.constantFrom('sha256:', 'sha512:', 'sha384:', 'SHA256:', 'sha256'), fc.oneof(hex(64), hex(128), hex(63))).map(([a, b]) => a + b),
    fc.string({ unit: fc.constantFrom(...'abz09._-:+=/%A'), maxLength: 8 }),
    fc.constantFrom('sha256%3A' + 'a'.repeat(64), '%2F', '%zz', '%41', 'a%3a'),
  );
  const loose = fc.tuple(fc.constantFrom('/v2/', '/v2', '/', '/v3/', ''), fc.array(segment, { maxLength: 6 })).map(([head, parts]) => head + parts.join('/'));
  // And requests of the right shape, with the reference and the name near valid.
  const shaped = fc
    .tuple(fc.array(segment, { minLength: 0, maxLength: 3 }), fc.constantFrom('blobs', 'manifests', 'referrers', 'tags'), segment)
    .map(([name, kind, last]) => `/v2/${name.join('/')}/${kind}/${last}`);
  const uri = fc.oneof(loose, shaped);

  test('on random paths near the grammar', () => {
    fc.assert(
      fc.property(uri, (path) => {
        expect(actual(path)).toEqual(reference(path));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('isRepositoryName reads the specification\'s grammar', () => {
  const name = fc.string({ unit: fc.constantFrom(...'ab09._-/A_'), maxLength: 12 });
  test('on random names', () => {
    fc.assert(
      fc.property(name, (text) => {
        expect(isRepositoryName(text)).toBe(NAME.test(text));
      }),
      { numRuns: 20000 },
    );
  });
  test.each(['a__b', 'a---b', 'a.b/c_d', 'x'])('%s is a name', (text) => expect(isRepositoryName(text)).toBe(true));
  test.each(['a___b', 'a._b', 'a/', '/a', 'a//b', '-a', 'a-', 'A', '', 'a'.repeat(256)])('%j is not a name', (text) => expect(isRepositoryName(text)).toBe(false));
});

test('isBlobDigest takes exactly the lower-case hex digits, whatever the character code (none of 0-65535 beyond them)', () => {
  const accepted: string[] = [];
  for (let code = 0; code <= 0xffff; code++) {
    const c = String.fromCharCode(code);
    // The character at the start, in the middle and at the end of the hex part.
    // Every place in a four-character word, too: the digits are read four at a time.
    const all = [`sha256:${c}${'a'.repeat(63)}`, `sha256:a${c}${'a'.repeat(62)}`, `sha256:aa${c}${'a'.repeat(61)}`, `sha256:${'a'.repeat(31)}${c}${'a'.repeat(32)}`, `sha512:${'a'.repeat(127)}${c}`].map(isBlobDigest);
    if (all.some((ok) => ok !== all[0])) throw new Error(`character ${code} is judged differently by position`);
    if (all[0]) accepted.push(c);
  }
  expect(accepted.join('')).toBe('0123456789abcdef');
  expect(isBlobDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
  expect(isBlobDigest(`sha512:${'a'.repeat(64)}`)).toBe(false);
  expect(isBlobDigest(`sha384:${'a'.repeat(64)}`)).toBe(false);
});

test('a blob path\'s digest is taken exactly when it is lower-case hex, whatever the character code, wherever it is', () => {
  const accepted: string[] = [];
  for (let code = 0; code <= 0xffff; code++) {
    const c = String.fromCharCode(code);
    const kinds = [1, 2, 63].map((at) => parseRegistryPath(`/v2/pause/blobs/sha256:${'b'.repeat(at)}${c}${'b'.repeat(63 - at)}`)).map((path) => ('kind' in path ? path.kind : 'error'));
    if (kinds.some((kind) => kind !== kinds[0])) throw new Error(`character ${code} is judged differently by position`);
    if (kinds[0] === 'blob') accepted.push(c);
  }
  expect(accepted.join('')).toBe('0123456789abcdef');
  // A character outside ASCII before the digest (the UTF-8 form is then longer than the text) is refused too.
  expect(parseRegistryPath(`/v2/pa\u00fcse/blobs/sha256:${'b'.repeat(64)}`)).toMatchObject({ status: 400 });
  expect(parseRegistryPath(`/v2/pa\ud800se/blobs/sha256:${'b'.repeat(64)}`)).toMatchObject({ status: 400 });
});
