/**
 * The whole distribution on one machine, for `npm start`, the end-to-end tests and other commands:
 *
 *   client ──► CloudFront emulator (bundled edge functions) ──307──► docker-registry (manifests, GCP clients)
 *                     │                                      └─307──► moto_server: regional bucket
 *                     └── forward ──► cache ──miss──► origin group: nearest bucket, failover primary (moto_server)
 *                                                      └─ final answer ──► origin-response function
 *                                                         (S3's 403/404 → 307 to docker-registry, never cached)
 *
 * startStack() starts moto_server and docker-registry on free loopback ports, builds the edge functions
 * for the `local` stage with those ports compiled in, builds (or takes from the cache) the demo image,
 * pushes it to the registry, syncs its blobs into the primary bucket and replicates them to the regional
 * ones (local/populate.ts: the production sync and reconcile code), and starts the emulator. stop() ends every process it started; on a failure half-way, it stops what
 * had started before rethrowing.
 *
 * The range table loop runs as in production: the stack publishes its table (the vendored feeds and the
 * loopback overlay) to the local config bucket with the real updater, and the viewer refreshes from there
 * every LOCAL_REFRESH_SECONDS. With `stateFile`, the stack says where it is (local/stack-state.ts), so
 * `registry-edge ranges update|rollback --stage local` reach its S3 with no flags.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../layers/config/schema';
import { runRangeUpdate, type UpdateResult } from '../layers/ranges/update';
import { s3RangeStore } from '../layers/ranges/store';
import { buildStage, DEFAULT_AWS_FEED, DEFAULT_GCP_FEED, mergeConfig } from '../tools/build';
import { BLOB_CACHE } from '../tools/stacks/cache-policy';
import { type AccessLogEntry, type CloudFrontEmulator, DEFAULT_FORWARD_HEADERS, startCloudFrontEmulator } from './cloudfront/emulator';
import { blobOriginGroup } from './cloudfront/distribution';
import { buildDemoImage, DEFAULT_CACHE_DIR, DEMO_REPOSITORY, DEMO_TAG, type DemoImage, pushDemoImage } from './demo-image';
import { createBucket, localS3Client, type Moto, startMoto } from './moto';
import { populateBuckets } from './populate';
import { freePort, portIsFree } from './ports';
import { type ManagedProcess, requireTool } from './processes';
import { type Registry, startRegistry } from './registry';
import { type Relay, startSourceRelay } from './relay';
import { removeStackState, writeStackState } from './stack-state';

/** Locally the viewer looks for a new table every few seconds, so that an update shows at once. */
export const LOCAL_REFRESH_SECONDS = 2;

/** The tools the stack runs, and the Debian package of each. */
export const STACK_TOOLS: readonly [tool: string, debianPackage: string][] = [
  ['moto_server', 'python3-moto (or pip install "moto[server]")'],
  ['docker-registry', 'docker-registry'],
  ['skopeo', 'skopeo'],
  ['umoci', 'umoci'],
];

export interface StackOptions {
  /** The emulator's port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Region of the emulated regional edge cache (the origin-request function's AWS_REGION). */
  edgeRegion?: string;
  /** Where the edge bundles go (default: inside the stack's temporary directory). */
  distDir?: string;
  /** Where the demo image's OCI layout is cached (default .cache/demo-image). */
  cacheDir?: string;
  /** Also start one relay per overlay range, so real clients can pull as a client in that place. */
  relays?: boolean;
  /**
   * The emulated edge cache, as the packaged distribution caches blobs (tools/stacks/cache-policy.ts):
   * on by default, bounded to `maxBytes` (default 256 MiB). `false`: every forwarded request is a miss.
   */
  cache?: boolean | { maxBytes: number };
  /** Configuration merged over config/local.json's (after the stack's own ports and endpoints). */
  configOverride?: Record<string, unknown>;
  /** Progress messages while starting. */
  log?: (message: string) => void;
  onAccess?: (entry: AccessLogEntry) => void;
  onFunctionLog?: (fn: string, line: string) => void;
  /** Write where the stack is to this file (local/stack-state.ts) while it runs; `npm start` does. */
  stateFile?: string;
}

/** A loopback address in an overlay range, and a relay that makes real clients come from it. */
export interface OverlayClient {
  cidr: string;
  cloud: 'aws' | 'gcp';
  region: string;
  /** An address in the range (x.y.z.10). */
  address: string;
  relay?: Relay;
}

