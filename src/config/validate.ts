/**
 * Turns the plain JS value of a YAML config into a `Config`, or throws a `ConfigIssue`
 * that names the key path; load.ts adds the file name and line. Hand-written rather
 * than TypeBox: union schemas (split strategies, model types) make TypeBox report a
 * pile of branch errors with no single path a person could act on.
 */
import { basename, extname } from 'node:path';
import { closest, describeValue as describe } from '../options.js';
import { ParamIssue, resolveParams, specOf, type ParamValue, type ResolvedParams } from '../models/params.js';
import { defaultTrials } from '../tune/defaults.js';
import {
  DELIMITERS,
  DUPLICATE_MODES,
  MAX_CUTOFF,
  MAX_SEED,
  MAX_U32,
  MODEL_TYPES,
  REFIT_MODES,
  SPLIT_STRATEGIES,
  TUNE_STRATEGIES,
  VALUE_MODES,
  defaultEvaluate,
  defaultSplit,
  type BlendConfig,
  type ColumnRef,
  type ColumnsConfig,
  type Config,
  type DataConfig,
  type ItemsConfig,
  type EvaluateConfig,
  type ModelConfig,
  type ModelType,
  type SplitConfig,
  type SplitStrategy,
  type TuneConfig,
  type TuneDimension,
} from './schema.js';

export type KeyPath = readonly (string | number)[];

/** Where in the YAML to point: the key of the last path segment, its value, or nowhere. */
export type IssueAnchor = 'key' | 'value' | null;

export class ConfigIssue extends Error {
  constructor(
    readonly path: KeyPath,
    readonly anchor: IssueAnchor,
    message: string,
  ) {
    super(message);
  }
}

type Raw = Record<string, unknown>;

/**
 * A key as written, unless it could break the one-line message it goes into: a key with a
 * control character (a quoted YAML key may hold a newline) or over 60 characters is shown
 * JSON-quoted, and cut.
 */
function keyText(key: string): string {
  if (key.length <= 60 && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(key)) return key;
  return JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}...` : key);
}

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? keyText(seg) : `.${keyText(seg)}`;
  return out;
}


function fail(path: KeyPath, problem: string, anchor: IssueAnchor = 'value'): never {
  throw new ConfigIssue(path, anchor, `${formatKeyPath(path)} ${problem}`);
}

const hasOwn = (o: Raw, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** A present, non-null value, or undefined: an empty YAML value (`key:`) means "use the default". */
function opt(o: Raw, key: string): unknown {
  return hasOwn(o, key) && o[key] !== null ? o[key] : undefined;
}

function req(o: Raw, key: string, path: KeyPath): unknown {
  if (!hasOwn(o, key)) throw new ConfigIssue([...path, key], null, `missing required key ${formatKeyPath([...path, key])}`);
  return o[key];
}

function mapping(v: unknown, path: KeyPath, keys: readonly string[], why?: (key: string) => string | null): Raw {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    if (path.length === 0) throw new ConfigIssue(path, 'value', `the config must be a mapping of keys (got ${describe(v)})`);
    fail(path, `must be a mapping (got ${describe(v)})`);
  }
  for (const key of Object.keys(v)) {
    if (keys.includes(key)) continue;
    const guess = closest(key, keys);
    const hint = why?.(key) ?? (guess ? `did you mean ${guess}?` : `expected one of: ${keys.join(', ')}`);
    throw new ConfigIssue([...path, key], 'key', `unknown key ${formatKeyPath([...path, key])} (${hint})`);
  }
  return v as Raw;
}

function int(v: unknown, path: KeyPath, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    fail(path, `must be an integer ${range} (got ${describe(v)})`);
  }
  return v;
}

interface Bounds {
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
}

function num(v: unknown, path: KeyPath, b: Bounds = {}): number {
  const low = b.min === undefined || (typeof v === 'number' && (b.minExclusive ? v > b.min : v >= b.min));
  const high = b.max === undefined || (typeof v === 'number' && (b.maxExclusive ? v < b.max : v <= b.max));
  if (typeof v !== 'number' || !Number.isFinite(v) || !low || !high) {
    let range = '';
    if (b.min !== undefined && b.max !== undefined) {
      range = ` in ${b.minExclusive ? '(' : '['}${b.min}, ${b.max}${b.maxExclusive ? ')' : ']'}`;
    } else if (b.min !== undefined) {
      range = ` ${b.minExclusive ? '>' : '>='} ${b.min}`;
    } else if (b.max !== undefined) {
      range = ` ${b.maxExclusive ? '<' : '<='} ${b.max}`;
    }
    fail(path, `must be a number${range} (got ${describe(v)})`);
  }
  return v;
}

function str(v: unknown, path: KeyPath): string {
  if (typeof v !== 'string' || v === '') fail(path, `must be a non-empty string (got ${describe(v)})`);
  return v;
}

function bool(v: unknown, path: KeyPath): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false (got ${describe(v)})`);
  return v;
}

