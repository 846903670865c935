// What every model offers, written once over the native `Model` class: recommending for
// known and new users, similar items, evaluation, params and the seen rows. A model's
// class adds only what its type alone does.
import { CfError } from '../errors.js';
import { call, callAsync, checkMatrix } from '../native.js';
import { checkInstanceArg, checkKeys, checkNumberArg, checkOptionsObject, kindOf } from '../options.js';
import type { ResolvedParams } from './params.js';
import type { EvalResult, EvaluateOptions, FitOptions, FoldInOptions, Matrix, NativeModel, RecommendOptions, TopK } from './types.js';

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
    checkMatrix('train', m, true);
    call(() => (this.inner.train = m));
  }

  /** Top-k items for a known user (row index); see {@link RecommendOptions} for filtering. */
  recommend(user: number, opts: RecommendOptions = {}): TopK {
    checkNumberArg('user', user);
    checkOptionsObject('options', opts);
    return call(() => this.inner.recommend(user, { ...opts }));
  }

  /**
   * Top-k for someone not in training, from the items they interacted with (fold-in); the
   * given items are left out. Repeated items are summed. An empty list is an error.
   */
  recommendForItems(items: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    checkOptionsObject('options', opts);
    const ids = toIndices('items', items);
    return call(() => this.inner.recommendForItems(ids, { ...opts, values: toValues(opts.values) }));
  }

  /** Items most similar to `item` (cosine of factors for factor models), itself left out. */
  similarItems(item: number, opts: { k?: number } = {}): TopK {
    checkNumberArg('item', item);
    checkOptionsObject('options', opts);
    return call(() => this.inner.similarItems(item, { ...opts }));
  }

  /** Per-epoch reports of the fit that made this model, for models that keep one (else null). */
  learningCurve(): object[] | null {
    return null;
  }

  /** Ranking metrics on `truth`, off the JS thread. */
  async evaluate(train: Matrix, truth: Matrix, o: EvaluateOptions): Promise<EvalResult> {
    checkMatrix('train', train);
    checkMatrix('truth', truth);
    checkOptionsObject('options', o);
    const { signal, ...rest } = o ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const r = await callAsync(() => this.inner.evaluate(train, truth, rest, signal));
    const metrics: Record<string, number> = {};
    r.names.forEach((n, i) => (metrics[n] = r.values[i]!));
    return { usersEvaluated: r.usersEvaluated, usersWithoutTrain: r.usersWithoutTrain, metrics };
  }
}

/** An entry of a number list as messages show it: strings quoted, holes named. */
const entry = (v: unknown): string => (v === undefined ? 'an empty slot' : typeof v === 'number' ? String(v) : kindOf(v));

/**
 * Index lists cross as Uint32Array; a number[] is checked first so -1 or 1.5 never wrap.
 * Every slot is visited (forEach skips the holes of a sparse array, which would become 0).
 */
export function toIndices(what: string, xs: Uint32Array | number[]): Uint32Array {
  if (xs instanceof Uint32Array) return xs;
  if (!Array.isArray(xs)) throw new CfError('ERR_CF_INVALID_ARG', `${what}: must be a Uint32Array or an array of indices (got ${kindOf(xs)})`);
  for (let j = 0; j < xs.length; j++) {
    const v: unknown = xs[j];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CfError('ERR_CF_INVALID_ARG', `${what}: ${entry(v)} at position ${j} is not a non-negative integer index`);
    }
  }
  return Uint32Array.from(xs);
}

const F32_MAX = 3.4028234663852886e38;

/**
 * Values cross as Float32Array. Other lists are checked first: an entry that is not a number
 * (or a hole) would become NaN, one beyond float32 range Infinity, and the core would then
 * report a value the caller never passed. NaN, negative and infinite numbers are the core's
 * to reject, by position.
 */
export function toValues(xs: Float32Array | number[] | null | undefined): Float32Array | null {
  if (xs === undefined || xs === null) return null;
  if (xs instanceof Float32Array) return xs;
  const given: unknown = xs;
  if (!Array.isArray(given) && !(ArrayBuffer.isView(given) && !(given instanceof DataView))) {
    throw new CfError('ERR_CF_INVALID_ARG', `values: must be a Float32Array or an array of numbers (got ${kindOf(xs)})`);
  }
  const list = xs as ArrayLike<unknown>;
  for (let j = 0; j < list.length; j++) {
    const v = list[j];
    if (typeof v !== 'number') throw new CfError('ERR_CF_INVALID_ARG', `values: ${entry(v)} at position ${j} is not a number`);
    if (Number.isFinite(v) && Math.abs(v) > F32_MAX) throw new CfError('ERR_CF_INVALID_ARG', `values: ${v} at position ${j} is beyond the float32 range`);
  }
  return Float32Array.from(list as ArrayLike<number>);
}

/**
 * Fit options are checked like model params: a misspelt onProgress would otherwise never be
 * called. Every model's fit takes the same keys (a model that does not validate during a fit
 * ignores `valid`); the sync forms take no `signal`.
 */
export function checkFitOptions(opts: unknown, allowed: readonly (keyof FitOptions)[]): void {
  checkOptionsObject('options', opts);
  checkKeys(opts as object | undefined, allowed, 'options');
  const o = (opts ?? {}) as FitOptions;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new CfError('ERR_CF_INVALID_ARG', `onProgress: must be a function (got ${kindOf(o.onProgress)})`);
  }
  checkInstanceArg('signal', o.signal, AbortSignal, { optional: true });
  if (o.valid !== undefined && o.valid !== null) checkMatrix('valid', o.valid);
}
