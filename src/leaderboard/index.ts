// The leaderboard of a train run: every metric at every K for each model, the change over
// the popularity baseline, and 95 % intervals from a paired bootstrap over users (native),
// with a mark where a model is not significantly different from the best.
import { callAsync, native } from '../native.js';
import type { PerUserMetrics } from '../models/types.js';

/** Version of leaderboard.json's layout; bumped only when a reader would misread it. */
export const LEADERBOARD_FORMAT = 1;

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  level: number;
}

export const BOOTSTRAP_DEFAULTS: Readonly<BootstrapOptions> = { resamples: 1000, seed: 42, level: 0.95 };

/** Metrics where a smaller value ranks first: novelty is the mean popularity of what is recommended. */
const LOWER_IS_BETTER = new Set(['novelty']);

export function higherIsBetter(metric: string): boolean {
  return !LOWER_IS_BETTER.has(metric.split('@')[0]!);
}

export interface LeaderboardCell {
  /** The metric as in metrics.json; null where it is undefined (no user had a value). */
  value: number | null;
  /** The bootstrap percentile interval of the mean over users; null for coverage (one figure for the population) and without per-user values. */
  ci: [number, number] | null;
  /** 100 * (value - popularity's) / popularity's; null when popularity's is 0 or missing. */
  improvement_over_popularity: number | null;
  /** The best value of this metric among the rows (highest; lowest for novelty). */
  best: boolean;
  /** True when the paired bootstrap interval of (this − best) contains 0 (true for the best itself); null where there is no interval. */
  not_significantly_worse: boolean | null;
}

export interface LeaderboardRow {
  name: string;
  type: string;
  /** 1 = best by the objective. */
  rank: number;
  /** The popularity baseline every run evaluates (its improvement is 0). */
  baseline: boolean;
  metrics: Record<string, LeaderboardCell>;
}

export interface Leaderboard {
  format: number;
  /** Which held-out part the figures come from. */
  split: 'test' | 'valid';
  users: number;
  ks: number[];
  /** Every metric in the rows, in display order. */
  metrics: string[];
  higher_is_better: Record<string, boolean>;
  /** What the rows are ranked by. */
  objective: string;
  bootstrap: { resamples: number; seed: number; level: number; paired_over: 'users' };
  models: LeaderboardRow[];
}

export interface LeaderboardInput {
  name: string;
  type: string;
  baseline: boolean;
  metrics: Record<string, number>;
  perUser: PerUserMetrics | null;
}

const finite = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The display order: every metric at the first K, then the next K, ...; auc last. */
function metricOrder(rows: readonly LeaderboardInput[], ks: readonly number[]): string[] {
  const bases = ['ndcg', 'recall', 'precision', 'map', 'hit_rate', 'f1', 'coverage', 'novelty'];
  const want = [...ks.flatMap((k) => bases.map((b) => `${b}@${k}`)), 'auc'];
  return want.filter((m) => rows.some((r) => Object.prototype.hasOwnProperty.call(r.metrics, m)));
}

/**
 * Build the leaderboard. Rows whose `perUser` values share one layout (same users, same
 * names: models evaluated on the same split) are bootstrapped together, natively.
 */
export async function buildLeaderboard(
  rows: readonly LeaderboardInput[],
  o: { split: 'test' | 'valid'; users: number; ks: readonly number[]; bootstrap?: Partial<BootstrapOptions>; threads?: number },
): Promise<Leaderboard> {
  const boot = { ...BOOTSTRAP_DEFAULTS, ...o.bootstrap };
  const metrics = metricOrder(rows, o.ks);
  const objective = metrics.find((m) => m.startsWith('ndcg@')) ?? metrics[0] ?? 'ndcg';
  const base = rows.find((r) => r.baseline);

  // Intervals: only when every row has per-user values over the same users and names.
  const first = rows[0]?.perUser;
  const paired =
    first &&
    first.users.length > 0 &&
    rows.every((r) => r.perUser && r.perUser.names.join() === first.names.join() && sameUsers(r.perUser.users, first.users));
  let intervals: Awaited<ReturnType<typeof bootstrap>> | null = null;
  if (paired) intervals = await bootstrap(rows.map((r) => r.perUser!), boot, o.threads);

  const cells = rows.map((r, m) => {
    const out: Record<string, LeaderboardCell> = {};
    for (const name of metrics) {
      const value = finite(r.metrics[name]);
      const p = finite(base?.metrics[name]);
      const c = intervals?.names.indexOf(name) ?? -1;
      const at = intervals ? m * intervals.cols + c : -1;
      out[name] = {
        value,
        ci: c >= 0 && finite(intervals!.lo[at]) !== null ? [intervals!.lo[at]!, intervals!.hi[at]!] : null,
        improvement_over_popularity: value !== null && p !== null && p !== 0 ? (100 * (value - p)) / p : null,
        best: false,
        not_significantly_worse:
          c >= 0 && finite(intervals!.diffLo[at]) !== null ? intervals!.diffLo[at]! <= 0 && intervals!.diffHi[at]! >= 0 : null,
      };
    }
    return out;
  });
  // The best of each metric from the values themselves (the bootstrap's full-sample means are
  // the same figures; coverage has none), ties to the first row.
  for (const name of metrics) {
    const up = higherIsBetter(name);
    let b = -1;
    cells.forEach((cs, m) => {
      const v = cs[name]!.value;
      if (v === null) return;
      const bv = b < 0 ? null : cells[b]![name]!.value!;
      if (bv === null || (up ? v > bv : v < bv)) b = m;
    });
    if (b >= 0) cells[b]![name]!.best = true;
  }
  const order = rows
    .map((_, m) => m)
    .sort((a, b) => {
      const va = cells[a]![objective]?.value ?? -Infinity;
      const vb = cells[b]![objective]?.value ?? -Infinity;
      return higherIsBetter(objective) ? vb - va : va - vb;
    });
  return {
    format: LEADERBOARD_FORMAT,
    split: o.split,
    users: o.users,
    ks: [...o.ks],
    metrics,
    higher_is_better: Object.fromEntries(metrics.map((m) => [m, higherIsBetter(m)])),
    objective,
    bootstrap: { resamples: boot.resamples, seed: boot.seed, level: boot.level, paired_over: 'users' },
    models: order.map((m, i) => ({ name: rows[m]!.name, type: rows[m]!.type, rank: i + 1, baseline: rows[m]!.baseline, metrics: cells[m]! })),
  };
}

