/**
 * What the edge metrics write, per request: EMF bytes with the in-memory aggregation (one line per
 * dimension set per flush interval) against the baseline of one EMF document per request (what a
 * per-invocation flush, as Powertools does, writes at the edge), both measured in the same run on the
 * same traffic. Also the time the recording adds per request, against the same baseline.
 *
 * Traffic: the prod configuration's ten bucket regions, a mix of regional redirects (mostly cached
 * existence checks), CloudFront forwards, upstream redirects and generated answers; one instance taking
 * 1, 10 or 100 requests a second (simulated clock), flushing every `edgeMetrics.flushSeconds`. The
 * fewer requests an instance sees per interval, the less there is to aggregate: the cost per request
 * is highest for quiet instances (where it matters least).
 *
 *   npx tsx bench/edge-metrics.ts
 */
import { createViewerMetrics } from '../layers/metrics/edge';
import type { RefreshStatus } from '../layers/ranges/refresh';
import type { Decision } from '../layers/routing/policy';
import { loadStageConfig } from '../tools/build';
import { record } from './results';
import { seeded } from '../test/support/seeded';

const RATES = [1, 10, 100];
const REQUESTS = 30_000;
/** CloudWatch Logs bills each event's bytes plus 26 bytes of overhead per event. */
const EVENT_OVERHEAD = 26;
const USD_PER_GB = 0.5;

const random = seeded(0x1234567);

const { edge } = loadStageConfig({ stage: 'prod' });
const regions = Object.keys(edge.buckets);
const bucketDecision = (region: string): Decision => ({ action: 'redirect', status: 307, location: `https://${edge.buckets[region]}.s3.dualstack.${region}.amazonaws.com/${edge.blobPrefix}sha256:${'a'.repeat(64)}` });
const forward: Decision = { action: 'forward', uri: `/${edge.blobPrefix}sha256:${'a'.repeat(64)}`, querystring: '', repository: 'x' };
const upstream: Decision = { action: 'redirect', status: 307, location: `${edge.upstream.origin}/v2/x/manifests/1` };
const respond: Decision = { action: 'respond', status: 200, headers: {}, body: '{}' };
const status = { source: 'embedded', version: { aws: '1785313625', gcp: null }, metadata: { aws: { createDate: '2026-07-29-08-27-05' } } } as unknown as RefreshStatus;

type Request = { planned: Decision; decision: Decision; check?: { result: 'hit' | 'miss' | 'timeout' | 'error'; cached: boolean } };
function traffic(count: number): Request[] {
  const out: Request[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.45) {
      // Regional: most clients in a few regions; almost every check answered from memory.
      const region = regions[Math.min(regions.length - 1, Math.floor(-Math.log(random()) * 2))]!;
      const planned = bucketDecision(region);
      const c = random();
      if (c < 0.97) out.push({ planned, decision: planned, check: { result: 'hit', cached: true } });
      else if (c < 0.99) out.push({ planned, decision: planned, check: { result: 'hit', cached: false } });
      else out.push({ planned, decision: forward, check: { result: 'miss', cached: false } });
    } else if (r < 0.7) out.push({ planned: forward, decision: forward });
    else if (r < 0.97) out.push({ planned: upstream, decision: upstream });
    else out.push({ planned: respond, decision: respond });
  }
  return out;
}

function run(requests: Request[], rate: number, flushSeconds: number): { bytes: number; lines: number; events: number; nsPerRequest: number } {
  let clock = Date.UTC(2026, 11, 1);
  let bytes = 0;
  let lines = 0;
  const metrics = createViewerMetrics({
    service: 'edge-viewer-request',
    config: { ...edge, metrics: { flushSeconds } },
    now: () => clock,
    rangeStatus: () => status,
    write: (line) => {
      bytes += Buffer.byteLength(line) + 1;
      lines++;
    },
  });
  const step = 1000 / rate;
  const started = process.hrtime.bigint();
  for (const request of requests) {
    metrics.tick();
    if (request.check) metrics.checked(request.check);
    metrics.decided(request.planned, request.decision);
    // A per-request flush is the baseline: the same lines, written with every invocation.
    if (flushSeconds === 0) metrics.flush();
    clock += step;
  }
  const nsPerRequest = Number(process.hrtime.bigint() - started) / requests.length;
  metrics.flush();
  return { bytes, lines, events: lines, nsPerRequest };
}

function main() {
  const requests = traffic(REQUESTS);
  const flushSeconds = edge.metrics.flushSeconds;
  const perMillion = (r: { bytes: number; events: number }) => ((r.bytes + EVENT_OVERHEAD * r.events) / requests.length) * 1e6;
  const usdPerMillion = (r: { bytes: number; events: number }) => Number(((perMillion(r) / 1e9) * USD_PER_GB).toFixed(5));
  for (let i = 0; i < 2; i++) run(requests, 100, flushSeconds); // warm up
  const baseline = run(requests, 100, 0);
  const byRate: Record<string, Record<string, number>> = {};
  for (const rate of RATES) {
    const aggregated = run(requests, rate, flushSeconds);
    byRate[`${rate}PerSecond`] = {
      lines: aggregated.lines,
      linesPerFlush: Number((aggregated.lines / Math.ceil(REQUESTS / rate / flushSeconds)).toFixed(1)),
      bytesPerLine: Math.round(aggregated.bytes / aggregated.lines),
      bytesPerMillionRequests: Math.round(perMillion(aggregated)),
      usdPerMillionRequests: usdPerMillion(aggregated),
      bytesVsBaseline: Number((perMillion(aggregated) / perMillion(baseline)).toFixed(4)),
      nsPerRequest: Math.round(aggregated.nsPerRequest),
      timeVsBaseline: Number((aggregated.nsPerRequest / baseline.nsPerRequest).toFixed(3)),
    };
  }
  const result = {
    bench: 'edge-metrics',
    node: process.version,
    requests: requests.length,
    flushSeconds,
    usdPerGb: USD_PER_GB,
    eventOverheadBytes: EVENT_OVERHEAD,
    byRate,
    baseline: 'a flush with every request (as a per-invocation flush does): the same documents, same traffic, same run',
    baselineLines: baseline.lines,
    baselineBytesPerMillionRequests: Math.round(perMillion(baseline)),
    baselineUsdPerMillionRequests: usdPerMillion(baseline),
    baselineNsPerRequest: Math.round(baseline.nsPerRequest),
  };
  console.log(JSON.stringify(result, null, 2));
  record('edge-metrics', result);
}

main();