export interface Stack {
  /** http://127.0.0.1:<port>: the distribution. */
  endpoint: string;
  /** host:port, for image references (`<host>/demo/hello:1`). */
  registryHost: string;
  ports: { edge: number; s3: number; registry: number };
  s3Endpoint: string;
  /** The upstream registry, directly. */
  registryUrl: string;
  buckets: { primary: string; regional: Record<string, string>; config: string };
  config: ResolvedConfig;
  image: DemoImage & { repository: string; tag: string; reference: string };
  /** A client of the local S3 (path-style, fixed credentials). */
  s3: S3Client;
  emulator: CloudFrontEmulator;
  clients: OverlayClient[];
  /** The server processes (for their pids). */
  processes: ManagedProcess[];
  /** The publication of the stack's range table to its config bucket, at start-up. */
  rangesPublished: UpdateResult;
  /** Where the stack wrote its state file, if it did. */
  stateFile?: string;
  /** Milliseconds per start-up step, and `total`. */
  timings: Record<string, number>;
  /** A skopeo command that pulls the demo image through the stack into `dir:<destination>`. */
  pullCommand(destination: string, via?: string): string;
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;


/** The first usable address of an IPv4 CIDR, offset by 10: 127.0.2.0/24 -> 127.0.2.10. */
function sampleAddress(cidr: string): string {
  const [base] = cidr.split('/');
  const parts = base!.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 10;
  return parts.join('.');
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - t);
    }
  };

  for (const [tool, debianPackage] of STACK_TOOLS) requireTool(tool, debianPackage);
  const cacheOption = options.cache === false ? null : { maxBytes: (typeof options.cache === 'object' ? options.cache.maxBytes : undefined) ?? DEFAULT_CACHE_BYTES };
  const requestedPort = options.port ?? 8080;
  if (requestedPort !== 0 && !(await portIsFree(requestedPort, LOOPBACK))) {
    throw new Error(`port ${requestedPort} on ${LOOPBACK} is in use: stop what listens there, or choose another with PORT=<port>`);
  }
  const edgePort = requestedPort || (await freePort(LOOPBACK));
  const [s3Port, registryPort] = [await freePort(LOOPBACK), await freePort(LOOPBACK)];
  const workDir = mkdtempSync(join(tmpdir(), 'registry-edge-stack-'));
  const s3Endpoint = `http://${LOOPBACK}:${s3Port}`;

  let moto: Moto | undefined;
  let registry: Registry | undefined;
  let emulator: CloudFrontEmulator | undefined;
  let ranges: UpdateResult | undefined;
  const relays: Relay[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (options.stateFile) removeStackState(options.stateFile);
    await Promise.allSettled([emulator?.stop(), moto?.stop(), registry?.stop(), ...relays.map((r) => r.stop())]);
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    const override = mergeConfig(
      {
        upstream: { url: `http://${LOOPBACK}:${registryPort}` },
        buckets: { publicEndpoint: `${s3Endpoint}/{bucket}`, apiEndpoint: `${s3Endpoint}/{bucket}` },
        // The viewer starts from the table built into it and follows what is published to the config bucket.
        ranges: { refreshSeconds: LOCAL_REFRESH_SECONDS },
      },
      options.configOverride ?? {},
    ) as Record<string, unknown>;
    // Independent steps run side by side; each awaits only what it needs.
    const motoReady = timed('moto', async () => {
      moto = await startMoto(s3Port, LOOPBACK);
      log(`moto_server (S3) on ${moto.endpoint}`);
      return moto;
    });
    const registryReady = timed('registry', async () => {
      registry = await startRegistry({ port: registryPort, dir: join(workDir, 'registry'), host: LOOPBACK });
      log(`docker-registry (upstream) on ${registry.url}`);
      return registry;
    });
    const imageReady = timed('image', async () => {
      const image = await buildDemoImage(options.cacheDir ?? DEFAULT_CACHE_DIR);
      log(`demo image ${image.cached ? 'from the cache' : 'built with umoci'}: ${image.index.digest}`);
      return image;
    });
    const built = timed('build', async () => {
      const result = await buildStage({ stage: 'local', override, outDir: options.distDir ?? join(workDir, 'dist'), only: ['edge-viewer-request', 'edge-origin-request', 'edge-origin-response'] });
      log(`edge functions built in ${result.outDir}`);
      return result;
    });
    const pushed = timed('push', async () => {
      const [image, reg] = await Promise.all([imageReady, registryReady]);
      await pushDemoImage(image, `${LOOPBACK}:${reg.port}`);
      log(`pushed ${DEMO_REPOSITORY}:${DEMO_TAG} to ${reg.url}`);
    });
    const bucketsReady = timed('buckets', async () => {
      const [{ config }] = await Promise.all([built, motoReady]);
      const s3 = localS3Client(s3Endpoint, config.stage.buckets.primaryRegion);
      const publicPrefix = config.edge.blobPrefix;
      const { pointerKey } = config.stage.ranges;
      await Promise.all([
        ...Object.values(config.edge.buckets).map((bucket) => createBucket(s3, bucket, { publicPrefix })),
        // The emulator gives the viewer no credentials (the Lambda runtime would give it its role's), so
        // locally the range tables are readable without: moto refuses anonymous reads unless a policy allows.
        createBucket(s3, config.configBucket, { publicPrefix: pointerKey.slice(0, pointerKey.lastIndexOf('/') + 1) }),
      ]);
      ranges = await runRangeUpdate({
        store: s3RangeStore(s3, config.configBucket, pointerKey),
        sources: { aws: DEFAULT_AWS_FEED, gcp: DEFAULT_GCP_FEED },
        maxShrink: config.stage.ranges.maxShrink,
        feedRules: { shortestPrefix: config.stage.ranges.shortestPrefix },
        overlay: config.stage.ranges.overlay,
      });
      if (ranges.outcome !== 'published') throw new Error(`publishing the range table to ${config.configBucket}: ${ranges.outcome}${'message' in ranges ? `: ${ranges.message}` : ''}`);
      log(`range table published to s3://${config.configBucket}/${pointerKey} (generation ${ranges.generation}); the viewer looks for updates every ${LOCAL_REFRESH_SECONDS} s`);
      await pushed;
      const result = await populateBuckets({ s3, config, registryUrl: registry!.url, repositories: [DEMO_REPOSITORY] });
      log(`buckets: ${result.blobs} blobs synced into ${config.primaryBucket}, ${result.copies} copies replicated to ${config.replicaBuckets.map((r) => r.name).join(', ')}`);
      return s3;
    });
    const emulatorReady = timed('emulator', async () => {
      const { config, functions } = await built;
      emulator = await startCloudFrontEmulator({
        viewerRequest: functions['edge-viewer-request']!.file,
        originRequest: functions['edge-origin-request']!.file,
        originResponse: functions['edge-origin-response']!.file,
        edgeRegion: options.edgeRegion ?? 'us-east-1',
        origins: blobOriginGroup(config.edge),
        // The origin request policy's headers (the repository, for the fallback's Location) reach the
        // origin side; the cache key stays the path alone.
        forwardHeaders: [...DEFAULT_FORWARD_HEADERS, ...BLOB_CACHE.forwardedHeaders],
        ...(cacheOption ? { cache: { behaviour: BLOB_CACHE, maxBytes: cacheOption.maxBytes } } : {}),
        host: LOOPBACK,
        port: edgePort,
        ...(options.onAccess ? { onAccess: options.onAccess } : {}),
        ...(options.onFunctionLog ? { onFunctionLog: options.onFunctionLog } : {}),
      });
      return emulator;
    });
    const [{ config }, s3, image, edge] = await Promise.all([built, bucketsReady, imageReady, emulatorReady, pushed]);

    const clients: OverlayClient[] = [];
    for (const range of config.stage.ranges.overlay) {
      const client: OverlayClient = { cidr: range.cidr, cloud: range.cloud, region: range.region, address: sampleAddress(range.cidr) };
      if (options.relays) {
        client.relay = await startSourceRelay({ target: { host: LOOPBACK, port: edge.port }, localAddress: client.address });
        relays.push(client.relay);
      }
      clients.push(client);
    }

    // Ready means a pull works: the API root and the tag, through the edge, answer as they should.
    await timed('check', async () => {
      const base = await fetch(`${edge.url}/v2/`);
      if (base.status !== 200) throw new Error(`the emulator answers /v2/ with ${base.status}`);
      const manifest = await fetch(`${edge.url}/v2/${DEMO_REPOSITORY}/manifests/${DEMO_TAG}`, { method: 'HEAD', headers: { accept: image.index.mediaType } });
      if (manifest.status !== 200 || manifest.headers.get('docker-content-digest') !== image.index.digest) {
        throw new Error(`${DEMO_REPOSITORY}:${DEMO_TAG} through the emulator: ${manifest.status} ${manifest.headers.get('docker-content-digest') ?? ''}`);
      }
    });
    timings.total = Math.round(performance.now() - started);

    const registryHost = `${LOOPBACK}:${edge.port}`;
    const reference = `${DEMO_REPOSITORY}:${DEMO_TAG}`;
    if (options.stateFile) {
      writeStackState(options.stateFile, {
        stage: 'local',
        pid: process.pid,
        startedAt: new Date().toISOString(),
        endpoint: edge.url,
        s3Endpoint,
        region: config.stage.buckets.primaryRegion,
        configBucket: config.configBucket,
        pointerKey: config.stage.ranges.pointerKey,
        feeds: { aws: DEFAULT_AWS_FEED, gcp: DEFAULT_GCP_FEED },
      });
    }
    return {
      endpoint: edge.url,
      registryHost,
      ports: { edge: edge.port, s3: s3Port, registry: registryPort },
      s3Endpoint,
      registryUrl: registry!.url,
      buckets: { primary: config.primaryBucket, regional: { ...config.edge.buckets }, config: config.configBucket },
      config,
      image: { ...image, repository: DEMO_REPOSITORY, tag: DEMO_TAG, reference },
      s3,
      emulator: edge,
      clients,
      processes: [moto!.process, registry!.process],
      rangesPublished: ranges!,
      ...(options.stateFile ? { stateFile: options.stateFile } : {}),
      timings,
      pullCommand: (destination, via = registryHost) => `skopeo copy --src-tls-verify=false docker://${via}/${reference} dir:${destination}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