function oneOf<T extends string>(v: unknown, path: KeyPath, values: readonly T[]): T {
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  const guess = typeof v === 'string' ? closest(v, values) : null;
  const hint = guess ? `; did you mean ${guess}?` : '';
  fail(path, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')} (got ${describe(v)}${hint})`);
}

const seed = (v: unknown, path: KeyPath): number => int(v, path, 0, MAX_SEED);

function withDefault<T>(o: Raw, key: string, path: KeyPath, fallback: T, check: (v: unknown, p: KeyPath) => T): T {
  const v = opt(o, key);
  return v === undefined ? fallback : check(v, [...path, key]);
}

function column(v: unknown, path: KeyPath): ColumnRef {
  if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_U32)) return v;
  fail(path, `must be a column name (string) or a 0-based column index (integer in [0, ${MAX_U32}]) (got ${describe(v)})`);
}

const DATA_KEYS = [
  'path', 'train', 'valid', 'test', 'delimiter', 'header', 'columns', 'positive_threshold',
  'negative_threshold', 'values', 'duplicates', 'min_user_interactions', 'min_item_interactions', 'items',
] as const;
const ITEMS_KEYS = ['path', 'id', 'text'] as const;

function validateItems(v: unknown, path: KeyPath): ItemsConfig {
  const o = mapping(v, path, ITEMS_KEYS);
  const raw = req(o, 'text', path);
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) fail([...path, 'text'], `must be a column name or a non-empty list of column names (got ${describe(raw)})`);
  return {
    path: str(req(o, 'path', path), [...path, 'path']),
    id: str(req(o, 'id', path), [...path, 'id']),
    text: list.map((c, i) => str(c, [...path, 'text', i])),
  };
}
const COLUMN_KEYS = ['user', 'item', 'rating', 'time'] as const;

function validateColumns(v: unknown, path: KeyPath, header: boolean | null): ColumnsConfig {
  const o = mapping(v, path, COLUMN_KEYS);
  const cols: ColumnsConfig = {
    user: column(req(o, 'user', path), [...path, 'user']),
    item: column(req(o, 'item', path), [...path, 'item']),
    rating: withDefault<ColumnRef | null>(o, 'rating', path, null, column),
    time: withDefault<ColumnRef | null>(o, 'time', path, null, column),
  };
  const seen: [string, ColumnRef][] = [];
  for (const key of COLUMN_KEYS) {
    const ref = cols[key];
    if (ref === null) continue;
    if (typeof ref === 'string' && header === false) {
      fail([...path, key], `is a column name (${JSON.stringify(ref)}) but data.header is false; use a 0-based column index`);
    }
    const twin = seen.find(([, other]) => other === ref);
    if (twin) fail([...path, key], `refers to the same column as ${formatKeyPath([...path, twin[0]])} (${describe(ref)})`);
    seen.push([key, ref]);
  }
  return cols;
}

