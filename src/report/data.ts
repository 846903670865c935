// What a report shows, as plain JSON, gathered from the run's own files: `run.json` (what only
// the run knows: the config, the data summary, item popularity, versions) and each model's
// metrics.json. `train` renders through the same path as `cf-native report DIR`, so a
// re-render shows exactly what the first render did, and `tune` can write its run.json (or
// build a ReportData itself) and call writeReport.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';
import { writeJsonAtomic } from '../artifacts/atomic.js';
import { gitVersion, packageVersion } from '../artifacts/version.js';
import type { Leaderboard } from '../leaderboard/index.js';

export const RUN_FILE = 'run.json';
export const RUN_FORMAT_VERSION = 1;

/** Long-tail summary of item popularity in the training matrix. */
export interface ItemPopularity {
  items: number;
  /** Training interactions (sum of the per-item user counts). */
  interactions: number;
  /** Items no training user has. */
  itemsWithoutTrain: number;
  /** Share of the interactions held by the most popular 1 %, 10 % and 20 % of items. */
  topShare: { '1%': number; '10%': number; '20%': number };
  /** [rank (1 = most popular), users having it], at most ~300 ranks spaced on a log scale. */
  curve: [number, number][];
}

export interface DatasetSummary {
  users: number;
  items: number;
  /** Interactions kept after filtering, in every split. */
  rows: number;
  train: number;
  valid: number;
  test: number;
  usersEvaluated: number;
  usersWithoutTrain: number;
}

/** run.json: what the run knows beyond the models' own metrics.json. */
export interface RunInfo {
  format_version: number;
  command: 'train' | 'tune' | string;
  created_at: string;
  /** The checked config, with each grid's lists in place of its first values. */
  config: Record<string, unknown> | null;
  versions: Record<string, string | null>;
  data_hash: string | null;
  dataset: DatasetSummary | null;
  item_popularity: ItemPopularity | null;
  /** The model folders of this run, in config order (older folders in `output` are not this run's). */
  models: string[];
}

/** A model's metrics.json, as far as the report reads it (extra keys are kept and ignored). */
export interface ModelMetrics {
  model: string;
  name: string;
  params: Record<string, unknown>;
  train_seconds: number;
  valid: Record<string, number> | null;
  test: Record<string, number> | null;
  baseline?: Record<string, Record<string, number> | null>;
  baseline_valid?: Record<string, Record<string, number> | null>;
  users_evaluated?: number;
  users_without_train?: number;
  data_hash?: string | null;
  curve?: Record<string, unknown>[];
  fit?: Record<string, unknown>;
  tuning?: { by: string; grid: Record<string, unknown[]>; trials: Trial[] };
  [key: string]: unknown;
}

export interface Trial {
  params: Record<string, unknown>;
  train_seconds: number;
  valid: Record<string, number> | null;
  test: Record<string, number> | null;
  fit?: Record<string, unknown>;
}

export interface ReportData {
  /** The folder the artifacts are in (absolute). */
  output: string;
  run: RunInfo;
  models: ModelMetrics[];
  /** leaderboard.json of the run (bootstrap intervals), when it wrote one. */
  leaderboard?: Leaderboard;
}

/**
 * Summarises per-item user counts (the popularity model's `item_counts`, counted natively).
 * The loops here run over items, not interactions: at most a sort and one pass of the catalogue.
 */
export function itemPopularity(counts: Float32Array | readonly number[]): ItemPopularity {
  const sorted = Float64Array.from(counts).sort().reverse();
  const n = sorted.length;
  const cumulative = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cumulative[i + 1] = cumulative[i]! + sorted[i]!;
  const total = cumulative[n]!;
  const share = (f: number) => (total > 0 ? cumulative[Math.max(1, Math.ceil(n * f))]! / total : 0);
  let zero = 0;
  while (zero < n && sorted[n - 1 - zero] === 0) zero++;
  // Ranks on a log scale keep the head's detail and the tail's shape in a few hundred points.
  const ranks = new Set<number>();
  for (let i = 0; i <= 300 && n > 0; i++) ranks.add(Math.min(n, Math.round(Math.exp((Math.log(n) * i) / 300))));
  const curve = [...ranks].sort((a, b) => a - b).map((r) => [r, sorted[r - 1]!] as [number, number]);
  return { items: n, interactions: total, itemsWithoutTrain: zero, topShare: { '1%': share(0.01), '10%': share(0.1), '20%': share(0.2) }, curve };
}

/** Versions of what made the run, as model.json records them. */
export function runVersions(): Record<string, string | null> {
  return { 'cf-native': packageVersion(), git: gitVersion(), node: process.version };
}

/** Writes `run.json` into the output folder (atomically: a reader sees the old file or the new). */
export async function writeRunInfo(dir: string, info: Omit<RunInfo, 'format_version'>): Promise<void> {
  await writeJsonAtomic(join(dir, RUN_FILE), { format_version: RUN_FORMAT_VERSION, ...info });
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new CfError(CfErrorCode.IO, `cannot read ${path} (${what}): ${reason}`, { cause });
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new CfError(CfErrorCode.DATA, `${path}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** The report's data from a run's output folder: its run.json and the metrics.json of each model it lists. */
export async function collectReportData(dir: string): Promise<ReportData> {
  const run = await readJson<RunInfo>(join(dir, RUN_FILE), `written by cf-native train; run it again to get one`);
  if (typeof run !== 'object' || run === null || !Array.isArray(run.models)) {
    throw new CfError(CfErrorCode.DATA, `${join(dir, RUN_FILE)}: not a cf-native run file (no models list)`);
  }
  const models: ModelMetrics[] = [];
  for (const name of run.models) {
    models.push(await readJson<ModelMetrics>(join(dir, String(name), 'metrics.json'), `model ${name}`));
  }
  // Runs without a held-out split write no leaderboard.json: the report does without it.
  let leaderboard: Leaderboard | undefined;
  try {
    leaderboard = JSON.parse(await readFile(join(dir, 'leaderboard.json'), 'utf8')) as Leaderboard;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CfError(CfErrorCode.DATA, `${join(dir, 'leaderboard.json')}: ${(e as Error).message}`);
  }
  return { output: resolve(dir), run, models, ...(leaderboard ? { leaderboard } : {}) };
}
