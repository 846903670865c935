// `cf-native tune`: search the `tune:` block's space on validation, one trial at a time, record
// every trial in OUTPUT/tuning.json as it ends (so a killed study resumes), then refit the best
// configuration, evaluate it once on test, save it like `train` does and write best.yaml.
import { createHash } from 'node:crypto';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkConfig, type Config, type TuneDimension } from '../config/index.js';
import { loadDataset, loadOptionsFromConfig, matrixFromCoo, splitDataset, splitOptionsFromConfig } from '../data.js';
import { saveModel } from '../artifacts/model-io.js';
import { metricsJson } from '../artifacts/metrics.js';
import { checkOutputFolder } from '../artifacts/output.js';
import { writeFileAtomic, writeJsonAtomic } from '../artifacts/atomic.js';
import { BASELINE_TYPE, fitModel, modelEntry } from '../models/registry.js';
import type { FitProgress, Matrix } from '../models/types.js';
import type { ParamValue } from '../models/params.js';
import type { Recommender } from '../models/recommender.js';
import { CfError, CfErrorCode, isCfError } from '../errors.js';
import { hashFiles } from '../pipeline/train.js';
import { buildLeaderboard, leaderboardCsv, leaderboardJson } from '../leaderboard/index.js';
import { Popularity } from '../models/popularity.js';
import { collectReportData, itemPopularity, runVersions, writeReport, writeRunInfo } from '../report/index.js';
import { candidates, modelDimensions, type Candidate } from './space.js';
import { tpeNext } from './tpe.js';
import { defaultSpace, type DataShape } from './defaults.js';

export { candidates, mulberry32, type Candidate } from './space.js';
export { tpeNext, type Observation } from './tpe.js';
export { DEFAULT_TUNING, defaultSpace, defaultTrials, type DataShape, type DefaultTuning } from './defaults.js';

export const TUNING_FILE = 'tuning.json';
export const BEST_FILE = 'best.yaml';
export const TUNING_FORMAT = 1;

export interface TrialRecord {
  /** 0-based position in the study's sequence. */
  number: number;
  /** The model's name in the config (its output folder) and type. */
  model: string;
  type: string;
  /** The searched values this trial tried; every other parameter is the model's in the config. */
  params: Record<string, ParamValue>;
  /** ok: fitted and scored; failed: the fit or evaluation refused these values (error says why); pruned: stopped mid-fit, worse than the median trial (no score). */
  status: 'ok' | 'failed' | 'pruned';
  /** The objective on validation (null when failed or undefined), and the tie-break metric. */
  score: number | null;
  tie_break: number | null;
  /** Fit plus validation seconds. */
  seconds: number;
  valid: Record<string, number> | null;
  error?: string;
  /** [iteration, validation figure] as the fit reported them (bpr's NDCG, mf's RMSE), what pruning compares. */
  intermediate?: [number, number][];
}

export interface TuningFile {
  format: number;
  /** Fingerprint of what the trials depend on (data, split, evaluation, models, space, strategy, seed, objective), not of the budget. */
  study: string;
  strategy: string;
  seed: number;
  objective: string;
  higher_is_better: boolean;
  tie_break: string | null;
  budget: { trials: number | null; seconds: number | null };
  /** The space searched per model name, the built-in ones filled in for the data at hand. */
  space: Record<string, Record<string, TuneDimension>>;
  /** The models whose space is the built-in one of their type (src/tune/defaults.ts). */
  default_space: string[];
  trials: TrialRecord[];
  /** Set when the study ended and the best was refitted: its full params and test metrics. */
  best: { number: number; model: string; type: string; params: Record<string, ParamValue>; score: number; valid: Record<string, number> | null; test: Record<string, number> | null } | null;
}

export interface TuneHooks {
  log?: (line: string) => void;
  onProgress?: (model: string, p: FitProgress) => void;
  /** Called after each trial is recorded in tuning.json. */
  onTrial?: (t: TrialRecord) => void;
  signal?: AbortSignal;
  /** Ignore an existing tuning.json and start the study over (default: resume it). */
  fresh?: boolean;
  /** Write report.html (default true). */
  report?: boolean;
}