function validateData(v: unknown): DataConfig {
  const p = ['data'];
  const o = mapping(v, p, DATA_KEYS);
  const file = (key: string): string | null => withDefault<string | null>(o, key, p, null, str);
  const [path, train, valid, test] = [file('path'), file('train'), file('valid'), file('test')];
  if (path !== null && train !== null) {
    fail(['data', 'train'], 'cannot be given with data.path: give one file to split (path) or pre-split files (train, valid, test), not both', 'key');
  }
  for (const [key, value] of [['valid', valid], ['test', test]] as const) {
    if (value !== null && train === null) {
      fail(['data', key], `is only used with data.train (pre-split files)${path !== null ? '; with data.path, the split section carves it out' : ''}`, 'key');
    }
  }
  if (path === null && train === null) {
    fail(p, 'must give exactly one of path (one file to split) or train (pre-split files)', 'key');
  }
  const header = withDefault<boolean | null>(o, 'header', p, null, bool);
  // Absent columns mean the native defaults: user 0, item 1, rating 2 and time 3 when present.
  const columns = o.columns === undefined || o.columns === null ? null : validateColumns(o.columns, [...p, 'columns'], header);
  const positive_threshold = withDefault<number | null>(o, 'positive_threshold', p, null, (x, q) => num(x, q));
  if (positive_threshold !== null && columns !== null && columns.rating === null) {
    fail(['data', 'positive_threshold'], 'needs a rating column (data.columns.rating)', 'key');
  }
  const negative_threshold = withDefault<number | null>(o, 'negative_threshold', p, null, (x, q) => num(x, q));
  if (negative_threshold !== null) {
    if (positive_threshold === null) {
      fail(['data', 'negative_threshold'], 'needs positive_threshold (what a positive is), above it', 'key');
    } else if (negative_threshold >= positive_threshold) {
      fail(['data', 'negative_threshold'], `${negative_threshold} must be below positive_threshold ${positive_threshold}: a row cannot be both a like and a dislike`);
    }
  }
  const values = withDefault(o, 'values', p, 'binary', (x, q) => oneOf(x, q, VALUE_MODES));
  if (values !== 'binary' && columns !== null && columns.rating === null) {
    fail(['data', 'values'], `${JSON.stringify(values)} needs a rating column (data.columns.rating)`);
  }
  return {
    path, train, valid, test,
    delimiter: withDefault(o, 'delimiter', p, null, (x, q) => oneOf(x, q, DELIMITERS)),
    header,
    columns,
    positive_threshold,
    negative_threshold,
    values,
    duplicates: withDefault(o, 'duplicates', p, 'sum', (x, q) => oneOf(x, q, DUPLICATE_MODES)),
    min_user_interactions: withDefault(o, 'min_user_interactions', p, 1, (x, q) => int(x, q, 1, MAX_U32)),
    min_item_interactions: withDefault(o, 'min_item_interactions', p, 1, (x, q) => int(x, q, 1, MAX_U32)),
    ...(o.items === undefined || o.items === null ? {} : { items: validateItems(o.items, [...p, 'items']) }),
  };
}

const SPLIT_KEYS: Record<SplitStrategy, readonly string[]> = {
  'leave-last-out': ['strategy', 'valid', 'test', 'seed'],
  random: ['strategy', 'valid', 'test', 'seed'],
  time: ['strategy', 'valid_cutoff', 'test_cutoff'],
  none: ['strategy'],
};
const ALL_SPLIT_KEYS = [...new Set(Object.values(SPLIT_KEYS).flat())];

function validateSplit(v: unknown, data: DataConfig): SplitConfig {
  const p = ['split'];
  if (v === undefined) return data.train !== null ? { strategy: 'none' } : defaultSplit();
  const loose = mapping(v, p, ALL_SPLIT_KEYS);
  const strategy = withDefault<SplitStrategy>(loose, 'strategy', p, 'leave-last-out', (x, q) => oneOf(x, q, SPLIT_STRATEGIES));
  const owner = (key: string): string | null => {
    const other = SPLIT_STRATEGIES.find((s) => SPLIT_KEYS[s].includes(key));
    return other ? `not used by strategy ${strategy}; it belongs to strategy ${other}` : null;
  };
  const o = mapping(v, p, SPLIT_KEYS[strategy], owner);
  if (data.train !== null && strategy !== 'none') {
    fail(hasOwn(o, 'strategy') ? ['split', 'strategy'] : p, `must be none when data.train is given, since the files are already split (got ${JSON.stringify(strategy)})`);
  }
  switch (strategy) {
    case 'leave-last-out':
      return {
        strategy,
        valid: withDefault(o, 'valid', p, 1, (x, q) => int(x, q, 0)),
        test: withDefault(o, 'test', p, 1, (x, q) => int(x, q, 0)),
        seed: withDefault(o, 'seed', p, 42, seed),
      };
    case 'random': {
      const fraction = (x: unknown, q: KeyPath): number => num(x, q, { min: 0, max: 1, maxExclusive: true });
      const valid = withDefault(o, 'valid', p, 0.1, fraction);
      const test = withDefault(o, 'test', p, 0.1, fraction);
      if (valid + test >= 1) fail(p, `valid + test must be < 1 for strategy random (got ${valid} + ${test})`, 'key');
      return { strategy, valid, test, seed: withDefault(o, 'seed', p, 42, seed) };
    }
    case 'time': {
      if (data.columns !== null && data.columns.time === null) fail(['split', 'strategy'], 'time needs a time column (data.columns.time)');
      const cutoff = (x: unknown, q: KeyPath): number => num(x, q, { min: -MAX_CUTOFF, max: MAX_CUTOFF, minExclusive: true, maxExclusive: true });
      const test_cutoff = cutoff(req(o, 'test_cutoff', p), ['split', 'test_cutoff']);
      const valid_cutoff = withDefault<number | null>(o, 'valid_cutoff', p, null, cutoff);
      if (valid_cutoff !== null && valid_cutoff >= test_cutoff) {
        fail(['split', 'valid_cutoff'], `must be less than split.test_cutoff (got ${valid_cutoff} >= ${test_cutoff})`);
      }
      return { strategy, valid_cutoff, test_cutoff };
    }
    case 'none':
      return { strategy };
  }
}

