/**
 * plan-regions on generated logs whose answer is known: two days of pulls in which ap-south-1 (no bucket,
 * served cross-region from ap-southeast-1) pulls heavily, sa-east-1 (no bucket) pulls a trickle,
 * eu-west-1 pulls from its own bucket, and clients outside AWS pull too (never candidates).
 */
import { analyzeLogs } from '../../../layers/costs/analyze';
import type { LogInput } from '../../../layers/costs/log-files';
import { MONTH_SECONDS, PlanError, planRegions, RegionTally } from '../../../layers/costs/plan';
import { DEFAULT_PRICES, GB, resolvePrices } from '../../../layers/costs/prices';
import { NO_SIZES, type SizeLookup, sizesOf } from '../../../layers/costs/sizes';
import { CLIENTS, costConfig, costRouter, digestOf, type LogLineSpec, logText, redirects } from '../../support/cost-logs';

const config = costConfig();
const router = costRouter(config);
const BIG = digestOf('big'); // 1 GiB
const SMALL = digestOf('small'); // 10 MiB
const MiB = 1024 ** 2;
const sizes = sizesOf(JSON.stringify({ [BIG]: GB, [SMALL]: 10 * MiB }));
const DAY0 = new Date('2026-11-01T00:00:00Z');
const DAYS = 2;
const marker = (at: Date): LogLineSpec => ({ at, ip: CLIENTS.internet, uri: '/v2/', status: 200, scBytes: 300, resultType: 'LambdaGeneratedResponse' });

const LINES = [
  // The period: exactly two days, from the first line's second to the end of the last line's.
  marker(DAY0),
  marker(new Date(DAY0.getTime() + DAYS * 86_400_000 - 1000)),
  ...redirects(CLIENTS.apSouth, BIG, 400, DAY0, DAYS),
  ...redirects(CLIENTS.saEast, SMALL, 2, DAY0, DAYS),
  ...redirects(CLIENTS.euWest, BIG, 20, DAY0, DAYS),
  ...redirects(CLIENTS.usEast, SMALL, 4, DAY0, DAYS),
  ...redirects(CLIENTS.gcp, BIG, 50, DAY0, DAYS),
];
const input = (text: string): LogInput => ({ name: 'cf.log', open: async function* () { yield Buffer.from(text); } });

async function plan(options: { catalogBytes?: number; prices?: typeof DEFAULT_PRICES; lines?: LogLineSpec[]; text?: string; sizes?: SizeLookup } = {}) {
  const tally = new RegionTally();
  const analysis = await analyzeLogs([input(options.text ?? logText(options.lines ?? LINES))], router, { sizes: options.sizes ?? sizes, observe: tally.observe });
  return planRegions({ tally, period: analysis.tally.result().period, config: config.edge, prices: options.prices ?? DEFAULT_PRICES, sizes: options.sizes ?? sizes, ...(options.catalogBytes !== undefined ? { catalogBytes: options.catalogBytes } : {}) });
}

const perMonth = MONTH_SECONDS / (DAYS * 86_400);
const round = (usd: number) => Math.round(usd * 100) / 100;
// A copy of a 100 GiB catalogue, growing by the assumed 5 % a month: 5 GiB cross-region, one COPY per blob.
const averageBlob = (GB + 10 * MiB) / 2;
const BUCKET = round(100 * 0.023 + 5 * 0.02 + ((5 * GB) / averageBlob) * 0.000005);

test('the heavy region is ranked first and worth a bucket; the trickle is not worth a copy', async () => {
  const p = await plan({ catalogBytes: 100 * GB });
  expect(p.period).toEqual({ from: '2026-11-01T00:00:00Z', to: '2026-11-02T23:59:59Z', days: 2 });
  expect(p.candidates.map((c) => c.region)).toEqual(['ap-south-1', 'sa-east-1']);
  const [heavy, trickle] = p.candidates;
  const heavySaving = round(400 * 0.02 * perMonth);
  expect(heavy).toEqual({ region: 'ap-south-1', monthlyBytes: Math.round(400 * GB * perMonth), monthlySavingUsd: heavySaving, monthlyCostUsd: BUCKET, monthlyNetUsd: round(heavySaving - BUCKET) });
  expect(heavy!.monthlyNetUsd).toBeGreaterThan(100);
  const trickleSaving = round(((20 * MiB) / GB) * 0.02 * perMonth);
  expect(trickle).toEqual({ region: 'sa-east-1', monthlyBytes: Math.round(20 * MiB * perMonth), monthlySavingUsd: trickleSaving, monthlyCostUsd: BUCKET, monthlyNetUsd: round(trickleSaving - BUCKET) });
  expect(trickle!.monthlyNetUsd).toBeLessThan(0);
});

