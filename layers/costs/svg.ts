/**
 * Small SVG charts for the HTML report, as strings: horizontal bars (one value per row, negative values
 * to the left of zero) and vertical bars by category (stacked or side by side, with a legend). No
 * library: the page must render with no network, and a few hundred lines of chart code beat bundling a
 * charting library into a CLI. Every text is escaped; sizes are in CSS pixels.
 */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const AXIS = '#9aa3ad';
const GRID = '#e6e9ed';
const TEXT = '#1f2933';
const MUTED = '#52606d';

/** 1, 2 or 5 times a power of ten, at least `value / steps` per step: axis ticks people can read. */
export function niceStep(range: number, steps = 5): number {
  if (!(range > 0)) return 1;
  const raw = range / steps;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** A nice step in binary units (1, 2 or 5 KiB, MiB, GiB, ...), so byte axes read 0, 50 GiB, 100 GiB. */
export function niceByteStep(range: number, steps = 5): number {
  let unit = 1;
  while (unit * 1024 <= range && unit < 1024 ** 5) unit *= 1024;
  return niceStep(range / unit, steps) * unit;
}

/** Ticks covering [min, max], including 0. */
function ticks(min: number, max: number, steps = 5, stepOf: (range: number, steps: number) => number = niceStep): number[] {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const step = stepOf(hi - lo || 1, steps);
  const out: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= Math.ceil(hi / step) * step + step / 2; t += step) out.push(Math.round(t / step) * step);
  return out;
}

const n = (value: number) => (Math.round(value * 10) / 10).toString();
const text = (x: number, y: number, content: string, attrs = '') => `<text x="${n(x)}" y="${n(y)}" ${FONT} ${attrs}>${escapeXml(content)}</text>`;

export interface HorizontalRow {
  label: string;
  value: number;
  color: string;
  /** Shown at the bar's end instead of format(value). */
  note?: string;
}

export interface ChartOptions {
  title: string;
  format: (value: number) => string;
  width?: number;
  /** The axis step for a range (default: 1, 2, 2.5 or 5 times a power of ten; niceByteStep for bytes). */
  step?: (range: number, steps: number) => number;
}

