import { call, callAsync, checkMatrix, native, type Binding } from '../native.js';
import { checkOptionsObject } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { checkFitOptions, Recommender } from './recommender.js';
import type { FitOptions, Matrix, NativeModel } from './types.js';

/** svd options (camelCase); names, bounds and defaults come from the core's spec. */
export type SvdParams = ParamsOf<'svd'>;

export const SVD_DEFAULTS = Object.freeze(defaultsOf('svd', { camelCase: true })) as Readonly<Required<SvdParams>>;

/** Singular values, explained variance and (for a fit in this process) what the solver did. */
export type SvdInfo = Binding.SvdInfo;

/**
 * Truncated SVD of the user x item matrix in Rust. Ranking is PureSVD (score r_u V Vᵀ; a new
 * user folds in as r_u V); `centering` subtracts a mean inside the solver and adds it back in
 * scores. `method: 'lanczos'` (default) is exact to `tolerance`; `'randomized'` is approximate.
 *
 * Rating prediction: `centering: 'rated_global' | 'rated_user' | 'rated_item' | 'rated_baseline'`
 * on explicit ratings subtracts that mean from the rated entries only (missing cells stay 0)
 * and predicts mean + UΣVᵀ; `predictRatings`, `ratingMetrics` and `evaluate`'s rmse/mae then
 * work as for MF, scores are the predicted ratings, and a new user folds in from their
 * ratings (`recommendForItems(items, { values: ratings })`). Binary data is refused.
 */
export class SVD extends Recommender {
  /** Fit on a user x item matrix off the JS thread. */
  static async fit(data: Matrix, params: SvdParams = {}, opts: FitOptions = {}): Promise<SVD> {
    SVD.check(data, params, opts, ['signal', 'valid', 'onProgress']);
    const signal = opts.signal;
    const model = new SVD(await callAsync(() => native().svdFit(data, { ...params }, signal)));
    signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: SvdParams = {}): SVD {
    SVD.check(data, params, {}, []);
    const model = new SVD(call(() => native().svdFitSync(data, { ...params })));
    model.train = data;
    return model;
  }

  private static check(data: Matrix, params: SvdParams, opts: FitOptions, allowed: (keyof FitOptions)[]): void {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    // valid and onProgress are accepted (the pipeline passes them to every model) and unused:
    // the SVD is one solve with nothing to evaluate between steps.
    checkFitOptions(opts, allowed);
  }

  /** Wrap a native model that holds svd (the registry's loader). */
  static wrap(inner: NativeModel): SVD {
    return new SVD(inner);
  }

  info(): SvdInfo {
    return call(() => native().svdInfo(this.inner));
  }

  /** σ², as a share of the squared Frobenius norm of the (centred) matrix, per component. */
  explainedVarianceRatio(): number[] {
    return this.info().explainedVarianceRatio;
  }

  singularValues(): number[] {
    return this.info().singularValues;
  }

  /**
   * Row-major copies: users UΣ, items V, `width` columns: + the mean when centred over every
   * cell; + [1, c_u] for users and [b_i, 1] for items in a rated mode (c_u + b_i is the mean).
   */
  userFactors(): Float32Array {
    return call(() => native().svdFactors(this.inner, true));
  }
  itemFactors(): Float32Array {
    return call(() => native().svdFactors(this.inner, false));
  }

  /** What metrics.json records beside the scores: explained variance and the solver's work. */
  override fitSummary(): Record<string, unknown> {
    const i = this.info();
    const total = i.explainedVarianceRatio.reduce((a, b) => a + b, 0);
    return {
      explained_variance: total,
      explained_variance_ratio: i.explainedVarianceRatio,
      singular_values: i.singularValues,
      ...(i.seconds === undefined ? {} : { solver: { seconds: i.seconds, restarts: i.restarts, products: i.products } }),
    };
  }
}