export interface TuneReport {
  output: string;
  trials: TrialRecord[];
  /** Trials taken from an earlier, interrupted run of the same study. */
  resumed: number;
  best: NonNullable<TuningFile['best']> & { dir: string };
  /** The validation metric the trials were chosen by. */
  objective: string;
  tuningPath: string;
  bestConfigPath: string;
  reportPath: string | null;
}

/** Lower is better for errors and for novelty (popularity of what is recommended); higher for the rest. */
export function higherIsBetter(metric: string): boolean {
  return !(metric === 'rmse' || metric === 'mae' || metric.startsWith('novelty@'));
}

const studyId = (config: Config, dataHash: string): string => {
  const { trials: _t, seconds: _s, refit: _r, ...search } = config.tune!;
  const what = { dataHash, data: config.data, split: config.split, evaluate: config.evaluate, models: config.models, search };
  return `sha256:${createHash('sha256').update(JSON.stringify(what)).digest('hex')}`;
};

const sameCandidate = (t: TrialRecord, c: Candidate): boolean => t.model === c.model && JSON.stringify(t.params) === JSON.stringify(c.params);

async function readTuning(path: string): Promise<TuningFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CfError(CfErrorCode.IO, `${path}: cannot read: ${(e as Error).message}`, { cause: e });
  }
  try {
    const t = JSON.parse(text) as TuningFile;
    if (t.format !== TUNING_FORMAT || !Array.isArray(t.trials)) throw new Error(`not a tuning file of format ${TUNING_FORMAT}`);
    return t;
  } catch (e) {
    throw new CfError(CfErrorCode.DATA, `${path}: cannot resume from it: ${(e as Error).message} (remove it, or run with --fresh)`, { cause: e });
  }
}

