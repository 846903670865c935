import { CfError } from '../errors.js';
import { call, callAsync, native, type Binding } from '../native.js';
import { seenFilter, toEvalResult, type EvalResult, type EvaluateOptions, type Matrix, type RawEval, type RecommendOptions, type TopK } from './types.js';

export interface AlsParams {
  factors?: number;
  regularization?: number;
  /** Regularization times each row's count (ALS-WR). */
  scaleRegularization?: boolean;
  alpha?: number;
  /** 'linear': c = 1 + alpha·r; 'log': c = 1 + alpha·ln(1 + r/epsilon). */
  confidence?: 'linear' | 'log';
  epsilon?: number;
  iterations?: number;
  solver?: 'cg' | 'cholesky';
  cgSteps?: number;
  /**
   * What CG reads of the other side's factors: 'mixed' (default) a float16 copy made once per
   * half-step, with float32 arithmetic (faster; scores move by ~1e-4 relative); 'single' the
   * float32 factors. The Cholesky solver always reads float32.
   */
  cgPrecision?: 'mixed' | 'single';
  seed?: number;
  /** 0 = all cores. */
  threads?: number;
  computeLoss?: boolean;
}

export interface FitProgress {
  iteration: number;
  iterations: number;
  seconds: number;
  loss: number | null;
}

/** Options of the fold-in rankings (`recommendForItems`, `similarToNewItem`). */
export interface FoldInOptions {
  /** How many items (default 10). */
  k?: number;
  /** One value per id, as in training data (default 1 each); finite and >= 0. */
  values?: Float32Array | number[];
}

export interface FitOptions {
  signal?: AbortSignal;
  onProgress?: (p: FitProgress) => void;
}

/** Defaults from a validation grid on the shared MovieLens/Last.fm data (bench/defaults), not implicit's. */
export const ALS_DEFAULTS = {
  factors: 64,
  regularization: 50,
  alpha: 10,
  iterations: 15,
  solver: 'cg',
  cgSteps: 3,
  cgPrecision: 'mixed',
  seed: 42,
  threads: 0,
} as const;

/** Implicit-feedback ALS (Hu, Koren & Volinsky 2008) running in Rust. */
export class ALS {
  readonly type = 'als';
  private base: Matrix | null = null;
  /** Rows given to partialFitUsers (item indices and values), by user; they replace `base`'s. */
  private readonly updated = new Map<number, { items: Uint32Array; values: Float32Array }>();
  private merged: Matrix | null = null;

  private constructor(
    readonly inner: Binding.Als,
    readonly params: AlsParams,
  ) {}

  /** Fit on a user x item matrix; each iteration runs off the JS thread. */
  static async fit(data: Matrix, params: AlsParams = {}, opts: FitOptions = {}): Promise<ALS> {
    const model = ALS.init(data, params);
    const iterations = params.iterations ?? ALS_DEFAULTS.iterations;
    for (let i = 0; i < iterations; i++) {
      opts.signal?.throwIfAborted();
      const r = await callAsync(() => model.inner.iterate(data));
      opts.onProgress?.({ iteration: r.iteration, iterations, seconds: r.seconds, loss: r.loss ?? null });
    }
    opts.signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: AlsParams = {}, opts: Pick<FitOptions, 'onProgress'> = {}): ALS {
    const model = ALS.init(data, params);
    const iterations = params.iterations ?? ALS_DEFAULTS.iterations;
    for (let i = 0; i < iterations; i++) {
      const r = call(() => model.inner.iterateSync(data));
      opts.onProgress?.({ iteration: r.iteration, iterations, seconds: r.seconds, loss: r.loss ?? null });
    }
    model.train = data;
    return model;
  }

  private static init(data: Matrix, params: AlsParams): ALS {
    const p = { ...params };
    return new ALS(call(() => new native.Als(p, data.nRows, data.nCols)), p);
  }

  /** A fitted model from row-major factor arrays (e.g. read back from .npy files). */
  static fromFactors(params: AlsParams, userFactors: Float32Array, itemFactors: Float32Array): ALS {
    return new ALS(call(() => native.Als.fromFactors({ ...params }, userFactors, itemFactors)), params);
  }

