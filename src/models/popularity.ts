import { call, native } from '../native.js';
import { Recommender } from './recommender.js';
import type { Matrix, NativeModel } from './types.js';

/** Items ranked by how many users have them: the baseline every model is compared with. */
export class Popularity extends Recommender {
  static fit(train: Matrix): Popularity {
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
