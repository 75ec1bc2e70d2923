/**
 * The viewer handler measured whole: decisions per second on one core, next to the bare classifier.
 *
 * The bundled viewer-request function of the prod stage (tools/bundles.ts, as CloudFront runs it) gets
 * CloudFront-shaped events (layers/cloudfront/events.ts): blob GETs and HEADs from a mix of clients
 * (docker, containerd, podman, skopeo, cri-o; 70% IPv4 / 30% IPv6, half inside AWS space), one after
 * another, each awaited, with the blob-existence cache warm. The buckets are a local HTTP server (set as
 * the bucket endpoints when the bundle is built) that answers 200 to a HEAD (the blob is in the bucket) and
 * 404 to anything else (no newer range table); the run counts what it was asked while measuring, and
 * fails unless that is nothing. The
 * baselines, in the same run: the classifier alone (`lookupClientIp`) on the same client addresses; what
 * the loop itself costs (a call, an await, reading each event), measured with a trivial function; and the
 * floor: a hand-written handler doing only what any correct decision must (read the clock, classify,
 * check the path and its digest, look the blob up in a cache, answer), with no metrics, no range refresh,
 * one bucket for every region and no fallback planned. What the real handler costs above the floor is
 * what its other duties cost.
 *
 * Two ways of handing it the events, both measured:
 * - from a pool of 20,000 events made up front (`nsPerDecision`, the headline): every event is read from
 *   memory, most of it not in any cache;
 * - fresh (`freshNsPerDecision`): each event parsed from its JSON text just before it is handled, in
 *   batches of 64 whose parse is not timed, as the Lambda runtime parses each invocation's event and then
 *   calls the handler; the parse's allocations also push the range table out of the cache, as the
 *   runtime's own work does between invocations.
 *
 *   npx tsx bench/handler.ts
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudFrontRequestEvent, describeResult, viewerRequestEvent } from '../layers/cloudfront/events';
import { formatV4, formatV6, topMask } from '../layers/net/ip';
import { isLowerHexIn, isRepositoryNameIn } from '../layers/oci/paths';
import { snapshot } from '../test/support/snapshot';
import { buildTemporary } from '../tools/bundles';
import { record } from './results';
import { edgeFormLoader } from './support/edge-form';
import { seeded } from '../test/support/seeded';

const random = seeded(0x9e3779b9);
const u32 = () => Math.floor(random() * 2 ** 32) >>> 0;
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const CLIENTS = [
  'docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64 UpstreamClient(Docker-Client/27.3.1 \\(linux\\))',
  'containerd/v1.7.22',
  'libpod/4.3.1',
  'skopeo/1.9.3',
  'cri-o/1.31.1 go/go1.22.7 os/linux arch/amd64',
];
const IMAGES = ['library/alpine', 'pause', 'kube-apiserver', 'coredns/coredns', 'etcd'];

const { compiled } = snapshot();
const aws = compiled.data.entries.filter((e) => compiled.data.places[e.place]!.cloud === 'aws');
const aws4 = aws.filter((a) => a.cidr.family === 4);
const aws6 = aws.filter((a) => a.cidr.family === 6);

/** A client address: 70% IPv4, 30% IPv6, half inside AWS space (as bench/classify.ts). */
function clientIp(): string {
  const inside = random() < 0.5;
  if (random() >= 0.3) {
    if (!inside) return formatV4(u32());
    const e = pick(aws4);
    return formatV4((e.cidr.words[0]! | (u32() & ~topMask(e.cidr.length))) >>> 0);
  }
  const e = inside ? pick(aws6) : undefined;
  const words = e ? Array.from(e.cidr.words) : [0x2a000000 | (u32() & 0xffffff), 0, 0, 0];
  const length = e ? e.cidr.length : 24;
  for (let w = 0; w < 4; w++) words[w] = ((words[w]! & topMask(length - 32 * w)) | (u32() & ~topMask(length - 32 * w))) >>> 0;
  return formatV6(words);
}

function events(count: number, digests: string[]): CloudFrontRequestEvent[] {
  const out: CloudFrontRequestEvent[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      viewerRequestEvent({
        clientIp: clientIp(),
        method: random() < 0.2 ? 'HEAD' : 'GET',
        uri: `/v2/${pick(IMAGES)}/blobs/${pick(digests)}`,
        headers: { 'user-agent': pick(CLIENTS), accept: '*/*', 'accept-encoding': 'gzip' },
      }),
    );
  }
  // CloudFront hands the function parsed JSON: flat strings and plain objects, as here.
  return JSON.parse(JSON.stringify(out)) as CloudFrontRequestEvent[];
}

