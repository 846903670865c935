// The leaderboard as a list of column definitions, so that what another part of the run adds
// (bootstrap confidence intervals, timings) is one more entry in the list rather than a
// rewrite of the table.
import { escapeXml } from './svg.js';

export interface LeaderboardRow {
  name: string;
  type: string;
  baseline: boolean;
  /** The metrics of the split shown (test, or validation when there is no test). */
  metrics: Record<string, number> | null;
  train_seconds: number | null;
  /** The model's whole metrics.json (absent for the baseline row), for added columns to read their fields from. */
  source?: Record<string, unknown>;
}

export interface LeaderboardColumn {
  header: string;
  /** A heading spanning neighbouring columns with the same group (e.g. "@10" over every metric at K = 10). */
  group?: string;
  /** Tooltip of the header. */
  title?: string;
  /** Inner HTML of the row's cell; callers escape what they put in. */
  cell(row: LeaderboardRow): string;
  numeric?: boolean;
}

/** Ranking metrics in the order a reader scans them, then the rating metrics. */
const RANKING = ['ndcg', 'recall', 'precision', 'map', 'hit_rate'];
const LOWER_IS_BETTER = new Set(['rmse', 'mae', 'novelty']);

/** Every metric key the rows hold, K ascending, ranking metrics before rating ones. */
export function metricKeys(rows: readonly LeaderboardRow[]): string[] {
  const keys = new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})));
  const ks = [...new Set([...keys].filter((k) => k.includes('@')).map((k) => Number(k.split('@')[1])))].sort((a, b) => a - b);
  const ranked = ks.flatMap((k) => RANKING.map((m) => `${m}@${k}`).filter((key) => keys.has(key)));
  const known = new Set(ranked);
  const rest = [...keys].filter((k) => !known.has(k)).sort((a, b) => Number(LOWER_IS_BETTER.has(b)) - Number(LOWER_IS_BETTER.has(a)) || a.localeCompare(b));
  return [...ranked, ...rest];
}

/** Relative change over the baseline in %, signed so that positive is better; null without a baseline value. */
export function improvement(key: string, value: number | undefined, base: number | undefined): number | null {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0) return null;
  const rel = ((value - base) / Math.abs(base)) * 100;
  return LOWER_IS_BETTER.has(key.split('@')[0]!) ? -rel : rel;
}

const get = (m: Record<string, number> | null, key: string): number | undefined =>
  m && Object.prototype.hasOwnProperty.call(m, key) && typeof m[key] === 'number' ? m[key] : undefined;

/** Model (and type), every metric with its change over the baseline, fit time. */
export function defaultColumns(keys: readonly string[], baseline: Record<string, number> | null): LeaderboardColumn[] {
  const cols: LeaderboardColumn[] = [
    // The type only where the name does not already say it, to leave the width to the metrics.
    {
      header: 'model',
      cell: (r) =>
        `${escapeXml(r.name)}${r.type !== r.name ? ` <span class="note">${escapeXml(r.type)}</span>` : ''}${r.baseline ? ' <span class="tag">baseline</span>' : ''}`,
    },
  ];
  for (const key of keys) {
    const [metric, k] = key.split('@');
    cols.push({
      header: k === undefined ? key : metric!.replace('_', ' '),
      ...(k === undefined ? {} : { group: `@${k}` }),
      title: `${key}; below: change over the popularity baseline${LOWER_IS_BETTER.has(key) ? ' (lower is better)' : ''}`,
      numeric: true,
      cell: (r) => {
        const v = get(r.metrics, key);
        if (v === undefined) return '<span class="na">–</span>';
        const d = r.baseline ? null : improvement(key, v, get(baseline, key));
        const delta = d === null ? '' : `<br><span class="${d >= 0 ? 'up' : 'down'}">${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)}%</span>`;
        return `${v.toFixed(4)}${delta}`;
      },
    });
  }
  cols.push({ header: 'fit (s)', numeric: true, title: 'seconds to fit the kept model', cell: (r) => (r.train_seconds === null ? '–' : r.train_seconds.toFixed(2)) });
  return cols;
}

/** Rows sorted by `by` (best first), the baseline last. */
export function sortRows(rows: readonly LeaderboardRow[], by: string): LeaderboardRow[] {
  const sign = LOWER_IS_BETTER.has(by) ? 1 : -1;
  const v = (r: LeaderboardRow) => get(r.metrics, by) ?? (sign < 0 ? -Infinity : Infinity);
  return [...rows].sort((a, b) => Number(a.baseline) - Number(b.baseline) || sign * (v(a) - v(b)));
}

export function renderLeaderboard(rows: readonly LeaderboardRow[], columns: readonly LeaderboardColumn[]): string {
  const th = (c: LeaderboardColumn, rowspan = 1) =>
    `<th${rowspan > 1 ? ` rowspan="${rowspan}"` : ''}${c.numeric ? ' class="num"' : ''}${c.title ? ` title="${escapeXml(c.title)}"` : ''}>${escapeXml(c.header)}</th>`;
  let head: string;
  if (columns.some((c) => c.group !== undefined)) {
    // Two header rows: groups (K) above their metrics; ungrouped columns span both rows.
    const top: string[] = [];
    for (let i = 0; i < columns.length; ) {
      const g = columns[i]!.group;
      if (g === undefined) {
        top.push(th(columns[i]!, 2));
        i++;
        continue;
      }
      let j = i;
      while (j < columns.length && columns[j]!.group === g) j++;
      top.push(`<th colspan="${j - i}" class="group">${escapeXml(g)}</th>`);
      i = j;
    }
    head = `<tr>${top.join('')}</tr><tr>${columns.filter((c) => c.group !== undefined).map((c) => th(c)).join('')}</tr>`;
  } else {
    head = `<tr>${columns.map((c) => th(c)).join('')}</tr>`;
  }
  const body = rows
    .map((r) => `<tr${r.baseline ? ' class="baseline"' : ''}>${columns.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${c.cell(r)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="scroll"><table class="leaderboard"><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div>`;
}