/** A model's params against the core's spec (names, bounds, defaults), key paths kept. */
function validateParams(type: ModelType, v: unknown, path: KeyPath): ResolvedParams {
  const raw = v === undefined ? {} : mapping(v, path, Object.keys(v ?? {}));
  try {
    return resolveParams(type, raw, closest);
  } catch (err) {
    if (!(err instanceof ParamIssue)) throw err;
    if (err.onKey) throw new ConfigIssue([...path, err.key], 'key', `unknown key ${formatKeyPath([...path, err.key])} (${err.message})`);
    fail([...path, err.key], err.message);
  }
}

/** Most combinations one model's lists of values may make. */
const MAX_GRID = 1000;

/**
 * A model's params where a key may hold a list of values (a grid to choose from on
 * validation): every value is checked in the position it was given, and `params` holds the
 * first of each list.
 */
function validateGrid(type: ModelType, v: unknown, path: KeyPath): { params: ResolvedParams; grid?: Record<string, ParamValue[]> } {
  const raw = v === undefined ? {} : mapping(v, path, Object.keys(v ?? {}));
  const lists = Object.entries(raw).filter((e): e is [string, unknown[]] => Array.isArray(e[1]));
  if (lists.length === 0) return { params: validateParams(type, raw, path) };
  const first: Raw = { ...raw };
  for (const [k, values] of lists) {
    if (values.length === 0) fail([...path, k], 'lists no value: give one value, or a list of values to choose from on validation');
    first[k] = values[0];
  }
  // Each listed value alone (the other listed keys at their defaults), so an error names
  // the value's position; then the single values with the first of each list.
  const scalars: Raw = Object.fromEntries(Object.entries(raw).filter(([, x]) => !Array.isArray(x)));
  const grid: Record<string, ParamValue[]> = {};
  let combinations = 1;
  for (const [k, values] of lists) {
    grid[k] = values.map((x, j) => {
      try {
        return resolveParams(type, { ...scalars, [k]: x }, closest)[k]!;
      } catch (err) {
        if (err instanceof ParamIssue && err.key === k) fail([...path, k, j], err.message);
        throw err;
      }
    });
    combinations *= values.length;
  }
  if (combinations > MAX_GRID) fail(path, `make ${combinations} combinations of values; at most ${MAX_GRID}`);
  return { params: validateParams(type, first, path), grid };
}

// The name becomes a folder under `output`, so it must not be able to climb out of it.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function validateModels(v: unknown): ModelConfig[] {
  if (!Array.isArray(v)) fail(['models'], `must be a list of models (got ${describe(v)})`);
  if (v.length === 0) fail(['models'], 'must list at least one model');
  const names = new Map<string, number>();
  return v.map((item: unknown, i): ModelConfig => {
    const p = ['models', i];
    // `grid` is what validation makes of listed values; a checked config passed back in
    // (runTrain checks what it is given) lists them again.
    const o = mapping(item, p, ['type', 'name', 'params', 'grid', 'engine', 'spark', 'blend']);
    const type = oneOf(req(o, 'type', p), [...p, 'type'], MODEL_TYPES);
    const name = withDefault(o, 'name', p, type, (x, q) => {
      const s = str(x, q);
      if (!MODEL_NAME.test(s)) fail(q, `must be a folder name of letters, digits, '.', '_' or '-', starting with a letter or digit (got ${describe(s)})`);
      return s;
    });
    // Lower-cased: on case-insensitive file systems "Mine" and "mine" are the same folder.
    const first = names.get(name.toLowerCase());
    if (first !== undefined) {
      const implicit = opt(o, 'name') === undefined ? ' (the name defaults to the type)' : '';
      const firstName = (v[first] as Raw).name ?? (v[first] as Raw).type;
      const caseOnly = firstName !== name ? ` as ${JSON.stringify(firstName)}, differing only in case` : '';
      fail([...p, 'name'], `${JSON.stringify(name)} is already used by models[${first}]${caseOnly}${implicit}; give each model a unique name, it is its output folder`);
    }
    names.set(name.toLowerCase(), i);
    const grid = opt(o, 'grid');
    const params = grid === undefined ? opt(o, 'params') : { ...mapping(opt(o, 'params') ?? {}, [...p, 'params'], Object.keys(opt(o, 'params') ?? {})), ...mapping(grid, [...p, 'grid'], Object.keys(grid ?? {})) };
    const checked = { type, name, ...validateGrid(type, params, [...p, 'params']) };
    const blend = validateBlend(o, type, p, v.slice(0, i));
    return { ...checked, ...validateEngine(o, checked, p), ...(blend ? { blend } : {}) };
  });
}