type Handler = (event: CloudFrontRequestEvent) => Promise<unknown>;

/** Nanoseconds per event, the pool handled once in order, each awaited. */
async function overPool(pool: readonly CloudFrontRequestEvent[], handle: Handler): Promise<number> {
  const start = process.hrtime.bigint();
  for (const event of pool) await handle(event);
  return Number(process.hrtime.bigint() - start) / pool.length;
}

const BATCH = 64;

/** Nanoseconds per event, each parsed from its text just before (in untimed batches), each awaited. */
async function overFresh(texts: readonly string[], handle: Handler): Promise<number> {
  const batch: CloudFrontRequestEvent[] = new Array(BATCH);
  let total = 0n;
  let handled = 0;
  for (let i = 0; i + BATCH <= texts.length; i += BATCH) {
    for (let j = 0; j < BATCH; j++) batch[j] = JSON.parse(texts[i + j]!) as CloudFrontRequestEvent;
    const start = process.hrtime.bigint();
    for (let j = 0; j < BATCH; j++) await handle(batch[j]!);
    total += process.hrtime.bigint() - start;
    handled += BATCH;
  }
  return Number(total) / handled;
}

/** The best of `rounds` measurements, after `warm` unrecorded ones. */
async function bestOf(rounds: number, measure: () => Promise<number>, warm = 0): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < warm + rounds; r++) {
    const ns = await measure();
    if (r >= warm) best = Math.min(best, ns);
  }
  return best;
}


/**
 * The floor: the least a correct blob decision does, written for this workload alone (sha256 blob paths;
 * every AWS client sent to one bucket, everyone else passed on), with the product's own checks of the
 * digest and the name. Not a handler to deploy: it counts nothing, refreshes nothing and plans no fallback.
 */
function floorHandler(table: { lookupClientIp(ip: string): number }, base: string): Handler {
  const cached = new Map<string, number>();
  return async (event) => {
    const request = event.Records[0]!.cf.request;
    const now = Date.now();
    const slot = table.lookupClientIp(request.clientIp);
    const uri = request.uri;
    const length = uri.length;
    if (uri.slice(0, 4) !== '/v2/' || uri.slice(length - 78, length - 64) !== '/blobs/sha256:') return request;
    // The digest's hex and the repository name, by the checks the product's path parser uses.
    const ok = isLowerHexIn(uri, length - 64, length) && isRepositoryNameIn(uri, 4, length - 78);
    if (!ok || slot < 0) return request;
    const digest = uri.slice(length - 71);
    const expires = cached.get(digest);
    if (expires === undefined) cached.set(digest, now + 60_000);
    else if (expires < now) return request;
    return {
      status: '307',
      statusDescription: 'Temporary Redirect',
      headers: { location: [{ key: 'Location', value: base + digest }], 'docker-distribution-api-version': [{ key: 'Docker-Distribution-Api-Version', value: 'registry/2.0' }] },
    };
  };
}

