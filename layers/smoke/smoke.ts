/**
 * A smoke test of a deployed endpoint (`registry-edge smoke`): pull an image through it with a real client
 * (skopeo, which checks every digest), check the pulled files again ourselves, then ask the endpoint for
 * each blob once more without following redirects, to report where it was served from (a bucket in some
 * region, the upstream registry, or CloudFront itself) and check that place answers with the right size.
 *
 * Every finding is a record; anything wrong is a `problem`, and the caller exits non-zero if there is one.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRepositoryName } from '../oci/paths';
import { blobsOf, type Descriptor, parseManifest } from '../registry/manifest';
import { REGIONS } from '../topology/regions';

export class SmokeUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmokeUsageError';
  }
}

export interface ImageReference {
  name: string;
  /** ":tag" or "@sha256:..." as it follows the name. */
  reference: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;

/** "NAME:TAG" or "NAME@sha256:...", with the OCI grammar for each part. */
export function parseImage(text: string): ImageReference {
  const at = text.indexOf('@');
  if (at >= 0) {
    const [name, digest] = [text.slice(0, at), text.slice(at + 1)];
    if (!isRepositoryName(name)) throw new SmokeUsageError(`--image ${text}: "${name}" is not a repository name`);
    if (!DIGEST.test(digest)) throw new SmokeUsageError(`--image ${text}: "${digest}" is not a sha256/sha512 digest`);
    return { name, reference: `@${digest}` };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf('/', colon) >= 0) throw new SmokeUsageError(`--image ${text}: give NAME:TAG or NAME@DIGEST`);
  const [name, tag] = [text.slice(0, colon), text.slice(colon + 1)];
  if (!isRepositoryName(name)) throw new SmokeUsageError(`--image ${text}: "${name}" is not a repository name`);
  if (!TAG.test(tag)) throw new SmokeUsageError(`--image ${text}: "${tag}" is not a tag`);
  return { name, reference: `:${tag}` };
}

/** The endpoint as a registry host: scheme and host (and port) only. */
export function parseEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SmokeUsageError(`--endpoint ${text}: not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SmokeUsageError(`--endpoint ${text}: must be https:// (or http:// for a local stack)`);
  if (url.pathname !== '/' || url.search || url.hash || url.username) throw new SmokeUsageError(`--endpoint ${text}: give the scheme and host only (registries live at the root)`);
  return url;
}

export interface Location {
  /** A bucket (S3 virtual-hosted or path-style URL), or a registry (/v2/ path). */
  target: 'bucket' | 'registry' | 'other';
  host: string;
  bucket?: string;
  region?: string;
}

const S3_HOST = /^(?<bucket>[a-z0-9][a-z0-9.-]*)\.s3(?:[.-]dualstack)?(?:[.-](?<region>[a-z]{2}(?:-[a-z]+)+-\d))?\.amazonaws\.com$/;