/** `null`s dropped: in a config an absent key means the same and reads shorter. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
}

const describeSpace = (dims: Record<string, TuneDimension>): string =>
  Object.entries(dims)
    .map(([k, d]) => `${k} ${Array.isArray(d) ? `[${d.join(', ')}]` : `${d.min}..${d.max}${d.log ? ' (log)' : ''}`}`)
    .join(', ');

const fmt = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));
const describeParams = (p: Record<string, ParamValue>): string => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');

export async function runTune(given: Config, hooks: TuneHooks = {}): Promise<TuneReport> {
  // No tune: block: every default (strategy, budget, the built-in space of each model type).
  let config = checkConfig(given.tune ? given : { ...given, tune: {} });
  // A study runs many short fits, natively; a JVM per trial would be the whole budget.
  const blend = config.models.find((m) => m.type === 'hybrid');
  if (blend) throw new CfError(CfErrorCode.CONFIG, `config: models ${blend.name} is a hybrid, which blends other fitted models: tune searches one model's params at a time. Tune its parts, then list them and the hybrid in a train config: train chooses the hybrid's weights on validation`);
  const viaSpark = config.models.find((m) => m.engine === 'spark');
  if (viaSpark) throw new CfError(CfErrorCode.CONFIG, `config: models ${viaSpark.name} has engine: spark, which train reads and tune does not (tune fits natively: remove engine: spark to tune, then train the best with it)`);
  const log = hooks.log ?? (() => {});
  const d = config.data;
  const output = await checkOutputFolder(config.output);
  const ds = loadDataset(loadOptionsFromConfig(d));
  const dataHash = await hashFiles([d.path, d.train, d.valid, d.test].filter((p): p is string => p !== null));
  const { train, valid, test } = splitDataset(ds, splitOptionsFromConfig(config.split, d.train !== null));
  if (!valid || valid.nnz === 0) throw new CfError(CfErrorCode.SPLIT, 'tune: the split left no validation rows to choose between trials by');
  log(`data: ${ds.stats.users} users x ${ds.stats.items} items; train ${train.nnz}, valid ${valid.nnz}, test ${test?.nnz ?? 0} rows`);
  // A model given nothing to search gets its type's built-in space for this training part; the
  // filled-in config is checked again, so a built-in range obeys the core's bounds as a written one does.
  const defaulted: string[] = [];
  if (config.tune!.strategy !== 'grid') {
    const shape: DataShape = { users: train.nRows, items: train.nCols, interactions: train.nnz };
    const space = { ...config.tune!.space };
    for (const mc of config.models) {
      if (mc.grid || space[mc.name]) continue;
      const d = defaultSpace(mc.type, shape);
      if (!d) continue;
      space[mc.name] = d;
      defaulted.push(mc.name);
    }
    if (defaulted.length > 0) {
      config = checkConfig({ ...config, tune: { ...config.tune!, space } });
      for (const name of defaulted) log(`${name}: the built-in space of ${config.models.find((m) => m.name === name)!.type}: ${describeSpace(space[name]!)}`);
    }
  }
  const tune = config.tune!;
  const negatives = ds.negatives();
  const ks = config.evaluate.k;
  const filterSeen = config.evaluate.filter_seen;
  // AUC scores every item for every validation user, a second pass over the catalogue that
  // took 3-6x the ALS fit itself on lastfm-2k: trials compute it only when it decides.
  const trialAuc = tune.objective === 'auc' || tune.tie_break === 'auc';
  const fitOpts = (type: string, params: Record<string, unknown>, name: string) => ({
    signal: hooks.signal,
    valid,
    ...(negatives !== null && (modelEntry(type).drawsNegatives?.(params) ?? false) ? { negatives } : {}),
    onProgress: (p: FitProgress) => hooks.onProgress?.(name, p),
  });
  const up = higherIsBetter(tune.objective);
  const tieUp = tune.tie_break === null ? true : higherIsBetter(tune.tie_break);

  await mkdir(output, { recursive: true });
  const tuningPath = join(output, TUNING_FILE);
  const study = studyId(config, dataHash);
  const state: TuningFile = {
    format: TUNING_FORMAT,
    study,
    strategy: tune.strategy,
    seed: tune.seed,
    objective: tune.objective,
    higher_is_better: up,
    tie_break: tune.tie_break,
    budget: { trials: tune.trials, seconds: tune.seconds },
    space: modelDimensions(config).reduce<Record<string, Record<string, TuneDimension>>>((o, { mc, dims }) => ({ ...o, [mc.name]: dims }), {}),
    default_space: defaulted,
    trials: [],
    best: null,
  };
  const previous = hooks.fresh ? null : await readTuning(tuningPath);
  if (previous && previous.study !== study) {
    throw new CfError(
      CfErrorCode.CONFIG,
      `${tuningPath} records another study (the data, split, evaluation, models or tune block other than its budget changed): remove it, use another output, or run with --fresh to start over`,
    );
  }
  const next = sampler(config, up);
  // The recorded trials are the first ones of the sequence this config generates; a mismatch
  // means the sequence itself changed (e.g. another version drew differently), and mixing the
  // two would make a study no single run could reproduce.
  for (const t of previous?.trials ?? []) {
    const c = next(state.trials);
    if (c === null || !sameCandidate(t, c)) {
      throw new CfError(CfErrorCode.CONFIG, `${tuningPath}: trial ${t.number} does not match this config's sequence of trials; run with --fresh to start over`);
    }
    state.trials.push(t);
  }
  const resumed = state.trials.length;
  if (resumed > 0) log(`resuming: ${resumed} trial(s) already in ${tuningPath}`);

  const spent = () => state.trials.reduce((s, t) => s + t.seconds, 0);
  const limit = tune.trials ?? Infinity;
  for (;;) {
    hooks.signal?.throwIfAborted();
    if (state.trials.length >= limit) break;
    if (tune.seconds !== null && spent() >= tune.seconds) {
      log(`budget: ${spent().toFixed(1)} s of trials spent (limit ${tune.seconds} s)`);
      break;
    }
    const c = next(state.trials);
    if (c === null) break;
    const mc = config.models.find((m) => m.name === c.model)!;
    const params = { ...mc.params, ...c.params };
    const started = performance.now();
    const record: TrialRecord = { number: state.trials.length, model: mc.name, type: mc.type, params: c.params, status: 'ok', score: null, tie_break: null, seconds: 0, valid: null };
    const direction = modelEntry(mc.type).progressDirection;
    const intermediate: [number, number][] = [];
    const prune = new AbortController();
    const opts = fitOpts(mc.type, params, mc.name);
    try {
      // Trials run one after another, each with the model's own thread count (0: every core):
      // the fits parallelise inside the core, so trials side by side would only compete for cores.
      const model = await fitModel(mc.type, train, params, {
        ...opts,
        signal: hooks.signal ? AbortSignal.any([hooks.signal, prune.signal]) : prune.signal,
        onProgress: (p) => {
          opts.onProgress(p);
          if (direction === undefined || p.valid == null || !Number.isFinite(p.valid)) return;
          intermediate.push([p.iteration, p.valid]);
          if (tune.pruning && shouldPrune(intermediate, direction, state.trials.filter((t) => t.model === mc.name && t.status === 'ok'), tune.pruning)) prune.abort();
        },
      });
      const v = await model.evaluate(train, valid, { k: ks, filterSeen, auc: trialAuc });
      record.valid = v.metrics;
    } catch (err) {
      // Cancelling is not a result: the trial is not recorded, and a resumed study runs it again.
      if (hooks.signal?.aborted) throw err;
      if (prune.signal.aborted) record.status = 'pruned';
      else if (isCfError(err, CfErrorCode.CANCELLED) || !isCfError(err)) throw err;
      else {
        record.status = 'failed';
        record.error = err.message;
      }
    }
    if (intermediate.length > 0) record.intermediate = intermediate;
    record.seconds = (performance.now() - started) / 1000;
    if (record.valid) {
      const at = (k: string | null): number | null => (k === null ? null : (record.valid![k] ?? null));
      if (!(tune.objective in record.valid)) {
        throw new CfError(CfErrorCode.CONFIG, `tune.objective ${tune.objective}: ${mc.name} (${mc.type}) does not report it (rmse and mae come only from models that predict ratings)`);
      }
      record.score = at(tune.objective);
      record.tie_break = at(tune.tie_break);
    }
    state.trials.push(record);
    // After every trial, whole or not at all: a study killed at any instant resumes from here.
    await writeJsonAtomic(tuningPath, state);
    hooks.onTrial?.(record);
    const of = Number.isFinite(limit) ? `/${limit}` : '';
    log(`trial ${record.number + 1}${of} ${mc.name} ${describeParams(c.params)}: ${record.status === 'ok' ? `valid ${tune.objective} ${fmt(record.score)}` : record.status === 'pruned' ? `pruned at iteration ${intermediate.at(-1)?.[0]}` : `failed: ${record.error}`} (${record.seconds.toFixed(1)} s)`);
  }

  const bestTrial = pickBest(state.trials, up, tieUp);
  if (!bestTrial) throw new CfError(CfErrorCode.NUMERIC, `tune: none of the ${state.trials.length} trials gave a finite validation ${tune.objective}`);
  const mc = config.models.find((m) => m.name === bestTrial.model)!;
  const params = { ...mc.params, ...bestTrial.params };
  log(`best: trial ${bestTrial.number + 1} ${mc.name} ${describeParams(bestTrial.params)}: valid ${tune.objective} ${fmt(bestTrial.score)}; refitting on train`);

  // The refit is the fit `cf-native train best.yaml` runs (same matrix, params and options), so
  // the saved model and best.yaml's reproduction are one model; test is evaluated here once.
  // With train+valid the validation rows join the training matrix and no validation is left.
  hooks.signal?.throwIfAborted();
  const merged = tune.refit === 'train+valid';
  const fitOn = merged ? union(train, valid) : train;
  const held = merged ? null : valid;
  const started = performance.now();
  const model = await fitModel(mc.type, fitOn, params, { ...fitOpts(mc.type, params, mc.name), valid: held });
  const trainSeconds = (performance.now() - started) / 1000;
  // As runTrain evaluates: test users' validation items are known to them, not predictions.
  // Per-user values of the part the leaderboard reads, for its paired bootstrap.
  const evaluate = async (m: Recommender) => {
    const v = held ? await m.evaluate(fitOn, held, { k: ks, filterSeen, perUser: !test }) : null;
    const t = test ? await m.evaluate(fitOn, test, { k: ks, filterSeen, alsoExclude: held, perUser: true }) : null;
    return { valid: v?.metrics ?? null, test: t?.metrics ?? null, main: t ?? v };
  };
  const scores = await evaluate(model);
  const baselineModel = await fitModel(BASELINE_TYPE, fitOn, {});
  const baseline = await evaluate(baselineModel);
  const testMain = scores.main;

  const ownTrials = state.trials.filter((t) => t.model === mc.name && t.status === 'ok');
  const tried: Record<string, ParamValue[]> = {};
  for (const t of ownTrials) for (const [k, v] of Object.entries(t.params)) (tried[k] ??= []).includes(v) || tried[k]!.push(v);
  for (const vs of Object.values(tried)) vs.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
  const dir = join(output, mc.name);
  const metrics = metricsJson({
    type: mc.type,
    name: mc.name,
    model,
    trainSeconds,
    valid: scores.valid,
    test: scores.test,
    baselineType: BASELINE_TYPE,
    baseline: { valid: baseline.valid, test: baseline.test },
    usersEvaluated: testMain?.usersEvaluated ?? 0,
    usersWithoutTrain: testMain?.usersWithoutTrain ?? 0,
    dataHash,
    // The report's tuning section reads this shape (the grid being the values each key was tried at).
    tuning: { by: tune.objective, grid: tried, trials: ownTrials.map((t) => ({ params: t.params, train_seconds: t.seconds, valid: t.valid, test: null })) },
  });

  await saveModel(dir, model, { userIds: ds.userIds(), itemIds: ds.itemIds(), train: fitOn, dataHash, files: { 'metrics.json': metrics } });

  // The refitted best beside the popularity baseline, with intervals, as train writes it.
  if (testMain && testMain.usersEvaluated > 0 && baseline.main) {
    const board = await buildLeaderboard(
      [
        { name: mc.name, type: mc.type, baseline: mc.type === BASELINE_TYPE, metrics: testMain.metrics, perUser: testMain.perUser ?? null },
        ...(mc.type === BASELINE_TYPE ? [] : [{ name: BASELINE_TYPE, type: BASELINE_TYPE, baseline: true, metrics: baseline.main.metrics, perUser: baseline.main.perUser ?? null }]),
      ],
      { split: test ? 'test' : 'valid', users: testMain.usersEvaluated, ks, bootstrap: config.evaluate.bootstrap },
    );
    await writeFileAtomic(join(output, 'leaderboard.json'), leaderboardJson(board));
    await writeFileAtomic(join(output, 'leaderboard.csv'), leaderboardCsv(board));
  }

  state.best = { number: bestTrial.number, model: mc.name, type: mc.type, params, score: bestTrial.score!, valid: scores.valid, test: scores.test };
  await writeJsonAtomic(tuningPath, state);

  // A train config for the best model alone; its output is a sibling so running it leaves this study's files alone.
  const bestConfigPath = join(output, BEST_FILE);
  const split =
    !merged
      ? config.split
      : config.split.strategy === 'leave-last-out' || config.split.strategy === 'random'
        ? { ...config.split, valid: 0 }
        : config.split.strategy === 'time'
          ? { ...config.split, valid_cutoff: null }
          : config.split;
  const bestConfig = withoutNulls({
    // Pre-split files: the validation file joined the training part.
    data: merged ? { ...config.data, valid: null } : config.data,
    split,
    models: [{ type: mc.type, name: mc.name, params }],
    evaluate: config.evaluate,
    output: `${config.output.replace(/\/+$/, '')}-best`,
  });
  const header = `# The best of ${state.trials.length} trials of cf-native tune (trial ${bestTrial.number + 1}, valid ${tune.objective} ${fmt(bestTrial.score)}, test ${tune.objective} ${fmt(scores.test?.[tune.objective] ?? null)}).\n# cf-native train ${BEST_FILE} refits this model and gives the same metrics.\n`;
  await writeFileAtomic(bestConfigPath, header + stringify(bestConfig));
  log(`best.yaml: ${bestConfigPath}`);

  await writeRunInfo(output, {
    command: 'tune',
    created_at: new Date().toISOString(),
    config: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
    versions: runVersions(),
    data_hash: dataHash,
    dataset: { users: ds.stats.users, items: ds.stats.items, rows: ds.stats.rows, train: fitOn.nnz, valid: held?.nnz ?? 0, test: test?.nnz ?? 0, usersEvaluated: testMain?.usersEvaluated ?? 0, usersWithoutTrain: testMain?.usersWithoutTrain ?? 0 },
    item_popularity: baselineModel instanceof Popularity ? itemPopularity(baselineModel.counts()) : null,
    models: [mc.name],
  });
  let reportPath: string | null = null;
  if (hooks.report !== false) {
    reportPath = (await writeReport(output, await collectReportData(output))).path;
    log(`report: ${reportPath}`);
  }
  return { output, trials: state.trials, resumed, best: { ...state.best, dir }, objective: tune.objective, tuningPath, bestConfigPath, reportPath };
}

/** Two disjoint matrices of one shape as one (the split's train and valid parts). */
function union(a: Matrix, b: Matrix): Matrix {
  const rowsOf = (m: Matrix): Uint32Array => {
    // One fill per row (a native loop), not a JS loop per entry.
    const p = m.indptr();
    const out = new Uint32Array(m.nnz);
    for (let r = 0; r < m.nRows; r++) out.fill(r, p[r]!, p[r + 1]!);
    return out;
  };
  const cat = <T extends Uint32Array | Float32Array>(x: T, y: T, make: new (n: number) => T): T => {
    const out = new make(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return matrixFromCoo(cat(rowsOf(a), rowsOf(b), Uint32Array), cat(a.indices(), b.indices(), Uint32Array), a.nRows, a.nCols, cat(a.values(), b.values(), Float32Array));
}

/**
 * Median pruning (Optuna's MedianPruner): after the warm-up, stop a trial whose best figure so
 * far is worse than the median of the finished trials' best figures up to the same iteration.
 * It reads only recorded trials, so a resumed study prunes as the uninterrupted one did.
 */
export function shouldPrune(
  own: [number, number][],
  direction: 'higher' | 'lower',
  finished: TrialRecord[],
  o: { warmup_iterations: number; min_trials: number },
): boolean {
  const [iteration] = own[own.length - 1]!;
  if (iteration < o.warmup_iterations) return false;
  const sign = direction === 'higher' ? 1 : -1;
  const bestUpTo = (xs: [number, number][]): number | null => {
    let b: number | null = null;
    for (const [i, v] of xs) if (i <= iteration && (b === null || sign * v > sign * b)) b = v;
    return b;
  };
  const others = finished.map((t) => bestUpTo(t.intermediate ?? [])).filter((v): v is number => v !== null).sort((a, b) => sign * (a - b));
  if (others.length < o.min_trials) return false;
  const mid = others.length / 2;
  const median = others.length % 2 === 1 ? others[Math.floor(mid)]! : (others[mid - 1]! + others[mid]!) / 2;
  return sign * bestUpTo(own)! < sign * median;
}

/**
 * The study's next trial given the recorded ones: grid and random walk a fixed sequence (the
 * history only tells how far along it is); tpe proposes from the scores recorded so far.
 */
function sampler(config: Config, up: boolean): (history: TrialRecord[]) => Candidate | null {
  const tune = config.tune!;
  if (tune.strategy === 'tpe') {
    return (history) =>
      tpeNext(
        config,
        history.map((t) => ({ model: t.model, params: t.params, value: t.status === 'ok' && t.score !== null ? (up ? t.score : -t.score) : null })),
        tune.startup_trials,
      );
  }
  const gen = candidates(config);
  return () => {
    const c = gen.next();
    return c.done ? null : c.value;
  };
}

/** The best ok trial by the objective, then the tie-break metric, then the earlier trial. */
export function pickBest(trials: TrialRecord[], up: boolean, tieUp: boolean): TrialRecord | null {
  let best: TrialRecord | null = null;
  const better = (a: number | null, b: number | null, higher: boolean): number => {
    const x = a !== null && Number.isFinite(a) ? (higher ? a : -a) : -Infinity;
    const y = b !== null && Number.isFinite(b) ? (higher ? b : -b) : -Infinity;
    return x === y ? 0 : x > y ? 1 : -1;
  };
  for (const t of trials) {
    if (t.status !== 'ok' || t.score === null || !Number.isFinite(t.score)) continue;
    if (!best) {
      best = t;
      continue;
    }
    const c = better(t.score, best.score, up);
    if (c > 0 || (c === 0 && better(t.tie_break, best.tie_break, tieUp) > 0)) best = t;
  }
  return best;
}
