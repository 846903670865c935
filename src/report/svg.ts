// Charts as static SVG strings, drawn here rather than by a charting library: the report needs
// a handful of line and bar charts, and hand-written SVG keeps report.html a few tens of KB
// with no JavaScript (so a strict CSP and no network at view time), adds no runtime
// dependency to the package, and needs no DOM. The research measured the alternatives
// (../shared/research/anchors-serving-packaging.md section 4): ECharts SSR pulls a 1.1 MB
// package in and reuses fixed clipPath ids across charts; Observable Plot needs jsdom and
// 2 s to start. Every chart draws its marks as path, rect or circle elements (the browser
// test counts them; data marks carry class="mark", axes and frames do not) and uses no ids, so any number of charts can share one page.

export type Scale = 'linear' | 'log';

export interface Series {
  name: string;
  /** [x, y] pairs; points with a non-finite or (on a log axis) non-positive coordinate are skipped. */
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Draw a dot at each point (default: when the series has at most 40 points). */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xScale?: Scale;
  yScale?: Scale;
  width?: number;
  height?: number;
  /** Ticks at exactly these x values (e.g. the values a grid tried) instead of round numbers. */
  xTicks?: readonly number[];
  /** A vertical marker, e.g. the epoch a model was kept at. */
  marker?: { x: number; label: string };
}