/** What a redirect's Location points at. */
export function describeLocation(location: string): Location {
  const url = new URL(location);
  if (url.pathname.startsWith('/v2/')) return { target: 'registry', host: url.host };
  const virtual = S3_HOST.exec(url.hostname);
  if (virtual?.groups) {
    const region = virtual.groups.region ?? 'us-east-1';
    return { target: 'bucket', host: url.host, bucket: virtual.groups.bucket!, region };
  }
  // Path-style (a local S3, or s3.<region>.amazonaws.com/<bucket>/...): the bucket is the first segment.
  const [bucket] = url.pathname.slice(1).split('/');
  if (!bucket) return { target: 'other', host: url.host };
  const regional = /^s3(?:[.-]dualstack)?[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
  // Our buckets end in their region (<prefix>-<stage>-<region>); say so when the host does not.
  const suffix = REGION_NAMES.find((name) => bucket.endsWith(`-${name}`));
  return { target: 'bucket', host: url.host, bucket, ...(regional ?? suffix ? { region: (regional ?? suffix)! } : {}) };
}

/** Longest first, so "ap-southeast-1" is not taken for a shorter name it ends with. */
const REGION_NAMES = REGIONS.map((region) => region.name).sort((a, b) => b.length - a.length);

export interface ProbeResult {
  status: number;
  headers: IncomingHttpHeaders;
}

/** One request, no redirect followed, the body left unread (GET of a large blob costs only its headers). */
export function probe(url: string, method: 'GET' | 'HEAD', options: { tlsVerify: boolean; timeoutMs: number }): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method, rejectUnauthorized: options.tlsVerify, headers: { 'user-agent': 'registry-edge-smoke', accept: '*/*' } }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
    });
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface BlobReport {
  blob: string;
  mediaType: string;
  size: number;
  /** The pulled file hashes to its digest and has the manifest's size. */
  verified: boolean;
  /** How the endpoint answered a GET of the blob. */
  served: 'redirect' | 'cloudfront' | 'error';
  status?: number;
  location?: Location;
  /** CloudFront's x-cache and x-amz-cf-pop, when it served the blob. */
  cache?: string;
  pop?: string;
  /** What the redirect target said to a HEAD: its status, or "needs a token" for a registry. */
  targetStatus?: number | 'needs a token';
  problems: string[];
}

export interface SmokeSummary {
  summary: true;
  endpoint: string;
  image: string;
  manifest?: string;
  blobs: number;
  bytes: number;
  pullSeconds?: number;
  /** "cloudfront", "<bucket> (<region>)", "registry <host>": how many blobs each served. */
  servedFrom: Record<string, number>;
  problems: string[];
  ok: boolean;
}

export interface SmokeOptions {
  endpoint: string;
  image: string;
  /** Verify the endpoint's TLS certificate (always off for http://). */
  tlsVerify?: boolean;
  /** skopeo's path. */
  skopeo: string;
  /** Longest the pull may take. */
  timeoutMs?: number;
  /** Each blob's report as it is done. */
  onBlob?: (report: BlobReport) => void;
}