function sameUsers(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function bootstrap(per: readonly PerUserMetrics[], boot: BootstrapOptions, threads?: number) {
  const names = per[0]!.names;
  const r = await callAsync(() =>
    native().pairedBootstrap(
      per.map((p) => p.values),
      names.length,
      names.map(higherIsBetter),
      { resamples: boot.resamples, seed: boot.seed, level: boot.level, ...(threads !== undefined ? { threads } : {}) },
    ),
  );
  return { names, cols: names.length, lo: r.lo, hi: r.hi, diffLo: r.diffLo, diffHi: r.diffHi };
}

/** leaderboard.csv: one row per (model, metric), the columns of leaderboard.json's cells. */
export function leaderboardCsv(lb: Leaderboard): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const n = (v: number | null) => (v === null ? '' : String(v));
  const b = (v: boolean | null) => (v === null ? '' : String(v));
  const lines = ['rank,model,type,baseline,metric,value,ci_lo,ci_hi,improvement_over_popularity_pct,best,not_significantly_worse'];
  for (const r of lb.models) {
    for (const m of lb.metrics) {
      const c = r.metrics[m]!;
      lines.push(
        [r.rank, q(r.name), q(r.type), r.baseline, m, n(c.value), n(c.ci?.[0] ?? null), n(c.ci?.[1] ?? null), n(c.improvement_over_popularity), c.best, b(c.not_significantly_worse)].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The terminal view: the objective with its interval, the change over popularity, and the
 * first K's other headline metrics; `*` marks the best value of a column, `=` a value not
 * significantly different from it. Every metric and interval is in leaderboard.json / .csv.
 */
export function formatLeaderboard(lb: Leaderboard): string {
  const k = lb.ks[0];
  const extra = [`recall@${k}`, `f1@${k}`, 'auc', `coverage@${k}`, `novelty@${k}`].filter((m) => m !== lb.objective && lb.metrics.includes(m));
  const mark = (c: LeaderboardCell | undefined) => (!c ? ' ' : c.best ? '*' : c.not_significantly_worse ? '=' : ' ');
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`);
  const head = ['#', 'model', lb.objective, `${Math.round(lb.bootstrap.level * 100)}% CI`, 'vs pop', ...extra];
  const grid = [
    head,
    ...lb.models.map((r) => {
      const o = r.metrics[lb.objective];
      return [
        String(r.rank),
        r.baseline ? `${r.name} (baseline)` : r.name,
        `${num(o?.value)}${mark(o)}`,
        o?.ci ? `[${o.ci[0].toFixed(4)}, ${o.ci[1].toFixed(4)}]` : '-',
        pct(o?.improvement_over_popularity),
        ...extra.map((m) => `${num(r.metrics[m]?.value)}${mark(r.metrics[m])}`),
      ];
    }),
  ];
  const widths = head.map((_, j) => Math.max(...grid.map((row) => row[j]!.length)));
  const line = (row: string[]) => row.map((t, j) => (j === 1 ? t.padEnd(widths[j]!) : t.padStart(widths[j]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...grid.slice(1).map(line)].join('\n');
}

/** leaderboard.json's text: NaN has no JSON form, and the cells hold null where undefined. */
export function leaderboardJson(lb: Leaderboard): string {
  return `${JSON.stringify(lb, null, 2)}\n`;
}
