import { call, callAsync, checkMatrix, native } from '../native.js';
import { checkOptionsObject } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { checkFitOptions, Recommender } from './recommender.js';
import type { FitOptions, Matrix, NativeModel } from './types.js';

/** ease options (camelCase); names, bounds and defaults come from the core's spec. */
export type EaseParams = ParamsOf<'ease'>;

export const EASE_DEFAULTS = Object.freeze(defaultsOf('ease', { camelCase: true })) as Readonly<Required<EaseParams>>;

/**
 * EASE (Steck 2019): the closed-form item x item model B = I - P diagMat(1/diag P),
 * P = (XᵀX + λI)⁻¹, solved in float64 in Rust; scores x_u B. Memory is quadratic in items:
 * above `maxItems` the fit is refused with the memory it would need.
 */
export class EASE extends Recommender {
  static async fit(data: Matrix, params: EaseParams = {}, opts: FitOptions = {}): Promise<EASE> {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    // valid and onProgress are accepted (the pipeline passes them to every model) and unused.
    checkFitOptions(opts, ['signal', 'valid', 'onProgress']);
    const model = new EASE(await callAsync(() => native().easeFit(data, { ...params }, opts.signal)));
    opts.signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: EaseParams = {}): EASE {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    const model = new EASE(call(() => native().easeFitSync(data, { ...params })));
    model.train = data;
    return model;
  }

  static wrap(inner: NativeModel): EASE {
    return new EASE(inner);
  }

  /** B, row-major items x items (B[i, j]: the weight of item i in the score of item j). */
  weights(): Float32Array {
    return this.inner.arrays().find((a) => a.name === 'weights')!.data;
  }
}
