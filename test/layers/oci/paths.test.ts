import { parseRegistryPath } from '../../../layers/oci/paths';

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
