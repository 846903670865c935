import { callAsync, call, native, type Binding } from '../native.js';
import { seenFilter, toEvalResult, type EvalResult, type EvaluateOptions, type Matrix, type RawEval, type RecommendOptions, type TopK } from './types.js';

/** Items ranked by how many users have them: the baseline every model is compared with. */
export class Popularity {
  readonly type = 'popularity';
  readonly params = {};
  /** The matrix the model was fitted on (or loaded with); `recommend` filters its rows. */
  train: Matrix | null = null;
  private constructor(readonly inner: Binding.Popularity) {}

  static fit(train: Matrix): Popularity {
    const model = new Popularity(call(() => new native.Popularity(train)));
    model.train = train;
    return model;
  }

  static fromCounts(counts: Float32Array): Popularity {
    return new Popularity(call(() => native.Popularity.fromCounts(counts)));
  }

  counts(): Float32Array {
    return this.inner.counts();
  }

  recommend(user: number, opts: RecommendOptions = {}): TopK {
    return call(() => this.inner.recommend(user, opts.k ?? 10, seenFilter(this.train, opts)));
  }

  async evaluate(train: Matrix, truth: Matrix, o: EvaluateOptions): Promise<EvalResult> {
    const r = await callAsync(() =>
      this.inner.evaluate(train, truth, o.alsoExclude ?? null, o.filterSeen ?? true, o.k, o.threads ?? 0),
    );
    return toEvalResult(r as RawEval);
  }
}
