/**
 * Manifests as the sync walks them: an index (OCI image index, Docker manifest list) names child
 * manifests; an image manifest names a config blob and layer blobs. Everything a registry sends is
 * validated here, so the walker only ever sees descriptors with a well-formed digest and a sane size.
 */
import { z } from 'zod';
import { isBlobDigest } from '../oci/paths';
import { RegistryError } from './errors';
import { DOCKER_SCHEMA1, IMAGE_TYPES, INDEX_TYPES, isForeignLayer, OCI_INDEX, OCI_MANIFEST } from './media-types';

/** Any digest the OCI grammar allows; only sha256/sha512 ones can be verified (and stored as blobs). */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const descriptorSchema = z.object({
  mediaType: z.string().max(255),
  digest: z.string().max(256).regex(DIGEST, 'is not a digest'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).optional(),
  platform: z
    .object({ architecture: z.string().max(64), os: z.string().max(64), variant: z.string().max(64).optional() })
    .optional(),
});

export type Descriptor = z.infer<typeof descriptorSchema>;

const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) });
const imageSchema = z.object({ schemaVersion: z.literal(2), config: descriptorSchema, layers: z.array(descriptorSchema) });

export type ManifestContent =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/**
 * Parses manifest bytes. The media type is the body's own `mediaType` field when present (it is part of
 * the hashed content, unlike the Content-Type header), else the header, else inferred from the shape.
 * The shape must then match the kind, so an index cannot pose as an image or the reverse.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, where: string): ManifestContent {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RegistryError('INVALID_RESPONSE', `${where}: the manifest is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RegistryError('INVALID_RESPONSE', `${where}: the manifest is not a JSON object`);
  const body = json as Record<string, unknown>;
  const headerType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (body.schemaVersion === 1 || DOCKER_SCHEMA1.includes(headerType ?? '')) {
    throw new RegistryError('UNSUPPORTED_MANIFEST', `${where}: Docker schema 1 manifests are not supported (push the image again with a current client)`);
  }
  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const mediaType = declared ?? (headerType && [...INDEX_TYPES, ...IMAGE_TYPES].includes(headerType) ? headerType : undefined) ?? (Array.isArray(body.manifests) ? OCI_INDEX : OCI_MANIFEST);

  if (INDEX_TYPES.includes(mediaType)) {
    const parsed = indexSchema.safeParse(body);
    if (!parsed.success) throw invalid(where, mediaType, parsed.error);
    return { kind: 'index', mediaType, manifests: parsed.data.manifests };
  }
  if (IMAGE_TYPES.includes(mediaType)) {
    const parsed = imageSchema.safeParse(body);
    if (!parsed.success) throw invalid(where, mediaType, parsed.error);
    return { kind: 'image', mediaType, config: parsed.data.config, layers: parsed.data.layers };
  }
  throw new RegistryError('UNSUPPORTED_MANIFEST', `${where}: unsupported manifest media type ${JSON.stringify(mediaType.slice(0, 100))}`);
}

function invalid(where: string, mediaType: string, error: z.ZodError): RegistryError {
  const first = error.issues[0];
  const field = first ? first.path.join('.') || '(root)' : '(root)';
  return new RegistryError('INVALID_RESPONSE', `${where}: invalid ${mediaType}: ${field} ${first?.message ?? ''}`.trim());
}

/**
 * The blobs an image manifest references that a registry holds: the config and each layer, less foreign
 * (non-distributable) layers. A blob whose digest uses an algorithm we cannot verify makes the image
 * unusable for us: the caller gets an error, never an unverifiable blob.
 */
export function blobsOf(image: Extract<ManifestContent, { kind: 'image' }>, where: string): Descriptor[] {
  const blobs: Descriptor[] = [];
  for (const descriptor of [image.config, ...image.layers]) {
    if (isForeignLayer(descriptor.mediaType, descriptor.urls)) continue;
    if (!isBlobDigest(descriptor.digest)) {
      throw new RegistryError('INVALID_RESPONSE', `${where}: blob digest ${JSON.stringify(descriptor.digest.slice(0, 80))} is not sha256/sha512 in lower-case hex`);
    }
    blobs.push(descriptor);
  }
  return blobs;
}
