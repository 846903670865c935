// What every model offers, written once over the native `Model` class: recommending for
// known and new users, similar items, evaluation, params and the seen rows. A model's
// class adds only what its type alone does.
import { CfError, CfErrorCode } from '../errors.js';
import { call, callAsync, checkMatrix, native } from '../native.js';
import { checkInstanceArg, checkKeys, checkNumberArg, checkOptionsObject, kindOf } from '../options.js';
import type { ResolvedParams } from './params.js';
import type {
  EvalResult,
  EvaluateOptions,
  Explanation,
  FitCheckpoint,
  FitOptions,
  FoldInOptions,
  ListFilters,
  Lists,
  Matrix,
  NativeModel,
  RecommendOptions,
  ScoreStats,
  SimilarOptions,
  TopK,
} from './types.js';

export class Recommender {
  constructor(readonly inner: NativeModel) {}

  /** The model's type, as in a config's `type:`. */
  get type(): string {
    return this.inner.type;
  }

  /** Every parameter, snake_case, defaults included (what model.json stores). */
  get params(): ResolvedParams {
    return this.inner.params();
  }

  get nUsers(): number {
    return this.inner.nUsers;
  }

  get nItems(): number {
    return this.inner.nItems;
  }

  /**
   * The matrix whose rows `recommend` filters: the one the model was fitted on (or loaded
   * with), with rows given to a partial fit in place, shaped like the model. `saveModel`
   * saves it. Assigning a matrix replaces it and forgets partial-fit rows.
   */
  get train(): Matrix | null {
    return this.inner.train;
  }

  set train(m: Matrix | null) {
    checkMatrix('train', m, true);
    call(() => (this.inner.train = m));
  }

  /**
   * Top-k items for a known user (row index), or for each of many users (a typed array or
   * array of row indices: one call, all threads); see {@link RecommendOptions} for filters.
   */
  recommend(user: number, opts?: RecommendOptions): TopK;
  recommend(users: Uint32Array | number[], opts?: RecommendOptions): Lists;
  recommend(users: number | Uint32Array | number[], opts: RecommendOptions = {}): TopK | Lists {
    checkOptionsObject('options', opts);
    const o = listOptions(opts);
    if (typeof users === 'number' || !isIndexList(users)) {
      checkNumberArg('user', users);
      return call(() => this.inner.recommend(users as number, o));
    }
    const ids = toIndices('users', users);
    return call(() => this.inner.recommendManySync(ids, o));
  }

  /** `recommend` off the JS thread; `signal` aborts it. */
  async recommendAsync(users: Uint32Array | number[], opts: RecommendOptions & { signal?: AbortSignal } = {}): Promise<Lists> {
    checkOptionsObject('options', opts);
    const { signal, ...rest } = opts ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const ids = toIndices('users', users);
    const o = listOptions(rest);
    return inChunks(ids, signal, (part) => callAsync(() => this.inner.recommendMany(part, o, signal)));
  }

  /**
   * Top-k for someone not in training, from the items they interacted with (fold-in); the
   * given items are left out. Repeated items are summed. An empty list is an error.
   */
  recommendForItems(items: Uint32Array | number[], opts: FoldInOptions = {}): TopK {
    checkOptionsObject('options', opts);
    const ids = toIndices('items', items);
    return call(() => this.inner.recommendForItems(ids, { ...listOptions(opts), values: toValues(opts.values) }));
  }

  /** `recommendForItems` off the JS thread; `signal` aborts it while it waits to run. */
  async recommendForItemsAsync(items: Uint32Array | number[], opts: FoldInOptions & { signal?: AbortSignal } = {}): Promise<TopK> {
    checkOptionsObject('options', opts);
    const { signal, ...rest } = opts ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const ids = toIndices('items', items);
    signal?.throwIfAborted();
    return callAsync(() => this.inner.recommendForItemsAsync(ids, { ...listOptions(rest), values: toValues(rest.values) }, signal));
  }

  /**
   * `recommendForItemsAsync` for many people in one call: one list of items (and optionally
   * one list of values) per person; their fold-ins run in parallel and the scoring is one
   * batch, so each row equals `recommendForItems` for that person alone.
   */
  async recommendForItemsManyAsync(
    lists: (Uint32Array | number[])[],
    opts: ListFilters & { values?: (Float32Array | number[])[] | null; signal?: AbortSignal } = {},
  ): Promise<Lists> {
    checkOptionsObject('options', opts);
    const { signal, values, ...rest } = opts ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const { indptr, items, vals } = joinLists(lists, values);
    signal?.throwIfAborted();
    return callAsync(() => this.inner.recommendForItemsMany(indptr, items, { ...listOptions(rest), values: vals }, signal));
  }