/**
 * A hybrid's `blend:` block: `parts` a list of names (weight 1 each) or a mapping of name to
 * weight, each an earlier model of the list or `popularity` (the baseline); `fallback` part or
 * model names in order.
 */
function validateBlend(o: Raw, type: string, p: KeyPath, earlier: unknown[]): BlendConfig | null {
  const block = opt(o, 'blend');
  if (type !== 'hybrid') {
    if (block !== undefined) fail([...p, 'blend'], `is only read by a hybrid model (this one is ${type})`, 'key');
    return null;
  }
  if (block === undefined) fail([...p, 'blend'], 'a hybrid needs a blend: block naming its parts, e.g. blend: { parts: { als: 1, knn: 1 }, fallback: [popularity] }', 'key');
  const q = [...p, 'blend'];
  const b = mapping(block, q, ['parts', 'fallback']);
  const known = earlier.map((m) => {
    const r = (m ?? {}) as Raw;
    return String(r.name ?? r.type);
  });
  const check = (name: unknown, at: KeyPath): string => {
    const s = str(name, at);
    const j = known.lastIndexOf(s);
    if (j >= 0 && (earlier[j] as Raw | null)?.type === 'hybrid') fail(at, `${JSON.stringify(s)} is a hybrid itself; blend its parts instead`);
    if (s === 'popularity' || j >= 0) return s;
    const later = known.length === 0 ? 'no model comes before it' : `models before it: ${known.join(', ')}`;
    fail(at, `${JSON.stringify(s)} is not a model listed before this hybrid nor popularity (${later})`);
  };
  const rawParts = req(b, 'parts', q);
  const parts: Record<string, number> = {};
  if (Array.isArray(rawParts)) {
    rawParts.forEach((x, j) => (parts[check(x, [...q, 'parts', j])] = 1));
  } else {
    const m = mapping(rawParts, [...q, 'parts'], Object.keys((rawParts ?? {}) as Raw));
    for (const [k, w] of Object.entries(m)) parts[check(k, [...q, 'parts', k])] = num(w, [...q, 'parts', k], { min: 0 });
  }
  if (Object.keys(parts).length === 0) fail([...q, 'parts'], 'must name at least one part');
  if (Object.values(parts).every((w) => w === 0)) fail([...q, 'parts'], 'at least one part needs a weight above 0');
  const rawFallback = opt(b, 'fallback') ?? [];
  if (!Array.isArray(rawFallback)) fail([...q, 'fallback'], `must be a list of model names (got ${describe(rawFallback)})`);
  const fallback = rawFallback.map((x, j) => check(x, [...q, 'fallback', j]));
  const twice = fallback.find((f, j) => fallback.indexOf(f) !== j);
  if (twice !== undefined) fail([...q, 'fallback'], `lists ${JSON.stringify(twice)} twice`);
  return { parts, fallback };
}

