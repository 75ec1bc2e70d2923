/**
 * Walking an image from a tag (or digest): the manifest, then for an index each child manifest (nested
 * indexes too, to a bounded depth), and for each image manifest its config and layer blobs. Problems are
 * yielded, not thrown, so one broken child does not hide its siblings.
 */
import type { RegistryClient } from './client';
import { isAbortError, RegistryError } from './errors';
import { blobsOf, type Descriptor } from './manifest';

export type WalkItem =
  | { kind: 'manifest'; repository: string; reference: string; digest: string; mediaType: string }
  | { kind: 'blob'; repository: string; descriptor: Descriptor; manifest: string }
  | { kind: 'error'; repository: string; reference: string; error: Error };

export interface WalkOptions {
  /** Manifest digests already walked (shared across tags and repositories): each is walked once. */
  seen?: Set<string>;
  /** Index nesting allowed below the top manifest (default 4; real images use 1). */
  maxDepth?: number;
  signal?: AbortSignal;
}

export async function* walkImage(client: RegistryClient, repository: string, reference: string, options: WalkOptions = {}): AsyncGenerator<WalkItem> {
  const seen = options.seen ?? new Set<string>();
  const maxDepth = options.maxDepth ?? 4;

  async function* visit(ref: string, depth: number): AsyncGenerator<WalkItem> {
    let manifest;
    try {
      manifest = await client.manifest(repository, ref, options.signal);
    } catch (error) {
      if (isAbortError(error) || options.signal?.aborted) throw error;
      yield { kind: 'error', repository, reference: ref, error: error as Error };
      return;
    }
    // From a tag we learn the digest only now (children are marked before they are fetched).
    if (depth === 0) {
      if (seen.has(manifest.digest)) return;
      seen.add(manifest.digest);
    }
    yield { kind: 'manifest', repository, reference: ref, digest: manifest.digest, mediaType: manifest.mediaType };
    const content = manifest.content;
    if (content.kind === 'image') {
      let blobs: Descriptor[];
      try {
        blobs = blobsOf(content, `${client.url}: ${repository}@${manifest.digest}`);
      } catch (error) {
        yield { kind: 'error', repository, reference: manifest.digest, error: error as Error };
        return;
      }
      for (const descriptor of blobs) yield { kind: 'blob', repository, descriptor, manifest: manifest.digest };
      return;
    }
    if (depth >= maxDepth) {
      yield { kind: 'error', repository, reference: manifest.digest, error: new RegistryError('UNSUPPORTED_MANIFEST', `${repository}@${manifest.digest}: indexes nested deeper than ${maxDepth}`) };
      return;
    }
    for (const child of content.manifests) {
      if (seen.has(child.digest)) continue;
      seen.add(child.digest);
      yield* visit(child.digest, depth + 1);
    }
  }

  yield* visit(reference, 0);
}
