import type { Binding } from '../native.js';

export type Matrix = Binding.Matrix;
export type NativeModel = Binding.Model;

export interface TopK {
  /** Item indices, best first. */
  ids: Uint32Array;
  scores: Float32Array;
}

export interface RecommendOptions {
  /** How many items (default 10; capped at the number of items). */
  k?: number;
  /** Leave out the items the user has in the training matrix (default true). */
  filterSeen?: boolean;
  /** Filter with this matrix's row instead of the training matrix (e.g. train + valid). */
  exclude?: Matrix | null;
}

/** Options of the fold-in rankings (`recommendForItems`, `similarToNewItem`). */
export interface FoldInOptions {
  /** How many items (default 10). */
  k?: number;
  /** One value per id, as in training data (default 1 each); finite and >= 0. */
  values?: Float32Array | number[];
}

export interface EvalResult {
  usersEvaluated: number;
  /** Users with held-out rows but no training row; they cannot be ranked and are left out. */
  usersWithoutTrain: number;
  metrics: Record<string, number>;
}

export interface EvaluateOptions {
  /** Cut-offs, e.g. [10, 20]. */
  k: number | number[];
  /** Remove the user's training items (and `alsoExclude`'s) from the ranking. Default true. */
  filterSeen?: boolean;
  alsoExclude?: Matrix | null;
  /** Default: the model's own `threads` parameter, if it has one. */
  threads?: number;
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
  onProgress?: (p: FitProgress) => void;
}
