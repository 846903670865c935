// train -> evaluate -> save, for every model of a config, beside the baseline model.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkConfig, type Config } from '../config/index.js';
import { loadDataset, loadOptionsFromConfig, splitDataset, splitOptionsFromConfig } from '../data.js';
import { loadModel, saveModel } from '../artifacts/model-io.js';
import { RunCheckpoints } from '../artifacts/checkpoint.js';
import { metricsJson } from '../artifacts/metrics.js';
import { checkOutputFolder } from '../artifacts/output.js';
import type { Recommender } from '../models/recommender.js';
import { BASELINE_TYPE, fitModel, modelEntry } from '../models/registry.js';
import type { EvalResult, FitProgress, Matrix, PerUserMetrics } from '../models/types.js';
import { writeFileAtomic } from '../artifacts/atomic.js';
import { buildLeaderboard, leaderboardCsv, leaderboardJson, type Leaderboard, type LeaderboardInput } from '../leaderboard/index.js';
import type { ParamValue } from '../models/params.js';
import { CfError, CfErrorCode, isCfError } from '../errors.js';
import { Popularity } from '../models/popularity.js';
import { Hybrid } from '../models/hybrid.js';
import { ERR_SPARK_SETUP, fitWithSpark, probeSpark, type SparkRunInfo } from '../spark/index.js';
import { collectReportData, itemPopularity, runVersions, writeReport, writeRunInfo } from '../report/index.js';

export interface ModelResult {
  name: string;
  type: string;
  params: Record<string, unknown>;
  train_seconds: number;
  valid: Record<string, number> | null;
  test: Record<string, number> | null;
  dir: string;
}

export interface TrainReport {
  output: string;
  dataset: { users: number; items: number; rows: number; train: number; valid: number; test: number };
  usersEvaluated: number;
  usersWithoutTrain: number;
  baseline: { valid: Record<string, number> | null; test: Record<string, number> | null };
  models: ModelResult[];
  /** The report.html written beside the models, null with `report: false`. */
  reportPath: string | null;
  /** Every model beside the baseline with intervals (see leaderboard/index.ts); null without a held-out split. Also written as OUTPUT/leaderboard.json and .csv. */
  leaderboard: Leaderboard | null;
}

export interface TrainHooks {
  log?: (line: string) => void;
  onProgress?: (model: string, p: FitProgress) => void;
  signal?: AbortSignal;
  /** Write report.html beside the models (default true); run.json is written either way. */
  report?: boolean;
  /**
   * Continue the run interrupted in the config's output folder: models it saved are loaded,
   * the one it was fitting continues from its last checkpoint (bit for bit the same result),
   * the rest are fitted. Refused when the config or the data changed.
   */
  resume?: boolean;
  /**
   * Stop gracefully: the fit under way ends after its current iteration and saves a
   * checkpoint (a one-step fit finishes), then the run throws ERR_CF_INTERRUPTED.
   */
  stop?: AbortSignal;
}

export async function hashFiles(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  }
  return `sha256:${h.digest('hex')}`;
}