test('every bucket region is judged: eu-west-1 pays for itself, ap-southeast-1 (no clients of its own) does not', async () => {
  const p = await plan({ catalogBytes: 100 * GB });
  const euSaving = round(20 * 0.02 * perMonth);
  expect(p.existing).toEqual([
    { region: 'eu-west-1', monthlyBytes: Math.round(20 * GB * perMonth), monthlySavingUsd: euSaving, monthlyCostUsd: BUCKET, monthlyNetUsd: round(euSaving - BUCKET), primary: false },
    { region: 'us-east-1', monthlyBytes: Math.round(40 * MiB * perMonth), monthlySavingUsd: round(((40 * MiB) / GB) * 0.02 * perMonth), monthlyCostUsd: 2.3, monthlyNetUsd: expect.closeTo(round(((40 * MiB) / GB) * 0.02 * perMonth) - 2.3, 6), primary: true },
    { region: 'ap-southeast-1', monthlyBytes: 0, monthlySavingUsd: 0, monthlyCostUsd: BUCKET, monthlyNetUsd: -BUCKET, primary: false },
  ]);
});

test('the assumptions and the price table\'s date are named', async () => {
  const p = await plan({ catalogBytes: 100 * GB, prices: resolvePrices({ asOf: '2027-02', source: 'our contract' }) });
  expect(p.prices).toEqual({ asOf: '2027-02', source: 'our contract' });
  expect(p.assumptions.join('\n')).toMatch(/730 hours; the logged 2 day\(s\) \(2026-11-01T00:00:00Z to the end of 2026-11-02T23:59:59Z\) are scaled by 15\.21/);
});

test('a log written within one second covers one second', async () => {
  const p = await plan({ catalogBytes: 100 * GB, lines: [marker(DAY0), ...redirects(CLIENTS.apSouth, BIG, 3, DAY0, 0)] });
  expect(p.period).toEqual({ from: '2026-11-01T00:00:00Z', to: '2026-11-01T00:00:00Z', days: 0 });
  expect(p.candidates[0]).toMatchObject({ region: 'ap-south-1', monthlyBytes: 3 * GB * MONTH_SECONDS });
  expect(p.assumptions.join('\n')).toMatch(/100\.0 GiB at \$0\.023\/GB-month.*assumed 5 % of the catalogue a month/);
  expect(p.catalogue).toEqual({ bytes: 100 * GB, blobs: 2, monthlyGrowthBytes: 5 * GB, growthFrom: expect.stringMatching(/^assumed/) });
});

test('prices change the answer: free cross-region transfer makes no candidate worth it', async () => {
  const p = await plan({ catalogBytes: 100 * GB, prices: resolvePrices({ perGB: { s3CrossRegion: 0 } }) });
  expect(p.candidates.every((c) => c.monthlyNetUsd < 0)).toBe(true);
});

test('without --catalog-bytes the catalogue is the sum of the sizes; dated listings give the growth', async () => {
  const dated = sizesOf(JSON.stringify({ Contents: [
    { Key: BIG, Size: GB, LastModified: '2026-01-01T00:00:00Z' },
    // Written within the 90 days before the period's end (2026-11-02): 10 MiB in 90 days.
    { Key: SMALL, Size: 10 * MiB, LastModified: '2026-10-01T00:00:00Z' },
  ] }));
  const p = await plan({ sizes: dated });
  expect(p.catalogue.bytes).toBe(GB + 10 * MiB);
  expect(p.catalogue.monthlyGrowthBytes).toBe(Math.round(((10 * MiB) / 90) * (730 / 24)));
  expect(p.catalogue.growthFrom).toMatch(/^blobs written in the 90 day\(s\) up to 2026-11-02/);
});

test.each([
  ['no catalogue size', { sizes: NO_SIZES }, /catalogue's size is unknown: give --catalog-bytes N/],
  ['a log without dates', { text: `#Version: 1.0\n#Fields: c-ip cs-method cs-uri-stem sc-status\n${CLIENTS.apSouth}\tGET\t/v2/org/app/blobs/${BIG}\t307\n` }, /^the logs have no dates/],
])('%s is a PlanError naming what is missing', async (_name, options, message) => {
  await expect(plan(options)).rejects.toThrow(PlanError);
  await expect(plan(options)).rejects.toThrow(message);
});