  /**
   * `recommendForItemsManyAsync` on this thread: for small batches (a server's), where
   * handing the work to another thread costs more than it saves.
   */
  recommendForItemsMany(lists: (Uint32Array | number[])[], opts: ListFilters & { values?: (Float32Array | number[])[] | null } = {}): Lists {
    checkOptionsObject('options', opts);
    const { values, ...rest } = opts ?? {};
    const { indptr, items, vals } = joinLists(lists, values);
    return call(() => this.inner.recommendForItemsManySync(indptr, items, { ...listOptions(rest), values: vals }));
  }

  /**
   * Items most similar to `item` (cosine of factors for factor models), itself left out; or
   * lists for many items at once.
   */
  similarItems(item: number, opts?: SimilarOptions): TopK;
  similarItems(items: Uint32Array | number[], opts?: SimilarOptions): Lists;
  similarItems(items: number | Uint32Array | number[], opts: SimilarOptions = {}): TopK | Lists {
    checkOptionsObject('options', opts);
    const o = listOptions(opts);
    if (typeof items === 'number' || !isIndexList(items)) {
      checkNumberArg('item', items);
      return call(() => this.inner.similarItems(items as number, o));
    }
    const ids = toIndices('items', items);
    return call(() => this.inner.similarItemsManySync(ids, o));
  }

  async similarItemsAsync(items: Uint32Array | number[], opts: SimilarOptions & { signal?: AbortSignal } = {}): Promise<Lists> {
    checkOptionsObject('options', opts);
    const { signal, ...rest } = opts ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const ids = toIndices('items', items);
    const o = listOptions(rest);
    return inChunks(ids, signal, (part) => callAsync(() => this.inner.similarItemsMany(part, o, signal)));
  }

  /**
   * Users most similar to `user` by their factors (factor models), themselves left out; or
   * lists for many users. `candidates` and `excludeItems` name users here.
   */
  similarUsers(user: number, opts?: SimilarOptions): TopK;
  similarUsers(users: Uint32Array | number[], opts?: SimilarOptions): Lists;
  similarUsers(users: number | Uint32Array | number[], opts: SimilarOptions = {}): TopK | Lists {
    checkOptionsObject('options', opts);
    const o = listOptions(opts);
    if (typeof users === 'number' || !isIndexList(users)) {
      checkNumberArg('user', users);
      return call(() => this.inner.similarUsers(users as number, o));
    }
    const ids = toIndices('users', users);
    return call(() => this.inner.similarUsersManySync(ids, o));
  }

  async similarUsersAsync(users: Uint32Array | number[], opts: SimilarOptions & { signal?: AbortSignal } = {}): Promise<Lists> {
    checkOptionsObject('options', opts);
    const { signal, ...rest } = opts ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const ids = toIndices('users', users);
    const o = listOptions(rest);
    return inChunks(ids, signal, (part) => callAsync(() => this.inner.similarUsersMany(part, o, signal)));
  }

  /**
   * Quantiles of the top-k scores of a sample of users (seen items filtered), so that scores
   * of different models can be put on one scale; null for an empty model. `saveModel`
   * stores them in model.json as `score_stats`.
   */
  scoreStats(opts: { sample?: number; k?: number } = {}): ScoreStats | null {
    checkOptionsObject('options', opts);
    return call(() => this.inner.scoreStats({ ...opts }));
  }

  /**
   * Why `item` scores what it does for a known `user` (their training row) or for someone
   * with `user.items` (and `user.values`, default 1 each): the `k` (default 5) liked items
   * that contributed most and the score they sum to. kNN, content and EASE split their
   * scores exactly; ALS splits its fold-in score (implicit's explain); a hybrid apportions
   * each part's share to that part's items. Other models throw ERR_CF_UNSUPPORTED.
   */
  explain(user: number | { items: Uint32Array | number[]; values?: Float32Array | number[] }, item: number, opts: { k?: number } = {}): Explanation {
    const e = call(() => native().explainItem(this.inner, ...explainArgs(user, item, opts)));
    if (!e) throw new CfError(CfErrorCode.UNSUPPORTED, `explain: a ${this.type} model's scores do not split by liked item (kNN, content, EASE, ALS and hybrids explain)`);
    return e;
  }

