import { call, checkMatrix, native } from '../native.js';
import { checkOptionsObject } from '../options.js';
import { Recommender } from './recommender.js';
import type { Matrix, NativeModel } from './types.js';

/** Items ranked by how many users have them: the baseline every model is compared with. */
export class Popularity extends Recommender {
  /** `params` must be empty (popularity has none); a key is an error from the core's spec. */
  static fit(train: Matrix, params: Record<string, unknown> = {}): Popularity {
    checkMatrix('train', train);
    checkOptionsObject('params', params);
    call(() => native().resolveParams('popularity', params));
    return new Popularity(call(() => native().popularityFit(train)));
  }

  static wrap(inner: NativeModel): Popularity {
    return new Popularity(inner);
  }

  /** Per item, the number of training users that have it. */
  counts(): Float32Array {
    return this.inner.arrays().find((a) => a.name === 'item_counts')!.data;
  }
}
