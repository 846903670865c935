// A blend of other fitted models (weighted normalised scores, reciprocal rank fusion or
// Borda count), built from their handles: the parts are shared, not copied. The blend, its
// checks and the weight search are the core's (crates/cf-core/src/models/hybrid).
import { CfError, CfErrorCode } from '../errors.js';
import { call, callAsync, checkMatrix, native } from '../native.js';
import { checkInstanceArg, checkKeys, checkOptionsObject, kindOf } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { checkFitOptions, explainArgs, Recommender } from './recommender.js';
import type { Explanation, FitOptions, Matrix, NativeModel } from './types.js';

/** hybrid options (camelCase); names, bounds and defaults come from the core's spec. */
export type HybridParams = ParamsOf<'hybrid'>;

export const HYBRID_DEFAULTS = Object.freeze(defaultsOf('hybrid', { camelCase: true })) as Readonly<Required<HybridParams>>;

/** One part of a hybrid: a fitted model, its weight (null: only a fallback). */
export interface HybridPart {
  name: string;
  model: Recommender;
  weight: number | null;
}

/** What the weight search on validation found (`Hybrid.tuneWeights`). */
export interface HybridTuning {
  k: number;
  /** Validation users scored. */
  users: number;
  candidates: number;
  /** NDCG@k of the weights it started from. */
  start: number;
  /** The chosen weight of each part, by name (fallback-only parts 0). */
  weights: Record<string, number>;
  /** NDCG@k of the chosen weights. */
  score: number;
  /** NDCG@k of each weighted part alone. */
  alone: Record<string, number>;
}

/** One part's share of a hybrid's score (`Hybrid.explain`). */
export interface PartExplanation {
  name: string;
  type: string;
  weight: number;
  /** The part's own score of the item (NaN where it does not rank it). */
  raw: number;
  /** That score on the blend's scale (NaN where the part says nothing of the item or user). */
  scaled: number;
  /** weight x scaled: what it adds to the hybrid's score. */
  contribution: number;
  /** The part's own split by liked item, for parts that explain (kNN, content, EASE, ALS). */
  explanation: Explanation | null;
}

/** A hybrid's explanation: each liked item's apportioned share, and each part's. */
export interface HybridExplanation extends Explanation {
  parts: PartExplanation[];
  /** The fallback part that answered, when no weighted part knows the user. */
  fallback: string | null;
}

export interface HybridBuildOptions {
  /** Parts that only answer for users no weighted part knows, in order (names of `parts`). */
  fallback?: string[];
  params?: HybridParams;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * A hybrid of models fitted on the same data. A part says nothing of items it cannot rank
 * (a factor model's zero rows, kNN's items without neighbours) and of users whose scores are
 * all equal; a user no weighted part knows gets the first `fallback` part that does.
 */
export class Hybrid extends Recommender {
  private constructor(
    inner: NativeModel,
    /** The parts, in order, as given (saveModel saves each beside the hybrid). */
    readonly parts: readonly HybridPart[],
  ) {
    super(inner);
  }

  /** Build a hybrid of `parts` (weights: any scale, only ratios matter). */
  static build(parts: HybridPart[], opts: HybridBuildOptions = {}): Hybrid {
    if (!Array.isArray(parts) || parts.length === 0) throw new CfError(CfErrorCode.INVALID_ARG, `parts: must be a non-empty array of { name, model, weight } (got ${kindOf(parts)})`);
    checkOptionsObject('options', opts);
    checkKeys(opts, ['fallback', 'params'], 'options');
    parts.forEach((p, j) => {
      checkOptionsObject(`parts[${j}]`, p);
      checkKeys(p, ['name', 'model', 'weight'], `parts[${j}]`);
      if (typeof p.name !== 'string' || !NAME.test(p.name)) {
        throw new CfError(CfErrorCode.INVALID_ARG, `parts[${j}].name: must be a name of letters, digits, '.', '_' or '-' (got ${kindOf(p.name)})`);
      }
      checkInstanceArg(`parts[${j}].model`, p.model, Recommender);
      if (p.weight !== null && (typeof p.weight !== 'number' || !Number.isFinite(p.weight))) {
        throw new CfError(CfErrorCode.INVALID_ARG, `parts[${j}].weight: must be a finite number >= 0, or null for a fallback-only part (got ${kindOf(p.weight)})`);
      }
    });
    const names = parts.map((p) => p.name);
    const fallback = (opts.fallback ?? []).map((f, j) => {
      const at = names.indexOf(f);
      if (at < 0) throw new CfError(CfErrorCode.INVALID_ARG, `fallback[${j}]: ${JSON.stringify(f)} is not one of the parts (${names.join(', ')})`);
      return at;
    });
    const inner = call(() =>
      native().hybridBuild(
        parts.map((p) => p.model.inner),
        names,
        parts.map((p) => p.weight),
        fallback,
        { ...(opts.params ?? {}) },
      ),
    );
    const model = new Hybrid(inner, parts.map((p) => ({ ...p })));
    const t = parts[0]!.model.train;
    if (t) model.train = t;
    return model;
  }

