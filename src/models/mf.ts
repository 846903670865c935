import { CfError } from '../errors.js';
import { call, callAsync, checkMatrix, native, type Binding } from '../native.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { afterIteration, checkFitOptions, Recommender, resumeNative, toIndices, toValues } from './recommender.js';
import type { FitCheckpoint, FitOptions, FitProgress, Matrix, NativeModel } from './types.js';

/** mf options (camelCase); names, bounds and defaults come from the core's spec. */
export type MfParams = ParamsOf<'mf'>;

export const MF_DEFAULTS = Object.freeze(defaultsOf('mf', { camelCase: true })) as Readonly<Required<MfParams>>;

/** One epoch of an mf fit: the learning curve's point (see the core's EpochReport). */
export type MfEpoch = Binding.MfEpochInfo;

/** Progress of an mf fit: the shared fields (`loss` is the training RMSE, `valid` the validation RMSE) and the epoch's report. */
export interface MfProgress extends FitProgress {
  epoch: MfEpoch;
}

/** `valid` (same shape as train, ratings as values): RMSE every epoch, the best epoch kept, `patience` stops early. */
export type MfFitOptions = FitOptions;

/**
 * Biased matrix factorisation for explicit ratings, r̂ = μ + b_u + b_i + p_u·q_i, trained by
 * ALS or block-scheduled SGD in Rust: the same seed gives bitwise the same model on any thread
 * count. Fit it on a matrix whose values are the ratings (`values: rating` in a config): a
 * matrix whose values are all equal (binary data) is refused. `predictRatings` and
 * `ratingMetrics` (RMSE, MAE) come from {@link Recommender}; ranking (recommend, evaluate)
 * orders a user's items by predicted rating.
 */
export class MF extends Recommender {
  #curve: MfEpoch[] = [];

  /** Fit on a user x item matrix of ratings; each epoch runs off the JS thread. */
  static async fit(data: Matrix, params: MfParams = {}, opts: MfFitOptions = {}): Promise<MF> {
    checkFitOptions(opts, ['signal', 'valid', 'onProgress', 'checkpoint', 'resume', 'stop']);
    const model = opts.resume ? MF.resumed(data, params, opts.resume) : MF.init(data, params);
    const epochs = model.params.epochs as number;
    const valid = opts.valid ?? null;
    for (;;) {
      opts.signal?.throwIfAborted();
      const r = await callAsync(() => native().mfEpoch(model.inner, data, valid, opts.signal));
      model.#progress(r, epochs, opts);
      await afterIteration(model, r.epoch, epochs, r.stop, model.#curve, opts);
      if (r.stop) break;
    }
    opts.signal?.throwIfAborted();
    call(() => native().mfFinish(model.inner));
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: MfParams = {}, opts: Omit<MfFitOptions, 'signal'> = {}): MF {
    checkFitOptions(opts, ['valid', 'onProgress']);
    const model = MF.init(data, params);
    const epochs = model.params.epochs as number;
    const valid = opts.valid ?? null;
    for (;;) {
      const r = call(() => native().mfEpochSync(model.inner, data, valid));
      model.#progress(r, epochs, opts);
      if (r.stop) break;
    }
    call(() => native().mfFinish(model.inner));
    model.train = data;
    return model;
  }

  private static init(data: Matrix, params: MfParams): MF {
    checkMatrix('data', data);
    return new MF(call(() => native().mfInit({ ...params }, data)));
  }
  private static resumed(data: Matrix, params: MfParams, c: FitCheckpoint): MF {
    checkMatrix('data', data);
    const model = new MF(resumeNative('mf', data, params, c));
    model.#curve = c.curve.map((e) => ({ ...(e as MfEpoch) }));
    return model;
  }


  #progress(r: MfEpoch, epochs: number, opts: Pick<FitOptions, 'onProgress'>): void {
    this.#curve.push(r);
    const p: MfProgress = { iteration: r.epoch, iterations: epochs, seconds: r.seconds, loss: r.trainRmse, valid: r.validRmse ?? null, epoch: r };
    opts.onProgress?.(p);
  }

  /** Wrap a native model that holds mf (the registry's loader). */
  static wrap(inner: NativeModel): MF {
    return new MF(inner);
  }

  /** One report per epoch of this fit (empty for a loaded model). */
  override learningCurve(): MfEpoch[] {
    return [...this.#curve];
  }

  #info(): Binding.MfInfo {
    return call(() => native().mfInfo(this.inner));
  }

  get factors(): number {
    return this.#info().factors;
  }

  /** Columns of a factor row: factors + 1 (item rows end with b_i, user rows with 1). */
  get width(): number {
    return this.#info().width;
  }

  get epochsDone(): number {
    return this.#info().epochsDone;
  }

  /** The epoch whose parameters the model holds after a fit with validation. */
  get bestEpoch(): number | null {
    return this.#info().bestEpoch ?? null;
  }

  /** μ, the mean training rating. */
  get globalMean(): number {
    return this.#info().globalMean;
  }

  /** The smallest and largest training rating: the range predictions are clipped to. */
  get ratingRange(): [number, number] {
    const i = this.#info();
    return [i.ratingMin, i.ratingMax];
  }

  /** Row-major copies, `width` columns per row. */
  userFactors(): Float32Array {
    return call(() => native().mfPart(this.inner, 'userFactors'));
  }
  itemFactors(): Float32Array {
    return call(() => native().mfPart(this.inner, 'itemFactors'));
  }
  userBias(): Float32Array {
    return call(() => native().mfPart(this.inner, 'userBias'));
  }
  itemBias(): Float32Array {
    return call(() => native().mfPart(this.inner, 'itemBias'));
  }

  /**
   * The bias and factors of a user not in the model from their ratings of known items (one
   * rating per item index, repeats counted as separate ratings): the ALS user solve with the
   * items fixed. `recommendForItems` folds in the same way and reads its `values` as the
   * ratings, so pass them (without values every item counts as rated 1).
   */
  foldInUser(items: Uint32Array | number[], ratings: Float32Array | number[]): { bias: number; factors: Float32Array } {
    const ids = toIndices('items', items);
    const r = toValues(ratings);
    if (r === null) throw new CfError('ERR_CF_INVALID_ARG', 'ratings: required, one per item');
    return call(() => native().mfFoldIn(this.inner, ids, r));
  }
}
