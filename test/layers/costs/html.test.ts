/**
 * The HTML page and its SVG charts as strings (the rendering itself is checked in Chromium, in
 * test/e2e/cost-report-html.test.ts): text escaped, axes on readable steps, the CDN path shown only when
 * used, and the ranking or the reason there is none.
 */
import { analyzeLogs } from '../../../layers/costs/analyze';
import { renderHtmlReport } from '../../../layers/costs/html';
import type { LogInput } from '../../../layers/costs/log-files';
import { DEFAULT_PRICES, GB } from '../../../layers/costs/prices';
import { buildReport } from '../../../layers/costs/report';
import { sizesOf } from '../../../layers/costs/sizes';
import { escapeXml, horizontalBars, niceByteStep, niceStep, verticalBars } from '../../../layers/costs/svg';
import { testConfig } from '../../support/configs';
import { CLIENTS, COST_OVERLAY, costRouter, digestOf, logText, redirects } from '../../support/cost-logs';

test.each([
  [7, 2],
  [100, 25],
  [0.9, 0.25],
  [51_000, 20_000],
])('a range of %d gets axis steps of %d', (range, step) => {
  expect(niceStep(range, 4)).toBe(step);
});

test('byte axes step in binary units', () => {
  expect(niceByteStep(285 * GB, 4)).toBe(100 * GB);
  expect(niceByteStep(3 * 1024 ** 2, 4)).toBe(1024 ** 2);
});

test('labels are escaped', () => {
  const svg = horizontalBars([{ label: '<script>&"', value: 1, color: '#000' }], { title: "a'b", format: String });
  expect(svg).toContain('&lt;script&gt;&amp;&quot;');
  expect(svg).not.toContain('<script>');
  expect(escapeXml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  expect(verticalBars(['<d>'], [{ name: 'x&y', color: '#000', values: [1] }], { title: 't', format: String })).toContain('x&amp;y');
});

test('the CDN path appears only when the policy sent clients there; a missing ranking says why', async () => {
  const router = (override: Record<string, unknown> = {}) => costRouter(testConfig({ ...override, ranges: { overlay: COST_OVERLAY } }));
  const text = logText(redirects(CLIENTS.internet, digestOf('big'), 3, new Date('2026-11-01T00:00:00Z'), 1));
  const input: LogInput = { name: 'cf.log', open: async function* () { yield Buffer.from(text); } };
  const page = async (override = {}) => {
    const sizes = sizesOf(JSON.stringify({ [digestOf('big')]: GB }));
    const analysis = await analyzeLogs([input], router(override), { sizes });
    return renderHtmlReport(buildReport(analysis, analysis.tally.result(), { routing: {}, sizes: [], prices: DEFAULT_PRICES }), 'the catalogue is <unknown>');
  };
  const withCdn = await page({ routing: { cdn: { baseUrl: 'https://cdn.example.org/b/' }, policy: { internet: 'cdn' } } });
  expect(withCdn).toContain('CDN (routing.cdn)');
  expect(withCdn).toContain('No ranking: the catalogue is &lt;unknown&gt;.');
  // The default policy forwards internet clients: their 307s are mismatches, and no CDN is drawn.
  expect(await page()).not.toContain('CDN (routing.cdn)');
});
