// Ranked lists written to files (`cf-native recommend` / `cf-native similar`): the native
// exporter streams every query's list in chunks, original ids included, so JS never loops
// over rows. Here: the file appears atomically (a temp name in the same folder, fsynced by
// the writer, renamed into place), a failed or cancelled export removes its temp file and
// leaves whatever was at `path` untouched, and an abort stops a running export.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';
import { Recommender, toIndices } from '../models/recommender.js';
import { callAsync, native, call } from '../native.js';
import { checkInstanceArg, checkKeys, checkOptionsObject, kindOf } from '../options.js';
import { checkOutputFolder } from './output.js';

export type ListFormat = 'csv' | 'jsonl' | 'parquet';

export interface ExportOptions {
  /** List length (default 10); larger than the catalogue returns every item there is. */
  k?: number;
  /** Original ids of the model's items, one per column; default: the indices as text. */
  itemIds?: string[] | null;
  /** Default: from `path`'s extension (.csv, .jsonl, .parquet). */
  format?: ListFormat | null;
  /** Called with (queries done, total) at most every ~100 ms, and once at the end. */
  onProgress?: ((done: number, total: number) => void) | null;
  /** Worker threads (default: the model's own setting). */
  threads?: number;
  signal?: AbortSignal;
}

export interface ExportRecommendationsOptions extends ExportOptions {
  /** User indices to write (default: every user), in this order. */
  users?: Uint32Array | number[] | null;
  /** Leave out the items each user has in the model's training matrix (default true). */
  filterSeen?: boolean;
  /** Original ids of the model's users, one per row; default: the indices as text. */
  userIds?: string[] | null;
}

export interface ExportSimilarOptions extends ExportOptions {
  /** Item indices to write (default: every item), in this order. */
  items?: Uint32Array | number[] | null;
}

export interface ExportResult {
  /** Users (or items) written, including those whose list came out empty. */
  queries: number;
  /** Rows written: one per query and rank. */
  rows: number;
  path: string;
  format: ListFormat;
}

const COMMON = ['k', 'itemIds', 'format', 'onProgress', 'threads', 'signal'] as const;

/**
 * Every user's top-k written to `path` (CSV, JSONL or Parquet) as rows `user, rank, item,
 * score`, rank 1 the best. The folder is created when missing.
 */
export async function exportRecommendations(model: Recommender, path: string, opts: ExportRecommendationsOptions = {}): Promise<ExportResult> {
  checkArgs('exportRecommendations', model, path, opts, [...COMMON, 'users', 'filterSeen', 'userIds']);
  const { signal, users, ...rest } = opts;
  const indices = users === undefined || users === null ? undefined : toIndices('users', users);
  return writeList(path, opts, signal, (tmp, format, onProgress, s) =>
    native().exportRecommendations(model.inner, tmp, { ...rest, users: indices, format, onProgress }, s),
  );
}

/**
 * Every item's k most similar items (itself left out) written to `path` as rows `item,
 * rank, similar_item, score`. Models without item similarity (popularity) refuse.
 */
export async function exportSimilarItems(model: Recommender, path: string, opts: ExportSimilarOptions = {}): Promise<ExportResult> {
  checkArgs('exportSimilarItems', model, path, opts, [...COMMON, 'items']);
  const { signal, items, ...rest } = opts;
  const indices = items === undefined || items === null ? undefined : toIndices('items', items);
  return writeList(path, opts, signal, (tmp, format, onProgress, s) =>
    native().exportSimilarItems(model.inner, tmp, { ...rest, items: indices, format, onProgress }, s),
  );
}

function checkArgs(fn: string, model: unknown, path: unknown, opts: unknown, allowed: readonly string[]): void {
  if (!(model instanceof Recommender)) throw new CfError(CfErrorCode.INVALID_ARG, `${fn}: model must be a fitted model (got ${kindOf(model)})`);
  if (typeof path !== 'string' || path === '') throw new CfError(CfErrorCode.INVALID_ARG, `${fn}: path must be a non-empty file path (got ${kindOf(path)})`);
  checkOptionsObject('options', opts);
  checkKeys(opts as object | undefined, allowed, 'options');
  const o = (opts ?? {}) as ExportOptions;
  if (o.onProgress !== undefined && o.onProgress !== null && typeof o.onProgress !== 'function') {
    throw new CfError(CfErrorCode.INVALID_ARG, `onProgress: must be a function (got ${kindOf(o.onProgress)})`);
  }
  checkInstanceArg('signal', o.signal, AbortSignal, { optional: true });
}

type Run = (tmp: string, format: ListFormat, onProgress: (done: number, total: number) => void, signal: AbortSignal) => Promise<{ queries: number; rows: number }>;

