import { CfError } from '../errors.js';
import { call, callAsync, checkMatrix, native, type Binding } from '../native.js';
import { checkInstanceArg, checkOptionsObject } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { afterIteration, checkFitOptions, Recommender, resumeNative, toIndices, toValues } from './recommender.js';
import type { FitCheckpoint, FitOptions, FoldInOptions, Matrix, NativeModel, TopK } from './types.js';

/** ALS options (camelCase); names, bounds and defaults come from the core's spec. */
export type AlsParams = ParamsOf<'als'>;

/** The defaults, camelCase, from the core (bench/defaults chose them, not implicit's). */
export const ALS_DEFAULTS = Object.freeze(defaultsOf('als', { camelCase: true })) as Readonly<Required<AlsParams>>;

/** One iteration of an ALS fit: the learning curve's point (metrics.json `curve`). */
export interface AlsIteration {
  iteration: number;
  seconds: number;
  /** Normalised training loss, with `computeLoss` (else null). */
  loss: number | null;
}

/** Implicit-feedback ALS (Hu, Koren & Volinsky 2008) running in Rust. */
export class ALS extends Recommender {
  /**
   * Fit on a user x item matrix; each iteration runs off the JS thread. `checkpoint`, `resume`
   * and `stop` make the fit interruptible and resumable bit for bit (see {@link FitOptions}).
   */
  static async fit(data: Matrix, params: AlsParams = {}, opts: FitOptions = {}): Promise<ALS> {
    checkFitOptions(opts, ['signal', 'valid', 'onProgress', 'checkpoint', 'resume', 'stop']);
    const model = opts.resume ? ALS.resumed(data, params, opts.resume) : ALS.init(data, params);
    const iterations = model.params.iterations as number;
    for (let i = model.iterationsDone; i < iterations; i++) {
      opts.signal?.throwIfAborted();
      const r = await callAsync(() => native().alsIterate(model.inner, data, opts.signal));
      model.#record(r, iterations, opts);
      await afterIteration(model, r.iteration, iterations, r.iteration >= iterations, model.#curve, opts);
    }
    opts.signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: AlsParams = {}, opts: Pick<FitOptions, 'onProgress'> = {}): ALS {
    checkFitOptions(opts, ['valid', 'onProgress']);
    const model = ALS.init(data, params);
    const iterations = model.params.iterations as number;
    for (let i = 0; i < iterations; i++) {
      const r = call(() => native().alsIterateSync(model.inner, data));
      model.#record(r, iterations, opts);
    }
    model.train = data;
    return model;
  }

  #curve: AlsIteration[] = [];

  #record(r: Binding.IterationInfo, iterations: number, opts: Pick<FitOptions, 'onProgress'>): void {
    this.#curve.push({ iteration: r.iteration, seconds: r.seconds, loss: r.loss ?? null });
    opts.onProgress?.({ iteration: r.iteration, iterations, seconds: r.seconds, loss: r.loss ?? null });
  }

  /** One entry per iteration of this fit (empty for a loaded model); `loss` with `computeLoss`. */
  override learningCurve(): AlsIteration[] {
    return this.#curve.map((e) => ({ ...e }));
  }

  private static resumed(data: Matrix, params: AlsParams, c: FitCheckpoint): ALS {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    const model = new ALS(resumeNative('als', data, params, c));
    model.#curve = c.curve.map((e) => ({ ...(e as AlsIteration) }));
    return model;
  }

  private static init(data: Matrix, params: AlsParams): ALS {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    if (data.nRows === 0 || data.nCols === 0) {
      throw new CfError('ERR_CF_INVALID_ARG', `data: the matrix is ${data.nRows} x ${data.nCols}; ALS needs at least one user and one item`);
    }
    return new ALS(call(() => native().alsInit({ ...params }, data.nRows, data.nCols)));
  }

