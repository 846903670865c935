// What the routes rank with: ids in and out of a model's indices, the fold-in from a user's
// history plus feedback, and batching of plain recommendations. Batching: the lists asked
// for in one turn of the event loop (same model, no filter but the seen or liked items) are
// scored as one native batch, so concurrent requests share each pass over the item factors;
// a list is the top-k' of the batch's top-k, which is exact. A small batch is scored on the
// JS thread, a large one off it (see `Batcher`).
import { NO_ITEM } from '../models/recommender.js';
import type { Lists, TopK } from '../models/types.js';
import { HttpCode, HttpError } from './errors.js';
import type { Overlay } from './overlay.js';
import type { Served } from './store.js';

export interface Item {
  id: string;
  score: number;
}

export function toItems(s: Served, ids: Uint32Array, scores: Float32Array, from = 0, to = ids.length): Item[] {
  const out: Item[] = [];
  for (let j = from; j < to; j++) {
    const i = ids[j]!;
    if (i === NO_ITEM) break;
    out.push({ id: s.itemIds[i]!, score: scores[j]! });
  }
  return out;
}

/** How many liked items explain each recommended item (`explain=true`). */
const REASONS = 3;

/**
 * `items` with each one's `because`: the liked items (of a known user's training row, or the
 * given history) that contributed most to its score. A model that cannot explain is a 422.
 */
export function withReasons(s: Served, items: Item[], who: number | { items: Uint32Array; values: Float32Array }): (Item & { because: { id: string; contribution: number }[] })[] {
  const liked = typeof who === 'number' ? who : { items: who.items, values: who.values };
  return items.map((it) => {
    const e = s.model.explain(liked, s.itemIndex.get(it.id)!, { k: REASONS });
    return { ...it, because: Array.from(e.items, (j, n) => ({ id: s.itemIds[j]!, contribution: e.contributions[n]! })) };
  });
}

/** Known ids as indices; unknown ones are returned apart (reported, not an error). */
export function mapIds(index: Map<string, number>, ids: readonly string[] | undefined): { known: Uint32Array | null; unknown: string[] } {
  if (ids === undefined) return { known: null, unknown: [] };
  const known: number[] = [];
  const unknown: string[] = [];
  for (const id of ids) {
    const i = index.get(id);
    if (i === undefined) unknown.push(id);
    else known.push(i);
  }
  return { known: Uint32Array.from(known), unknown };
}

/** A user's training row plus their feedback, as fold-in input (feedback on items this model lacks is left out). */
export function history(s: Served, overlay: Overlay, user: string): { items: Uint32Array; values: Float32Array } | null {
  const fb = overlay.get(user);
  const u = s.userIndex.get(user);
  if (!fb && u === undefined) return null;
  const merged = new Map<number, number>();
  if (u !== undefined && s.model.train) {
    const idx = s.model.train.row(u);
    const val = s.model.train.rowValues(u);
    for (let j = 0; j < idx.length; j++) merged.set(idx[j]!, val[j]!);
  }
  if (fb) {
    for (const [item, v] of fb) {
      const i = s.itemIndex.get(item);
      if (i !== undefined) merged.set(i, (merged.get(i) ?? 0) + v);
    }
  }
  return { items: Uint32Array.from(merged.keys()), values: Float32Array.from(merged.values()) };
}

interface Waiting {
  k: number;
  resolve: (t: TopK) => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 256;

/**
 * Multiply-adds (lists x items x factors) up to which a batch is scored on the JS thread:
 * about a millisecond, the same bound under which the native side scores a batch on its
 * calling thread (INLINE_WORK in crates/cf-node/src/lists.rs). Sent to the libuv pool, such
 * a batch cost more CPU in thread hand-offs than in scoring: on the 2-core bench machine,
 * 41 against 35 us per GET over 6k items, 56-63 against 53 over 20k (server CPU time per
 * request, under autocannon).
 */
const INLINE_WORK = 2 ** 26;

/** The largest batch of `s` scored on this thread (see INLINE_WORK); 1: only single lists. */
function inlineLimit(s: Served): number {
  const f = (s.model.params as { factors?: unknown }).factors;
  const n = s.model.nItems;
  // Models without factors, and catalogues whose single queries split across threads
  // (topk::dense::splits), send every batch to the pool.
  if (typeof f !== 'number' || f < 1 || n < 1 || Math.ceil(n / 16) >= 2048) return 1;
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(INLINE_WORK / (n * f))));
}