  /** Per-epoch reports of the fit that made this model, for models that keep one (else null). */
  learningCurve(): object[] | null {
    return null;
  }

  /**
   * Predicted ratings of (users[j], items[j]), for models that predict ratings (mf); others
   * throw ERR_CF_UNSUPPORTED. `clip` (default true) clamps each prediction to the training
   * rating range. A user index past the model's users is predicted without a user term.
   */
  predictRatings(users: Uint32Array | number[], items: Uint32Array | number[], opts: { clip?: boolean } = {}): Float32Array {
    checkOptionsObject('options', opts);
    checkKeys(opts, ['clip'], 'options');
    const u = toIndices('users', users);
    const i = toIndices('items', items);
    return call(() => native().predictRatings(this.inner, u, i, opts.clip ?? null));
  }

  /**
   * RMSE and MAE over every entry of `truth` (values are the held-out ratings), for models
   * that predict ratings; `clip` as in {@link predictRatings}. `evaluate` adds the same two
   * (clipped) as `rmse` and `mae` for such models.
   */
  ratingMetrics(truth: Matrix, opts: { clip?: boolean } = {}): { rmse: number; mae: number; count: number } {
    checkMatrix('truth', truth);
    checkOptionsObject('options', opts);
    checkKeys(opts, ['clip'], 'options');
    return call(() => native().ratingMetrics(this.inner, truth, opts.clip ?? null));
  }

  /** What a model's fit adds to metrics.json beside the scores (svd: explained variance), or null. */
  fitSummary(): Record<string, unknown> | null {
    return null;
  }

  /** Ranking metrics on `truth`, off the JS thread; `rmse` and `mae` too for models that predict ratings. */
  async evaluate(train: Matrix, truth: Matrix, o: EvaluateOptions): Promise<EvalResult> {
    checkMatrix('train', train);
    checkMatrix('truth', truth);
    checkOptionsObject('options', o);
    const { signal, ...rest } = o ?? {};
    checkInstanceArg('signal', signal, AbortSignal, { optional: true });
    const r = await callAsync(() => this.inner.evaluate(train, truth, rest, signal));
    const metrics: Record<string, number> = {};
    r.names.forEach((n, i) => (metrics[n] = r.values[i]!));
    return { usersEvaluated: r.usersEvaluated, usersWithoutTrain: r.usersWithoutTrain, metrics, ...(r.perUser ? { perUser: r.perUser } : {}) };
  }
}

/** `explain`'s arguments as the binding takes them, checked. */
export function explainArgs(
  user: number | { items: Uint32Array | number[]; values?: Float32Array | number[] },
  item: number,
  opts: { k?: number },
): [number | null, Uint32Array | null, Float32Array | null, number, number] {
  checkNumberArg('item', item);
  checkOptionsObject('options', opts);
  checkKeys(opts, ['k'], 'options');
  const k = opts.k ?? 5;
  checkNumberArg('k', k);
  if (typeof user === 'number') return [user, null, null, item, k];
  checkOptionsObject('user', user);
  if (user === null || user === undefined) throw new CfError(CfErrorCode.INVALID_ARG, 'user: must be a user index or { items, values? }');
  checkKeys(user, ['items', 'values'], 'user');
  return [null, toIndices('items', user.items), toValues(user.values), item, k];
}

/** Item lists (and their values) as one CSR-like batch: indptr, items, values. */
function joinLists(lists: (Uint32Array | number[])[], values: (Float32Array | number[])[] | null | undefined): { indptr: Uint32Array; items: Uint32Array; vals: Float32Array | null } {
  if (!Array.isArray(lists)) throw new CfError('ERR_CF_INVALID_ARG', `lists: must be an array of item lists (got ${kindOf(lists)})`);
  if (values !== undefined && values !== null && (!Array.isArray(values) || values.length !== lists.length)) {
    throw new CfError('ERR_CF_INVALID_ARG', `values: must be an array of ${lists.length} value lists, one per item list`);
  }
  const parts = lists.map((l, q) => toIndices(`lists[${q}]`, l));
  const indptr = new Uint32Array(parts.length + 1);
  parts.forEach((p, q) => (indptr[q + 1] = indptr[q]! + p.length));
  const items = new Uint32Array(indptr[parts.length]!);
  parts.forEach((p, q) => items.set(p, indptr[q]!));
  let vals: Float32Array | null = null;
  if (values) {
    vals = new Float32Array(items.length);
    values.forEach((v, q) => {
      const x = toValues(v)!;
      if (x.length !== parts[q]!.length) throw new CfError('ERR_CF_INVALID_ARG', `values[${q}]: has ${x.length} entries for ${parts[q]!.length} items`);
      vals!.set(x, indptr[q]!);
    });
  }
  return { indptr, items, vals };
}

