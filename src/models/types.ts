import type { Binding } from '../native.js';

export type Matrix = Binding.Matrix;
export type NativeModel = Binding.Model;

export interface TopK {
  /** Item indices, best first. */
  ids: Uint32Array;
  scores: Float32Array;
}

/** Lists for many queries: row r is `ids[r * k .. (r + 1) * k]`, best first. */
export interface Lists {
  ids: Uint32Array;
  scores: Float32Array;
  /** Row width: the `k` asked for, capped at the items (or candidates) there are. Rows with fewer entries are padded with id 4294967295 (`NO_ITEM`) and score NaN. */
  k: number;
  rows: number;
}

/** Why an item scores what it does for someone (`explain`): their liked items' contributions. */
export interface Explanation {
  /** The item's score, the sum of every contribution (for ALS: its score for the user folded in from their liked items, as implicit's explain). */
  score: number;
  /** The liked items that contributed most, largest contribution first (ties: lower index). */
  items: Uint32Array;
  contributions: Float32Array;
}

/** Filters shared by every list. */
export interface ListFilters {
  /** How many (default 10; capped at what can be returned). */
  k?: number;
  /** Never return these (e.g. items no longer sold). */
  excludeItems?: Uint32Array | number[] | null;
  /** Return only these (an allowlist; must not be empty). */
  candidates?: Uint32Array | number[] | null;
}

export interface RecommendOptions extends ListFilters {
  /** Leave out the items the user has in the training matrix (default true). */
  filterSeen?: boolean;
  /** Filter with this matrix's row instead of the training matrix (e.g. train + valid). */
  exclude?: Matrix | null;
}

export interface SimilarOptions extends ListFilters {
  /** `cosine` (default: dot product over both norms; zero vectors match nothing) or `dot`. */
  measure?: 'cosine' | 'dot';
}

/** Quantiles of a model's top-k scores over a sample of users (saved in model.json). */
export interface ScoreStats {
  users: number;
  k: number;
  min: number;
  p01: number;
  p50: number;
  p99: number;
  max: number;
}

/** Options of the fold-in rankings (`recommendForItems`, `similarToNewItem`). */
export interface FoldInOptions extends ListFilters {
  /** One value per id, as in training data (default 1 each); finite and >= 0. */
  values?: Float32Array | number[];
}

export interface EvalResult {
  usersEvaluated: number;
  /** Users with held-out rows but no training row; they cannot be ranked and are left out. */
  usersWithoutTrain: number;
  /**
   * By name: precision, recall, ndcg, map, hit_rate, f1, coverage, novelty at each K
   * (`ndcg@10`), `auc` (unless `auc: false`), and `rmse`, `mae` for models that predict ratings.
   */
  metrics: Record<string, number>;
  /** Each evaluated user's values, with `perUser: true` (see {@link PerUserMetrics}). */
  perUser?: PerUserMetrics;
}

/**
 * Per-user metric values: row r (user index `users[r]`) is
 * `values[r * names.length .. (r + 1) * names.length]`, in the order of `names` (every
 * per-user metric at each K, then `auc`; coverage is a whole-population figure and has no
 * per-user value). NaN where a metric is undefined for that user (AUC without a positive or a
 * negative, novelty of an empty list); each column's mean over its other entries is the
 * value in `metrics`.
 */
export interface PerUserMetrics {
  users: Uint32Array;
  names: string[];
  values: Float64Array;
}

export interface EvaluateOptions {
  /** Cut-offs, e.g. [10, 20]. */
  k: number | number[];
  /** Remove the user's training items (and `alsoExclude`'s) from the ranking. Default true. */
  filterSeen?: boolean;
  alsoExclude?: Matrix | null;
  /** Default: the model's own `threads` parameter, if it has one. */
  threads?: number;
  /** Compute `auc` (default true): it scores every item for every user, a second pass over the catalogue. */
  auc?: boolean;
  /** Return each user's values as `perUser` (default false), e.g. for `buildLeaderboard`'s bootstrap. */
  perUser?: boolean;
  signal?: AbortSignal;
}

export interface FitProgress {
  iteration: number;
  iterations: number;
  seconds: number;
  loss: number | null;
  /** The validation metric of this iteration, for models that validate during a fit. */
  valid?: number | null;
}

export interface FitOptions {
  signal?: AbortSignal;
  /** A validation matrix, for models that validate during a fit (others ignore it). */
  valid?: Matrix | null;
  /**
   * Explicit negatives (users x items, as `dataset.negatives()` gives them), for a fit that
   * draws from them: BPR's mixed sampler puts each user's in its hard pool. A BPR fit with
   * another sampler refuses them; other models do not take them.
   */
  negatives?: Matrix | null;
  onProgress?: (p: FitProgress) => void;
  /**
   * Checkpoints of an iterative fit (als, bpr, mf): `save` gets one every `every` iterations
   * (0: only when stopped; never after the last iteration) and one when `stop` ends the fit.
   * Other models fit in one step and never call it.
   */
  checkpoint?: { every: number; save: (c: FitCheckpoint) => Promise<void> } | null;
  /** Continue an unfinished fit from its checkpoint (same type, params and training matrix) instead of starting over: the result is bit for bit the uninterrupted fit's. */
  resume?: FitCheckpoint | null;
  /**
   * A graceful stop: the fit ends after the current iteration, saves a checkpoint through
   * `checkpoint.save` when given, and throws ERR_CF_INTERRUPTED. (`signal` aborts at once.)
   */
  stop?: AbortSignal;
  /**
   * The item side file and the training matrix's item ids in column order, for models that
   * read item texts (`content`); others do not take it.
   */
  items?: { path: string; id: string; text: string[]; ids: string[] } | null;
  /**
   * A hybrid's fitted parts (weight null: a fallback only), its fallback order by part name,
   * and the cut-off K its weights are chosen at on `valid`; other models do not take it.
   */
  blend?: { parts: { name: string; model: import('./recommender.js').Recommender; weight: number | null }[]; fallback: string[]; k: number } | null;
}

/** An unfinished fit, as `FitOptions.checkpoint.save` receives it and `FitOptions.resume` takes it. */
export interface FitCheckpoint {
  type: string;
  /** Iterations (epochs) done. */
  iteration: number;
  /** Iterations the fit was set to run (an early stop may end it sooner). */
  iterations: number;
  /** The native state (checksummed; see the core's checkpoint module). */
  state: Uint8Array;
  /** The learning curve so far (the model's `learningCurve()` entries). */
  curve: object[];
}
