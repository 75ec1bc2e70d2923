/**
 * The cost report as one self-contained HTML page (`cost-report --html FILE`): inline CSS and SVG
 * (./svg.ts), no script, no font, nothing fetched when it is opened. Charts of blob bytes and cost by path
 * and by day, with registry-edge and without it (the upstream registry serving every blob byte), the
 * table beside them, and the plan-regions ranking.
 */
import { type PathName, PATHS } from './attribute';
import type { Plan } from './plan';
import { type CostReport, formatBytes, formatMoney, PATH_LABELS } from './report';
import { escapeXml as esc, horizontalBars, niceByteStep, verticalBars } from './svg';

export const PATH_COLORS: Record<PathName, string> = {
  regionalSameRegion: '#2f9e44',
  regionalCrossRegion: '#94d82d',
  upstream: '#f76707',
  cdn: '#ae3ec9',
  cloudfront: '#1c7ed6',
  other: '#adb5bd',
};
/** Charts and their table side by side in a 1200 px window. */
const CHART_WIDTH = 480;
const WITHOUT = '#e03131';
const WITH = '#1971c2';

const count = (v: number) => v.toLocaleString('en-US');

/** The paths to show: the CDN only when the policy sent anyone there (few stages have one). */
const shownPaths = (report: CostReport): PathName[] => PATHS.filter((p) => p !== 'cdn' || report.paths.cdn.requests > 0);
const blobPathsOf = (report: CostReport): PathName[] => shownPaths(report).filter((p) => p !== 'other');

function pathTable(report: CostReport): string {
  const rows = shownPaths(report).map((path) => {
    const p = report.paths[path];
    const unknown = p.unknownSize > 0 ? ` <span class="muted">(+${count(p.unknownSize)} unknown)</span>` : '';
    return `<tr><td><span class="swatch" style="background:${PATH_COLORS[path]}"></span>${esc(PATH_LABELS[path])}</td><td>${count(p.requests)}</td><td>${count(p.downloads)}</td><td>${path === 'other' ? '-' : esc(formatBytes(p.bytes)) + unknown}</td><td>${esc(formatMoney(p.cost.total))}</td></tr>`;
  });
  const t = report.total;
  return `<table><thead><tr><th>path</th><th>requests</th><th>downloads</th><th>blob bytes</th><th>cost</th></tr></thead><tbody>${rows.join('')}</tbody>
<tfoot><tr><th>total</th><th>${count(t.requests)}</th><th>${count(t.downloads)}</th><th>${esc(formatBytes(t.bytes))}</th><th>${esc(formatMoney(t.cost.total))}</th></tr>
<tr class="baseline"><th>without registry-edge</th><th></th><th></th><th>${esc(formatBytes(report.baseline.bytes))}</th><th>${esc(formatMoney(report.baseline.cost))}</th></tr></tfoot></table>`;
}

