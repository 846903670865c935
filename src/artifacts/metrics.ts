// metrics.json, the file beside every saved model that says how it scored (the contract in
// DESIGN.md): built here once, for `train` and `tune` alike.
import type { Recommender } from '../models/recommender.js';

export interface MetricsInput {
  type: string;
  name: string;
  model: Recommender;
  trainSeconds: number;
  valid: Record<string, number> | null;
  test: Record<string, number> | null;
  /** The baseline's type and scores on the same parts. */
  baselineType: string;
  baseline: { valid: Record<string, number> | null; test: Record<string, number> | null };
  usersEvaluated: number;
  usersWithoutTrain: number;
  dataHash: string;
  /** What chose the model's params (a grid or a study), in the report's tuning shape. */
  tuning?: { by: string; grid: Record<string, unknown>; trials: unknown[] };
  /** Anything a run adds (e.g. the engine that fitted it). */
  extra?: Record<string, unknown>;
}

export function metricsJson(m: MetricsInput): Record<string, unknown> {
  const curve = m.model.learningCurve();
  const summary = m.model.fitSummary();
  return {
    model: m.type,
    name: m.name,
    params: m.model.params,
    train_seconds: m.trainSeconds,
    valid: m.valid,
    test: m.test,
    baseline: { [m.baselineType]: m.baseline.test ?? m.baseline.valid },
    baseline_valid: { [m.baselineType]: m.baseline.valid },
    users_evaluated: m.usersEvaluated,
    users_without_train: m.usersWithoutTrain,
    data_hash: m.dataHash,
    ...(curve ? { curve } : {}),
    ...(summary ? { fit: summary } : {}),
    ...(m.tuning ? { tuning: m.tuning } : {}),
    ...(m.extra ?? {}),
  };
}
