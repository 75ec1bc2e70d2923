/**
 * The demo image the local stack serves, `demo/hello:1`: built without a container daemon (umoci writes an
 * OCI layout), reproducibly (fixed timestamps, generated content), for two platforms behind one image
 * index, and pushed to the upstream registry with skopeo.
 *
 *   index ─┬─ linux/amd64 manifest ─ config, layer "greeting", layer "payload" (1 MiB), layer "arch"
 *          └─ linux/arm64 manifest ─ config, the same two layers,                  its own layer "arch"
 *
 * The built layout is cached under .cache/demo-image/<hash of the recipe>/, so restarts skip umoci.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../tools/build';
import { requireTool } from './processes';

const run = promisify(execFile);

export const DEMO_REPOSITORY = 'demo/hello';
export const DEMO_TAG = '1';
export const DEFAULT_CACHE_DIR = join(ROOT, '.cache', 'demo-image');

/** Bump when the build steps change in a way the recipe below does not show. */
const RECIPE_VERSION = 2;
const EPOCH = '2024-01-01T00:00:00Z';
const PLATFORMS = ['amd64', 'arm64'] as const;
const PAYLOAD_BYTES = 1024 * 1024;

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface DemoImage {
  /** The OCI layout directory (read-only: it is the cache). */
  layout: string;
  /** The layout's reference name for the index. */
  ref: string;
  index: Descriptor;
  manifests: { platform: { os: string; architecture: string }; manifest: Descriptor; config: Descriptor; layers: Descriptor[] }[];
  /** Every config and layer blob once: what the buckets hold. */
  blobs: (Descriptor & { path: string })[];
}

/** 1 MiB that does not compress: the "payload" layer weighs what a real layer does on the wire. */
function payload(): Buffer {
  const out = Buffer.alloc(PAYLOAD_BYTES);
  for (let block = 0; block * 32 < PAYLOAD_BYTES; block++) {
    createHash('sha256').update(`registry-edge demo payload ${block}`).digest().copy(out, block * 32);
  }
  return out;
}

/** The files of each layer, as [path in the image, content]. */
function recipe() {
  return {
    version: RECIPE_VERSION,
    greeting: [
      ['hello.txt', 'Hello from registry-edge! This image came to you through the local CloudFront emulator.\n'],
      ['etc/registry-edge/demo.conf', `repository=${DEMO_REPOSITORY}\ntag=${DEMO_TAG}\n`],
    ] as [string, string][],
    payloadSha256: createHash('sha256').update(payload()).digest('hex'),
    platforms: PLATFORMS,
  };
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function writeTree(dir: string, files: [string, string | Buffer][]) {
  for (const [path, content] of files) {
    const full = join(dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
  }
  // Fixed times on everything, so the layer tarballs (and so the digests) are the same on every build.
  const stamp = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) stamp(child);
      utimesSync(child, new Date(EPOCH), new Date(EPOCH));
    }
  };
  stamp(dir);
  utimesSync(dir, new Date(EPOCH), new Date(EPOCH));
}

async function umociBuild(layout: string, work: string): Promise<void> {
  const umoci = requireTool('umoci', 'umoci');
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  const u = (...args: string[]) => run(umoci, args, { maxBuffer: 16 * 1024 * 1024 });
  const r = recipe();
  writeTree(join(work, 'greeting'), r.greeting);
  writeTree(join(work, 'payload'), [['usr/share/registry-edge/payload.bin', payload()]]);
  await u('init', '--layout', layout);
  await u('new', '--image', `${layout}:base`);
  const history = ['--history.created', EPOCH];
  await u('config', '--image', `${layout}:base`, '--created', EPOCH, '--no-history', '--os', 'linux', '--architecture', 'amd64', '--author', 'registry-edge', '--config.label', 'org.opencontainers.image.title=registry-edge demo', '--config.workingdir', '/');
  await u('insert', ...rootless, '--image', `${layout}:base`, ...history, '--history.created_by', 'registry-edge demo: greeting', join(work, 'greeting'), '/');
  await u('insert', ...rootless, '--image', `${layout}:base`, ...history, '--history.created_by', 'registry-edge demo: payload', join(work, 'payload'), '/');
  for (const arch of PLATFORMS) {
    writeTree(join(work, `arch-${arch}`), [['etc/registry-edge/arch', `${arch}\n`]]);
    await u('config', '--image', `${layout}:base`, '--tag', arch, '--architecture', arch, '--created', EPOCH, '--no-history');
    await u('insert', ...rootless, '--image', `${layout}:${arch}`, ...history, '--history.created_by', `registry-edge demo: ${arch}`, join(work, `arch-${arch}`), '/');
  }
  // umoci writes manifests, not indexes: tie the two platforms together by hand.
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
  const manifests = PLATFORMS.map((arch) => {
    const m = top.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === arch)!;
    return { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { architecture: arch, os: 'linux' } };
  });
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  const indexHex = createHash('sha256').update(indexBytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', indexHex), indexBytes);
  const index = { mediaType: OCI_INDEX, digest: `sha256:${indexHex}`, size: indexBytes.length, annotations: { 'org.opencontainers.image.ref.name': DEMO_TAG } };
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [index] }));
  await u('gc', '--layout', layout);
}

