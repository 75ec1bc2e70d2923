/**
 * Manifest media types we walk: Docker image manifest v2 schema 2 and manifest list, OCI image manifest and
 * image index. Schema 1 (signed, pre-2017) is refused: it names layers by `blobSum` without sizes, and no
 * registry in use today serves it unless asked.
 */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'];

export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_LIST];
export const IMAGE_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

/** The Accept header for manifest requests: every kind we can walk, so the registry never down-converts. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

/**
 * Layers a registry does not hold: Docker "foreign" layers (Windows base images) and OCI non-distributable
 * layers, fetched by clients from their `urls`. Copying them is neither possible nor wanted.
 */
export function isForeignLayer(mediaType: string, urls: readonly string[] | undefined): boolean {
  return (urls !== undefined && urls.length > 0) || mediaType.includes('.foreign.') || mediaType.includes('.nondistributable.');
}