  /**
   * The matrix whose rows `recommend` filters: the one the model was fitted on (or loaded
   * with), with each row given to `partialFitUsers` in place of that user's row (or after the
   * last one, for new users), widened to the model's items. `saveModel` saves it. Rows given
   * to `partialFitItems` do not change it: refit those users too, or pass `exclude`.
   * Assigning a matrix replaces it and forgets the partial-fit rows.
   */
  get train(): Matrix | null {
    const base = this.base;
    if (!base) return null;
    if (this.updated.size === 0 && base.nRows >= this.nUsers && base.nCols >= this.nItems) return base;
    return (this.merged ??= this.mergeRows(base));
  }

  set train(m: Matrix | null) {
    this.base = m;
    this.updated.clear();
    this.merged = null;
  }

  get factors(): number {
    return this.inner.factors;
  }
  get nUsers(): number {
    return this.inner.nUsers;
  }
  get nItems(): number {
    return this.inner.nItems;
  }

  /** Row-major copies. */
  userFactors(): Float32Array {
    return this.inner.userFactors();
  }
  itemFactors(): Float32Array {
    return this.inner.itemFactors();
  }

  /** Top-k items for a known user (row index); see {@link RecommendOptions} for filtering. */
  recommend(user: number, opts: RecommendOptions = {}): TopK {
    checkIndex('user', user);
    const k = opts.k ?? 10;
    const row = opts.filterSeen === false || opts.exclude ? undefined : this.updated.get(user);
    if (row && Number.isInteger(k) && k >= 1) {
      // The row from partialFitUsers is not in the base matrix: rank k + |row| unfiltered and
      // drop the row's items, which leaves exactly the filtered top k (same tie order).
      const all = call(() => this.inner.recommend(user, k + row.items.length, null));
      const seen = new Set(row.items);
      const keep: number[] = [];
      for (let j = 0; j < all.ids.length && keep.length < k; j++) if (!seen.has(all.ids[j]!)) keep.push(j);
      return { ids: Uint32Array.from(keep, (j) => all.ids[j]!), scores: Float32Array.from(keep, (j) => all.scores[j]!) };
    }
    return call(() => this.inner.recommend(user, k, seenFilter(this.base, opts)));
  }

  /**
   * Top-k for someone not in training, from the items they interacted with: their factor is
   * solved exactly (Cholesky of the k x k system, item factors fixed) and the given items are
   * left out of the ranking. Repeated items are summed, as in training data. An empty list is
   * an error (nothing to rank by; use a popularity ranking).
   */
  recommendForItems(items: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    const ids = toIndices('items', items);
    const values = toValues(opts.values);
    return call(() => this.inner.recommendForItems(ids, values, opts.k ?? 10));
  }

  /**
   * The exact factor of a user not in the model, from item indices and optional values
   * (default 1 each; repeats summed). An empty list gives the zero vector, as training does.
   */
  foldInUser(items: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    const ids = toIndices('items', items);
    return call(() => this.inner.foldInUser(ids, toValues(values)));
  }

  /** The exact factor of an item not in the model, from user indices and optional values. */
  foldInItem(users: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    const ids = toIndices('users', users);
    return call(() => this.inner.foldInItem(ids, toValues(values)));
  }

  /** Items most similar (cosine) to an item not in the model, folded in from its users. */
  similarToNewItem(users: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    const ids = toIndices('users', users);
    const values = toValues(opts.values);
    return call(() => this.inner.similarToNewItem(ids, values, opts.k ?? 10));
  }

  /**
   * Compute the Gram matrices (YᵀY of each side) that fold-in needs now rather than on the
   * first fold-in call; they are kept until that side's factors change.
   */
  prepareFoldIn(): void {
    call(() => this.inner.prepareFoldIn());
  }

  /**
   * Re-solve the factors of the given users from their full rows, item factors fixed, without
   * a refit: row j of `rows` (users.length x nItems) is the complete row of `users[j]`. An
   * index below nUsers replaces that user; new users take the next indices nUsers,
   * nUsers + 1, ... (any order, no gaps). Each row is solved exactly, off the JS thread;
   * `recommend` then filters the given row for these users (see {@link ALS.train}).
   */
  async partialFitUsers(users: Uint32Array | number[], rows: Matrix): Promise<void> {
    const ids = toIndices('users', users);
    await callAsync(() => this.inner.partialFitUsers(ids, rows));
    this.rememberRows(ids, rows);
  }