/** `engine: spark` (als only, one set of params) and its `spark:` block. */
function validateEngine(o: Raw, m: ModelConfig, p: KeyPath): Pick<ModelConfig, 'engine' | 'spark'> {
  const engine = opt(o, 'engine');
  const block = opt(o, 'spark');
  if (engine === undefined || engine === 'native') {
    if (block !== undefined) fail([...p, 'spark'], 'is only read with engine: spark', 'key');
    return {};
  }
  oneOf(engine, [...p, 'engine'], ['native', 'spark'] as const);
  if (m.type !== 'als') fail([...p, 'engine'], `spark trains als only (this model is ${m.type})`);
  if (m.grid) fail([...p, 'params'], `lists several values for ${Object.keys(m.grid).join(', ')}; a model with engine: spark takes one value of each`);
  if (m.params.confidence !== 'linear') fail([...p, 'params', 'confidence'], `${String(m.params.confidence)} is not available with engine: spark (Spark's ALS uses c = 1 + alpha * r: use linear)`);
  const q = [...p, 'spark'];
  const b = block === undefined ? {} : mapping(block, q, ['master', 'python', 'driver_memory', 'conf', 'workdir', 'keep_files']);
  const s = (key: string): string | null => {
    const v = opt(b, key);
    if (v === undefined) return null;
    const text = str(v, [...q, key]);
    if (text === '') fail([...q, key], 'must not be empty');
    return text;
  };
  const driver = s('driver_memory');
  if (driver !== null && !/^[0-9]+[kmgtKMGT]?$/.test(driver)) fail([...q, 'driver_memory'], `must be a JVM memory size such as 1g or 512m (got ${describe(driver)})`);
  const confRaw = opt(b, 'conf');
  const conf: Record<string, string> = {};
  if (confRaw !== undefined) {
    const c = mapping(confRaw, [...q, 'conf'], Object.keys(confRaw as Raw));
    for (const [k, v] of Object.entries(c)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) fail([...q, 'conf', k], `must be a string, number or boolean (got ${describe(v)})`);
      conf[k] = String(v);
    }
  }
  const keep = opt(b, 'keep_files');
  return {
    engine: 'spark',
    spark: { master: s('master'), python: s('python'), driver_memory: driver, conf, workdir: s('workdir'), keep_files: keep === undefined ? false : bool(keep, [...q, 'keep_files']) },
  };
}

function validateEvaluate(v: unknown): EvaluateConfig {
  const p = ['evaluate'];
  const d = defaultEvaluate();
  if (v === undefined) return d;
  const o = mapping(v, p, ['k', 'filter_seen', 'bootstrap']);
  const kRaw = opt(o, 'k');
  let k = d.k;
  if (typeof kRaw === 'number') {
    k = [int(kRaw, ['evaluate', 'k'], 1, MAX_U32)];
  } else if (kRaw !== undefined) {
    if (!Array.isArray(kRaw)) fail(['evaluate', 'k'], `must be an integer >= 1 or a list of them (got ${describe(kRaw)})`);
    if (kRaw.length === 0) fail(['evaluate', 'k'], 'must list at least one cutoff');
    k = [...new Set(kRaw.map((x: unknown, i) => int(x, ['evaluate', 'k', i], 1, MAX_U32)))].sort((a, b) => a - b);
  }
  const bp = [...p, 'bootstrap'];
  const b = opt(o, 'bootstrap') === undefined ? {} : mapping(opt(o, 'bootstrap'), bp, ['resamples', 'seed', 'level']);
  const bootstrap = {
    // The native bootstrap's bounds (cf_core::bootstrap::MAX_RESAMPLES).
    resamples: withDefault(b, 'resamples', bp, d.bootstrap.resamples, (x, q) => int(x, q, 1, 1_000_000)),
    seed: withDefault(b, 'seed', bp, d.bootstrap.seed, seed),
    level: withDefault(b, 'level', bp, d.bootstrap.level, (x, q) => num(x, q, { min: 0, minExclusive: true, max: 1, maxExclusive: true })),
  };
  return { k, filter_seen: withDefault(o, 'filter_seen', p, d.filter_seen, bool), bootstrap };
}

function defaultOutput(sourceName: string): string {
  const stem = basename(sourceName, extname(sourceName));
  return `artifacts/${stem === '' ? 'run' : stem}`;
}

/** Metrics a model's evaluation reports per K (Recommender.evaluate), and the ones without a K. */
const METRICS_AT_K = ['precision', 'recall', 'ndcg', 'map', 'hit_rate', 'f1', 'coverage', 'novelty'] as const;
const METRICS_PLAIN = ['auc', 'rmse', 'mae'] as const;

