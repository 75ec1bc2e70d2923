/**
 * `cost-report --html` rendered for real: generated logs with a known answer go through the command, and
 * the page it writes is opened in headless Chromium (Debian package `chromium`), offline. The screenshot
 * must not be blank (decoded here, pixels counted, the charts' colours found) and the rendered text must
 * carry the labels, the totals and the plan-regions ranking the JSON report gives.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATH_COLORS } from '../../layers/costs/html';
import type { Plan } from '../../layers/costs/plan';
import { GB } from '../../layers/costs/prices';
import { type CostReport, formatBytes, formatMoney, PATH_LABELS } from '../../layers/costs/report';
import { requireTool } from '../../local/processes';
import { runCli } from '../support/cli';
import { blobUri, CLIENTS, COST_STAGE_CONFIG, digestOf, type LogLineSpec, logText, redirects } from '../support/cost-logs';
import { countColour, decodePng } from '../support/png';

const BIG = digestOf('big');
const SMALL = digestOf('small');
const DAY0 = new Date('2026-11-01T00:00:00Z');

let dir: string;
let args: string[];
let htmlFile: string;

function chromium(...more: string[]): Promise<string> {
  const binary = requireTool('chromium', 'chromium');
  const profile = mkdtempSync(join(dir, 'profile-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    execFile(binary, [...flags, ...more, `file://${htmlFile}`], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`chromium: ${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cost-html-'));
  const lines: LogLineSpec[] = [];
  for (let d = 0; d < 5; d++) {
    const day = new Date(DAY0.getTime() + d * 86_400_000);
    lines.push(...redirects(CLIENTS.apSouth, BIG, 30 + 5 * d, day, 1), ...redirects(CLIENTS.euWest, BIG, 10, day, 1), ...redirects(CLIENTS.saEast, SMALL, 2, day, 1), ...redirects(CLIENTS.gcp, BIG, 3, day, 1));
    for (let i = 0; i < 2 + d; i++) lines.push({ at: new Date(day.getTime() + i * 1000), ip: CLIENTS.internet, uri: blobUri(BIG), status: 200, scBytes: GB });
  }
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const log = file('cf.log', logText(lines));
  args = [
    '--config', file('test.json', JSON.stringify(COST_STAGE_CONFIG)),
    '--sizes', file('sizes.json', JSON.stringify({ [BIG]: GB, [SMALL]: 50 * 1024 ** 2 })),
    '--catalog-bytes', String(500 * GB),
    log,
  ];
  htmlFile = join(dir, 'report.html');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cost-report --html', () => {
  let report: CostReport;
  let plan: Plan;
  let html: string;

  beforeAll(() => {
    const result = runCli(['cost-report', ...args, '--html', htmlFile, '--json']);
    if (result.status !== 0) throw new Error(`cost-report failed (${result.status}): ${result.stderr}`);
    report = result.lines[0] as CostReport;
    expect(result.stderr).toContain(`wrote ${htmlFile}`);
    const planned = runCli(['plan-regions', ...args, '--json']);
    if (planned.status !== 0) throw new Error(`plan-regions failed (${planned.status}): ${planned.stderr}`);
    plan = planned.lines[0] as Plan;
    html = readFileSync(htmlFile, 'utf8');
  });

  it('is one self-contained file: inline SVG and CSS, no script, nothing to fetch', () => {
    expect(html.match(/<svg /g)?.length).toBe(5);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)=/i);
  });

  it('renders in Chromium to a picture that is not blank, with the charts in their colours', async () => {
    const png = join(dir, 'out.png');
    await chromium(`--screenshot=${png}`, '--window-size=1200,900', '--hide-scrollbars');
    const image = decodePng(readFileSync(png));
    expect([image.width, image.height]).toEqual([1200, 900]);
    let drawn = 0;
    for (let i = 0; i < image.pixels.length; i += image.channels) if (image.pixels[i]! < 240 || image.pixels[i + 1]! < 240 || image.pixels[i + 2]! < 240) drawn++;
    // Text, rules and bars: a blank or unstyled page is far below this.
    expect(drawn / (image.width * image.height)).toBeGreaterThan(0.05);
    // The first screen holds the by-path charts: each path's bars (more than its 10 px swatch in the
    // table), and the without-registry-edge bars.
    for (const path of ['regionalSameRegion', 'regionalCrossRegion', 'upstream', 'cloudfront'] as const) expect([path, countColour(image, PATH_COLORS[path]) > 150]).toEqual([path, true]);
    // No client was sent to a CDN: that path is not drawn at all.
    expect(countColour(image, PATH_COLORS.cdn)).toBe(0);
    expect(countColour(image, '#e03131')).toBeGreaterThan(1000);
  }, 120_000);

  it('shows the labels, the totals and the ranking the JSON gives', async () => {
    const dom = await chromium('--dump-dom');
    const text = dom.replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
    for (const label of ['registry-edge cost report', 'Blob bytes by path', 'Cost by path', 'Blob bytes by day and path', 'Cost by day, with and without the redirects', 'Plan for the next region', ...Object.values(PATH_LABELS).filter((l) => !l.startsWith('CDN'))]) expect(text).toContain(label);
    expect(text).not.toContain(PATH_LABELS.cdn);
    expect(dom).toContain(`<b id="total-cost">${formatMoney(report.total.cost.total)}</b>`);
    expect(dom).toContain(`<b id="baseline-cost">${formatMoney(report.baseline.cost)}</b>`);
    expect(dom).toContain(`<b id="savings">${formatMoney(report.savings.amount)}</b>`);
    expect(dom).toContain(`<b id="total-bytes">${formatBytes(report.total.bytes)}</b>`);
    // Five days: ap-south-1 200 GiB, eu-west-1 50 GiB, GCP 15 GiB, the internet 20 GiB, sa-east-1 10 × 50 MiB.
    expect(report.total.bytes).toBe((200 + 50 + 15 + 20) * GB + 10 * 50 * 1024 ** 2);
    // Every day, with its cost and its cost without registry-edge.
    expect(report.days.map((d) => d.day)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05']);
    for (const day of report.days) expect(text).toContain(`${day.day} ${day.requests} ${formatBytes(Object.values(day.bytes).reduce((a, b) => a + b, 0))} ${formatMoney(day.cost)} ${formatMoney(day.baseline.cost)}`);
    // The ranking: the same order and figures as plan-regions --json.
    expect(plan.candidates.map((c) => c.region)).toEqual(['ap-south-1', 'sa-east-1']);
    for (const r of [...plan.candidates, ...plan.existing]) expect(text).toContain(`${r.region} ${formatBytes(r.monthlyBytes)} ${formatMoney(r.monthlySavingUsd)} ${formatMoney(r.monthlyCostUsd)} ${formatMoney(r.monthlyNetUsd)}`);
    expect(text.indexOf('ap-south-1 ')).toBeLessThan(text.indexOf('sa-east-1 '));
    expect(text).toContain(`Prices as of ${plan.prices.asOf}`);
  }, 120_000);
});