/** One bar per row, labels on the left, values at the bars' ends. */
export function horizontalBars(rows: readonly HorizontalRow[], options: ChartOptions): string {
  const width = options.width ?? 560;
  const rowHeight = 28;
  const labelWidth = Math.min(220, Math.max(90, ...rows.map((r) => r.label.length * 7 + 12)));
  const valueRoom = 96;
  const top = 36;
  const height = top + rows.length * rowHeight + 30;
  const plotLeft = labelWidth;
  const plotWidth = width - labelWidth - valueRoom;
  const axis = ticks(Math.min(0, ...rows.map((r) => r.value)), Math.max(0, ...rows.map((r) => r.value)), 4, options.step);
  const lo = axis[0]!;
  const hi = axis[axis.length - 1]!;
  const x = (v: number) => plotLeft + ((v - lo) / (hi - lo || 1)) * plotWidth;
  const parts: string[] = [text(0, 20, options.title, `font-size="15" font-weight="600" fill="${TEXT}"`)];
  for (const t of axis) {
    parts.push(`<line x1="${n(x(t))}" y1="${top - 4}" x2="${n(x(t))}" y2="${top + rows.length * rowHeight}" stroke="${t === 0 ? AXIS : GRID}" stroke-width="1"/>`);
    parts.push(text(x(t), top + rows.length * rowHeight + 16, options.format(t), `font-size="10" fill="${MUTED}" text-anchor="middle"`));
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const x0 = x(Math.min(0, row.value));
    const x1 = x(Math.max(0, row.value));
    parts.push(text(plotLeft - 8, y + 18, row.label, `font-size="12" fill="${TEXT}" text-anchor="end"`));
    parts.push(`<rect x="${n(x0)}" y="${y + 5}" width="${n(Math.max(row.value === 0 ? 0 : 1, x1 - x0))}" height="${rowHeight - 10}" rx="2" fill="${row.color}"><title>${escapeXml(`${row.label}: ${row.note ?? options.format(row.value)}`)}</title></rect>`);
    const label = row.note ?? options.format(row.value);
    // A negative value's label goes right of the zero line, clear of the row labels on the left.
    parts.push(text(x1 + 6, y + 18, label, `font-size="11" fill="${TEXT}"`));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">${parts.join('')}</svg>`;
}

export interface Series {
  name: string;
  color: string;
  values: readonly number[];
}

export interface CategoryChartOptions extends ChartOptions {
  height?: number;
  /** Stack the series (bytes by path) rather than set them side by side (with vs without). */
  stacked?: boolean;
}

/** Vertical bars per category (days), a legend above. */
export function verticalBars(categories: readonly string[], series: readonly Series[], options: CategoryChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 280;
  const left = 64;
  const right = 12;
  const top = 56;
  const bottom = 44;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const totals = categories.map((_, c) => (options.stacked ? series.reduce((s, se) => s + Math.max(0, se.values[c] ?? 0), 0) : Math.max(0, ...series.map((se) => se.values[c] ?? 0))));
  const axis = ticks(0, Math.max(0, ...totals), 4, options.step);
  const hi = axis[axis.length - 1]! || 1;
  const y = (v: number) => top + plotHeight - (v / hi) * plotHeight;
  const slot = plotWidth / Math.max(1, categories.length);
  const gap = Math.min(12, slot * 0.2);
  const parts: string[] = [text(0, 20, options.title, `font-size="15" font-weight="600" fill="${TEXT}"`)];
  // Legend.
  let lx = 0;
  for (const s of series) {
    parts.push(`<rect x="${n(lx)}" y="32" width="10" height="10" rx="2" fill="${s.color}"/>`);
    parts.push(text(lx + 14, 41, s.name, `font-size="11" fill="${MUTED}"`));
    lx += 24 + s.name.length * 6.2;
  }
  for (const t of axis) {
    parts.push(`<line x1="${left}" y1="${n(y(t))}" x2="${width - right}" y2="${n(y(t))}" stroke="${t === 0 ? AXIS : GRID}" stroke-width="1"/>`);
    parts.push(text(left - 6, y(t) + 4, options.format(t), `font-size="10" fill="${MUTED}" text-anchor="end"`));
  }
  // Label every k-th category so labels never overlap (6 px a character and some room).
  const labelWidth = Math.max(0, ...categories.map((c) => c.length)) * 6 + 8;
  const every = Math.max(1, Math.ceil(labelWidth / slot));
  categories.forEach((category, c) => {
    const x0 = left + c * slot + gap / 2;
    const barWidth = slot - gap;
    if (options.stacked) {
      let base = 0;
      for (const s of series) {
        const v = Math.max(0, s.values[c] ?? 0);
        if (v > 0) parts.push(`<rect x="${n(x0)}" y="${n(y(base + v))}" width="${n(barWidth)}" height="${n(y(base) - y(base + v))}" fill="${s.color}"><title>${escapeXml(`${category} ${s.name}: ${options.format(v)}`)}</title></rect>`);
        base += v;
      }
    } else {
      const each = barWidth / Math.max(1, series.length);
      series.forEach((s, i) => {
        const v = Math.max(0, s.values[c] ?? 0);
        parts.push(`<rect x="${n(x0 + i * each)}" y="${n(y(v))}" width="${n(Math.max(1, each - 1))}" height="${n(y(0) - y(v))}" fill="${s.color}"><title>${escapeXml(`${category} ${s.name}: ${options.format(v)}`)}</title></rect>`);
      });
    }
    if (c % every === 0) parts.push(text(x0 + barWidth / 2, top + plotHeight + 16, category, `font-size="10" fill="${MUTED}" text-anchor="middle"`));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">${parts.join('')}</svg>`;
}
