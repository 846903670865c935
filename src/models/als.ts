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

export interface FitOptions {
  signal?: AbortSignal;
  onProgress?: (p: FitProgress) => void;
}

/** Defaults tuned on the shared MovieLens/Last.fm data rather than implicit's (see README). */
export const ALS_DEFAULTS = {
  factors: 64,
  regularization: 0.05,
  alpha: 20,
  iterations: 15,
  solver: 'cg',
  cgSteps: 3,
  seed: 42,
  threads: 0,
} as const;

/** Implicit-feedback ALS (Hu, Koren & Volinsky 2008) running in Rust. */
export class ALS {
  readonly type = 'als';
  /** The matrix the model was fitted on (or loaded with); `recommend` filters its rows. */
  train: Matrix | null = null;

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
    return call(() => this.inner.recommend(user, opts.k ?? 10, seenFilter(this.train, opts)));
  }

  /** Top-k for someone not in training, from items they liked (exact fold-in). */
  recommendForItems(items: Uint32Array | number[], opts: { k?: number; values?: Float32Array | number[] } = {}): TopK {
    const ids = Uint32Array.from(items);
    const values = opts.values ? Float32Array.from(opts.values) : null;
    return call(() => this.inner.recommendForItems(ids, values, opts.k ?? 10));
  }

  foldInUser(items: Uint32Array | number[], values?: Float32Array | number[]): Float32Array {
    return call(() => this.inner.foldInUser(Uint32Array.from(items), values ? Float32Array.from(values) : null));
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

function checkIndex(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new CfError('ERR_CF_INVALID_ARG', `${what} must be a non-negative integer index (got ${v})`);
  }
}