async function writeList(path: string, opts: ExportOptions, signal: AbortSignal | undefined, run: Run): Promise<ExportResult> {
  // The format is checked against the final name: the temp name has no extension of its own.
  const format = (opts.format ?? call(() => native().listFormat(path))) as ListFormat;
  signal?.throwIfAborted();
  const target = resolve(path);
  await checkTarget(path, target);
  // A progress callback that throws stops the export and its error is what the caller gets.
  const stop = new AbortController();
  let callbackError: { error: unknown } | undefined;
  // Progress calls are queued from the worker; one may arrive after the promise settles.
  let settled = false;
  let last = -1;
  const report = (done: number, total: number): void => {
    if (settled || callbackError || !opts.onProgress) return;
    last = done;
    try {
      opts.onProgress(done, total);
    } catch (error) {
      callbackError = { error };
      stop.abort(error);
    }
  };
  const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const tmp = join(dirname(target), `.${basename(target)}~tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const r = await callAsync(() => run(tmp, format, report, combined));
    // The final (total, total) always reaches the caller, and before the promise resolves.
    if (last !== r.queries) report(r.queries, r.queries);
    settled = true;
    if (callbackError) throw callbackError.error;
    signal?.throwIfAborted();
    await rename(tmp, target);
    await syncFolder(dirname(target));
    return { queries: r.queries, rows: r.rows, path, format };
  } catch (err) {
    settled = true;
    await rm(tmp, { force: true }).catch(() => {});
    if (callbackError) throw callbackError.error;
    // Cancelled between chunks (ERR_CF_CANCELLED) or before starting (napi's AbortError):
    // the caller sees the signal's reason, as everywhere else in the API.
    if (signal?.aborted) throw signal.reason;
    throw renamed(err, tmp, path);
  }
}

/** The folder is created when missing; an existing folder at `path` itself is refused. */
async function checkTarget(path: string, target: string): Promise<void> {
  const st = await stat(target).catch(() => null);
  if (st?.isDirectory()) throw new CfError(CfErrorCode.IO, `cannot write ${path}: it is a folder; give a file name such as ${join(path, 'recs.csv')}`);
  try {
    await checkOutputFolder(dirname(target));
  } catch (err) {
    // checkOutputFolder names the folder as the `output` of a config; here the file was asked for.
    const why = (err as Error).message.replace(/^output: /, '');
    throw new CfError(CfErrorCode.IO, `cannot write ${path}: ${why}`, { cause: err });
  }
  await mkdir(dirname(target), { recursive: true }).catch((cause: Error) => {
    throw new CfError(CfErrorCode.IO, `cannot write ${path}: cannot create its folder: ${cause.message}`, { cause });
  });
}

/** Errors from the writer name the temp file; the person asked for `path`. */
function renamed(err: unknown, tmp: string, path: string): unknown {
  if (err instanceof CfError && err.message.includes(tmp)) return new CfError(err.code, err.message.split(tmp).join(path), { cause: err });
  if (err instanceof Error && (err as NodeJS.ErrnoException).syscall === 'rename') {
    return new CfError(CfErrorCode.IO, `cannot write ${path}: cannot move the finished file into place: ${err.message}`, { cause: err });
  }
  return err;
}

// Makes the rename durable on POSIX; directories cannot be opened for this on Windows.
async function syncFolder(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Durability of the rename is a bonus, not part of the contract.
  }
}

export interface ExportFactorsOptions {
  /** Original ids, one per user row and one per item row (as `loadModel` returns them). */
  userIds: string[];
  itemIds: string[];
  signal?: AbortSignal;
}

/**
 * A factor model's factors as two Parquet files in `dir`, `user_factors.parquet` and
 * `item_factors.parquet`: columns `id` (the original id) and `factors` (list<float>), the
 * shape of Spark's userFactors and itemFactors tables. Each file appears whole or not at all.
 */
export async function exportFactors(model: Recommender, dir: string, opts: ExportFactorsOptions): Promise<{ users: string; items: string }> {
  checkArgs('exportFactors', model, dir, opts, ['userIds', 'itemIds', 'signal']);
  if (!opts) throw new CfError(CfErrorCode.INVALID_ARG, 'exportFactors: options with userIds and itemIds are required');
  const out = { users: join(dir, 'user_factors.parquet'), items: join(dir, 'item_factors.parquet') };
  for (const side of ['users', 'items'] as const) {
    const ids = side === 'users' ? opts.userIds : opts.itemIds;
    const path = out[side];
    opts.signal?.throwIfAborted();
    const target = resolve(path);
    await checkTarget(path, target);
    const tmp = join(dirname(target), `.${basename(target)}~tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await callAsync(() => native().exportFactors(model.inner, tmp, side, ids, opts.signal));
      await rename(tmp, target);
      await syncFolder(dirname(target));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw renamed(err, tmp, path);
    }
  }
  return out;
}
