import type { Binding } from '../native.js';

export type Matrix = Binding.Matrix;

export interface TopK {
  /** Item indices, best first. */
  ids: Uint32Array;
  scores: Float32Array;
}

export interface RecommendOptions {
  /** How many items (default 10). */
  k?: number;
  /** Leave out the items the user has in the training matrix (default true). */
  filterSeen?: boolean;
  /** Filter with this matrix's row instead of the training matrix (e.g. train + valid). */
  exclude?: Matrix | null;
}

/** The matrix whose row `recommend` removes, or null for none. */
export function seenFilter(train: Matrix | null, o: RecommendOptions): Matrix | null {
  if (o.filterSeen === false) return null;
  return o.exclude ?? train;
}

export interface EvalResult {
  usersEvaluated: number;
  /** Users with held-out rows but no training row; they cannot be ranked and are left out. */
  usersWithoutTrain: number;
  metrics: Record<string, number>;
}

export interface EvaluateOptions {
  /** Cut-offs, e.g. [10, 20]. */
  k: number[];
  /** Remove the user's training items (and `alsoExclude`'s) from the ranking. Default true. */
  filterSeen?: boolean;
  alsoExclude?: Matrix | null;
  threads?: number;
}

export interface RawEval {
  usersEvaluated: number;
  usersWithoutTrain: number;
  names: string[];
  values: number[];
}

export function toEvalResult(r: RawEval): EvalResult {
  const metrics: Record<string, number> = {};
  r.names.forEach((n, i) => (metrics[n] = r.values[i]!));
  return { usersEvaluated: r.usersEvaluated, usersWithoutTrain: r.usersWithoutTrain, metrics };
}