/** Queries per native call of an async batch: between calls the signal is checked. */
const ASYNC_CHUNK = 16_384;

/**
 * An async batch in chunks, so that aborting stops it within one chunk (a native task that
 * has started runs to its end) and the rows are joined at the end.
 */
async function inChunks(ids: Uint32Array, signal: AbortSignal | undefined, run: (part: Uint32Array) => Promise<Lists>): Promise<Lists> {
  signal?.throwIfAborted();
  if (ids.length <= ASYNC_CHUNK) return run(ids);
  const parts: Lists[] = [];
  for (let at = 0; at < ids.length; at += ASYNC_CHUNK) {
    parts.push(await run(ids.subarray(at, at + ASYNC_CHUNK)));
    signal?.throwIfAborted();
  }
  const k = parts[0]!.k;
  const out: Lists = { ids: new Uint32Array(ids.length * k), scores: new Float32Array(ids.length * k), k, rows: ids.length };
  let r = 0;
  for (const p of parts) {
    out.ids.set(p.ids, r * k);
    out.scores.set(p.scores, r * k);
    r += p.rows;
  }
  return out;
}

/** The id that pads rows of {@link Lists} with fewer entries than `k`. */
export const NO_ITEM = 0xffff_ffff;

/** A list of indices (one call for many queries) rather than one index. */
function isIndexList(x: unknown): x is Uint32Array | number[] {
  return x instanceof Uint32Array || Array.isArray(x);
}

/** Options as the binding takes them: index lists as Uint32Array. */
type NativeFilters<T> = Omit<T, 'excludeItems' | 'candidates'> & { excludeItems?: Uint32Array | null; candidates?: Uint32Array | null };

/** Index lists checked and converted first, so -1 or 1.5 never wrap. */
function listOptions<T extends ListFilters>(o: T): NativeFilters<T> {
  const { excludeItems, candidates, ...rest } = o;
  const out: NativeFilters<T> = { ...rest } as NativeFilters<T>;
  if (excludeItems !== undefined && excludeItems !== null) out.excludeItems = toIndices('excludeItems', excludeItems);
  if (candidates !== undefined && candidates !== null) out.candidates = toIndices('candidates', candidates);
  return out;
}

/** An entry of a number list as messages show it: strings quoted, holes named. */
const entry = (v: unknown): string => (v === undefined ? 'an empty slot' : typeof v === 'number' ? String(v) : kindOf(v));

/**
 * Index lists cross as Uint32Array; a number[] is checked first so -1 or 1.5 never wrap.
 * Every slot is visited (forEach skips the holes of a sparse array, which would become 0).
 */
export function toIndices(what: string, xs: Uint32Array | number[]): Uint32Array {
  if (xs instanceof Uint32Array) return xs;
  if (!Array.isArray(xs)) throw new CfError('ERR_CF_INVALID_ARG', `${what}: must be a Uint32Array or an array of indices (got ${kindOf(xs)})`);
  for (let j = 0; j < xs.length; j++) {
    const v: unknown = xs[j];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CfError('ERR_CF_INVALID_ARG', `${what}: ${entry(v)} at position ${j} is not a non-negative integer index`);
    }
  }
  return Uint32Array.from(xs);
}

const F32_MAX = 3.4028234663852886e38;

/**
 * Values cross as Float32Array. Other lists are checked first: an entry that is not a number
 * (or a hole) would become NaN, one beyond float32 range Infinity, and the core would then
 * report a value the caller never passed. NaN, negative and infinite numbers are the core's
 * to reject, by position.
 */
