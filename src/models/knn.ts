import { call, callAsync, checkMatrix, native } from '../native.js';
import { checkKeys, checkNumberArg, checkOptionsObject } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { checkFitOptions, Recommender, toIndices, toValues } from './recommender.js';
import type { Explanation, FitOptions, Matrix, NativeModel } from './types.js';

/** knn options (camelCase); names, bounds and defaults come from the core's spec. */
export type KnnParams = ParamsOf<'knn'>;

export const KNN_DEFAULTS = Object.freeze(defaultsOf('knn', { camelCase: true })) as Readonly<Required<KnnParams>>;

/** Why an item scores what it does (`explain`): the liked items with the largest value x similarity. */
export type KnnExplanation = Explanation;

export interface CooccurrenceOptions {
  /** How many items (default 10). */
  k?: number;
  /** Ranking measure (default 'lift'): users with both, lift, or ln(lift). */
  measure?: 'count' | 'lift' | 'pmi';
  /** Fewest users that must have both items (default 1). */
  minSupport?: number;
}

export interface Cooccurrence {
  ids: Uint32Array;
  scores: Float32Array;
  /** Users with both items. */
  support: Uint32Array;
}

/**
 * Item-kNN: item x item cosine, TF-IDF or BM25 similarities (as implicit's
 * Cosine/TFIDF/BM25Recommender, or a shrunk/asymmetric cosine), the `k` best neighbours per
 * item kept sparse; a user's scores sum the neighbour similarities of their items, so any
 * list of liked items can be scored (`recommendForItems`).
 */
export class KNN extends Recommender {
  static async fit(data: Matrix, params: KnnParams = {}, opts: FitOptions = {}): Promise<KNN> {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    // valid and onProgress are accepted (the pipeline passes them to every model) and unused.
    checkFitOptions(opts, ['signal', 'valid', 'onProgress']);
    const model = new KNN(await callAsync(() => native().knnFit(data, { ...params }, opts.signal)));
    opts.signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: KnnParams = {}): KNN {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    const model = new KNN(call(() => native().knnFitSync(data, { ...params })));
    model.train = data;
    return model;
  }

  static wrap(inner: NativeModel): KNN {
    return new KNN(inner);
  }

  /**
   * "Often bought together": the items most often in the same training rows as `item`, by
   * lift (default), PMI or count, among those at least `minSupport` users share.
   */
  cooccurrence(item: number, opts: CooccurrenceOptions = {}): Cooccurrence {
    checkNumberArg('item', item);
    checkOptionsObject('options', opts);
    checkKeys(opts, ['k', 'measure', 'minSupport'], 'options');
    const { k = 10, measure = 'lift', minSupport = 1 } = opts;
    checkNumberArg('k', k);
    checkNumberArg('minSupport', minSupport);
    return call(() => native().knnCooccurrence(this.inner, item, k, measure, minSupport));
  }

  /** The kept neighbours: row i of the items x items CSR (indptr, indices, similarities). */
  neighbours(): { indptr: Uint32Array; indices: Uint32Array; values: Float32Array } {
    const get = (name: string) => this.inner.arrays().find((a) => a.name === name)!.data;
    const counts = get('neighbour_counts');
    const indptr = new Uint32Array(counts.length + 1);
    for (let i = 0; i < counts.length; i++) indptr[i + 1] = indptr[i] + counts[i];
    return { indptr, indices: Uint32Array.from(get('neighbour_items')), values: get('neighbour_values') };
  }
}