async function main() {
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches++;
    res.writeHead(req.method === 'HEAD' ? 200 : 404, { 'content-length': '0' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bucketHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bucketUrl = `http://${bucketHost}/{bucket}`;
  const build = await buildTemporary({ stage: 'prod', override: { buckets: { publicEndpoint: bucketUrl, apiEndpoint: bucketUrl } }, only: ['edge-viewer-request'] });
  try {
    const handler = build.load('edge-viewer-request');
    // The classifier in the form the bundle holds it: the bare baseline, and the floor's.
    const table = (await edgeFormLoader())(snapshot().compiled.bytes).table;
    const floor = floorHandler(table, `${bucketUrl.replace('{bucket}', 'bucket')}/containers/images/`);
    const digests = Array.from({ length: 200 }, (_, i) => `sha256:${createHash('sha256').update(`blob ${i}`).digest('hex')}`);
    const pool = events(20_000, digests);

    // Warm: every (bucket, blob) pair seen once, so the existence cache holds them; the JIT settles.
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      for (const event of pool) {
        const result = await handler(event);
        if (round === 0) {
          const summary = describeResult(result);
          const key = summary.action === 'redirect' ? `redirect to ${new URL(summary.location).host === bucketHost ? 'a bucket' : 'upstream'}` : `${summary.action}${'status' in summary ? ` ${summary.status}` : ''}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      }
    }
    const warmFetches = fetches;
    if (warmFetches === 0) throw new Error('the bucket server was never asked: the bundle does not use the endpoints it was built with');

    const rounds = Number(process.env.HANDLER_BENCH_ROUNDS ?? 10);
    const best = await bestOf(rounds, () => overPool(pool, handler));
    const fetchesWhileMeasured = fetches - warmFetches;

    // What the loop itself costs (a call, an await, the events read from memory): the trivial viewer
    // function, which passes every request on, over the same events, each awaited.
    const trivial = async (event: CloudFrontRequestEvent) => event.Records[0]!.cf.request;
    const trivialBest = await bestOf(rounds, () => overPool(pool, trivial), 3);
    let floorRedirects = 0;
    for (const event of pool) if ('status' in ((await floor(event)) as object)) floorRedirects++;
    const floorBest = await bestOf(rounds, () => overPool(pool, floor), 3);
    if (fetchesWhileMeasured !== 0) throw new Error(`the existence cache was not warm: ${fetchesWhileMeasured} fetches while measured`);

    // Fresh events: the handler, the floor and the trivial function take turns, round after round.
    const texts = pool.map((event) => JSON.stringify(event));
    const fresh = { handler: Infinity, floor: Infinity, trivial: Infinity };
    for (let r = 0; r < rounds; r++) {
      fresh.handler = Math.min(fresh.handler, await overFresh(texts, handler));
      fresh.floor = Math.min(fresh.floor, await overFresh(texts, floor));
      fresh.trivial = Math.min(fresh.trivial, await overFresh(texts, trivial));
    }
    if (fetches - warmFetches !== 0) throw new Error(`the existence cache was not warm: ${fetches - warmFetches} fetches while measured (fresh events)`);

    // The baseline: the classifier alone, on the same client addresses, in the form the bundle holds it.
    const ips = pool.map((e) => e.Records[0]!.cf.request.clientIp);
    let sink = 0;
    let bare = Infinity;
    for (let r = 0; r < 13; r++) {
      const start = process.hrtime.bigint();
      for (const ip of ips) sink += table.lookupClientIp(ip);
      if (r >= 3) bare = Math.min(bare, Number(process.hrtime.bigint() - start) / ips.length);
    }

    const result = {
      bench: 'handler',
      node: process.version,
      requests: pool.length,
      outcomes: Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, Number((v / pool.length).toFixed(3))])),
      nsPerDecision: Number(best.toFixed(1)),
      decisionsPerSec: Math.round(1e9 / best),
      baseline: 'RangeTable.lookupClientIp alone (bundled, as the edge runs it), same addresses, same run',
      classifierNsPerLookup: Number(bare.toFixed(1)),
      classifierLookupsPerSec: Math.round(1e9 / bare),
      handlerVsClassifier: Number((best / bare).toFixed(1)),
      trivialNsPerDecision: Number(trivialBest.toFixed(1)),
      trivialBaseline: 'a function returning the request, over the same events, each awaited (the loop\'s own cost)',
      floorNsPerDecision: Number(floorBest.toFixed(1)),
      floorDecisionsPerSec: Math.round(1e9 / floorBest),
      floorBaseline: 'a hand-written handler doing only clock, classify, path and digest check, cache lookup, answer (no metrics, no refresh, one bucket, no fallback), same events, same run',
      floorRedirectShare: Number((floorRedirects / pool.length).toFixed(3)),
      handlerVsFloor: Number((best / floorBest).toFixed(2)),
      freshNsPerDecision: Number(fresh.handler.toFixed(1)),
      freshDecisionsPerSec: Math.round(1e9 / fresh.handler),
      freshFloorNsPerDecision: Number(fresh.floor.toFixed(1)),
      freshFloorDecisionsPerSec: Math.round(1e9 / fresh.floor),
      freshTrivialNsPerDecision: Number(fresh.trivial.toFixed(1)),
      freshHandlerVsFloor: Number((fresh.handler / fresh.floor).toFixed(2)),
      fetchesWhileMeasured,
    };
    console.log(JSON.stringify(result, null, 2));
    record('handler', { decisionsPerSec: result.decisionsPerSec, nsPerDecision: result.nsPerDecision, classifierNsPerLookup: result.classifierNsPerLookup, handlerVsClassifier: result.handlerVsClassifier, trivialNsPerDecision: result.trivialNsPerDecision, floorDecisionsPerSec: result.floorDecisionsPerSec, handlerVsFloor: result.handlerVsFloor, freshDecisionsPerSec: result.freshDecisionsPerSec, freshFloorDecisionsPerSec: result.freshFloorDecisionsPerSec, freshHandlerVsFloor: result.freshHandlerVsFloor });
    if (sink === 0.5) console.log(sink);
  } finally {
    build.dispose();
    server.closeAllConnections();
    server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
