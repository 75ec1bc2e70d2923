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
  ])('%j is refused with %i %s', (uri, status, code) => {
    expect(parseRegistryPath(uri)).toMatchObject({ status, code });
  });
});
