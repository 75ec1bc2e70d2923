import { RegistryError } from '../../../layers/registry/errors';
import { blobsOf, parseManifest } from '../../../layers/registry/manifest';

const d = (n: number, extra: object = {}) => ({ mediaType: 'application/octet-stream', digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: n, ...extra });
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as RegistryError).code;
  }
  return 'parsed';
};

describe('parseManifest', () => {
  test.each([
    ['OCI index', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [d(1)] }, undefined, 'index'],
    ['Docker manifest list', { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [d(1)] }, undefined, 'index'],
    ['OCI image manifest', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d(1), layers: [d(2)] }, undefined, 'image'],
    ['Docker image manifest', { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: d(1), layers: [] }, undefined, 'image'],
    ['OCI manifest without mediaType, typed by header', { schemaVersion: 2, config: d(1), layers: [] }, 'application/vnd.oci.image.manifest.v1+json', 'image'],
    ['OCI index without mediaType, typed by shape', { schemaVersion: 2, manifests: [] }, 'application/json', 'index'],
  ])('%s', (_name, body, contentType, kind) => {
    expect(parseManifest(bytes(body), contentType, 'test').kind).toBe(kind);
  });

  test.each([
    ['not JSON', Buffer.from('{nope'), undefined, 'INVALID_RESPONSE'],
    ['a JSON array', bytes([1]), undefined, 'INVALID_RESPONSE'],
    ['Docker schema 1', bytes({ schemaVersion: 1, fsLayers: [] }), undefined, 'UNSUPPORTED_MANIFEST'],
    ['schema 1 by header', bytes({ name: 'x' }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'UNSUPPORTED_MANIFEST'],
    ['unknown media type', bytes({ schemaVersion: 2, mediaType: 'application/x-evil' }), undefined, 'UNSUPPORTED_MANIFEST'],
    ['an index posing as an image', bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', manifests: [d(1)] }), undefined, 'INVALID_RESPONSE'],
    ['an image posing as an index', bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', config: d(1), layers: [] }), undefined, 'INVALID_RESPONSE'],
    ['a negative size', bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d(1, { size: -1 }), layers: [] }), undefined, 'INVALID_RESPONSE'],
    ['a fractional size', bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d(1, { size: 1.5 }), layers: [] }), undefined, 'INVALID_RESPONSE'],
    ['a digest with a path', bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [d(1, { digest: 'sha256:../../x' })] }), undefined, 'INVALID_RESPONSE'],
    ['schemaVersion 3', bytes({ schemaVersion: 3, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }), undefined, 'INVALID_RESPONSE'],
  ])('refuses %s', (_name, body, contentType, code) => {
    expect(codeOf(() => parseManifest(body, contentType, 'test'))).toBe(code);
  });
});

describe('blobsOf', () => {
  const image = (layers: object[]) => parseManifest(bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d(1), layers }), undefined, 'test');

  test('config first, then layers, less foreign and non-distributable layers', () => {
    const manifest = image([
      d(2),
      d(3, { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }),
      d(4, { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }),
      d(5, { urls: ['https://example.invalid/layer'] }),
      d(6),
    ]);
    if (manifest.kind !== 'image') throw new Error('not an image');
    expect(blobsOf(manifest, 'test').map((b) => b.size)).toEqual([1, 2, 6]);
  });

  test('a blob digest we cannot verify makes the image an error', () => {
    const manifest = image([d(2, { digest: `sha1:${'a'.repeat(40)}` })]);
    if (manifest.kind !== 'image') throw new Error('not an image');
    expect(() => blobsOf(manifest, 'test')).toThrow(RegistryError);
  });
});
