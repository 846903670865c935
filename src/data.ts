import { call, native, type Binding } from './native.js';
import { checkInstanceArg, checkKeys, checkNumberArg, checkOptionsObject } from './options.js';
import type { DataConfig, SplitConfig } from './config/index.js';
import type { Matrix } from './models/types.js';

export type Dataset = Binding.Dataset;

/** What `loadDataset` reads; every field but the file is optional. */
export interface LoadOptions {
  /**
   * One file to split later; or `train` (with optional `valid`, `test`) for pre-split files.
   * Delimited text (optionally gzipped), or Parquet when the name ends in `.parquet`.
   */
  path?: string;
  train?: string;
  valid?: string;
  test?: string;
  /** Detected from the first lines when absent; not used for Parquet. */
  delimiter?: ',' | '\t' | '::' | '|' | ';' | ' ';
  /** Detected when absent; not used for Parquet (its schema names the columns). */
  header?: boolean;
  /** Column name (needs a header) or 0-based index. Defaults: 0, 1, 2 and 3 where present. */
  user?: string | number;
  item?: string | number;
  rating?: string | number;
  time?: string | number;
  /** Rows rated below this are dropped. */
  positiveThreshold?: number;
  /**
   * Rows rated at or below this (below positiveThreshold) are kept apart as explicit
   * negatives, `dataset.negatives()`: what BPR's mixed sampler adds to its hard pool.
   * Pre-split data: from the training file only.
   */
  negativeThreshold?: number;
  /** What a kept row carries: 1, the rating, or log1p(rating). Default 'binary'. */
  values?: 'binary' | 'rating' | 'log1p';
  /** Repeated (user, item) rows: summed (default) or the last one kept. */
  duplicates?: 'sum' | 'last';
  /** Iterative k-core bounds. Default 1. */
  minUserInteractions?: number;
  minItemInteractions?: number;
  /** An item side file (CSV/TSV with a header) whose `id` column's ids join the item map: items nobody interacted with become columns without interactions. */
  items?: { path: string; id: string };
}

/** How `splitDataset` holds rows out. */
export type SplitOptions =
  /** Per user, the last `valid` + `test` rows by time (file order breaks ties). */
  | { strategy: 'leave-last-out'; valid?: number; test?: number; seed?: number }
  /** Per user, seeded fractions of the rows. */
  | { strategy: 'random'; valid?: number; test?: number; seed?: number }
  /** Global cutoffs in the time column's unit: time >= testCutoff is test, >= validCutoff valid. */
  | { strategy: 'time'; validCutoff?: number; testCutoff: number }
  /** Everything is training data. */
  | { strategy: 'none' }
  /** The pre-split files given to `loadDataset`, as they are. */
  | { strategy: 'given' };

/** Read, filter and index interactions natively (delimited text, optionally gzipped, or Parquet). */
const LOAD_KEYS = [
  'path', 'train', 'valid', 'test', 'delimiter', 'header', 'user', 'item', 'rating', 'time',
  'positiveThreshold', 'negativeThreshold', 'values', 'duplicates', 'minUserInteractions', 'minItemInteractions', 'items',
] as const satisfies readonly (keyof LoadOptions)[];

export function loadDataset(source: string | LoadOptions): Dataset {
  if (typeof source !== 'string') checkKeys(source, LOAD_KEYS, 'loadDataset');
  const o = typeof source === 'string' ? { path: source } : { ...source };
  return call(() => native().Dataset.load(o));
}

/** The `data` section of a config, as `loadDataset` options. */
export function loadOptionsFromConfig(d: DataConfig): LoadOptions {
  const col = (c: string | number | null | undefined) => (c === null ? undefined : c);
  return {
    path: d.path ?? undefined,
    train: d.train ?? undefined,
    valid: d.valid ?? undefined,
    test: d.test ?? undefined,
    delimiter: d.delimiter ?? undefined,
    header: d.header ?? undefined,
    user: col(d.columns?.user),
    item: col(d.columns?.item),
    rating: col(d.columns?.rating),
    time: col(d.columns?.time),
    positiveThreshold: d.positive_threshold ?? undefined,
    negativeThreshold: d.negative_threshold ?? undefined,
    values: d.values,
    duplicates: d.duplicates,
    minUserInteractions: d.min_user_interactions,
    minItemInteractions: d.min_item_interactions,
    ...(d.items ? { items: { path: d.items.path, id: d.items.id } } : {}),
  };
}

/** Indexed arrays straight into a dataset (ids are the indices' decimal strings). */
export function datasetFromArrays(users: Uint32Array, items: Uint32Array, values?: Float32Array, times?: Float64Array): Dataset {
  checkInstanceArg('users', users, Uint32Array);
  checkInstanceArg('items', items, Uint32Array);
  checkInstanceArg('values', values, Float32Array, { optional: true });
  checkInstanceArg('times', times, Float64Array, { optional: true });
  return call(() => native().Dataset.fromArrays(users, items, values ?? null, times ?? null));
}

export interface Splits {
  train: Matrix;
  valid: Matrix | null;
  test: Matrix | null;
}

/** Train / validation / test matrices, all with the dataset's full user x item shape. */
const SPLIT_KEYS = ['strategy', 'valid', 'test', 'seed', 'validCutoff', 'testCutoff'] as const;

export function splitDataset(ds: Dataset, s: SplitOptions): Splits {
  checkInstanceArg('dataset', ds, native().Dataset, { what: 'a Dataset (from loadDataset or datasetFromArrays)' });
  checkOptionsObject('options', s);
  checkKeys(s, SPLIT_KEYS, 'splitDataset');
  const [train, valid, test] = call(() => ds.split({ ...s }));
  return { train: train!, valid: valid ?? null, test: test ?? null };
}

/** The `split` section of a config, as `splitDataset` options. */
export function splitOptionsFromConfig(s: SplitConfig, preSplit: boolean): SplitOptions {
  switch (s.strategy) {
    case 'none':
      return { strategy: preSplit ? 'given' : 'none' };
    case 'time':
      return { strategy: 'time', validCutoff: s.valid_cutoff ?? undefined, testCutoff: s.test_cutoff };
    default:
      return { strategy: s.strategy, valid: s.valid, test: s.test, seed: s.seed };
  }
}

export function matrixFromCoo(users: Uint32Array, items: Uint32Array, nUsers: number, nItems: number, values?: Float32Array): Matrix {
  checkInstanceArg('users', users, Uint32Array);
  checkInstanceArg('items', items, Uint32Array);
  checkNumberArg('nUsers', nUsers);
  checkNumberArg('nItems', nItems);
  checkInstanceArg('values', values, Float32Array, { optional: true });
  return call(() => native().Matrix.fromCoo(users, items, values ?? null, nUsers, nItems));
}