/** Reads the layout back, checking every blob's digest (a damaged cache is rebuilt, never served). */
function describeLayout(layout: string): DemoImage {
  const blobPath = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const readBlob = <T>(d: Descriptor): T => {
    const bytes = readFileSync(blobPath(d.digest));
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== d.digest) throw new Error(`${d.digest} in ${layout} is damaged`);
    return JSON.parse(bytes.toString('utf8')) as T;
  };
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
  const indexDesc = top.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === DEMO_TAG);
  if (!indexDesc || indexDesc.mediaType !== OCI_INDEX) throw new Error(`${layout} has no index tagged ${DEMO_TAG}`);
  const index = readBlob<{ manifests: (Descriptor & { platform: { os: string; architecture: string } })[] }>(indexDesc);
  const blobs = new Map<string, Descriptor & { path: string }>();
  const manifests = index.manifests.map((m) => {
    if (m.mediaType !== OCI_MANIFEST) throw new Error(`${m.digest} is not an image manifest`);
    const manifest = readBlob<{ config: Descriptor; layers: Descriptor[] }>(m);
    for (const d of [manifest.config, ...manifest.layers]) {
      const path = blobPath(d.digest);
      if (!blobs.has(d.digest)) {
        if (`sha256:${sha256File(path)}` !== d.digest) throw new Error(`${d.digest} in ${layout} is damaged`);
        blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size, path });
      }
    }
    const strip = (d: Descriptor): Descriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
    return { platform: { os: m.platform.os, architecture: m.platform.architecture }, manifest: strip(m), config: strip(manifest.config), layers: manifest.layers.map(strip) };
  });
  return { layout, ref: DEMO_TAG, index: { mediaType: indexDesc.mediaType, digest: indexDesc.digest, size: indexDesc.size }, manifests, blobs: [...blobs.values()] };
}

/** The demo image's OCI layout: from the cache when its recipe has not changed, else built with umoci. */
export async function buildDemoImage(cacheDir = DEFAULT_CACHE_DIR): Promise<DemoImage & { cached: boolean }> {
  const key = createHash('sha256').update(JSON.stringify(recipe())).digest('hex').slice(0, 16);
  const dir = join(cacheDir, key);
  const layout = join(dir, 'layout');
  if (existsSync(layout)) {
    try {
      return { ...describeLayout(layout), cached: true };
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Build beside the cache and rename into place: two stacks starting at once must not see half a layout.
  const scratch = join(cacheDir, `.build-${randomBytes(6).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  try {
    await umociBuild(join(scratch, 'layout'), join(scratch, 'files'));
    rmSync(join(scratch, 'files'), { recursive: true, force: true });
    try {
      renameSync(scratch, dir);
    } catch (error) {
      if (!existsSync(layout)) throw error; // someone else finished first: theirs is the same image
    }
    return { ...describeLayout(layout), cached: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Pushes the image (every platform, digests unchanged) to `registry` (host:port, plain HTTP). */
export async function pushDemoImage(image: DemoImage, registry: string, reference = `${DEMO_REPOSITORY}:${DEMO_TAG}`): Promise<void> {
  const skopeo = requireTool('skopeo', 'skopeo');
  try {
    await run(skopeo, ['copy', '--quiet', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${image.layout}:${image.ref}`, `docker://${registry}/${reference}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`skopeo could not push the demo image to ${registry}: ${stderr.trim() || (error as Error).message}`);
  }
}