  /**
   * The pipeline's fit: `opts.parts` are the fitted models, the hybrid's weights are then
   * chosen on `opts.valid` when `tune_weights` is on and a validation matrix is given.
   */
  static async fit(train: Matrix, params: HybridParams = {}, opts: FitOptions = {}): Promise<Hybrid> {
    checkMatrix('data', train);
    checkOptionsObject('params', params);
    checkFitOptions(opts, ['signal', 'valid', 'onProgress', 'blend']);
    const b = opts.blend;
    if (!b) throw new CfError(CfErrorCode.INVALID_ARG, 'blend: a hybrid is fitted from its parts (options.blend with parts, fallback and k)');
    const model = Hybrid.build(b.parts, { fallback: b.fallback, params });
    model.train = train;
    const p = model.params;
    if (p.tune_weights === true && opts.valid) await model.tuneWeights(train, opts.valid, { k: b.k, ...(opts.signal ? { signal: opts.signal } : {}) });
    return model;
  }

  /** Choose the weights by NDCG@k on `valid` (held out from `train`, whose rows are filtered). */
  async tuneWeights(train: Matrix, valid: Matrix, opts: { k?: number; signal?: AbortSignal } = {}): Promise<HybridTuning> {
    checkMatrix('train', train);
    checkMatrix('valid', valid);
    checkOptionsObject('options', opts);
    checkKeys(opts, ['k', 'signal'], 'options');
    checkInstanceArg('signal', opts.signal, AbortSignal, { optional: true });
    const r = await callAsync(() => native().hybridTuneWeights(this.inner, train, valid, opts.k ?? 10, opts.signal));
    return this.tuning(r)!;
  }

  /** The weights now in use, by part name (fallback-only parts null). */
  weights(): Record<string, number | null> {
    const i = call(() => native().hybridInfo(this.inner));
    return Object.fromEntries(i.names.map((n, j) => [n, i.weights[j] ?? null]));
  }

  /** The fallback parts' names, in order. */
  fallback(): string[] {
    const i = call(() => native().hybridInfo(this.inner));
    return i.fallback.map((f) => i.names[f]!);
  }

  /** The last weight search, or null when none ran. */
  lastTuning(): HybridTuning | null {
    return this.tuning(call(() => native().hybridInfo(this.inner)).tuning ?? null);
  }

  private tuning(r: { k: number; users: number; candidates: number; start: number; weights: number[]; score: number; aloneNames: string[]; aloneScores: number[] } | null): HybridTuning | null {
    if (!r) return null;
    const names = this.parts.map((p) => p.name);
    return {
      k: r.k,
      users: r.users,
      candidates: r.candidates,
      start: r.start,
      weights: Object.fromEntries(names.map((n, j) => [n, r.weights[j]!])),
      score: r.score,
      alone: Object.fromEntries(r.aloneNames.map((n, j) => [n, r.aloneScores[j]!])),
    };
  }

  /**
   * Why `item` scores what it does: each part's share (weight x its score on the blend's
   * scale) and, as `items`/`contributions`, the liked items' shares: each part's share
   * apportioned to its liked items in proportion to their contributions to its own score.
   */
  override explain(user: number | { items: Uint32Array | number[]; values?: Float32Array | number[] }, item: number, opts: { k?: number } = {}): HybridExplanation {
    const [u, items, values, i, k] = explainArgs(user, item, opts);
    // Each part's full split, to apportion; only the k largest shares are returned.
    const e = call(() => native().hybridExplain(this.inner, u, items, values, i, 1_000_000));
    const share = new Map<number, number>();
    for (const p of e.parts) {
      const x = p.explanation;
      if (!x || p.contribution === 0 || !Number.isFinite(x.score) || x.score === 0) continue;
      x.items.forEach((j, n) => share.set(j, (share.get(j) ?? 0) + (p.contribution * x.contributions[n]!) / x.score));
    }
    const top = [...share.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
    const cut = (x: { score: number; items: Uint32Array; contributions: Float32Array } | null | undefined): Explanation | null =>
      x ? { score: x.score, items: x.items.slice(0, k), contributions: x.contributions.slice(0, k) } : null;
    return {
      score: e.score,
      items: Uint32Array.from(top.map((t) => t[0])),
      contributions: Float32Array.from(top.map((t) => t[1])),
      parts: e.parts.map((p) => ({ ...p, explanation: cut(p.explanation) })),
      fallback: e.fallback ?? null,
    };
  }

  /** What metrics.json records beside the scores: the parts, weights and the weight search. */
  fitSummary(): Record<string, unknown> {
    return { parts: this.parts.map((p) => ({ name: p.name, type: p.model.type })), weights: this.weights(), fallback: this.fallback(), tuning: this.lastTuning() };
  }
}

/** The loader's way in: a native hybrid built from loaded parts, wrapped with them. */
export function hybridFromLoaded(parts: HybridPart[], fallback: string[], params: Record<string, unknown>): Hybrid {
  return Hybrid.build(parts, { fallback, params: params as HybridParams });
}