async function hashFile(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function runSkopeo(skopeo: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(skopeo, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-8192)));
    const timer = setTimeout(() => {
      stderr += `\n(stopped after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Checks a pulled file against its descriptor. */
async function checkPulled(dir: string, descriptor: Descriptor): Promise<string[]> {
  const [algorithm, hex] = descriptor.digest.split(':') as [string, string];
  const file = join(dir, hex);
  if (!existsSync(file)) return [`${descriptor.digest}: not in the pulled image`];
  const problems: string[] = [];
  const size = statSync(file).size;
  if (size !== descriptor.size) problems.push(`${descriptor.digest}: pulled ${size} bytes, the manifest says ${descriptor.size}`);
  const actual = await hashFile(file, algorithm);
  if (actual !== hex) problems.push(`${descriptor.digest}: the pulled bytes hash to ${algorithm}:${actual}`);
  return problems;
}

/** Where the endpoint serves a blob from, and whether that place has it at the right size. */
async function locateBlob(endpoint: URL, name: string, descriptor: Descriptor, http: { tlsVerify: boolean; timeoutMs: number }): Promise<Omit<BlobReport, 'blob' | 'mediaType' | 'size' | 'verified'>> {
  const url = new URL(`/v2/${name}/blobs/${descriptor.digest}`, endpoint).toString();
  const problems: string[] = [];
  let answer: ProbeResult;
  try {
    answer = await probe(url, 'GET', http);
  } catch (error) {
    return { served: 'error', problems: [`GET ${url}: ${(error as Error).message}`] };
  }
  const length = (headers: IncomingHttpHeaders) => (headers['content-length'] === undefined ? undefined : Number(headers['content-length']));
  if (answer.status === 200) {
    const size = length(answer.headers);
    if (size !== undefined && size !== descriptor.size) problems.push(`${descriptor.digest}: served with ${size} bytes, expected ${descriptor.size}`);
    const cache = answer.headers['x-cache'];
    const pop = answer.headers['x-amz-cf-pop'];
    return { served: 'cloudfront', status: 200, ...(typeof cache === 'string' ? { cache } : {}), ...(typeof pop === 'string' ? { pop } : {}), problems };
  }
  if ([301, 302, 303, 307, 308].includes(answer.status) && typeof answer.headers.location === 'string') {
    const target = new URL(answer.headers.location, url).toString();
    const location = describeLocation(target);
    let targetStatus: BlobReport['targetStatus'];
    try {
      const head = await probe(target, 'HEAD', http);
      if ((head.status === 401 || head.status === 403) && location.target === 'registry') targetStatus = 'needs a token';
      else {
        targetStatus = head.status;
        if (head.status !== 200) problems.push(`${descriptor.digest}: ${location.host} answers ${head.status} where the endpoint redirects`);
        else if (length(head.headers) !== undefined && length(head.headers) !== descriptor.size) problems.push(`${descriptor.digest}: ${location.host} holds ${length(head.headers)} bytes, expected ${descriptor.size}`);
      }
    } catch (error) {
      problems.push(`HEAD ${target}: ${(error as Error).message}`);
    }
    return { served: 'redirect', status: answer.status, location, ...(targetStatus !== undefined ? { targetStatus } : {}), problems };
  }
  return { served: 'error', status: answer.status, problems: [`GET ${url}: ${answer.status}`] };
}

const servedKey = (report: BlobReport): string => {
  if (report.served !== 'redirect' || !report.location) return report.served;
  const { location } = report;
  if (location.target === 'bucket') return `${location.bucket} (${location.region ?? location.host})`;
  return `${location.target} ${location.host}`;
};

export async function smoke(options: SmokeOptions): Promise<SmokeSummary> {
  const endpoint = parseEndpoint(options.endpoint);
  const image = parseImage(options.image);
  const summary: SmokeSummary = { summary: true, endpoint: endpoint.origin, image: options.image, blobs: 0, bytes: 0, servedFrom: {}, problems: [], ok: false };
  const work = mkdtempSync(join(tmpdir(), 'registry-edge-smoke-'));
  try {
    await pullAndCheck(endpoint, image, options, summary, join(work, 'image'));
  } catch (error) {
    summary.problems.push((error as Error).message);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  summary.ok = summary.problems.length === 0;
  return summary;
}

async function pullAndCheck(endpoint: URL, image: ImageReference, options: SmokeOptions, summary: SmokeSummary, dir: string): Promise<void> {
  const tlsVerify = endpoint.protocol === 'https:' && options.tlsVerify !== false;
  const http = { tlsVerify, timeoutMs: 30_000 };
  const source = `docker://${endpoint.host}/${image.name}${image.reference}`;
  const started = Date.now();
  const pulled = await runSkopeo(options.skopeo, ['copy', '--retry-times', '2', `--src-tls-verify=${tlsVerify}`, source, `dir:${dir}`], options.timeoutMs ?? 600_000);
  summary.pullSeconds = (Date.now() - started) / 1000;
  if (pulled.code !== 0) {
    summary.problems.push(`skopeo could not pull ${source}: ${pulled.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const manifestBytes = readFileSync(join(dir, 'manifest.json'));
  summary.manifest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  const manifest = parseManifest(manifestBytes, undefined, `${options.image} (pulled)`);
  if (manifest.kind !== 'image') {
    summary.problems.push(`${options.image}: skopeo stored an index, not an image manifest`);
    return;
  }
  for (const descriptor of blobsOf(manifest, options.image)) {
    const checked = await checkPulled(dir, descriptor);
    const located = await locateBlob(endpoint, image.name, descriptor, http);
    const report: BlobReport = { blob: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size, verified: checked.length === 0, ...located, problems: [...checked, ...located.problems] };
    options.onBlob?.(report);
    summary.blobs += 1;
    summary.bytes += descriptor.size;
    summary.servedFrom[servedKey(report)] = (summary.servedFrom[servedKey(report)] ?? 0) + 1;
    summary.problems.push(...report.problems);
  }
  if (summary.blobs === 0) summary.problems.push(`${options.image}: the image has no blobs to check`);
}
