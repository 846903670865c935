// train -> evaluate -> save, for every model of a config, beside the baseline model.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { checkConfig, type Config } from '../config/index.js';
import { loadDataset, loadOptionsFromConfig, splitDataset, splitOptionsFromConfig } from '../data.js';
import { saveModel } from '../artifacts/model-io.js';
import { checkOutputFolder } from '../artifacts/output.js';
import type { Recommender } from '../models/recommender.js';
import { BASELINE_TYPE, fitModel } from '../models/registry.js';
import type { EvalResult, FitProgress, Matrix } from '../models/types.js';

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
}

export interface TrainHooks {
  log?: (line: string) => void;
  onProgress?: (model: string, p: FitProgress) => void;
  signal?: AbortSignal;
}

async function hashFiles(paths: string[]): Promise<string> {
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
  const ds = loadDataset(loadOptionsFromConfig(d));
  const st = ds.stats;
  log(
    `data: ${st.rowsRead} rows read -> ${st.rows} kept (${st.belowThreshold} below threshold, ${st.duplicatesMerged} duplicates merged, ${st.removedByMinCounts} removed by min counts); ${st.users} users x ${st.items} items`,
  );
  const dataHash = await hashFiles(files);
  const splits = splitDataset(ds, splitOptionsFromConfig(config.split, d.train !== null));
  const { train, valid, test } = splits;
  log(`split (${config.split.strategy}): train ${train.nnz}, valid ${valid?.nnz ?? 0}, test ${test?.nnz ?? 0} rows`);
  const userIds = ds.userIds();
  const itemIds = ds.itemIds();
  const ks = config.evaluate.k;
  const filterSeen = config.evaluate.filter_seen;

  let usersEvaluated = 0;
  let usersWithoutTrain = 0;
  const evaluate = async (m: Recommender) => {
    const on = async (truth: Matrix | null, also: Matrix | null): Promise<EvalResult | null> =>
      truth ? m.evaluate(train, truth, { k: ks, filterSeen, alsoExclude: also }) : null;
    const v = await on(valid, null);
    // Test users already told us their validation items: those are known, not predictions.
    const t = await on(test, valid);
    const main = t ?? v;
    if (main) {
      usersEvaluated = main.usersEvaluated;
      usersWithoutTrain = main.usersWithoutTrain;
    }
    return { valid: v?.metrics ?? null, test: t?.metrics ?? null };
  };

  const baselineModel = await fitModel(BASELINE_TYPE, train, {});
  const baseline = await evaluate(baselineModel);
  if (usersWithoutTrain > 0) log(`evaluation: ${usersWithoutTrain} users without training rows were left out`);

  const models: ModelResult[] = [];
  for (const mc of config.models) {
    hooks.signal?.throwIfAborted();
    const started = performance.now();
    // The baseline was fitted already, on the same matrix: reuse it rather than fit twice.
    const model =
      mc.type === BASELINE_TYPE
        ? baselineModel
        : await fitModel(mc.type, train, mc.params, {
            signal: hooks.signal,
            valid,
            onProgress: (p) => hooks.onProgress?.(mc.name, p),
          });
    const trainSeconds = (performance.now() - started) / 1000;
    const scores = model === baselineModel ? baseline : await evaluate(model);
    const dir = join(output, mc.name);
    const curve = model.learningCurve();
    const summary = model.fitSummary();
    const metrics = {
      model: mc.type,
      name: mc.name,
      params: model.params,
      train_seconds: trainSeconds,
      valid: scores.valid,
      test: scores.test,
      baseline: { [BASELINE_TYPE]: baseline.test ?? baseline.valid },
      baseline_valid: { [BASELINE_TYPE]: baseline.valid },
      users_evaluated: usersEvaluated,
      users_without_train: usersWithoutTrain,
      data_hash: dataHash,
      ...(curve ? { curve } : {}),
      ...(summary ? { fit: summary } : {}),
    };
    await saveModel(dir, model, { userIds, itemIds, train, dataHash, files: { 'metrics.json': metrics } });
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
  }
  return {
    output,
    dataset: { users: st.users, items: st.items, rows: st.rows, train: train.nnz, valid: valid?.nnz ?? 0, test: test?.nnz ?? 0 },
    usersEvaluated,
    usersWithoutTrain,
    baseline,
    models,
  };
}