/** A validation metric the evaluation will report: `name@K` with K one of evaluate.k, or auc/rmse/mae. */
function metricKey(v: unknown, path: KeyPath, ks: number[]): string {
  const s = str(v, path);
  if ((METRICS_PLAIN as readonly string[]).includes(s)) return s;
  const m = /^([a-z_]+)@(\d+)$/.exec(s);
  const known = [...ks.flatMap((k) => METRICS_AT_K.map((n) => `${n}@${k}`)), ...METRICS_PLAIN];
  if (!m || !(METRICS_AT_K as readonly string[]).includes(m[1]!)) {
    const guess = closest(s, known);
    fail(path, `must be a metric: one of ${METRICS_AT_K.join(', ')} at a K of evaluate.k (e.g. ndcg@${ks[0]}), or ${METRICS_PLAIN.join(', ')} (got ${describe(v)}${guess ? `; did you mean ${guess}?` : ''})`);
  }
  if (!ks.includes(Number(m[2]))) fail(path, `is at K = ${m[2]}, which evaluate.k (${ks.join(', ')}) does not compute`);
  return s;
}

// More would be a search space nobody enumerates: the grid strategy refuses it, random samples.
export const MAX_TUNE_GRID = 100_000;

/**
 * One searched parameter of a model: a list (choices, each checked against the core's spec in
 * its place), a `{ min, max, log }` range (only for int and float parameters, bounds checked
 * against the spec, integers for an int parameter), or one value (a single choice).
 */
function validateDimension(type: ModelType, key: string, v: unknown, path: KeyPath): TuneDimension {
  const check = (x: unknown, p: KeyPath): ParamValue => {
    try {
      return resolveParams(type, { [key]: x }, closest)[key]!;
    } catch (err) {
      if (!(err instanceof ParamIssue)) throw err;
      if (err.onKey) throw new ConfigIssue(path, 'key', `unknown key ${formatKeyPath(path)} (${err.message})`);
      fail(p, err.message);
    }
  };
  if (Array.isArray(v)) {
    if (v.length === 0) fail(path, 'lists no value: give a list of choices or a range { min, max, log }');
    return v.map((x, j) => check(x, [...path, j]));
  }
  if (v !== null && typeof v === 'object') {
    const o = mapping(v, path, ['min', 'max', 'log']);
    const spec = specOf(type)!.params.find((p) => p.name === key);
    if (!spec) check(undefined, path); // unknown key: reported as such
    if (spec!.kind !== 'int' && spec!.kind !== 'float') {
      fail(path, `is a ${spec!.kind === 'bool' ? 'true/false' : 'choice'} parameter, which has no range: list the values to try`);
    }
    const min = check(req(o, 'min', path), [...path, 'min']) as number;
    const max = check(req(o, 'max', path), [...path, 'max']) as number;
    if (!(min < max)) fail([...path, 'max'], `must be above min (got min ${min}, max ${max})`);
    const log = withDefault(o, 'log', path, false, bool);
    if (log && min <= 0) fail([...path, 'min'], `must be above 0 for a log range (got ${min})`);
    return { min, max, log };
  }
  return [check(v, path)];
}

const TUNE_KEYS = ['strategy', 'trials', 'seconds', 'objective', 'tie_break', 'seed', 'startup_trials', 'pruning', 'refit', 'space'] as const;

