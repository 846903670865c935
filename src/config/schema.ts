/**
 * The validated shape of a `cf-native train` config.
 *
 * Field names are snake_case on purpose: they mirror the YAML keys one to one (see
 * DESIGN.md, "Config keys"), so a key path in an error message, in the YAML and in
 * code reads the same. Every default is filled in by the loader; a value of `null`
 * means "absent, and that absence means something" (detect it, no such column, no
 * threshold), never "not filled in yet". File paths are kept exactly as written:
 * relative ones are resolved by whoever opens them (against the process cwd).
 */

import { defaultsOf, MODEL_TYPES, type ModelType, type ParamValue, type ResolvedParams } from '../models/params.js';

export { MODEL_TYPES, type ModelType };

/** The model a config without one trains (the demo). */
export const DEFAULT_MODEL: ModelType = MODEL_TYPES[0]!;

export const DELIMITERS = [',', '\t', '::', '|', ';', ' '] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/** A column NAME (needs a header row) or a 0-based column INDEX. */
export type ColumnRef = string | number;

export interface ColumnsConfig {
  user: ColumnRef;
  item: ColumnRef;
  rating: ColumnRef | null;
  time: ColumnRef | null;
}

export const VALUE_MODES = ['binary', 'rating', 'log1p'] as const;
export type ValueMode = (typeof VALUE_MODES)[number];

export const DUPLICATE_MODES = ['sum', 'last'] as const;
export type DuplicateMode = (typeof DUPLICATE_MODES)[number];

export interface DataConfig {
  /** One file to be split; exactly one of `path` / `train` is non-null. */
  path: string | null;
  /** Pre-split files; `valid` and `test` are only set alongside `train`. */
  train: string | null;
  valid: string | null;
  test: string | null;
  /** null: detect from the file. */
  delimiter: Delimiter | null;
  /** null: detect from the file. */
  header: boolean | null;
  columns: ColumnsConfig | null;
  /** Rows with a rating below this are dropped; null keeps every row. */
  positive_threshold: number | null;
  /**
   * Rows rated at or below this are kept as explicit negatives (BPR's mixed sampler adds them
   * to its hard pool) instead of dropped; needs positive_threshold above it. null: none kept.
   */
  negative_threshold: number | null;
  values: ValueMode;
  duplicates: DuplicateMode;
  min_user_interactions: number;
  min_item_interactions: number;
  /**
   * An item side file: its ids join the item map (items nobody interacted with become columns
   * without interactions) and its text columns are what a `content` model reads. null: none.
   */
  items?: ItemsConfig | null;
}

/** `data.items`: a CSV/TSV with a header, an id column and text columns (e.g. title, genres). */
export interface ItemsConfig {
  path: string;
  id: string;
  text: string[];
}

export const SPLIT_STRATEGIES = ['leave-last-out', 'random', 'time', 'none'] as const;
export type SplitStrategy = (typeof SPLIT_STRATEGIES)[number];

/** Per user, the last `valid` + `test` interactions by time (file order breaks ties). */
export interface LeaveLastOutSplitConfig {
  strategy: 'leave-last-out';
  valid: number;
  test: number;
  seed: number;
}

/** Per user, seeded fractions of the interactions. */
export interface RandomSplitConfig {
  strategy: 'random';
  valid: number;
  test: number;
  seed: number;
}

/** Global cutoffs in unix seconds: time >= test_cutoff is test, time >= valid_cutoff is valid. */
export interface TimeSplitConfig {
  strategy: 'time';
  valid_cutoff: number | null;
  test_cutoff: number;
}

/** Train only, or pre-split files used as given. */
export interface NoSplitConfig {
  strategy: 'none';
}

export type SplitConfig = LeaveLastOutSplitConfig | RandomSplitConfig | TimeSplitConfig | NoSplitConfig;

/** A model of the config: its type (any registered model), output folder name, and its
 * params resolved against the core's spec (snake_case, defaults filled in). */
export interface ModelConfig {
  type: ModelType;
  /** Output folder name; defaults to the type. Unique within a config. */
  name: string;
  /** Every parameter; where the config lists several values, the first of each list. */
  params: ResolvedParams;
  /**
   * The keys given a list of values (each value checked), or null: the run fits every
   * combination, keeps the best on validation and reports each (`tuning` in metrics.json).
   * Absent when every key has one value.
   */
  grid?: Record<string, ParamValue[]>;
  /** Who fits it: absent (cf-native) or 'spark' (als only; see src/spark). */
  engine?: 'spark';
  /** The `spark:` block of a model with engine spark (keys as in SparkSettings). */
  spark?: SparkConfig;
  /** A hybrid's `blend:` block (hybrid only, and required there). */
  blend?: BlendConfig;
}

/**
 * `blend:` of a hybrid: its parts, models listed before it in the config (or `popularity`, the
 * baseline), each with the weight the search starts from; and the fallback order, part names
 * that answer for users no weighted part knows (a fallback that is not a weighted part joins
 * the hybrid with no weight).
 */