function dayTable(report: CostReport): string {
  const blobPaths = blobPathsOf(report);
  const rows = report.days.map((d) => `<tr><td>${esc(d.day)}</td><td>${count(d.requests)}</td><td>${esc(formatBytes(blobPaths.reduce((s, p) => s + d.bytes[p], 0)))}</td><td>${esc(formatMoney(d.cost))}</td><td>${esc(formatMoney(d.baseline.cost))}</td></tr>`);
  return `<table><thead><tr><th>day (UTC)</th><th>requests</th><th>blob bytes</th><th>cost</th><th>without</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function planSection(plan: Plan | string): string {
  if (typeof plan === 'string') return `<p class="muted">No ranking: ${esc(plan)}.</p>`;
  const rows = [
    ...plan.candidates.map((r) => ({ ...r, label: r.region, kind: 'candidate', verdict: r.monthlyNetUsd > 0 ? 'worth a bucket' : 'not worth a copy' })),
    ...plan.existing.map((r) => ({ ...r, label: r.region, kind: 'existing', verdict: r.primary ? 'primary bucket: needed' : r.monthlyNetUsd > 0 ? 'bucket pays for itself' : 'bucket does not pay' })),
  ];
  const chart = horizontalBars(
    rows.map((r) => ({ label: r.kind === 'existing' ? `${r.region} (bucket)` : r.region, value: r.monthlyNetUsd, color: r.monthlyNetUsd > 0 ? '#2f9e44' : '#c92a2a' })),
    { title: 'Net saving a month of a bucket in each region', format: formatMoney, width: CHART_WIDTH },
  );
  const line = (r: (typeof rows)[number]) =>
    `<tr class="${r.kind}"><td>${esc(r.label)}</td><td>${esc(formatBytes(r.monthlyBytes))}</td><td>${esc(formatMoney(r.monthlySavingUsd))}</td><td>${esc(formatMoney(r.monthlyCostUsd))}</td><td class="${r.monthlyNetUsd > 0 ? 'good' : 'bad'}">${esc(formatMoney(r.monthlyNetUsd))}</td><td>${esc(r.verdict)}</td></tr>`;
  const table = `<table><thead><tr><th>region</th><th>bytes/month</th><th>saving</th><th>cost</th><th>net</th><th></th></tr></thead><tbody>${rows.map(line).join('')}</tbody></table>`;
  return `<div class="pair"><div class="chart">${chart}</div><div>${table}</div></div>
<p class="muted">Prices as of ${esc(plan.prices.asOf)}. Assumptions:</p><ul class="muted small">${plan.assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>`;
}

export function renderHtmlReport(report: CostReport, plan: Plan | string): string {
  const blobPaths = blobPathsOf(report);
  const period = report.period.from ? `${report.period.from} to ${report.period.to}` : 'no dates in the log';
  const bytesByPath = horizontalBars(
    [...blobPaths.map((p) => ({ label: PATH_LABELS[p], value: report.paths[p].bytes, color: PATH_COLORS[p] })), { label: 'without registry-edge', value: report.baseline.bytes, color: WITHOUT }],
    { title: 'Blob bytes by path', format: formatBytes, step: niceByteStep, width: CHART_WIDTH },
  );
  const costByPath = horizontalBars(
    [...shownPaths(report).map((p) => ({ label: PATH_LABELS[p], value: report.paths[p].cost.total, color: PATH_COLORS[p] })), { label: 'total', value: report.total.cost.total, color: WITH }, { label: 'without registry-edge', value: report.baseline.cost, color: WITHOUT }],
    { title: 'Cost by path', format: formatMoney, width: CHART_WIDTH },
  );
  // Days within one year read as "11-27": narrow enough to label every bar.
  const oneYear = new Set(report.days.map((d) => d.day.slice(0, 4))).size === 1;
  const days = report.days.map((d) => (oneYear ? d.day.slice(5) : d.day));
  const bytesByDay = verticalBars(days, blobPaths.map((p) => ({ name: PATH_LABELS[p], color: PATH_COLORS[p], values: report.days.map((d) => d.bytes[p]) })), { title: 'Blob bytes by day and path', format: formatBytes, stacked: true, step: niceByteStep, width: CHART_WIDTH });
  const costByDay = verticalBars(
    days,
    [
      { name: 'with registry-edge', color: WITH, values: report.days.map((d) => d.cost) },
      { name: 'without (all from upstream)', color: WITHOUT, values: report.days.map((d) => d.baseline.cost) },
    ],
    { title: 'Cost by day, with and without the redirects', format: formatMoney, width: CHART_WIDTH },
  );
  const savings = report.savings.percent === null ? 'no baseline' : `${report.savings.percent.toFixed(1)} %`;
  const s3 = report.s3Logs ? `; S3 access logs: ${count(report.s3Logs.files)} file(s), ${count(report.s3Logs.downloads)} measured download(s)` : '';
  // Where to look for the lines that were skipped (the notes say how many).
  const firstMalformed = [...report.input.malformed.examples, ...(report.s3Logs?.malformed.examples ?? [])][0];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>registry-edge cost report, ${esc(period)}</title>
<style>
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid #e6e9ed}
.muted{color:#52606d}.small{font-size:12px}
.kpis{display:flex;gap:16px;flex-wrap:wrap;margin:16px 0}
.kpi{border:1px solid #e6e9ed;border-radius:8px;padding:10px 16px;min-width:150px}
.kpi b{display:block;font-size:22px}.kpi span{color:#52606d;font-size:12px}
.pair{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
@media (min-width:1100px){.pair{flex-wrap:nowrap}}
.charts,.chart{flex:0 0 auto}.pair>div:last-child{overflow-x:auto}
svg{max-width:100%;height:auto}
.charts{display:flex;flex-direction:column;gap:18px}
table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;text-align:right;border-bottom:1px solid #eef0f2;white-space:nowrap}
th:first-child,td:first-child{text-align:left}thead th{color:#52606d;font-weight:600}tfoot th{border-top:2px solid #cbd2d9}
tr.baseline th{color:#c92a2a}.good{color:#2b8a3e;font-weight:600}.bad{color:#c92a2a}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
</style></head><body>
<h1>registry-edge cost report</h1>
<div class="muted">${esc(period)} · ${count(report.input.records)} requests in ${count(report.input.files)} log file(s)${esc(s3)} · stage ${esc(report.routing.stage ?? '-')} · prices ${esc(report.prices.currency)} as of ${esc(report.prices.asOf)}</div>
<div class="kpis">
<div class="kpi"><span>cost with registry-edge</span><b id="total-cost">${esc(formatMoney(report.total.cost.total))}</b></div>
<div class="kpi"><span>without (all from upstream)</span><b id="baseline-cost">${esc(formatMoney(report.baseline.cost))}</b></div>
<div class="kpi"><span>saved</span><b id="savings">${esc(formatMoney(report.savings.amount))}</b><span>${esc(savings)} of the baseline</span></div>
<div class="kpi"><span>blob bytes</span><b id="total-bytes">${esc(formatBytes(report.total.bytes))}</b><span>${count(report.total.downloads)} downloads</span></div>
</div>
<h2>By path</h2>
<div class="pair"><div class="charts">${bytesByPath}${costByPath}</div><div>${pathTable(report)}</div></div>
<h2>By day</h2>
${report.days.length ? `<div class="pair"><div class="charts">${bytesByDay}${costByDay}</div><div>${dayTable(report)}</div></div>` : '<p class="muted">The logs have no dates.</p>'}
<h2>Plan for the next region</h2>
${planSection(plan)}
<h2>Notes</h2>
<ul class="small">${report.notes.map((note) => `<li>${esc(note)}</li>`).join('')}${firstMalformed ? `<li>first malformed line at ${esc(firstMalformed.where)}: ${esc(firstMalformed.detail)}</li>` : ''}</ul>
<p class="muted small">Routing: ${esc(Object.entries(report.routing).map(([k, v]) => `${k} ${v}`).join('; '))}. Blob sizes: ${esc(report.sizes.sources.join('; ') || 'none given')}. Prices: ${esc(report.prices.source)}.</p>
</body></html>
`;
}
