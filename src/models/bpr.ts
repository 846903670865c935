import { call, callAsync, checkMatrix, native, type Binding } from '../native.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { afterIteration, checkFitOptions, Recommender, resumeNative, toIndices, toValues } from './recommender.js';
import type { FitCheckpoint, FitOptions, FitProgress, Matrix, NativeModel } from './types.js';

/** BPR options (camelCase); names, bounds and defaults come from the core's spec. */
export type BprParams = ParamsOf<'bpr'>;

export const BPR_DEFAULTS = Object.freeze(defaultsOf('bpr', { camelCase: true })) as Readonly<Required<BprParams>>;

/** One epoch of a BPR fit: the learning curve's point (see the core's EpochReport). */
export type BprEpoch = Binding.EpochInfo;

/** Progress of a BPR fit: the shared fields (`iteration` is the epoch) and the epoch's report. */
export interface BprProgress extends FitProgress {
  epoch: BprEpoch;
}

/**
 * `valid` (same shape as train): NDCG@k every `evalEvery` epochs, the best epoch kept,
 * `patience` stops early. `negatives` (same shape): each user's explicit dislikes join the
 * mixed sampler's hard pool (refused for other samplers).
 */
export type BprFitOptions = FitOptions;

/**
 * Bayesian personalised ranking with an item bias, trained by block-scheduled SGD or AdamW in
 * Rust: the same seed gives bitwise the same factors on any thread count.
 */
export class BPR extends Recommender {
  #curve: BprEpoch[] = [];

  /** Fit on a user x item matrix; each epoch runs off the JS thread. */
  static async fit(data: Matrix, params: BprParams = {}, opts: BprFitOptions = {}): Promise<BPR> {
    checkFitOptions(opts, ['signal', 'valid', 'negatives', 'onProgress', 'checkpoint', 'resume', 'stop']);
    const model = opts.resume ? BPR.resumed(data, params, opts.resume) : BPR.init(data, params);
    const epochs = model.params.epochs as number;
    const valid = opts.valid ?? null;
    const negatives = opts.negatives ?? null;
    for (;;) {
      opts.signal?.throwIfAborted();
      const r = await callAsync(() => native().bprEpoch(model.inner, data, valid, negatives, opts.signal));
      model.#progress(r, epochs, opts);
      await afterIteration(model, r.epoch, epochs, r.stop, model.#curve, opts);
      if (r.stop) break;
    }
    opts.signal?.throwIfAborted();
    call(() => native().bprFinish(model.inner));
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: BprParams = {}, opts: Omit<BprFitOptions, 'signal'> = {}): BPR {
    checkFitOptions(opts, ['valid', 'negatives', 'onProgress']);
    const model = BPR.init(data, params);
    const epochs = model.params.epochs as number;
    const valid = opts.valid ?? null;
    const negatives = opts.negatives ?? null;
    for (;;) {
      const r = call(() => native().bprEpochSync(model.inner, data, valid, negatives));
      model.#progress(r, epochs, opts);
      if (r.stop) break;
    }
    call(() => native().bprFinish(model.inner));
    model.train = data;
    return model;
  }

  private static init(data: Matrix, params: BprParams): BPR {
    return new BPR(call(() => native().bprInit({ ...params }, data.nRows, data.nCols)));
  }
  private static resumed(data: Matrix, params: BprParams, c: FitCheckpoint): BPR {
    checkMatrix('data', data);
    const model = new BPR(resumeNative('bpr', data, params, c));
    model.#curve = c.curve.map((e) => ({ ...(e as BprEpoch) }));
    return model;
  }


  #progress(r: BprEpoch, epochs: number, opts: Pick<FitOptions, 'onProgress'>): void {
    this.#curve.push(r);
    const p: BprProgress = { iteration: r.epoch, iterations: epochs, seconds: r.seconds, loss: r.loss, valid: r.valid ?? null, epoch: r };
    opts.onProgress?.(p);
  }

  /** Wrap a native model that holds BPR (the registry's loader). */
  static wrap(inner: NativeModel): BPR {
    return new BPR(inner);
  }

  /** One report per epoch of this fit (empty for a loaded model). */
  override learningCurve(): BprEpoch[] {
    return [...this.#curve];
  }

  get factors(): number {
    return call(() => native().bprInfo(this.inner)).factors;
  }

  /** Columns of a factor row: factors, + 1 for the item bias (last item column; users hold 1). */
  get width(): number {
    return call(() => native().bprInfo(this.inner)).width;
  }

  get epochsDone(): number {
    return call(() => native().bprInfo(this.inner)).epochsDone;
  }

  /** The epoch whose factors the model holds after a fit with validation. */
  get bestEpoch(): number | null {
    return call(() => native().bprInfo(this.inner)).bestEpoch ?? null;
  }

  /** Row-major copies, `width` columns per row. */
  userFactors(): Float32Array {
    return call(() => native().bprFactors(this.inner, true));
  }
  itemFactors(): Float32Array {
    return call(() => native().bprFactors(this.inner, false));
  }

  /**
   * The factor row of a user not in the model, from item indices and optional values
   * (weights, default 1; repeats summed): deterministic gradient steps with the item factors
   * fixed, the same items always giving the same row.
   */
  foldInUser(items: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    const ids = toIndices('items', items);
    return call(() => native().bprFoldIn(this.inner, ids, toValues(values)));
  }
}
