/**
 * Classification speed (ns per lookup, against an ipaddr.js scan) and the table's load time.
 *
 * ns per lookup of a text address (parsing included) against the snapshot table, the edge's lazy lookup
 * (`lookupClientIp`) and the strict one (`lookup`, for untrusted text), next to the baseline, an ipaddr.js
 * linear scan over the same prefixes (the brute-force reference), in the same run. Workload: 70% IPv4 /
 * 30% IPv6, half of the addresses inside AWS space.
 * The classifier is measured as the edge runs it, bundled (see support/edge-form.ts). Both forms in one
 * process would share this file's timing loop and slow each other, so the source form is only checked for
 * the same answers.
 * Also: the table's load time (decode + index build, first load in this process and warm). The edge's
 * cold start and zip size are bench/edge-init.ts's.
 *
 *   npx tsx bench/classify.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatV4, formatV6, topMask } from '../layers/net/ip';
import { loadTable } from '../layers/net/load';
import { compileRanges } from '../layers/ranges/compile';
import { parseAwsFeed, parseGcpFeed } from '../layers/ranges/feeds';
import { DATA, snapshot } from '../test/support/snapshot';
import { record } from './results';
import { edgeFormLoader } from './support/edge-form';
import { seeded } from '../test/support/seeded';

// A small deterministic PRNG, so every run measures the same addresses.
const random = seeded(0x2545f491);
const u32 = () => Math.floor(random() * 2 ** 32) >>> 0;

function workload(count: number): string[] {
  const { compiled } = snapshot();
  const places = compiled.data.places;
  const aws = compiled.data.entries.filter((e) => places[e.place]!.cloud === 'aws');
  const aws4 = aws.filter((e) => e.cidr.family === 4);
  const aws6 = aws.filter((e) => e.cidr.family === 6);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const v6 = random() < 0.3;
    const inside = random() < 0.5;
    if (!v6) {
      if (inside) {
        const e = aws4[Math.floor(random() * aws4.length)]!;
        out.push(formatV4((e.cidr.words[0]! | (u32() & ~topMask(e.cidr.length))) >>> 0));
      } else {
        out.push(formatV4(u32()));
      }
    } else {
      const words = inside ? Array.from(aws6[Math.floor(random() * aws6.length)]!.cidr.words) : [0x2a000000 | (u32() & 0xffffff), 0, 0, 0];
      const length = inside ? aws6.find((e) => e.cidr.words[0] === words[0])!.cidr.length : 24;
      for (let w = 0; w < 4; w++) words[w] = ((words[w]! & topMask(length - 32 * w)) | (u32() & ~topMask(length - 32 * w))) >>> 0;
      out.push(formatV6(words));
    }
  }
  // Addresses reach the handler from a JSON event: flat strings, not the ropes string building leaves.
  return JSON.parse(JSON.stringify(out)) as string[];
}

function nsPerOp(addresses: string[], classify: (ip: string) => unknown, rounds: number): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (const ip of addresses) classify(ip);
    const ns = Number(process.hrtime.bigint() - start) / addresses.length;
    best = Math.min(best, ns);
  }
  return best;
}

/** Table load (decode without the structural walk, as the edge does, plus the index build): first in this process, then warm. */
function loadTimes(): { firstMs: number; warmMs: number } {
  const bytes = compileRanges({
    aws: parseAwsFeed(readFileSync(join(DATA, 'aws-ip-ranges.json'), 'utf8')),
    gcp: parseGcpFeed(readFileSync(join(DATA, 'gcp-cloud.json'), 'utf8')),
  }).bytes;
  const time = () => {
    const start = process.hrtime.bigint();
    loadTable(bytes, { check: false });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const firstMs = time();
  const warm: number[] = [];
  for (let i = 0; i < 50; i++) warm.push(time());
  return { firstMs, warmMs: warm.sort((a, b) => a - b)[25]! };
}

async function main() {
  const load = loadTimes();
  const { table: sourceTable, reference, compiled } = snapshot();
  const table = (await edgeFormLoader())(compiled.bytes).table;
  const addresses = workload(200_000);
  // The results are folded into a small integer: a sum would outgrow a small integer and then cost a
  // heap number allocation per call (a captured variable holding a double), measured here as 5-10 ns.
  let sink = 0;
  const fast = (ip: string) => {
    sink ^= table.lookupClientIp(ip);
  };
  nsPerOp(addresses, fast, 3); // warm up
  const fastNs = nsPerOp(addresses, fast, 10);
  const strict = (ip: string) => {
    sink ^= table.lookup(ip);
  };
  nsPerOp(addresses, strict, 3);
  const strictNs = nsPerOp(addresses, strict, 10);
  for (const ip of addresses.slice(0, 20_000)) {
    if (table.lookupClientIp(ip) !== sourceTable.lookupClientIp(ip)) throw new Error(`the bundled table and the source disagree on ${ip}`);
  }
  const sample = addresses.slice(0, 2_000);
  const baselineNs = nsPerOp(sample, (ip) => reference.classify(ip), 2);
  const inside = addresses.filter((ip) => table.classify(ip)?.cloud === 'aws').length / addresses.length;

  const result = {
    bench: 'classify',
    node: process.version,
    addresses: addresses.length,
    ipv6Share: Number((addresses.filter((a) => a.includes(':')).length / addresses.length).toFixed(3)),
    awsShare: Number(inside.toFixed(3)),
    prefixes: compiled.data.entries.length,
    nsPerLookup: Number(fastNs.toFixed(1)),
    lookup: 'RangeTable.lookupClientIp (the edge\'s, for CloudFront\'s well-formed clientIp), bundled as the edge bundles it',
    strictNsPerLookup: Number(strictNs.toFixed(1)),
    strictLookup: 'RangeTable.lookup (every character validated: CLI, access logs)',
    baseline: 'ipaddr.js linear scan (layers/net/reference.ts)',
    baselineNsPerLookup: Math.round(baselineNs),
    speedup: Math.round(baselineNs / fastNs),
    strictSpeedup: Math.round(baselineNs / strictNs),
    tableLoadMsFirst: Number(load.firstMs.toFixed(3)),
    tableLoadMsWarm: Number(load.warmMs.toFixed(3)),
    tableBytes: compiled.bytes.length,
  };
  console.log(JSON.stringify(result, null, 2));
  record('classify', {
    nsPerLookup: result.nsPerLookup,
    speedupVsIpaddr: result.speedup,
    strictNsPerLookup: result.strictNsPerLookup,
    strictSpeedupVsIpaddr: result.strictSpeedup,
    tableLoadMsFirst: result.tableLoadMsFirst,
  });
  if (sink === 0.5) console.log(sink); // keep the loop observable
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
