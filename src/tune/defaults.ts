// The built-in search space and trial budget per model type: what `cf-native tune` searches for a
// model the config gives no space for (no tune.space entry and no lists in its params).
//
// They live here, in one TypeScript table next to space.ts, rather than in the core's parameter
// specs: a spec states what a parameter may be (its bounds and its default, defined once in the
// core), while these ranges are a search policy, and several are functions of the data's shape
// (the factor count is capped by the matrix's smaller side, EASE's lambda scales with the mean
// item count), which a static spec cannot carry. Every range here is checked against the core's
// bounds like a space written in a config (runTune validates the filled-in config again).
//
// Chosen leave-one-dataset-out on ml-100k, ml-latest-small and lastfm-2k (bench/RESULTS-tune.md).
import type { TuneDimension } from '../config/schema.js';

/** What the defaults read of the data: the training part the trials fit on. */
export interface DataShape {
  users: number;
  items: number;
  /** Stored entries of the training matrix. */
  interactions: number;
}

export interface DefaultTuning {
  /** The searched parameters; null: nothing to search (the model is fitted once, as configured). */
  space: (shape: DataShape) => Record<string, TuneDimension> | null;
  /** This model's share of the default budget, in trials. */
  trials: number;
}

const log = (min: number, max: number): TuneDimension => ({ min, max, log: true });
/** Significant digits enough for a range's end, read back from tuning.json and best.yaml. */
const round = (x: number): number => Number(x.toPrecision(3));
/** A factor count range [lo, hi], hi capped by the matrix's smaller side (no more factors than rows or columns). */
const factors = (shape: DataShape, lo: number, hi: number): TuneDimension => {
  const cap = Math.max(2, Math.min(hi, Math.floor(Math.min(shape.users, shape.items) / 2)));
  return log(Math.min(lo, cap - 1), cap);
};

export const DEFAULT_TUNING: Record<string, DefaultTuning> = {
  // The good region is a ridge regularization ~ 5 (1 + alpha) (bench/defaults/README.md); both
  // ranges span it with room on each side. Factors matter far less than the ridge (64-512
  // within 1 % on the shared data) and cost about quadratically, so the range stops at 128.
  als: {
    space: (s) => ({ factors: factors(s, 32, 128), alpha: log(1, 100), regularization: log(1, 3000) }),
    trials: 40,
  },
  // lambda's scale is the Gram matrix's diagonal, the items' counts: the best lambda sat at 10-35x
  // the mean count per item on the shared data; the range spans 1x to 300x.
  ease: {
    space: (s) => {
      const mean = Math.max(1, s.interactions / Math.max(1, s.items));
      return { lambda: log(round(mean), round(300 * mean)) };
    },
    trials: 8,
  },
  bpr: {
    space: (s) => ({ factors: factors(s, 32, 256), learning_rate: log(0.005, 0.2), regularization: log(0.0001, 0.1) }),
    trials: 30,
  },
  svd: { space: (s) => ({ factors: factors(s, 4, 512) }), trials: 10 },
  mf: {
    space: (s) => ({ factors: factors(s, 8, 128), regularization: log(0.01, 1) }),
    trials: 20,
  },
  popularity: { space: () => null, trials: 1 },
  // Neighbours: on validation NDCG@10 more helped up to 200-400 on the shared data (knn's spec);
  // the weighting changes the ranking more than k does (bench/RESULTS-knn.md).
  knn: { space: () => ({ k: log(20, 400), weighting: ['cosine', 'tfidf', 'bm25'] }), trials: 10 },
  content: { space: () => ({ k: log(20, 400), sublinear_tf: [true, false] }), trials: 6 },
  // A hybrid blends other models' fits: tune refuses it (train chooses its weights on validation).
  hybrid: { space: () => null, trials: 0 },
};

/** The default budget of a study of these model types: the sum of their shares. */
export function defaultTrials(types: string[]): number {
  return types.reduce((n, t) => n + (DEFAULT_TUNING[t]?.trials ?? 10), 0);
}

/** The built-in space of a model type on data of this shape, or null when it has none. */
export function defaultSpace(type: string, shape: DataShape): Record<string, TuneDimension> | null {
  return DEFAULT_TUNING[type]?.space(shape) ?? null;
}