export function toValues(xs: Float32Array | number[] | null | undefined): Float32Array | null {
  if (xs === undefined || xs === null) return null;
  if (xs instanceof Float32Array) return xs;
  const given: unknown = xs;
  if (!Array.isArray(given) && !(ArrayBuffer.isView(given) && !(given instanceof DataView))) {
    throw new CfError('ERR_CF_INVALID_ARG', `values: must be a Float32Array or an array of numbers (got ${kindOf(xs)})`);
  }
  const list = xs as ArrayLike<unknown>;
  for (let j = 0; j < list.length; j++) {
    const v = list[j];
    if (typeof v !== 'number') throw new CfError('ERR_CF_INVALID_ARG', `values: ${entry(v)} at position ${j} is not a number`);
    if (Number.isFinite(v) && Math.abs(v) > F32_MAX) throw new CfError('ERR_CF_INVALID_ARG', `values: ${v} at position ${j} is beyond the float32 range`);
  }
  return Float32Array.from(list as ArrayLike<number>);
}

/**
 * Fit options are checked like model params: a misspelt onProgress would otherwise never be
 * called. Every model's fit takes the same keys (a model that does not validate during a fit
 * ignores `valid`); the sync forms take no `signal`.
 */
export function checkFitOptions(opts: unknown, allowed: readonly (keyof FitOptions)[]): void {
  checkOptionsObject('options', opts);
  checkKeys(opts as object | undefined, allowed, 'options');
  const o = (opts ?? {}) as FitOptions;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new CfError('ERR_CF_INVALID_ARG', `onProgress: must be a function (got ${kindOf(o.onProgress)})`);
  }
  checkInstanceArg('signal', o.signal, AbortSignal, { optional: true });
  checkInstanceArg('stop', o.stop, AbortSignal, { optional: true });
  if (o.checkpoint !== undefined && o.checkpoint !== null) {
    checkOptionsObject('checkpoint', o.checkpoint);
    checkKeys(o.checkpoint, ['every', 'save'], 'checkpoint');
    const every: unknown = o.checkpoint.every;
    if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 0) {
      throw new CfError('ERR_CF_INVALID_ARG', `checkpoint.every: must be an integer >= 0 (got ${typeof every === 'number' ? every : kindOf(every)})`);
    }
    if (typeof o.checkpoint.save !== 'function') throw new CfError('ERR_CF_INVALID_ARG', `checkpoint.save: must be a function (got ${kindOf(o.checkpoint.save)})`);
  }
  if (o.resume !== undefined && o.resume !== null) {
    checkOptionsObject('resume', o.resume);
    checkInstanceArg('resume.state', o.resume.state, Uint8Array);
    if (!Array.isArray(o.resume.curve)) throw new CfError('ERR_CF_INVALID_ARG', `resume.curve: must be an array (got ${kindOf(o.resume.curve)})`);
  }
  if (o.valid !== undefined && o.valid !== null) checkMatrix('valid', o.valid);
  if (o.negatives !== undefined && o.negatives !== null) checkMatrix('negatives', o.negatives);
}

/**
 * The native model an unfinished fit of `type` continues from: the checkpoint's state,
 * checked against the type, params and training matrix by the core.
 */
export function resumeNative(type: string, data: Matrix, params: object, c: FitCheckpoint): NativeModel {
  if (c.type !== type) throw new CfError(CfErrorCode.INVALID_ARG, `resume: the checkpoint is of a ${String(c.type)} fit, not ${type}`);
  return call(() => native().resumeModel(type, { ...params }, data, Buffer.from(c.state.buffer, c.state.byteOffset, c.state.byteLength)));
}

/**
 * After iteration `done` of `total` of an iterative fit (before `finish`): a checkpoint every
 * `checkpoint.every` iterations, and on a requested stop a last one, then ERR_CF_INTERRUPTED.
 * A fit whose last iteration just ran (`over`) is finished, not interrupted.
 */
export async function afterIteration(model: Recommender, done: number, total: number, over: boolean, curve: readonly object[], opts: FitOptions): Promise<void> {
  if (over) return;
  const stopping = opts.stop?.aborted === true;
  const every = opts.checkpoint?.every ?? 0;
  if (opts.checkpoint && (stopping || (every > 0 && done % every === 0))) {
    const state = call(() => native().modelTrainState(model.inner));
    await opts.checkpoint.save({ type: model.type, iteration: done, iterations: total, state, curve: [...curve] });
  }
  if (stopping) {
    throw new CfError(CfErrorCode.INTERRUPTED, `${model.type} fit stopped after iteration ${done} of ${total}${opts.checkpoint ? ' (checkpoint saved)' : ''}`);
  }
}