export async function runTrain(given: Config, hooks: TrainHooks = {}): Promise<TrainReport> {
  // A config built in code gets the checks a file gets, rather than a TypeError mid-run.
  const config = checkConfig(given);
  const log = hooks.log ?? (() => {});
  const d = config.data;
  const files = [d.path, d.train, d.valid, d.test].filter((p): p is string => p !== null);
  // Before any work: an output that cannot be written would otherwise fail after the fit.
  const output = await checkOutputFolder(config.output);
  // Spark's Java and PySpark, before loading any data: missing ones are one line saying what to install.
  for (const mc of config.models) {
    if (mc.engine !== 'spark') continue;
    const problem = probeSpark(mc.spark?.python).problem;
    if (problem) throw new CfError(ERR_SPARK_SETUP, `models ${mc.name}: spark: ${problem}`);
  }
  const ds = loadDataset(loadOptionsFromConfig(d));
  const st = ds.stats;
  log(
    `data: ${st.rowsRead} rows read -> ${st.rows} kept (${st.belowThreshold} below threshold, ${st.duplicatesMerged} duplicates merged, ${st.removedByMinCounts} removed by min counts); ${st.users} users x ${st.items} items`,
  );
  const negatives = ds.negatives();
  if (negatives) {
    log(`negatives: ${st.negatives} rows at or below negative_threshold kept as dislikes (${st.negativesDropped} dropped: their user or item has no positive)`);
  }
  const dataHash = await hashFiles(files);
  // What the saved models depend on: a resumed run must see the same (how often it
  // checkpoints, and where it writes, do not matter).
  const { output: _output, checkpoint_every: _every, ...decisive } = config;
  const fingerprint = `sha256:${createHash('sha256').update(JSON.stringify({ config: decisive, dataHash })).digest('hex')}`;
  const checkpoints = await RunCheckpoints.open(output, fingerprint, hooks.resume ?? false, 'the config');
  const splits = splitDataset(ds, splitOptionsFromConfig(config.split, d.train !== null));
  const { train, valid, test } = splits;
  log(`split (${config.split.strategy}): train ${train.nnz}, valid ${valid?.nnz ?? 0}, test ${test?.nnz ?? 0} rows`);
  const userIds = ds.userIds();
  const itemIds = ds.itemIds();
  const ks = config.evaluate.k;
  const filterSeen = config.evaluate.filter_seen;

  let usersEvaluated = 0;
  let usersWithoutTrain = 0;
  // The leaderboard's part: test when there is one, else validation. Only its per-user values
  // are kept (for the bootstrap), so the other part's evaluation stays as cheap as before.
  const boardPart: 'test' | 'valid' = test ? 'test' : 'valid';
  const evaluate = async (m: Recommender) => {
    const on = async (truth: Matrix | null, also: Matrix | null, perUser: boolean): Promise<EvalResult | null> =>
      truth ? m.evaluate(train, truth, { k: ks, filterSeen, alsoExclude: also, perUser }) : null;
    const v = await on(valid, null, boardPart === 'valid');
    // Test users already told us their validation items: those are known, not predictions.
    const t = await on(test, valid, boardPart === 'test');
    const main = t ?? v;
    if (main) {
      usersEvaluated = main.usersEvaluated;
      usersWithoutTrain = main.usersWithoutTrain;
    }
    return { valid: v?.metrics ?? null, test: t?.metrics ?? null, perUser: main?.perUser ?? null };
  };

  const baselineModel = await fitModel(BASELINE_TYPE, train, {});
  const baseline = await evaluate(baselineModel);
  if (usersWithoutTrain > 0) log(`evaluation: ${usersWithoutTrain} users without training rows were left out`);

  // A list of values for a parameter is chosen on validation: say so before any fit.
  config.models.forEach((mc, i) => {
    if (mc.grid && !valid) {
      throw new CfError(
        'ERR_CF_CONFIG',
        `models[${i}].params lists several values for ${Object.keys(mc.grid).join(', ')}, which needs a validation split to choose between them (split.valid, or data.valid)`,
      );
    }
  });

  // Dislikes go to the fits that draw from them; say which ones do not, rather than drop
  // them silently.
  const drawsNegatives = (type: string, params: Record<string, unknown>) =>
    negatives !== null && (modelEntry(type).drawsNegatives?.(params) ?? false);
  if (negatives) {
    const unused = config.models
      .filter((mc) => mc.type !== BASELINE_TYPE && !(mc.grid ? combinations(mc.grid) : [{}]).some((v) => drawsNegatives(mc.type, { ...mc.params, ...v })))
      .map((mc) => mc.name);
    if (unused.length > 0) log(`negatives: not used by ${unused.join(', ')} (only bpr with sampler mixed draws from them)`);
  }

  const models: ModelResult[] = [];
  const board: LeaderboardInput[] = [];
  // Every model fitted so far by name (the baseline as popularity unless a model takes that
  // name): what a hybrid's blend: block names.
  const fitted = new Map<string, Recommender>([[BASELINE_TYPE, baselineModel]]);
  const blendOf = (mc: (typeof config.models)[number]) => {
    if (!mc.blend) return {};
    const names = [...new Set([...Object.keys(mc.blend.parts), ...mc.blend.fallback])];
    const parts = names.map((name) => ({ name, model: fitted.get(name)!, weight: mc.blend!.parts[name] ?? null }));
    return { blend: { parts, fallback: mc.blend.fallback, k: Math.min(...ks) } };
  };
  for (const mc of config.models) {
    hooks.signal?.throwIfAborted();
    if (hooks.stop?.aborted) throw new CfError(CfErrorCode.INTERRUPTED, `stopped before fitting ${mc.name}`);
    const dir = join(output, mc.name);
    if (checkpoints.isCompleted(mc.name)) {
      // Saved before the interruption: loaded and evaluated again (the same bits give the
      // same scores, and the leaderboard needs the per-user values), not refitted.
      const saved = await loadModel(dir);
      const scores = mc.type === BASELINE_TYPE ? baseline : await evaluate(saved.model);
      const savedMetrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8').catch(() => '{}')) as { train_seconds?: unknown };
      const trainSeconds = typeof savedMetrics.train_seconds === 'number' ? savedMetrics.train_seconds : 0;
      log(`${mc.name}: saved before the interruption, loaded from ${dir}`);
      fitted.set(mc.name, saved.model);
      models.push({ name: mc.name, type: mc.type, params: saved.model.params, train_seconds: trainSeconds, valid: scores.valid, test: scores.test, dir });
      board.push({ name: mc.name, type: mc.type, baseline: mc.type === BASELINE_TYPE, metrics: scores[boardPart] ?? {}, perUser: scores.perUser });
      continue;
    }
    const entry = modelEntry(mc.type);
    const point = hooks.resume && entry.resumable ? await checkpoints.resumePoint(mc.name, mc.type) : null;
    if (point) log(`${mc.name}: resuming from its checkpoint after iteration ${point.checkpoint.iteration} of ${point.checkpoint.iterations}`);
    // One fit, or one per combination of the listed values; the best on validation is kept.
    const trials: { params: Record<string, ParamValue>; train_seconds: number; valid: Record<string, number> | null; test: Record<string, number> | null; fit?: Record<string, unknown> }[] = [];
    let best: {
      model: Recommender;
      scores: { valid: Record<string, number> | null; test: Record<string, number> | null; perUser: PerUserMetrics | null };
      seconds: number;
      score: number;
    } | null = null;
    const combos = mc.grid ? combinations(mc.grid) : [{}];
    let spark: SparkRunInfo | null = null;
    for (const [combination, varied] of combos.entries()) {
      hooks.signal?.throwIfAborted();
      if (hooks.stop?.aborted) throw new CfError(CfErrorCode.INTERRUPTED, `${mc.name}: stopped between two fits of its grid`);
      const params = { ...mc.params, ...varied };
      // The grid point as `key=value ...`, for its log line and its errors.
      const gridPoint = Object.entries(varied).map(([k, v]) => `${k}=${v}`).join(' ');
      const started = performance.now();
      // Combinations before the checkpointed one are fitted again: the same seed gives the
      // same models, so the grid's choice is the uninterrupted run's.
      const iterative = entry.resumable
        ? {
            checkpoint: { every: config.checkpoint_every ?? 0, save: checkpoints.saver(mc.name, combination) },
            resume: point?.combination === combination ? point.checkpoint : null,
            ...(hooks.stop ? { stop: hooks.stop } : {}),
          }
        : {};
      // The baseline was fitted already, on the same matrix: reuse it rather than fit twice.
      let model: Recommender;
      if (mc.engine === 'spark') {
        // Spark fits, on the same training matrix; everything after is as for a native fit.
        // Ctrl-C (stop) ends the Spark job too: it has no checkpoint, so --resume fits it again.
        const signals = [hooks.signal, hooks.stop].filter((x): x is AbortSignal => x !== undefined);
        const fitted = await fitWithSpark(train, params, {
          spark: mc.spark,
          workdir: join(output, `.spark-${mc.name}`),
          log: (line) => log(`${mc.name}: ${line}`),
          ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
        }).catch((err: unknown) => {
          if (hooks.stop?.aborted && !hooks.signal?.aborted) throw new CfError(CfErrorCode.INTERRUPTED, `${mc.name}: stopped during its Spark fit (a Spark fit keeps no checkpoint: --resume fits it again)`);
          throw err;
        });
        // No per-iteration progress: Spark's ALS reports none; the job's own lines stand for it.
        spark = fitted.info;
        model = fitted.model;
      } else model =
        mc.type === BASELINE_TYPE
          ? baselineModel
          : await fitModel(mc.type, train, params, {
              signal: hooks.signal,
              valid,
              ...(drawsNegatives(mc.type, params) ? { negatives } : {}),
              ...(modelEntry(mc.type).takesItems && config.data.items ? { items: { ...config.data.items, ids: itemIds } } : {}),
              ...blendOf(mc),
              onProgress: (p) => hooks.onProgress?.(mc.name, p),
              ...iterative,
            }).catch((err: unknown) => {
              if (isCfError(err, CfErrorCode.INTERRUPTED)) throw new CfError(CfErrorCode.INTERRUPTED, `${mc.name}: ${err.message}`, { cause: err });
              // The core's message says what went wrong (an epoch, a row, a parameter); which
              // model of the config, and which grid point, only this loop knows.
              if (isCfError(err) && err.code !== CfErrorCode.CANCELLED) {
                const at = mc.grid ? ` (${gridPoint})` : '';
                throw new CfError(err.code, `${mc.name}${at}: ${err.message}`, { cause: err });
              }
              throw err;
            });
      const seconds = (performance.now() - started) / 1000;
      const scores = model === baselineModel ? baseline : await evaluate(model);
      const score = selectionScore(scores.valid);
      if (mc.grid) {
        const summary = model.fitSummary();
        trials.push({ params: varied, train_seconds: seconds, valid: scores.valid, test: scores.test, ...(summary ? { fit: summary } : {}) });
        log(`${mc.name} ${gridPoint}: valid ${selectionKey(scores.valid)} ${Number.isFinite(score) ? Math.abs(score).toFixed(4) : 'n/a'}`);
      }
      if (!best || score > best.score) best = { model, scores, seconds, score };
    }
    const { model, scores, seconds: trainSeconds } = best!;
    fitted.set(mc.name, model);
    const tuned = model instanceof Hybrid ? model.lastTuning() : null;
    if (tuned) {
      const w = Object.entries(tuned.weights).map(([n, x]) => `${n} ${x.toFixed(3)}`).join(', ');
      const alone = Object.entries(tuned.alone).map(([n, x]) => `${n} ${x.toFixed(4)}`).join(', ');
      log(`${mc.name}: weights chosen on validation (${tuned.candidates} candidates, ${tuned.users} users): ${w}; ndcg@${tuned.k} ${tuned.score.toFixed(4)} (alone: ${alone})`);
    } else if (model instanceof Hybrid && model.params.tune_weights === true) {
      log(`${mc.name}: no validation split, so the configured weights are kept`);
    }
    const metrics = metricsJson({
      type: mc.type,
      name: mc.name,
      model,
      trainSeconds,
      valid: scores.valid,
      test: scores.test,
      baselineType: BASELINE_TYPE,
      baseline,
      usersEvaluated,
      usersWithoutTrain,
      dataHash,
      ...(mc.grid ? { tuning: { by: selectionKey(scores.valid), grid: mc.grid, trials } } : {}),
      ...(spark ? { extra: { engine: 'spark', spark } } : {}),
    });
    const trainedBy = spark ? { trained_by: { engine: 'spark', spark_version: spark.spark, pyspark: spark.pyspark, master: spark.master, spark_params: spark.spark_params } } : undefined;
    await saveModel(dir, model, { userIds, itemIds, train, dataHash, files: { 'metrics.json': metrics }, ...(trainedBy ? { extra: trainedBy } : {}) });
    await checkpoints.completed(mc.name);
    const result: ModelResult = {
      name: mc.name,
      type: mc.type,
      params: model.params,
      train_seconds: trainSeconds,
      valid: scores.valid,
      test: scores.test,
      dir,
    };
    models.push(result);
    board.push({ name: mc.name, type: mc.type, baseline: mc.type === BASELINE_TYPE, metrics: scores[boardPart] ?? {}, perUser: scores.perUser });
  }
  // The baseline is a row of its own unless a configured model is that same model.
  if (!board.some((r) => r.baseline)) {
    board.push({ name: BASELINE_TYPE, type: BASELINE_TYPE, baseline: true, metrics: baseline[boardPart] ?? {}, perUser: baseline.perUser });
  }
  let leaderboard: Leaderboard | null = null;
  if ((valid || test) && usersEvaluated > 0) {
    hooks.signal?.throwIfAborted();
    leaderboard = await buildLeaderboard(board, { split: boardPart, users: usersEvaluated, ks, bootstrap: config.evaluate.bootstrap });
    // Beside the model folders (at the run's top level), each file whole or not at all.
    await writeFileAtomic(join(output, 'leaderboard.json'), leaderboardJson(leaderboard));
    await writeFileAtomic(join(output, 'leaderboard.csv'), leaderboardCsv(leaderboard));
  }
  const dataset = { users: st.users, items: st.items, rows: st.rows, train: train.nnz, valid: valid?.nnz ?? 0, test: test?.nnz ?? 0 };
  // What the models' metrics.json do not hold, so `cf-native report` can render this run again.
  await mkdir(output, { recursive: true });
  await writeRunInfo(output, {
    command: 'train',
    created_at: new Date().toISOString(),
    config: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
    versions: runVersions(),
    data_hash: dataHash,
    dataset: { ...dataset, usersEvaluated, usersWithoutTrain },
    // The baseline's counts are the users per item of the training matrix, counted natively.
    item_popularity: baselineModel instanceof Popularity ? itemPopularity(baselineModel.counts()) : null,
    models: models.map((m) => m.name),
  });
  let reportPath: string | null = null;
  if (hooks.report !== false) {
    const written = await writeReport(output, await collectReportData(output));
    reportPath = written.path;
    log(`report: ${written.path} (${Math.ceil(written.bytes / 1024)} KiB)`);
  }
  await checkpoints.finished();
  return { output, dataset, usersEvaluated, usersWithoutTrain, baseline: { valid: baseline.valid, test: baseline.test }, models, reportPath, leaderboard };
}

/** Every combination of the listed values, the first key varying slowest. */
function combinations(grid: Record<string, ParamValue[]>): Record<string, ParamValue>[] {
  let out: Record<string, ParamValue>[] = [{}];
  for (const [k, values] of Object.entries(grid)) out = out.flatMap((o) => values.map((v) => ({ ...o, [k]: v })));
  return out;
}

/** What a grid is chosen by: validation RMSE for models that predict ratings, else the first NDCG@K. */
function selectionKey(valid: Record<string, number> | null): string {
  if (valid && 'rmse' in valid) return 'rmse';
  const k = Object.keys(valid ?? {}).filter((n) => n.startsWith('ndcg@')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))[0];
  return k ?? 'ndcg';
}

/** Larger is better (RMSE negated); -Infinity when there is nothing to compare. */
function selectionScore(valid: Record<string, number> | null): number {
  const key = selectionKey(valid);
  const v = valid?.[key];
  if (v === undefined || !Number.isFinite(v)) return -Infinity;
  return key === 'rmse' ? -v : v;
}
