// report.html: one self-contained page (inline CSS and SVG, no script, no external resource),
// under a CSP that forbids everything but inline styles and data: images, so that opening it
// can neither fetch nor run anything. Every string that comes from a config, a data file or a
// metrics.json (names, ids, paths, parameter values) goes through escapeXml.
import { Document, isScalar, visit } from 'yaml';
import type { ItemPopularity, ModelMetrics, ReportData, Trial } from './data.js';
import { defaultColumns, metricKeys, renderLeaderboard, sortRows, type LeaderboardColumn, type LeaderboardRow } from './leaderboard.js';
import { barChart, escapeXml as esc, lineChart, type BarGroup, type Series } from './svg.js';

export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const BASELINE = 'popularity';

export interface RenderOptions {
  /** Columns to add to the leaderboard (e.g. confidence intervals), after the default ones. */
  extraColumns?: LeaderboardColumn[];
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #666; margin: 0 0 12px; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 12px; }
.card { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; padding: 6px 10px; min-width: 86px; }
.card b { display: block; font-size: 18px; }
.card span { color: #666; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
svg.chart { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e2e4e8; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f3; }
th.group { text-align: center; }
table.leaderboard { font-size: 12px; } table.leaderboard th, table.leaderboard td { padding: 3px 6px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { background: #fafafa; color: #555; }
.up { color: #1a7f37; font-size: 11px; } .down { color: #c62828; font-size: 11px; }
.tag { font-size: 11px; color: #666; border: 1px solid #ccc; border-radius: 3px; padding: 0 3px; }
.na, .note { color: #777; }
pre { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; padding: 10px; overflow-x: auto; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
dt { color: #666; } dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 12px; }
`;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (f: number) => `${(f * 100).toFixed(f < 0.001 ? 3 : 1)}%`;

function card(value: string, label: string): string {
  return `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

/** The split the leaderboard shows: test when the run has one. */
function shownSplit(models: readonly ModelMetrics[]): 'test' | 'valid' {
  return models.some((m) => m.test) ? 'test' : 'valid';
}

function baselineOf(models: readonly ModelMetrics[], split: 'test' | 'valid'): Record<string, number> | null {
  for (const m of models) {
    // metrics.json's `baseline` holds the test figures (validation when there is no test).
    const b = split === 'test' ? m.baseline?.[BASELINE] : m.baseline_valid?.[BASELINE];
    if (b) return b;
  }
  return null;
}

/** The metric a model is ranked by: the tuning's, else NDCG at the smallest K. */
function mainMetric(models: readonly ModelMetrics[]): string {
  const tuned = models.find((m) => m.tuning)?.tuning?.by;
  if (tuned) return tuned;
  const keys = models.flatMap((m) => Object.keys(m.test ?? m.valid ?? {}));
  return keys.filter((k) => k.startsWith('ndcg@')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))[0] ?? keys[0] ?? 'ndcg@10';
}

function datasetSection(data: ReportData): string {
  const d = data.run.dataset;
  const pop = data.run.item_popularity;
  const out = ['<h2 id="dataset">Dataset</h2>'];
  if (!d) return `${out[0]}<p class="note">No dataset summary was recorded.</p>`;
  const density = d.users > 0 && d.items > 0 ? d.rows / (d.users * d.items) : 0;
  out.push(
    `<div class="cards">${[
      card(int(d.users), 'users'),
      card(int(d.items), 'items'),
      card(int(d.rows), 'interactions kept'),
      card(pct(density), 'density'),
      card(int(d.train), 'train'),
      card(int(d.valid), 'validation'),
      card(int(d.test), 'test'),
      card(int(d.usersEvaluated), 'users evaluated'),
      ...(d.usersWithoutTrain > 0 ? [card(int(d.usersWithoutTrain), 'users without training rows (left out)')] : []),
    ].join('')}</div>`,
  );
  if (pop) out.push(longTail(pop));
  return out.join('\n');
}

function longTail(pop: ItemPopularity): string {
  const chart = lineChart([{ name: '', points: pop.curve, markers: false }], {
    title: 'Item popularity (long tail), training matrix',
    xLabel: 'item rank (1 = most popular), log scale',
    yLabel: 'users with the item (log)',
    xScale: 'log',
    yScale: 'log',
    width: 560,
    height: 300,
  });
  const t = pop.topShare;
  const note =
    `<p>The most popular 1 % of items hold ${pct(t['1%'])} of the ${int(pop.interactions)} training interactions, the top 10 % hold ${pct(t['10%'])} and the top 20 % ${pct(t['20%'])}.` +
    (pop.itemsWithoutTrain > 0 ? ` ${int(pop.itemsWithoutTrain)} of ${int(pop.items)} items have no training interaction (only in validation or test; not drawn on the log scale).` : '') +
    '</p>';
  return `<div class="charts">${chart}</div>${note}`;
}

/** The objective's bootstrap interval from leaderboard.json, and whether the row is the best or indistinguishable from it. */
function intervalColumns(data: ReportData): LeaderboardColumn[] {
  const lb = data.leaderboard;
  if (!lb || !Array.isArray(lb.models)) return [];
  const metric = lb.objective;
  const cellOf = (row: LeaderboardRow) => lb.models.find((m) => m.name === row.name)?.metrics[metric];
  const level = `${Math.round(lb.bootstrap.level * 100)} %`;
  return [
    {
      header: `${metric} ${level} CI`,
      title: `Percentile interval of the mean over users, paired bootstrap (${lb.bootstrap.resamples} resamples, seed ${lb.bootstrap.seed})`,
      numeric: true,
      cell: (row) => {
        const c = cellOf(row);
        return c?.ci ? `${c.ci[0].toFixed(4)} – ${c.ci[1].toFixed(4)}` : '';
      },
    },
    {
      header: 'vs best',
      title: `best: the highest ${metric}; ≈ best: the paired interval of the difference to the best contains 0; below: significantly worse`,
      cell: (row) => {
        const c = cellOf(row);
        if (!c) return '';
        if (c.best) return 'best';
        return c.not_significantly_worse === null ? '' : c.not_significantly_worse ? '≈ best' : 'below';
      },
    },
  ];
}

/** Metrics of the second leaderboard table. */
const BEYOND_ACCURACY = new Set(['f1', 'auc', 'coverage', 'novelty']);

function leaderboardSection(data: ReportData, opts: RenderOptions): string {
  if (!data.models.some((m) => m.valid || m.test)) {
    return '<h2 id="leaderboard">Leaderboard</h2>\n<p class="note">Nothing was evaluated: the run held out no validation or test rows (split strategy none).</p>';
  }
  const split = shownSplit(data.models);
  const base = baselineOf(data.models, split);
  // A popularity model in the config is the baseline itself: one row, not two equal ones.
  const rows: LeaderboardRow[] = data.models.map((m) => ({ name: m.name, type: m.model, baseline: m.model === BASELINE, metrics: m[split] ?? null, train_seconds: m.train_seconds ?? null, source: m }));
  if (base && !rows.some((r) => r.baseline)) rows.push({ name: BASELINE, type: BASELINE, baseline: true, metrics: base, train_seconds: null });
  const keys = metricKeys(rows);
  const by = mainMetric(data.models);
  const users = data.run.dataset?.usersEvaluated ?? data.models[0]?.users_evaluated;
  // Accuracy at every K in one table (with the objective's interval), what lies beyond
  // accuracy (F1, AUC, coverage, novelty) in a second: one table of both does not fit a page.
  const beyond = keys.filter((k) => BEYOND_ACCURACY.has(k.split('@')[0]!));
  const accuracy = keys.filter((k) => !beyond.includes(k));
  const cols = [...defaultColumns(accuracy, base), ...intervalColumns(data), ...(opts.extraColumns ?? [])];
  const sorted = sortRows(rows, by);
  return [
    '<h2 id="leaderboard">Leaderboard</h2>',
    `<p class="sub">${split === 'test' ? 'Test' : 'Validation'} metrics${users !== undefined ? ` over ${int(users)} users` : ''}, sorted by ${esc(by)}; under each value, the change over the popularity baseline (green: better).</p>`,
    `<div class="scroll">${renderLeaderboard(sorted, cols)}</div>`,
    ...(beyond.length > 0
      ? [
          '<p class="sub">Beyond accuracy: F1, AUC (every held-out item against every unseen one), catalogue coverage (share of items in anyone\'s list) and novelty (mean training popularity of the recommended items, share of users; lower is more novel).</p>',
          `<div class="scroll">${renderLeaderboard(sorted, defaultColumns(beyond, base).filter((c) => c.header !== 'fit (s)'))}</div>`,
        ]
      : []),
  ].join('\n');
}

function validVsTestSection(data: ReportData): string {
  const withBoth = data.models.filter((m) => m.valid && m.test);
  if (withBoth.length === 0) return '';
  const by = mainMetric(data.models);
  const keys = [...new Set([by, ...(by.startsWith('ndcg@') ? [by.replace('ndcg@', 'recall@')] : []), ...(withBoth.some((m) => m.test && 'rmse' in m.test) ? ['rmse'] : [])])];
  const baseV = baselineOf(data.models, 'valid');
  const baseT = baselineOf(data.models, 'test');
  const charts = keys.map((key) => {
    const groups: BarGroup[] = withBoth.map((m) => ({ label: m.name, values: [m.valid![key] ?? null, m.test![key] ?? null] }));
    if (!withBoth.some((m) => m.model === BASELINE) && (baseV?.[key] !== undefined || baseT?.[key] !== undefined)) groups.push({ label: BASELINE, values: [baseV?.[key] ?? null, baseT?.[key] ?? null] });
    return barChart(groups, { title: `${key}: validation and test`, yLabel: key, series: ['validation', 'test'] });
  });
  return [
    '<h2 id="valid-test">Validation against test</h2>',
    '<p class="sub">Each model\'s validation and test scores side by side. Its parameters (a grid\'s values, the epoch bpr and mf keep) were chosen on validation, so a test score well below the validation one means the choice fitted the validation users rather than the data.</p>',
    `<div class="charts">${charts.join('\n')}</div>`,
  ].join('\n');
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** At each value of `param`, the trial with the best validation score over the other parameters. */
function bestPerValue(trials: readonly Trial[], param: string, values: readonly unknown[], by: string): { value: unknown; trial: Trial }[] {
  const lower = by === 'rmse' || by === 'mae';
  const score = (t: Trial) => t.valid?.[by] ?? (lower ? Infinity : -Infinity);
  return values.flatMap((value) => {
    const ts = trials.filter((t) => t.params[param] === value);
    if (ts.length === 0) return [];
    const trial = ts.reduce((a, b) => (lower ? (score(b) < score(a) ? b : a) : score(b) > score(a) ? b : a));
    return [{ value, trial }];
  });
}

function tuningCharts(m: ModelMetrics): string[] {
  const t = m.tuning!;
  const params = Object.keys(t.grid);
  const charts: string[] = [];
  for (const p of params) {
    const best = bestPerValue(t.trials, p, t.grid[p]!, t.by);
    if (best.every((b) => isNumber(b.value))) {
      const xs = best.map((b) => b.value as number);
      const log = xs.every((x) => x > 0) && Math.max(...xs) / Math.min(...xs) >= 4;
      const series: Series[] = [
        { name: 'validation', points: best.map((b) => [b.value as number, b.trial.valid?.[t.by] ?? NaN]) },
        { name: 'test', points: best.map((b) => [b.value as number, b.trial.test?.[t.by] ?? NaN]), dashed: true },
      ];
      charts.push(lineChart(series, { title: `${m.name}: ${t.by} against ${p}`, xLabel: `${p}${log ? ' (log scale)' : ''}`, yLabel: t.by, xScale: log ? 'log' : 'linear', xTicks: xs, width: 500 }));
    } else {
      const groups = best.map((b) => ({ label: String(b.value), values: [b.trial.valid?.[t.by] ?? null, b.trial.test?.[t.by] ?? null] }));
      charts.push(barChart(groups, { title: `${m.name}: ${t.by} against ${p}`, yLabel: t.by, series: ['validation', 'test'] }));
    }
  }
  // svd's explained variance per rank: the seed notebook's n_factors plot, beside the metric.
  const ev = t.trials.filter((x) => Array.isArray(x.fit?.explained_variance_ratio) && isNumber(x.params.factors));
  if (ev.length > 1 && params.includes('factors')) {
    const byFactors = new Map<number, number>();
    for (const x of ev) {
      const total = (x.fit!.explained_variance_ratio as number[]).reduce((a, b) => a + b, 0);
      byFactors.set(x.params.factors as number, Math.max(byFactors.get(x.params.factors as number) ?? 0, total));
    }
    const pts = [...byFactors].sort((a, b) => a[0] - b[0]);
    const xs = pts.map((p) => p[0]);
    const log = Math.max(...xs) / Math.min(...xs) >= 4;
    charts.push(lineChart([{ name: '', points: pts }], { title: `${m.name}: explained variance against factors`, xLabel: `factors${log ? ' (log scale)' : ''}`, yLabel: 'explained variance (share)', xScale: log ? 'log' : 'linear', xTicks: xs, width: 500 }));
  }
  return charts;
}

function trialsTable(m: ModelMetrics): string {
  const t = m.tuning!;
  const params = Object.keys(t.grid);
  const lower = t.by === 'rmse' || t.by === 'mae';
  const score = (x: Trial) => x.valid?.[t.by] ?? (lower ? Infinity : -Infinity);
  const sorted = [...t.trials].sort((a, b) => (lower ? score(a) - score(b) : score(b) - score(a)));
  const LIMIT = 50;
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(4));
  const rows = sorted
    .slice(0, LIMIT)
    .map((x) => `<tr>${params.map((p) => `<td>${esc(String(x.params[p]))}</td>`).join('')}<td class="num">${fmt(x.valid?.[t.by])}</td><td class="num">${fmt(x.test?.[t.by])}</td><td class="num">${x.train_seconds.toFixed(2)}</td></tr>`)
    .join('\n');
  const more = t.trials.length > LIMIT ? `<p class="note">The ${t.trials.length - LIMIT} other trials are in ${esc(m.name)}/metrics.json.</p>` : '';
  return `<div class="scroll"><table><thead><tr>${params.map((p) => `<th>${esc(p)}</th>`).join('')}<th class="num">valid ${esc(t.by)}</th><th class="num">test ${esc(t.by)}</th><th class="num">fit (s)</th></tr></thead><tbody>\n${rows}\n</tbody></table></div>${more}`;
}

/** A hybrid's weight search, as metrics.json's `fit.tuning` holds it. */
interface BlendTuning {
  k: number;
  users: number;
  candidates: number;
  start: number;
  score: number;
  weights: Record<string, number>;
  alone: Record<string, number>;
}

function isBlendTuning(t: unknown): t is BlendTuning {
  const x = t as Partial<BlendTuning> | null | undefined;
  return typeof x === 'object' && x !== null && typeof x.score === 'number' && typeof x.weights === 'object' && x.weights !== null && typeof x.alone === 'object' && x.alone !== null;
}

function tuningSection(data: ReportData): string {
  const tuned = data.models.filter((m) => m.tuning && m.tuning.trials.length > 0);
  const single = data.models.filter((m) => !m.tuning && Array.isArray(m.fit?.explained_variance_ratio));
  const blends = data.models.filter((m) => isBlendTuning(m.fit?.tuning));
  if (tuned.length === 0 && single.length === 0 && blends.length === 0) return '';
  const out = ['<h2 id="tuning">Tuning curves</h2>'];
  for (const m of tuned) {
    const kept = Object.keys(m.tuning!.grid).map((p) => `${p} = ${String(m.params[p])}`).join(', ');
    // With several tuned parameters each chart shows, per value, the best trial over the others.
    const over = Object.keys(m.tuning!.grid).length > 1 ? '; each point: the best trial at that value' : '';
    out.push(`<h3>${esc(m.name)} <span class="note">(${esc(m.model)}; ${m.tuning!.trials.length} trials chosen by validation ${esc(m.tuning!.by)}; kept ${esc(kept)}${over})</span></h3>`);
    out.push(`<div class="charts">${tuningCharts(m).join('\n')}</div>`);
    out.push(trialsTable(m));
  }
  for (const m of blends) {
    // A hybrid's weights were chosen on validation: each part alone beside the blend.
    const t = m.fit!.tuning as BlendTuning;
    const fmt = (v: number) => v.toFixed(4);
    const rows = Object.entries(t.weights)
      .map(([n, w]) => `<tr><td>${esc(n)}</td><td class="num">${w.toFixed(3)}</td><td class="num">${n in t.alone ? fmt(t.alone[n]!) : '—'}</td></tr>`)
      .join('\n');
    out.push(`<h3>${esc(m.name)} <span class="note">(${esc(m.model)}; weights chosen on validation ndcg@${t.k} over ${t.candidates} candidates and ${t.users} users: ${fmt(t.score)}, from ${fmt(t.start)} with the configured weights)</span></h3>`);
    out.push(`<div class="scroll"><table><thead><tr><th>part</th><th class="num">weight</th><th class="num">valid ndcg@${t.k} alone</th></tr></thead><tbody>\n${rows}\n</tbody></table></div>`);
  }
  for (const m of single) {
    // One svd without a grid: its spectrum still says how much each extra factor explains.
    const ratio = m.fit!.explained_variance_ratio as number[];
    let sum = 0;
    const pts = ratio.map((r, i) => [i + 1, (sum += r)] as [number, number]);
    out.push(`<h3>${esc(m.name)} <span class="note">(${esc(m.model)})</span></h3>`);
    out.push(`<div class="charts">${lineChart([{ name: '', points: pts }], { title: `${m.name}: cumulative explained variance`, xLabel: 'factors', yLabel: 'explained variance (share)', width: 500 })}</div>`);
  }
  return out.join('\n');
}

/** Which fields of a learning curve are drawn, and together on which chart. */
const CURVE_CHARTS: { keys: string[]; labels: string[]; title: string; y: string }[] = [
  { keys: ['loss'], labels: ['loss'], title: 'training loss', y: 'loss' },
  { keys: ['trainRmse', 'validRmse'], labels: ['train', 'validation'], title: 'RMSE', y: 'RMSE' },
  { keys: ['auc'], labels: ['train AUC'], title: 'train AUC (sampled)', y: 'AUC' },
  { keys: ['valid'], labels: ['validation'], title: 'validation metric', y: 'validation' },
];

function learningSection(data: ReportData): string {
  const out: string[] = [];
  const without: string[] = [];
  for (const m of data.models) {
    const curve = Array.isArray(m.curve) ? m.curve : [];
    if (curve.length === 0) {
      without.push(m.name);
      continue;
    }
    const x = (e: Record<string, unknown>, i: number) => (isNumber(e.epoch) ? e.epoch : isNumber(e.iteration) ? e.iteration : i + 1);
    const last = curve[curve.length - 1]!;
    const best = isNumber(last.bestEpoch) ? last.bestEpoch : null;
    const validName = m.model === 'bpr' && isNumber(m.params.k) ? `validation NDCG@${m.params.k}` : 'validation metric';
    const charts = CURVE_CHARTS.flatMap((c) => {
      const series = c.keys
        .map((k, i) => ({ name: c.keys.length > 1 ? c.labels[i]! : '', points: curve.flatMap((e, j) => (isNumber(e[k]) ? [[x(e, j), e[k] as number] as [number, number]] : [])) }))
        .filter((s) => s.points.length > 0);
      if (series.length === 0) return [];
      const title = c.keys[0] === 'valid' ? validName : c.title;
      return [lineChart(series, { title: `${m.name}: ${title}`, xLabel: 'epoch', yLabel: c.keys[0] === 'valid' ? validName : c.y, width: 370, height: 250, ...(best !== null ? { marker: { x: best, label: `kept: ${best}` } } : {}) })];
    });
    if (charts.length === 0) {
      without.push(m.name);
      continue;
    }
    out.push(`<h3>${esc(m.name)} <span class="note">(${esc(m.model)}, ${curve.length} ${m.model === 'als' ? 'iterations' : 'epochs'})</span></h3><div class="charts">${charts.join('\n')}</div>`);
  }
  if (out.length === 0 && without.length === 0) return '';
  const note = without.length ? `<p class="note">No per-iteration curve recorded for ${without.map(esc).join(', ')} (bpr and mf record one per epoch; als records its training loss with <code>compute_loss: true</code>; the others fit in one step).</p>` : '';
  return ['<h2 id="learning">Learning curves</h2>', ...out, note].join('\n');
}

/** The config as the user would write it: each grid's list where the run put its first value, unset (null) keys left out. */
function configForDisplay(config: Record<string, unknown>): Record<string, unknown> {
  const models = Array.isArray(config.models) ? config.models : [];
  const full = {
    ...config,
    models: models.map((m: Record<string, unknown>) => {
      const { grid, ...rest } = m;
      return grid && typeof grid === 'object' ? { ...rest, params: { ...(rest.params as object), ...grid } } : rest;
    }),
  };
  return JSON.parse(JSON.stringify(full, (_k, v: unknown) => (v === null ? undefined : typeof v === 'number' ? shortNumber(v) : v))) as Record<string, unknown>;
}

/** float32 parameters read back as doubles (0.05000000074505806) shown as they were written. */
function shortNumber(v: number): number {
  return Number.isInteger(v) || !Number.isFinite(v) ? v : Number(v.toPrecision(7));
}

function configYaml(config: Record<string, unknown>): string {
  const doc = new Document(configForDisplay(config));
  // Lists of scalars (a grid's values, evaluate.k) on one line, as people write them.
  visit(doc, { Seq: (_key, node) => void (node.flow = node.items.every((i) => isScalar(i))) });
  return doc.toString({ lineWidth: 0 });
}

function runSection(data: ReportData): string {
  const r = data.run;
  const dl = (pairs: [string, string | null | undefined][]) =>
    `<dl>${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v === null || v === undefined ? '<span class="na">–</span>' : esc(v)}</dd>`).join('')}</dl>`;
  const params = data.models
    .map((m) => `<tr><td>${esc(m.name)}</td><td>${esc(m.model)}</td><td>${esc(Object.entries(m.params ?? {}).map(([k, v]) => `${k}=${String(typeof v === 'number' ? shortNumber(v) : v)}`).join(' '))}</td></tr>`)
    .join('\n');
  return [
    '<h2 id="run">Run</h2>',
    dl([
      ['command', r.command],
      ['created', r.created_at],
      ['output', data.output],
      ['data hash', r.data_hash],
      ...Object.entries(r.versions ?? {}).map(([k, v]) => [k, v] as [string, string | null]),
    ]),
    '<h3>Kept parameters</h3>',
    `<div class="scroll"><table><thead><tr><th>model</th><th>type</th><th>params</th></tr></thead><tbody>\n${params}\n</tbody></table></div>`,
    '<h3>Config</h3>',
    r.config ? `<pre>${esc(configYaml(r.config))}</pre>` : '<p class="note">Not recorded.</p>',
  ].join('\n');
}

export function renderReport(data: ReportData, opts: RenderOptions = {}): string {
  const title = `cf-native ${data.run.command} report`;
  // The output as the config names it (often relative), which reads better than where it resolved to.
  const configured = data.run.config?.output;
  const shownOutput = typeof configured === 'string' && configured !== '' ? configured : data.output;
  const nav = [
    ['dataset', 'Dataset'],
    ['leaderboard', 'Leaderboard'],
    ['valid-test', 'Validation / test'],
    ['tuning', 'Tuning'],
    ['learning', 'Learning curves'],
    ['run', 'Run'],
  ];
  const sections = [datasetSection(data), leaderboardSection(data, opts), validVsTestSection(data), tuningSection(data), learningSection(data), runSection(data)];
  const present = nav.filter(([id]) => sections.some((s) => s.includes(`id="${id}"`)));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}: ${esc(shownOutput)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="sub">${esc(shownOutput)} · ${esc(data.run.created_at)} · ${data.models.length} model${data.models.length === 1 ? '' : 's'} · ${present.map(([id, label]) => `<a href="#${id}">${label}</a>`).join(' · ')}</p>
${sections.filter((s) => s !== '').join('\n')}
</main>
</body>
</html>
`;
}
