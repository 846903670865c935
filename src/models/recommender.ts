// What every model offers, written once over the native `Model` class: recommending for
// known and new users, similar items, evaluation, params and the seen rows. A model's
// class adds only what its type alone does.
import { CfError } from '../errors.js';
import { call, callAsync } from '../native.js';
import type { ResolvedParams } from './params.js';
import type { EvalResult, EvaluateOptions, FoldInOptions, Matrix, NativeModel, RecommendOptions, TopK } from './types.js';

export class Recommender {
  constructor(readonly inner: NativeModel) {}

  /** The model's type, as in a config's `type:`. */
  get type(): string {
    return this.inner.type;
  }

  /** Every parameter, snake_case, defaults included (what model.json stores). */
  get params(): ResolvedParams {
    return this.inner.params();
  }

  get nUsers(): number {
    return this.inner.nUsers;
  }

  get nItems(): number {
    return this.inner.nItems;
  }

  /**
   * The matrix whose rows `recommend` filters: the one the model was fitted on (or loaded
   * with), with rows given to a partial fit in place, shaped like the model. `saveModel`
   * saves it. Assigning a matrix replaces it and forgets partial-fit rows.
   */
  get train(): Matrix | null {
    return this.inner.train;
  }

  set train(m: Matrix | null) {
    call(() => (this.inner.train = m));
  }

  /** Top-k items for a known user (row index); see {@link RecommendOptions} for filtering. */
  recommend(user: number, opts: RecommendOptions = {}): TopK {
    return call(() => this.inner.recommend(user, { ...opts }));
  }

  /**
   * Top-k for someone not in training, from the items they interacted with (fold-in); the
   * given items are left out. Repeated items are summed. An empty list is an error.
   */
  recommendForItems(items: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    const ids = toIndices('items', items);
    return call(() => this.inner.recommendForItems(ids, { ...opts, values: toValues(opts.values) }));
  }

  /** Items most similar to `item` (cosine of factors for factor models), itself left out. */
  similarItems(item: number, opts: { k?: number } = {}): TopK {
    return call(() => this.inner.similarItems(item, { ...opts }));
  }

  /** Per-epoch reports of the fit that made this model, for models that keep one (else null). */
  learningCurve(): object[] | null {
    return null;
  }

  /** Ranking metrics on `truth`, off the JS thread. */
  async evaluate(train: Matrix, truth: Matrix, o: EvaluateOptions): Promise<EvalResult> {
    const { signal, ...rest } = o;
    const r = await callAsync(() => this.inner.evaluate(train, truth, rest, signal));
    const metrics: Record<string, number> = {};
    r.names.forEach((n, i) => (metrics[n] = r.values[i]!));
    return { usersEvaluated: r.usersEvaluated, usersWithoutTrain: r.usersWithoutTrain, metrics };
  }
}

/** Index lists cross as Uint32Array; a number[] is checked first so -1 or 1.5 never wrap. */
export function toIndices(what: string, xs: Uint32Array | number[]): Uint32Array {
  if (xs instanceof Uint32Array) return xs;
  if (!Array.isArray(xs)) throw new CfError('ERR_CF_INVALID_ARG', `${what} must be a Uint32Array or an array of indices`);
  xs.forEach((v, j) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CfError('ERR_CF_INVALID_ARG', `${what}: ${v} at position ${j} is not a non-negative integer index`);
    }
  });
  return Uint32Array.from(xs);
}

export function toValues(xs: Float32Array | number[] | null | undefined): Float32Array | null {
  if (xs === undefined || xs === null) return null;
  return xs instanceof Float32Array ? xs : Float32Array.from(xs);
}