  /** A fitted model from row-major factor arrays (e.g. read back from .npy files). */
  static fromFactors(params: AlsParams, userFactors: Float32Array, itemFactors: Float32Array): ALS {
    checkOptionsObject('params', params);
    checkInstanceArg('userFactors', userFactors, Float32Array);
    checkInstanceArg('itemFactors', itemFactors, Float32Array);
    return new ALS(call(() => native().alsFromFactors({ ...params }, userFactors, itemFactors)));
  }

  /** Wrap a native model that holds ALS (the registry's loader). */
  static wrap(inner: NativeModel): ALS {
    return new ALS(inner);
  }

  get factors(): number {
    return call(() => native().alsInfo(this.inner)).factors;
  }

  get iterationsDone(): number {
    return call(() => native().alsInfo(this.inner)).iterationsDone;
  }

  /** Row-major copies. */
  userFactors(): Float32Array {
    return call(() => native().alsFactors(this.inner, true));
  }
  itemFactors(): Float32Array {
    return call(() => native().alsFactors(this.inner, false));
  }

  /**
   * The exact factor of a user not in the model, from item indices and optional values
   * (default 1 each; repeats summed). An empty list gives the zero vector, as training does.
   */
  foldInUser(items: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    const ids = toIndices('items', items);
    return call(() => native().alsFoldIn(this.inner, true, ids, toValues(values)));
  }

  /** The exact factor of an item not in the model, from user indices and optional values. */
  foldInItem(users: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    const ids = toIndices('users', users);
    return call(() => native().alsFoldIn(this.inner, false, ids, toValues(values)));
  }

  /** Items most similar (cosine) to an item not in the model, folded in from its users. */
  similarToNewItem(users: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    checkOptionsObject('options', opts);
    const ids = toIndices('users', users);
    return call(() => native().alsSimilarToNewItem(this.inner, ids, { ...opts, values: toValues(opts.values) }));
  }

  /**
   * Compute the Gram matrices (YᵀY of each side) that fold-in needs now rather than on the
   * first fold-in call; they are kept until that side's factors change.
   */
  prepareFoldIn(): void {
    call(() => native().alsPrepareFoldIn(this.inner));
  }

  /**
   * Re-solve the factors of the given users from their full rows, item factors fixed, without
   * a refit: row j of `rows` (users.length x nItems) is the complete row of `users[j]`. An
   * index below nUsers replaces that user; new users take the next indices nUsers,
   * nUsers + 1, ... (any order, no gaps). Each row is solved exactly, off the JS thread;
   * `recommend` then filters the given row for these users (see {@link Recommender.train}).
   */
  async partialFitUsers(users: Uint32Array | number[], rows: Matrix): Promise<void> {
    checkMatrix('rows', rows);
    const ids = toIndices('users', users);
    await callAsync(() => native().alsPartialFit(this.inner, true, ids, rows));
  }

  /** {@link ALS.partialFitUsers} on the calling thread (about 0.1 ms per user at 64 factors). */
  partialFitUsersSync(users: Uint32Array | number[], rows: Matrix): void {
    checkMatrix('rows', rows);
    const ids = toIndices('users', users);
    call(() => native().alsPartialFitSync(this.inner, true, ids, rows));
  }

  /**
   * Re-solve (or add) items from their full columns, user factors fixed: row j of `rows`
   * (items.length x nUsers) lists the users of `items[j]`. Same rules as partialFitUsers.
   */
  async partialFitItems(items: Uint32Array | number[], rows: Matrix): Promise<void> {
    checkMatrix('rows', rows);
    const ids = toIndices('items', items);
    await callAsync(() => native().alsPartialFit(this.inner, false, ids, rows));
  }

  partialFitItemsSync(items: Uint32Array | number[], rows: Matrix): void {
    checkMatrix('rows', rows);
    const ids = toIndices('items', items);
    call(() => native().alsPartialFitSync(this.inner, false, ids, rows));
  }
}