export interface BlendConfig {
  parts: Record<string, number>;
  fallback: string[];
}

/** Settings of a model trained by Spark (`engine: spark`). */
export interface SparkConfig {
  master: string | null;
  python: string | null;
  driver_memory: string | null;
  conf: Record<string, string>;
  workdir: string | null;
  keep_files: boolean;
}

export interface EvaluateConfig {
  /** Sorted ascending, without duplicates, non-empty. */
  k: number[];
  filter_seen: boolean;
  /** The leaderboard's paired bootstrap over users (see leaderboard/index.ts). */
  bootstrap: BootstrapConfig;
}

export interface BootstrapConfig {
  /** Resamples of the users, 1..1000000. */
  resamples: number;
  seed: number;
  /** Coverage of the intervals, in (0, 1). */
  level: number;
}

export const TUNE_STRATEGIES = ['grid', 'random', 'tpe'] as const;
export type TuneStrategy = (typeof TUNE_STRATEGIES)[number];

export const REFIT_MODES = ['train', 'train+valid'] as const;
export type RefitMode = (typeof REFIT_MODES)[number];

/**
 * One searched parameter, kept in the YAML's own shapes so a checked config validates again
 * unchanged (runTrain checks what it is given): a list is a set of choices, a mapping a range.
 * Whether a range is drawn as integers comes from the core's spec, not from here.
 */
export type TuneDimension = ParamValue[] | { min: number; max: number; log: boolean };

/** The `tune:` block: what `cf-native tune` searches, how, for how long, and by what. */
export interface TuneConfig {
  strategy: TuneStrategy;
  /** Trials to run in all (a resumed study counts the ones already done); null: no limit. */
  trials: number | null;
  /** Seconds of trial time in all (summed over the recorded trials, so resuming counts them); null: no limit. */
  seconds: number | null;
  /** A validation metric key (`ndcg@10`, `recall@20`, `auc`, `rmse`, ...). */
  objective: string;
  /** Compared when two trials score the same objective; null: the earlier trial wins. */
  tie_break: string | null;
  seed: number;
  /**
   * Median pruning of trials from the validation figure models report per iteration (bpr, mf);
   * null: off. A trial stops when, after `warmup_iterations`, its best figure so far is worse
   * than the median of at least `min_trials` finished trials of the same model at that iteration.
   */
  pruning: { warmup_iterations: number; min_trials: number } | null;
  /** tpe: trials drawn at random before the model of the good trials takes over. */
  startup_trials: number;
  refit: RefitMode;
  /** Per model name of `models`, the parameters searched; a model not named here keeps its params (and lists). */
  space: Record<string, Record<string, TuneDimension>>;
}

export interface Config {
  data: DataConfig;
  split: SplitConfig;
  models: ModelConfig[];
  evaluate: EvaluateConfig;
  output: string;
  /**
   * `train` saves the state of an iterative fit (als, bpr, mf) every this many iterations
   * under OUTPUT/.checkpoint, for `cf-native train --resume`; null or absent: only when
   * stopped (Ctrl-C, SIGTERM).
   */
  checkpoint_every?: number | null;
  /** Only read by `cf-native tune`; `train` fits the models as given. */
  tune?: TuneConfig;
}

// Seeds cross into Rust; u32 fits whatever integer type the binding picks.
export const MAX_SEED = 0xffff_ffff;

/** Counts and indices that cross into Rust (k, column indices, k-core bounds) are u32 there. */
export const MAX_U32 = 0xffff_ffff;

/** Time cutoffs cross as doubles and become 64-bit seconds: beyond this they would not be exact. */
export const MAX_CUTOFF = 9e15;

export function defaultSplit(): LeaveLastOutSplitConfig {
  return { strategy: 'leave-last-out', valid: 1, test: 1, seed: 42 };
}

export function defaultEvaluate(): EvaluateConfig {
  return { k: [10, 20, 50], filter_seen: true, bootstrap: { resamples: 1000, seed: 42, level: 0.95 } };
}

/**
 * A complete config for one file and the default model, as if written by hand with only
 * `data.path`, `data.columns`, one model and `output`. Columns are the MovieLens
 * layout by index (user, item, rating, timestamp), which also fits headerless files.
 */
export function defaultConfig(datasetPath: string, output: string): Config {
  return {
    data: {
      path: datasetPath,
      train: null,
      valid: null,
      test: null,
      delimiter: null,
      header: null,
      columns: { user: 0, item: 1, rating: 2, time: 3 },
      positive_threshold: null,
      negative_threshold: null,
      values: 'binary',
      duplicates: 'sum',
      min_user_interactions: 1,
      min_item_interactions: 1,
    },
    split: defaultSplit(),
    models: [{ type: DEFAULT_MODEL, name: DEFAULT_MODEL, params: defaultsOf(DEFAULT_MODEL) }],
    evaluate: defaultEvaluate(),
    output,
  };
}
