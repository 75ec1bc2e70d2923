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
 * baseline, in the same run: the classifier alone (`lookupClientIp`) on the same client addresses; and what
 * the loop itself costs (a call, an await, reading each event), measured with a trivial function.
 *
 *   npx tsx bench/handler.ts
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudFrontRequestEvent, describeResult, viewerRequestEvent } from '../layers/cloudfront/events';
import { formatV4, formatV6, topMask } from '../layers/net/ip';
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
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      for (const event of pool) await handler(event);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / pool.length);
    }
    const fetchesWhileMeasured = fetches - warmFetches;

    // What the loop itself costs (a call, an await, the events read from memory): the trivial viewer
    // function, which passes every request on, over the same events, each awaited.
    const trivial = async (event: CloudFrontRequestEvent) => event.Records[0]!.cf.request;
    let trivialBest = Infinity;
    for (let r = 0; r < rounds + 3; r++) {
      const start = process.hrtime.bigint();
      for (const event of pool) await trivial(event);
      if (r >= 3) trivialBest = Math.min(trivialBest, Number(process.hrtime.bigint() - start) / pool.length);
    }
    if (fetchesWhileMeasured !== 0) throw new Error(`the existence cache was not warm: ${fetchesWhileMeasured} fetches while measured`);

    // The baseline: the classifier alone, on the same client addresses, in the form the bundle holds it.
    const table = (await edgeFormLoader())(snapshot().compiled.bytes).table;
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
      fetchesWhileMeasured,
    };
    console.log(JSON.stringify(result, null, 2));
    record('handler', { decisionsPerSec: result.decisionsPerSec, nsPerDecision: result.nsPerDecision, classifierNsPerLookup: result.classifierNsPerLookup, handlerVsClassifier: result.handlerVsClassifier, trivialNsPerDecision: result.trivialNsPerDecision });
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