  /** {@link ALS.partialFitUsers} on the calling thread (about 0.1 ms per user at 64 factors). */
  partialFitUsersSync(users: Uint32Array | number[], rows: Matrix): void {
    const ids = toIndices('users', users);
    call(() => this.inner.partialFitUsersSync(ids, rows));
    this.rememberRows(ids, rows);
  }

  /**
   * Re-solve (or add) items from their full columns, user factors fixed: row j of `rows`
   * (items.length x nUsers) lists the users of `items[j]`. Same rules as partialFitUsers.
   */
  async partialFitItems(items: Uint32Array | number[], rows: Matrix): Promise<void> {
    const ids = toIndices('items', items);
    await callAsync(() => this.inner.partialFitItems(ids, rows));
    this.merged = null;
  }

  partialFitItemsSync(items: Uint32Array | number[], rows: Matrix): void {
    const ids = toIndices('items', items);
    call(() => this.inner.partialFitItemsSync(ids, rows));
    this.merged = null;
  }

  private rememberRows(ids: Uint32Array, rows: Matrix): void {
    if (ids.length === 0) return;
    const indptr = rows.indptr();
    const indices = rows.indices();
    const values = rows.values();
    ids.forEach((u, j) => {
      const a = indptr[j]!;
      const b = indptr[j + 1]!;
      this.updated.set(u, { items: indices.slice(a, b), values: values.slice(a, b) });
    });
    this.merged = null;
  }

  /** The base matrix with the partial-fit rows in place, shaped like the model. */
  private mergeRows(base: Matrix): Matrix {
    const nRows = Math.max(base.nRows, this.nUsers);
    const nCols = Math.max(base.nCols, this.nItems);
    const bp = base.indptr();
    const bi = base.indices();
    const bv = base.values();
    const rowLen = (r: number) => this.updated.get(r)?.items.length ?? (r < base.nRows ? bp[r + 1]! - bp[r]! : 0);
    const indptr = new Uint32Array(nRows + 1);
    for (let r = 0; r < nRows; r++) indptr[r + 1] = indptr[r]! + rowLen(r);
    const indices = new Uint32Array(indptr[nRows]!);
    const values = new Float32Array(indptr[nRows]!);
    for (let r = 0; r < nRows; r++) {
      const u = this.updated.get(r);
      if (u) {
        indices.set(u.items, indptr[r]!);
        values.set(u.values, indptr[r]!);
      } else if (r < base.nRows) {
        indices.set(bi.subarray(bp[r]!, bp[r + 1]!), indptr[r]!);
        values.set(bv.subarray(bp[r]!, bp[r + 1]!), indptr[r]!);
      }
    }
    return call(() => native.Matrix.fromCsr(indptr, indices, values, nRows, nCols));
  }

  similarItems(item: number, opts: { k?: number } = {}): TopK {
    checkIndex('item', item);
    return call(() => this.inner.similarItems(item, opts.k ?? 10));
  }

  async evaluate(train: Matrix, truth: Matrix, o: EvaluateOptions): Promise<EvalResult> {
    const r = await callAsync(() =>
      this.inner.evaluate(train, truth, o.alsoExclude ?? null, o.filterSeen ?? true, o.k, o.threads ?? this.params.threads ?? 0),
    );
    return toEvalResult(r as RawEval);
  }
}

/** Index lists cross as Uint32Array; a number[] is checked first so -1 or 1.5 never wrap. */
function toIndices(what: string, xs: Uint32Array | number[]): Uint32Array {
  if (xs instanceof Uint32Array) return xs;
  if (!Array.isArray(xs)) throw new CfError('ERR_CF_INVALID_ARG', `${what} must be a Uint32Array or an array of indices`);
  xs.forEach((v, j) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CfError('ERR_CF_INVALID_ARG', `${what}: ${v} at position ${j} is not a non-negative integer index`);
    }
  });
  return Uint32Array.from(xs);
}

function toValues(xs: Float32Array | number[] | undefined): Float32Array | null {
  if (xs === undefined || xs === null) return null;
  return xs instanceof Float32Array ? xs : Float32Array.from(xs);
}

function checkIndex(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new CfError('ERR_CF_INVALID_ARG', `${what} must be a non-negative integer index (got ${v})`);
  }
}