/** Hands row r of `lists` to waiter r, cut to the k it asked for (top-k' of a top-k is exact). */
function settle(batch: Waiting[], lists: Lists): void {
  batch.forEach((w, r) => {
    const at = r * lists.k;
    const end = at + Math.min(w.k, lists.k);
    w.resolve({ ids: lists.ids.subarray(at, end), scores: lists.scores.subarray(at, end) });
  });
}

/**
 * Lists asked for in one turn of the event loop, scored together: known users (their trained
 * factors) in one queue, fold-ins (liked items, or history plus feedback) in another. A batch
 * of one runs the single-query path on this thread, a small batch the batch path on this
 * thread; larger ones run off it.
 */
export class Batcher {
  private users: (Waiting & { user: number })[] = [];
  private folds: (Waiting & { items: Uint32Array; values: Float32Array })[] = [];
  private scheduled = false;
  /** Largest batch scored on this thread (see INLINE_WORK). */
  private readonly here: number;

  constructor(private readonly s: Served) {
    this.here = inlineLimit(s);
  }

  recommend(user: number, k: number): Promise<TopK> {
    return new Promise((resolve, reject) => this.push(this.users, { user, k, resolve, reject }));
  }

  recommendForItems(items: Uint32Array, values: Float32Array, k: number): Promise<TopK> {
    return new Promise((resolve, reject) => this.push(this.folds, { items, values, k, resolve, reject }));
  }

  private push<T>(queue: T[], w: T): void {
    queue.push(w);
    if (queue.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const users = this.users.splice(0);
    const folds = this.folds.splice(0);
    const m = this.s.model;
    const fail = (batch: Waiting[]) => (e: unknown) => batch.forEach((w) => w.reject(e));
    if (users.length > 0) {
      const k = Math.max(...users.map((w) => w.k));
      try {
        if (users.length === 1) {
          const t = m.recommend(users[0]!.user, { k });
          settle(users, { ids: t.ids, scores: t.scores, k: t.ids.length, rows: 1 });
        } else if (users.length <= this.here) {
          settle(users, m.recommend(Uint32Array.from(users, (w) => w.user), { k }));
        } else {
          m.recommendAsync(Uint32Array.from(users, (w) => w.user), { k }).then((l) => settle(users, l), fail(users));
        }
      } catch (e) {
        fail(users)(e);
      }
    }
    if (folds.length > 0) {
      const k = Math.max(...folds.map((w) => w.k));
      try {
        if (folds.length === 1) {
          const t = m.recommendForItems(folds[0]!.items, { k, values: folds[0]!.values });
          settle(folds, { ids: t.ids, scores: t.scores, k: t.ids.length, rows: 1 });
        } else if (folds.length <= this.here) {
          settle(
            folds,
            m.recommendForItemsMany(
              folds.map((w) => w.items),
              { k, values: folds.map((w) => w.values) },
            ),
          );
        } else {
          m.recommendForItemsManyAsync(
            folds.map((w) => w.items),
            { k, values: folds.map((w) => w.values) },
          ).then((l) => settle(folds, l), fail(folds));
        }
      } catch (e) {
        fail(folds)(e);
      }
    }
  }
}

const batchers = new WeakMap<Served, Batcher>();

export function batcherOf(s: Served): Batcher {
  let b = batchers.get(s);
  if (!b) batchers.set(s, (b = new Batcher(s)));
  return b;
}

export function unknownUser(user: string): HttpError {
  return new HttpError(404, HttpCode.UNKNOWN_USER, `unknown user ${JSON.stringify(user)}`);
}