function validateTune(v: unknown, models: ModelConfig[], split: SplitConfig, data: DataConfig, ev: EvaluateConfig): TuneConfig {
  const p = ['tune'];
  const o = mapping(v ?? {}, p, TUNE_KEYS);
  // Trials are chosen on validation, never on test: without a validation part there is nothing to choose by.
  const noValid =
    (split.strategy === 'none' && data.valid === null) ||
    ((split.strategy === 'leave-last-out' || split.strategy === 'random') && split.valid === 0) ||
    (split.strategy === 'time' && split.valid_cutoff === null);
  if (noValid) fail(['tune'], 'chooses between trials on validation, and this config has no validation part (split.valid, split.valid_cutoff, or data.valid)', 'key');
  const strategy = withDefault(o, 'strategy', p, 'tpe', (x, q) => oneOf(x, q, TUNE_STRATEGIES));
  let trials = withDefault<number | null>(o, 'trials', p, null, (x, q) => int(x, q, 1, 1_000_000));
  const seconds = withDefault<number | null>(o, 'seconds', p, null, (x, q) => num(x, q, { min: 0, minExclusive: true }));
  // No budget given: the built-in one, each model's share of trials added up (src/tune/defaults.ts).
  if (strategy !== 'grid' && trials === null && seconds === null) trials = defaultTrials(models.map((m) => m.type));
  const objective = withDefault(o, 'objective', p, `ndcg@${ev.k[0]}`, (x, q) => metricKey(x, q, ev.k));
  const tie_break = withDefault<string | null>(o, 'tie_break', p, null, (x, q) => metricKey(x, q, ev.k));
  const names = models.map((m) => m.name);
  const sp = [...p, 'space'];
  const rawSpace = opt(o, 'space') === undefined ? {} : mapping(opt(o, 'space'), sp, names, () => null);
  const space: Record<string, Record<string, TuneDimension>> = {};
  for (const [name, params] of Object.entries(rawSpace)) {
    const type = models.find((m) => m.name === name)!.type;
    const mp = [...sp, name];
    const raw = params === null ? {} : mapping(params, mp, Object.keys(params ?? {}));
    space[name] = {};
    for (const [key, x] of Object.entries(raw)) {
      const d = validateDimension(type, key, x, [...mp, key]);
      if (strategy === 'grid' && !Array.isArray(d)) fail([...mp, key], 'is a range, which strategy grid cannot enumerate: list the values, or use strategy random', 'key');
      space[name][key] = d;
    }
  }
  if (strategy === 'grid') {
    // Each model's combinations (its params' lists and the space's lists), added up.
    let total = 0;
    for (const m of models) {
      const dims = { ...(m.grid ?? {}), ...(space[m.name] ?? {}) };
      total += Object.values(dims).reduce((n, d) => n * (d as ParamValue[]).length, 1);
    }
    if (total > MAX_TUNE_GRID) fail(sp, `makes ${total} combinations; strategy grid enumerates at most ${MAX_TUNE_GRID} (use strategy random)`, 'key');
  }
  // best.yaml must reproduce the refit: a split that can give train + valid as its training
  // part with the same test part (leave-last-out with valid 0, time without valid_cutoff, random
  // without a test part, pre-split files without data.valid). Where it can, that is the default:
  // the final model sees the validation rows too.
  const mergeable = split.strategy === 'leave-last-out' || split.strategy === 'time' || (split.strategy === 'random' && split.test === 0) || data.train !== null;
  const refit = withDefault(o, 'refit', p, mergeable ? 'train+valid' : 'train', (x, q) => oneOf(x, q, REFIT_MODES));
  if (refit === 'train+valid' && !mergeable) {
    fail(['tune', 'refit'], `train+valid needs split strategy leave-last-out, time, random with test 0, or pre-split files, which keep the same test part without validation (got ${split.strategy} with test ${(split as { test?: number }).test})`);
  }
  return {
    strategy,
    trials,
    seconds,
    objective,
    tie_break,
    seed: withDefault(o, 'seed', p, 42, seed),
    startup_trials: withDefault(o, 'startup_trials', p, 10, (x, q) => int(x, q, 1, 1_000_000)),
    pruning: withDefault(o, 'pruning', p, null, (x, q) => {
      const m = mapping(x, q, ['warmup_iterations', 'min_trials']);
      return {
        warmup_iterations: withDefault(m, 'warmup_iterations', q, 5, (y, r) => int(y, r, 1, 1_000_000)),
        min_trials: withDefault(m, 'min_trials', q, 3, (y, r) => int(y, r, 1, 1_000_000)),
      };
    }),
    refit,
    space,
  };
}

const TOP_KEYS = ['data', 'split', 'models', 'evaluate', 'output', 'checkpoint_every', 'tune'];

/** `raw` is the YAML document as plain JS; `sourceName` only feeds the default output folder. */
export function validateConfig(raw: unknown, sourceName: string): Config {
  const top = mapping(raw, [], TOP_KEYS);
  const data = validateData(req(top, 'data', []));
  const split = validateSplit(opt(top, 'split'), data);
  const models = validateModels(req(top, 'models', []));
  const evaluate = validateEvaluate(opt(top, 'evaluate'));
  const output = withDefault(top, 'output', [], defaultOutput(sourceName), str);
  // Only present when written, so configs without it compare as before.
  const every = hasOwn(top, 'checkpoint_every') ? { checkpoint_every: withDefault(top, 'checkpoint_every', [], null, (x, q) => int(x, q, 1, 1_000_000)) } : {};
  if (!hasOwn(top, 'tune')) return { data, split, models, evaluate, output, ...every };
  return { data, split, models, evaluate, output, ...every, tune: validateTune(top.tune, models, split, data, evaluate) };
}