export interface BarGroup {
  label: string;
  /** One value per series; null draws no bar. */
  values: readonly (number | null)[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  series: readonly string[];
  width?: number;
  height?: number;
}

/** Colour-blind-safe (Okabe–Ito), in an order where neighbours contrast. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

/** Text for SVG and HTML alike: the five characters with a meaning in markup. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Short labels for ticks: 3 significant digits, k/M suffixes, no trailing zeros. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${trim((v / 1e3).toPrecision(3))}k`;
  if (a >= 1) return trim(v.toPrecision(Math.max(3, Math.floor(Math.log10(a)) + 1)));
  if (a >= 1e-3) return trim(v.toPrecision(3));
  return v.toExponential(1);
}

/**
 * Labels of a set of linear ticks with the decimals their step needs, so that 0.9095 and 0.9100
 * do not both read 0.91; large values keep formatTick's k/M form.
 */
export function tickLabels(ticks: readonly number[], scale: Scale = 'linear'): string[] {
  const big = Math.max(0, ...ticks.map(Math.abs)) >= 1e4;
  if (scale === 'log' || big) return ticks.map(formatTick);
  let decimals = 0;
  for (const t of ticks) {
    while (decimals < 8 && Math.abs(Number(t.toFixed(decimals)) - t) > Math.abs(t) * 1e-9 + 1e-12) decimals++;
  }
  return ticks.map((t) => (Object.is(Number(t.toFixed(decimals)), -0) ? 0 : t).toFixed(decimals));
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  // Rounding to the step's precision keeps 0.30000000000000004 out of the labels.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toFixed(digits)));
  return out;
}

/** Powers of ten over [lo, hi] (lo > 0), with 2 and 5 between them when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mult = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = a; e <= b; e++) for (const m of mult) out.push(m * 10 ** e);
  return out.filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9));
}

interface Axis {
  map(v: number): number;
  ticks: number[];
  labels: string[];
  ok(v: number): boolean;
}

function axis(values: number[], scale: Scale, from: number, to: number, opts: { zero?: boolean; ticks?: readonly number[] } = {}): Axis {
  const ok = (v: number) => Number.isFinite(v) && (scale === 'linear' || v > 0);
  const vs = values.filter(ok);
  let lo = vs.length ? Math.min(...vs) : 0;
  let hi = vs.length ? Math.max(...vs) : 1;
  if (scale === 'log') {
    if (!vs.length) [lo, hi] = [1, 10];
    if (hi / lo < 10 && !opts.ticks) {
      // A log axis over less than a decade would show one tick: widen to the decade around it.
      lo = 10 ** Math.floor(Math.log10(lo));
      hi = Math.max(hi, lo * 10);
    }
    const ticks = opts.ticks ? [...opts.ticks].filter(ok) : logTicks(lo, hi);
    const l0 = Math.log10(Math.min(lo, ...ticks));
    const l1 = Math.log10(Math.max(hi, ...ticks));
    const span = l1 - l0 || 1;
    return { ok, ticks, labels: tickLabels(ticks, 'log'), map: (v) => from + ((Math.log10(v) - l0) / span) * (to - from) };
  }
  if (opts.zero) lo = Math.min(lo, 0);
  if (hi === lo) {
    const pad = Math.abs(hi) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  } else if (!opts.ticks) {
    // A little headroom so the highest point does not sit on the frame.
    const pad = (hi - lo) * 0.05;
    hi += pad;
    if (!opts.zero || lo < 0) lo -= pad;
  }
  const ticks = opts.ticks ? [...opts.ticks] : niceTicks(lo, hi);
  const t0 = Math.min(lo, ...ticks);
  const t1 = Math.max(hi, ...ticks);
  return { ok, ticks, labels: tickLabels(ticks), map: (v) => from + ((v - t0) / (t1 - t0 || 1)) * (to - from) };
}

const n1 = (v: number) => (Math.round(v * 10) / 10).toString();

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}" class="chart">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600" ${FONT}>${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function legend(names: readonly string[], x: number, y: number, dashed: (i: number) => boolean = () => false): string[] {
  // One row, left to right; the caller leaves room for it under the title.
  const out: string[] = [];
  let at = x;
  names.forEach((name, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    out.push(`<path d="M${n1(at)},${y} h16" stroke="${c}" stroke-width="2.5"${dashed(i) ? ' stroke-dasharray="4 3"' : ''}/>`);
    out.push(`<text x="${n1(at + 20)}" y="${y + 4}" font-size="11" ${FONT}>${escapeXml(name)}</text>`);
    at += 30 + 6.2 * name.length;
  });
  return out;
}

function yAxis(y: Axis, left: number, right: number, label: string, top: number, bottom: number): string[] {
  const out = y.ticks.map((t, i) => {
    const py = n1(y.map(t));
    return `<path d="M${left},${py} H${right}" stroke="#e5e5e5"/><text x="${left - 6}" y="${py}" dy="0.32em" text-anchor="end" font-size="11" fill="#333" ${FONT}>${y.labels[i]}</text>`;
  });
  out.push(`<text transform="translate(14,${n1((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="#333" ${FONT}>${escapeXml(label)}</text>`);
  return out;
}

/** Lines (with optional dots) of one or more series over shared axes. */
export function lineChart(series: readonly Series[], o: LineChartOptions): string {
  const width = o.width ?? 460;
  const height = o.height ?? 280;
  const m = { top: 44, right: 18, bottom: 46, left: 64 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x = axis(o.marker ? [...xs, o.marker.x] : xs, o.xScale ?? 'linear', m.left, width - m.right, { ticks: o.xTicks });
  const y = axis(ys, o.yScale ?? 'linear', height - m.bottom, m.top);
  // Many x ticks (a 20-value grid) would collide: keep every n-th label.
  const every = Math.max(1, Math.ceil(x.ticks.length / Math.floor((width - m.left - m.right) / 46)));
  const body: string[] = [...yAxis(y, m.left, width - m.right, o.yLabel, m.top, height - m.bottom)];
  x.ticks.forEach((t, i) => {
    const px = n1(x.map(t));
    body.push(`<path d="M${px},${height - m.bottom} v4" stroke="#333"/>`);
    if (i % every === 0) body.push(`<text x="${px}" y="${height - m.bottom + 16}" text-anchor="middle" font-size="11" fill="#333" ${FONT}>${x.labels[i]}</text>`);
  });
  body.push(`<path d="M${m.left},${m.top} V${height - m.bottom} H${width - m.right}" fill="none" stroke="#333"/>`);
  body.push(`<text x="${n1((m.left + width - m.right) / 2)}" y="${height - 8}" text-anchor="middle" font-size="12" fill="#333" ${FONT}>${escapeXml(o.xLabel)}</text>`);
  if (o.marker && x.ok(o.marker.x)) {
    const px = n1(x.map(o.marker.x));
    body.push(`<path d="M${px},${m.top} V${height - m.bottom}" stroke="#888" stroke-dasharray="2 3"/>`);
    // Near the right edge the label goes to the left of the line, inside the frame.
    const left = x.map(o.marker.x) > width - m.right - 8 - 6 * o.marker.label.length;
    body.push(`<text x="${px}" y="${m.top + 10}" dx="${left ? -4 : 4}" text-anchor="${left ? 'end' : 'start'}" font-size="10" fill="#555" ${FONT}>${escapeXml(o.marker.label)}</text>`);
  }
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(([px, py]) => x.ok(px) && y.ok(py)).map(([px, py]) => [x.map(px), y.map(py)] as const);
    if (pts.length === 0) return;
    if (pts.length > 1) {
      const d = pts.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${n1(px)},${n1(py)}`).join('');
      body.push(`<path class="mark" d="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    }
    if (s.markers ?? pts.length <= 40) for (const [px, py] of pts) body.push(`<circle class="mark" cx="${n1(px)}" cy="${n1(py)}" r="3" fill="${c}"/>`);
  });
  if (series.length > 1 || series[0]?.name) body.push(...legend(series.map((s) => s.name), m.left, 32, (i) => series[i]!.dashed === true));
  return frame(width, height, o.title, body);
}

/** Bars side by side per group, one colour per series, from zero. */
export function barChart(groups: readonly BarGroup[], o: BarChartOptions): string {
  const longest = Math.max(0, ...groups.map((g) => g.label.length));
  // Long group labels (model names) are drawn slanted, which takes room below the axis.
  const slant = longest * 6.5 > Math.max(40, 380 / Math.max(1, groups.length));
  const width = o.width ?? Math.max(460, 90 + groups.length * (24 + 18 * o.series.length));
  // A label slanted at 35 degrees drops about 0.6 of its length (6.2 px a character at 11 px).
  const m = { top: 44, right: 18, bottom: slant ? 26 + Math.min(longest, 28) * 3.7 : 46, left: 64 };
  const height = (o.height ?? 280) + (slant ? m.bottom - 46 : 0);
  const values = groups.flatMap((g) => g.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const y = axis(values, 'linear', height - m.bottom, m.top, { zero: true });
  const body: string[] = [...yAxis(y, m.left, width - m.right, o.yLabel, m.top, height - m.bottom)];
  const band = (width - m.left - m.right) / Math.max(1, groups.length);
  const bar = Math.min(28, (band * 0.8) / Math.max(1, o.series.length));
  const base = y.map(Math.max(0, Math.min(...y.ticks)));
  groups.forEach((g, gi) => {
    const cx = m.left + band * (gi + 0.5);
    g.values.forEach((v, si) => {
      if (v === null || !Number.isFinite(v)) return;
      const px = cx - (bar * o.series.length) / 2 + bar * si;
      const py = y.map(v);
      const top = Math.min(py, base);
      body.push(`<rect class="mark" x="${n1(px)}" y="${n1(top)}" width="${n1(bar - 2)}" height="${n1(Math.max(0.5, Math.abs(base - py)))}" fill="${PALETTE[si % PALETTE.length]}"><title>${escapeXml(`${g.label} ${o.series[si]}: ${Number(v.toPrecision(4))}`)}</title></rect>`);
    });
    const label = g.label.length > 28 ? `${g.label.slice(0, 27)}…` : g.label;
    const ly = height - m.bottom + 14;
    body.push(
      slant
        ? `<text transform="translate(${n1(cx)},${ly}) rotate(-35)" text-anchor="end" font-size="11" fill="#333" ${FONT}>${escapeXml(label)}</text>`
        : `<text x="${n1(cx)}" y="${ly + 2}" text-anchor="middle" font-size="11" fill="#333" ${FONT}>${escapeXml(label)}</text>`,
    );
  });
  body.push(`<path d="M${m.left},${m.top} V${height - m.bottom} H${width - m.right}" fill="none" stroke="#333"/>`);
  if (o.series.length > 1) body.push(...legend(o.series, m.left, 32));
  return frame(width, height, o.title, body);
}
