// Every public function of src/index.ts with bad arguments: a CfError whose `code` says what
// kind of failure and whose message names the argument, option or file (options.spec.ts has
// the option-object cases; they are not repeated here).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALS,
  EMBEDDED_RATINGS,
  Popularity,
  datasetFromArrays,
  defaultsOf,
  fitModel,
  loadConfig,
  loadDataset,
  matrixFromCoo,
  parseConfig,
  runTrain,
  saveModel,
  splitDataset,
  type Config,
} from '../../src/index.js';
import { failure, tmp } from './helpers.js';

const u32 = (...xs: number[]) => Uint32Array.from(xs);
/** 3 users x 4 items. */
const m = matrixFromCoo(u32(0, 0, 1, 2, 2), u32(0, 1, 1, 2, 3), 3, 4);
const matrix = (rows: number, cols: number) => matrixFromCoo(u32(0), u32(0), rows, cols);
const als = ALS.fitSync(m, { factors: 2, iterations: 2 });
const pop = Popularity.fit(m);
const ds = datasetFromArrays(u32(0, 1, 1), u32(0, 0, 1));
const timed = datasetFromArrays(u32(0, 1, 1), u32(0, 0, 1), undefined, Float64Array.of(1, 2, 3));
const ids = { userIds: ['a', 'b', 'c'], itemIds: ['w', 'x', 'y', 'z'] };
const out = tmp('api');

/**
 * Whether the kernel refuses one allocation of `bytes`, as the engine's "more memory than
 * there is" checks rely on: Linux's default heuristic refuses more than RAM + swap, and
 * `vm.overcommit_memory = 1` refuses nothing. Elsewhere, or where it would be handed out
 * (and then filled for minutes), the case is skipped.
 */
function refusesBytes(bytes: number): boolean {
  try {
    if (readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() === '1') return false;
    const kib = (key: string) => Number(/^(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8').split(`${key}:`)[1]?.trim() ?? '')?.[1] ?? NaN);
    return kib('MemTotal') * 1024 + kib('SwapTotal') * 1024 < bytes;
  } catch {
    return false;
  }
}

type Case = [name: string, call: () => unknown, code: string, message: RegExp];
const INVALID = 'ERR_CF_INVALID_ARG';

const cases: Case[] = [
  // recommend / similarItems: the index argument and the options object.
  ['recommend: user as a string', () => als.recommend('0' as never), INVALID, /^user: must be a number \(got a string \("0"\)\)$/],
  ['recommend: user NaN', () => als.recommend(NaN), INVALID, /^user: must be an integer in 0\.\.=4294967295 \(got NaN\)$/],
  ['recommend: user Infinity', () => pop.recommend(Infinity), INVALID, /^user: .*\(got Infinity\)$/],
  ['recommend: user 2^53', () => als.recommend(2 ** 53), INVALID, /^user: .*\(got 9007199254740992\)$/],
  ['recommend: options a number', () => als.recommend(0, 5 as never), INVALID, /^options: must be an object of options \(got a number\)$/],
  ['recommend: options an array', () => als.recommend(0, [10] as never), INVALID, /^options: must be an object of options \(got an array\)$/],
  ['recommend: k Infinity', () => als.recommend(0, { k: Infinity }), INVALID, /^k: .*\(got Infinity\)$/],
  ['recommend: k as a string', () => als.recommend(0, { k: '3' as never }), INVALID, /^k: must be a number \(got a string\)$/],
  ['recommend: exclude a Float32Array', () => als.recommend(0, { exclude: new Float32Array(4) as never }), INVALID, /^exclude: must be a Matrix/],
  ['recommend: exclude wider than the model', () => als.recommend(0, { exclude: matrix(3, 9) }), INVALID, /^exclude: matrix has 9 items, the model 4$/],
  ['similarItems: item NaN', () => als.similarItems(NaN), INVALID, /^item: .*\(got NaN\)$/],
  ['similarItems: item -1', () => als.similarItems(-1), INVALID, /^item: .*\(got -1\)$/],
  ['similarItems: item as a string', () => als.similarItems('1' as never), INVALID, /^item: must be a number \(got a string \("1"\)\)$/],
  ['similarItems: k 0', () => als.similarItems(0, { k: 0 }), INVALID, /^k: .*\(got 0\)$/],
  ['similarItems: options a string', () => als.similarItems(0, 'k' as never), INVALID, /^options: must be an object of options \(got a string \("k"\)\)$/],
  // Fold-in: id lists and values.
  ['recommendForItems: an Int32Array', () => als.recommendForItems(Int32Array.of(1, 2) as never), INVALID, /^items: must be a Uint32Array or an array of indices \(got an Int32Array\)$/],
  ['recommendForItems: a Float64Array', () => als.recommendForItems(Float64Array.of(1) as never), INVALID, /^items: .*\(got a Float64Array\)$/],
  ['recommendForItems: a string', () => als.recommendForItems('12' as never), INVALID, /^items: .*\(got a string \("12"\)\)$/],
  ['recommendForItems: null', () => pop.recommendForItems(null as never), INVALID, /^items: .*\(got null\)$/],
  ['recommendForItems: Uint32Array id past the end', () => als.recommendForItems(u32(0, 4)), INVALID, /^items: index 4 at position 1 is out of range \(model has 4 items\)$/],
  ['recommendForItems: Uint32Array id 2^32 - 1', () => als.recommendForItems(u32(0xffffffff)), INVALID, /^items: index 4294967295 at position 0 is out of range/],
  ['recommendForItems: a hole in a sparse array', () => als.recommendForItems([, 1] as never), INVALID, /^items: an empty slot at position 0 is not a non-negative integer index$/],
  ['recommendForItems: a string id', () => als.recommendForItems(['1'] as never), INVALID, /^items: a string \("1"\) at position 0 is not a non-negative integer index$/],
  ['recommendForItems: NaN id', () => als.recommendForItems([NaN]), INVALID, /^items: NaN at position 0 is not/],
  ['recommendForItems: an empty list', () => pop.recommendForItems([]), INVALID, /^items: is empty: fold-in needs at least one item/],
  ['recommendForItems: values of another length', () => als.recommendForItems([0, 1], { values: [1] }), INVALID, /^values: has 1 entries for 2 items$/],
  ['recommendForItems: NaN value', () => als.recommendForItems([0, 1], { values: [1, NaN] }), INVALID, /^values: value NaN at position 1 is not finite/],
  ['recommendForItems: negative value (Float32Array)', () => als.recommendForItems([0, 1], { values: Float32Array.of(1, -1) }), INVALID, /^values: value -1 at position 1 is negative/],
  ['recommendForItems: Infinity value (Float32Array)', () => als.recommendForItems([0], { values: Float32Array.of(Infinity) }), INVALID, /^values: value Infinity at position 0 is not finite/],
  ['recommendForItems: values a string', () => als.recommendForItems([0, 1], { values: 'ab' as never }), INVALID, /^values: must be a Float32Array or an array of numbers \(got a string \("ab"\)\)$/],
  ['recommendForItems: a value beyond float32', () => als.recommendForItems([0, 1], { values: [1e39, 1] }), INVALID, /^values: 1e\+39 at position 0 is beyond the float32 range$/],
  ['recommendForItems: a string value', () => als.recommendForItems([0, 1], { values: [1, '2'] as never }), INVALID, /^values: a string \("2"\) at position 1 is not a number$/],
  ['recommendForItems: k NaN', () => als.recommendForItems([1], { k: NaN }), INVALID, /^k: .*\(got NaN\)$/],
  ['foldInItem: user past the end', () => als.foldInItem([3]), INVALID, /^users: index 3 at position 0 is out of range \(model has 3 users\)$/],
  ['foldInItem: negative value', () => als.foldInItem([0], [-1]), INVALID, /^values: value -1 at position 0 is negative/],
  ['foldInUser: id 2^32', () => als.foldInUser([2 ** 32]), INVALID, /^items: 4294967296 at position 0 is not a non-negative integer index$/],
  ['foldInUser: values an object', () => als.foldInUser([0], { 0: 1 } as never), INVALID, /^values: must be a Float32Array or an array of numbers \(got an object\)$/],
  ['similarToNewItem: k -1', () => als.similarToNewItem([0], { k: -1 }), INVALID, /^k: .*\(got -1\)$/],
  ['similarToNewItem: misspelt option', () => als.similarToNewItem([0], { kk: 1 } as never), INVALID, /^kk: is not a known option \(did you mean k\?\)$/],
  ['similarToNewItem: values of another length', () => als.similarToNewItem([0, 1], { values: [1] }), INVALID, /^values: has 1 entries for 2 users$/],
  ['similarToNewItem: an empty list', () => als.similarToNewItem([]), INVALID, /^users: is empty/],
  // evaluate: matrices of the wrong shape or kind, and its options.
  ['evaluate: truth narrower than the model', () => als.evaluate(m, matrix(3, 2), { k: 1 }), INVALID, /^truth: matrix is 3 x 2, but the model has 4 items$/],
  ['evaluate: train narrower than the model', () => pop.evaluate(matrix(3, 2), m, { k: 1 }), INVALID, /^train: matrix is 3 x 2, but the model has 4 items$/],
  ['evaluate: train taller than the model', () => als.evaluate(matrix(5, 4), matrix(5, 4), { k: 1 }), INVALID, /^train: matrix is 5 x 4, but the model has 3 users$/],
  ['evaluate: alsoExclude wider than the model', () => als.evaluate(m, m, { k: 1, alsoExclude: matrix(3, 9) }), INVALID, /^exclude: matrix has 9 items, the model 4$/],
  ['evaluate: no options', () => als.evaluate(m, m, undefined as never), INVALID, /^k: is required: a cutoff or a list of them$/],
  ['evaluate: k an empty list', () => als.evaluate(m, m, { k: [] }), INVALID, /^k: at least one K is needed$/],
  ['evaluate: k as strings', () => als.evaluate(m, m, { k: ['5'] as never }), INVALID, /^k: must be a number or an array of numbers$/],
  ['evaluate: k NaN', () => als.evaluate(m, m, { k: [10, NaN] }), INVALID, /^k: .*\(got NaN\)$/],
  ['evaluate: threads -1', () => als.evaluate(m, m, { k: 1, threads: -1 }), INVALID, /^threads: must be an integer in 0\.\.=1024 \(got -1\)$/],
  ['evaluate: threads 5000', () => pop.evaluate(m, m, { k: 1, threads: 5000 }), INVALID, /^threads: .*\(got 5000\)$/],
  ['evaluate: train an object', () => als.evaluate({} as never, m, { k: 1 }), INVALID, /^train: must be a Matrix \(from matrixFromCoo, a split or a model's train\) \(got an object\)$/],
  ['evaluate: truth null', () => als.evaluate(m, null as never, { k: 1 }), INVALID, /^truth: must be a Matrix .*\(got null\)$/],
  ['evaluate: signal not an AbortSignal', () => als.evaluate(m, m, { k: 1, signal: 5 as never }), INVALID, /^signal: must be an AbortSignal \(got a number\)$/],
  ['evaluate: options a string', () => als.evaluate(m, m, 'k' as never), INVALID, /^options: must be an object of options/],
  // Fitting.
  ['ALS.fit: data an object', () => ALS.fit({} as never), INVALID, /^data: must be a Matrix .*\(got an object\)$/],
  ['ALS.fit: data null', () => ALS.fit(null as never), INVALID, /^data: must be a Matrix .*\(got null\)$/],
  ['ALS.fitSync: data a Float32Array', () => ALS.fitSync(new Float32Array(3) as never), INVALID, /^data: must be a Matrix .*\(got a Float32Array\)$/],
  ['ALS.fit: params a string', () => ALS.fit(m, 'fast' as never), INVALID, /^params: must be an object of options \(got a string \("fast"\)\)$/],
  ['ALS.fit: params an array', () => ALS.fit(m, [64] as never), INVALID, /^params: must be an object of options \(got an array\)$/],
  ['ALS.fit: onProgress not a function', () => ALS.fit(m, { iterations: 1 }, { onProgress: 5 as never }), INVALID, /^onProgress: must be a function \(got a number\)$/],
  ['ALS.fit: signal not an AbortSignal', () => ALS.fit(m, { iterations: 1 }, { signal: {} as never }), INVALID, /^signal: must be an AbortSignal \(got an object\)$/],
  ['ALS.fit: misspelt fit option', () => ALS.fit(m, { iterations: 1 }, { onprogress: () => {} } as never), INVALID, /^options: onprogress is not a known option \(did you mean onProgress\?\)$/],
  ['ALS.fitSync: signal (it has none)', () => ALS.fitSync(m, { iterations: 1 }, { signal: new AbortController().signal } as never), INVALID, /^options: signal is not a known option/],
  ['ALS.fit: a 0 x 0 matrix', () => ALS.fit(matrixFromCoo(u32(), u32(), 0, 0)), INVALID, /^data: the matrix is 0 x 0; ALS needs at least one user and one item$/],
  ['ALS.fit: a negative value', () => ALS.fit(matrixFromCoo(u32(0), u32(0), 2, 2, Float32Array.of(-1)), { factors: 2, iterations: 1 }), INVALID, /^interactions: value -1 at row 0, column 0 is not a finite number >= 0/],
  ['ALS.fit: factors 4097', () => ALS.fit(m, { factors: 4097 }), INVALID, /^factors: must be an integer in 1\.\.=4096 \(got 4097\)$/],
  ['ALS.fit: a parameter given twice', () => ALS.fit(m, { cgSteps: 2, cg_steps: 3 } as never), INVALID, /is given twice \(snake_case and camelCase\)$/],
  ['ALS.fit: exact solve with no regularization', () => ALS.fit(matrixFromCoo(u32(0, 1), u32(0, 0), 2, 3), { factors: 8, iterations: 1, regularization: 0, solver: 'cholesky' }), 'ERR_CF_NUMERIC', /is not positive definite; increase regularization \(now 0\)$/],
  ['ALS.fromFactors: lengths not multiples of factors', () => ALS.fromFactors({ factors: 2 }, new Float32Array(3), new Float32Array(4)), INVALID, /^factors: factor arrays \(3 and 4 values\) are not multiples of the row width 2$/],
  ['ALS.fromFactors: NaN factor', () => ALS.fromFactors({ factors: 2 }, Float32Array.of(NaN, 1), new Float32Array(4)), INVALID, /^factors: factor arrays contain NaN or infinite values$/],
  ['ALS.fromFactors: a Float64Array', () => ALS.fromFactors({ factors: 2 }, new Float64Array(4) as never, new Float32Array(4)), INVALID, /^userFactors: must be a Float32Array \(got a Float64Array\)$/],
  ['Popularity.fit: train an object', () => Popularity.fit({} as never), INVALID, /^train: must be a Matrix/],
  ['Popularity.fit: a parameter', () => Popularity.fit(m, { k: 1 }), INVALID, /^k: is not a known option \(this takes no options\)$/],
  ['fitModel: unknown type', () => fitModel('lightgcn', m, {}), INVALID, /unknown model type "lightgcn" \(known: als, bpr, mf, popularity, svd, ease, knn, content, hybrid\)/],
  ['fitModel: popularity with a parameter', () => fitModel('popularity', m, { factors: 2 }), INVALID, /^factors: is not a known option/],
  ['defaultsOf: unknown type', () => defaultsOf('lightgcn' as never), INVALID, /^type: unknown model type "lightgcn" \(known: als, bpr, mf, popularity, svd, ease, knn, content, hybrid\)$/],
  // Partial fits and the training matrix.
  ['partialFitUsersSync: an Int32Array', () => als.partialFitUsersSync(Int32Array.of(0) as never, matrix(1, 4)), INVALID, /^users: must be a Uint32Array or an array of indices \(got an Int32Array\)$/],
  ['partialFitUsersSync: rows an object', () => als.partialFitUsersSync([0], {} as never), INVALID, /^rows: must be a Matrix/],
  ['partialFitUsers: id 2^32 - 1', () => als.partialFitUsers(u32(0xffffffff), matrix(1, 4)), INVALID, /^users: index 4294967295 skips index 3/],
  ['partialFitItemsSync: rows of the wrong width', () => als.partialFitItemsSync([0], matrix(1, 4)), INVALID, /^rows: has 4 columns but the model has 3 users$/],
  ['partialFitUsersSync: a user twice', () => als.partialFitUsersSync([1, 1], matrix(2, 4)), INVALID, /given more than once/],
  ['train = an object', () => ((als as { train: unknown }).train = {}), INVALID, /^train: must be a Matrix/],
  ['train = a wider matrix', () => (als.train = matrix(3, 99)), INVALID, /^train: matrix has 99 items, the model 4$/],
  // Matrices.
  ['matrixFromCoo: 2^32 rows', () => matrixFromCoo(u32(0), u32(0), 2 ** 32, 2), INVALID, /^nUsers: must be an integer in 0\.\.=4294967295 \(got 4294967296\)$/],
  ['matrixFromCoo: 1.5 rows', () => matrixFromCoo(u32(0), u32(0), 1.5, 2), INVALID, /^nUsers: .*\(got 1\.5\)$/],
  ['matrixFromCoo: NaN columns', () => matrixFromCoo(u32(0), u32(0), 2, NaN), INVALID, /^nItems: .*\(got NaN\)$/],
  ['matrixFromCoo: size as a string', () => matrixFromCoo(u32(0), u32(0), '2' as never, 2), INVALID, /^nUsers: must be a number \(got a string \("2"\)\)$/],
  ['matrixFromCoo: arrays of different lengths', () => matrixFromCoo(u32(0, 1), u32(0), 2, 2), INVALID, /^items: has 1 entries for 2 users$/],
  ['matrixFromCoo: values of another length', () => matrixFromCoo(u32(0, 1), u32(0, 1), 2, 2, Float32Array.of(1)), INVALID, /^interactions: users, items and values must have the same length \(got 2, 2, 1\)$/],
  ['matrixFromCoo: index past the rows', () => matrixFromCoo(u32(0, 5), u32(0, 1), 2, 2), INVALID, /^users: index 5 at position 1 is out of range \(rows: 2\)$/],
  ['matrixFromCoo: an Int32Array', () => matrixFromCoo(Int32Array.of(0, -1) as never, u32(0, 1), 2, 2), INVALID, /^users: must be a Uint32Array \(got an Int32Array\)$/],
  ['matrixFromCoo: number[] items', () => matrixFromCoo(u32(0, 1), [0, 1] as never, 2, 2), INVALID, /^items: must be a Uint32Array \(got an array\)$/],
  ['matrixFromCoo: Float64Array values', () => matrixFromCoo(u32(0, 1), u32(0, 1), 2, 2, Float64Array.of(1, 2) as never), INVALID, /^values: must be a Float32Array \(got a Float64Array\)$/],
  ['matrixFromCoo: Infinity value', () => matrixFromCoo(u32(0, 1), u32(0, 1), 2, 2, Float32Array.of(1, Infinity)), INVALID, /^values: value Infinity at position 1 is not finite$/],
  ['matrixFromCoo: no arguments', () => (matrixFromCoo as () => unknown)(), INVALID, /^users: must be a Uint32Array \(got undefined\)$/],
  // Datasets.
  ['datasetFromArrays: arrays of different lengths', () => datasetFromArrays(u32(0, 1), u32(0)), INVALID, /^interactions: users, items, values and times must have the same length$/],
  ['datasetFromArrays: NaN time', () => datasetFromArrays(u32(0, 1), u32(0, 1), undefined, Float64Array.of(1, NaN)), INVALID, /^times: value NaN at position 1 is not a finite time within the 64-bit range$/],
  ['datasetFromArrays: a time of 1e300', () => datasetFromArrays(u32(0, 1), u32(0, 1), undefined, Float64Array.of(1, 1e300)), INVALID, /^times: value 1e\+300 at position 1/],
  ['datasetFromArrays: number[]', () => datasetFromArrays([0, 1] as never, u32(0, 1)), INVALID, /^users: must be a Uint32Array \(got an array\)$/],
  ['loadDataset: column index -1', () => loadDataset({ path: EMBEDDED_RATINGS, user: -1, item: 1 }), INVALID, /^user: must be an integer in 0\.\.=4294967295 \(got -1\)$/],
  ['loadDataset: column index 1.5', () => loadDataset({ path: EMBEDDED_RATINGS, user: 1.5, item: 2 }), INVALID, /^user: .*\(got 1\.5\)$/],
  ['loadDataset: column index 2^32', () => loadDataset({ path: EMBEDDED_RATINGS, user: 0, item: 2 ** 32 }), INVALID, /^item: .*\(got 4294967296\)$/],
  ['loadDataset: header "yes"', () => loadDataset({ path: EMBEDDED_RATINGS, header: 'yes' as never }), INVALID, /LoadOptions\.header/],
  ['loadDataset: a quote as the delimiter', () => loadDataset({ path: EMBEDDED_RATINGS, delimiter: '"' as never }), INVALID, /^delimiter: must be one character other than a quote or a line break, or "::" \(got "\\""\)$/],
  ['loadDataset: a newline as the delimiter', () => loadDataset({ path: EMBEDDED_RATINGS, delimiter: '\n' as never }), INVALID, /^delimiter: .*\(got "\\n"\)$/],
  ['loadDataset: positiveThreshold NaN', () => loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: NaN }), INVALID, /^positiveThreshold: must be a finite number \(got NaN\)$/],
  ['loadDataset: positiveThreshold as a string', () => loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: '4' as never }), INVALID, /LoadOptions\.positiveThreshold/],
  ['loadDataset: minItemInteractions 1.5', () => loadDataset({ path: EMBEDDED_RATINGS, minItemInteractions: 1.5 }), INVALID, /^minItemInteractions: .*\(got 1\.5\)$/],
  ['loadDataset: an empty path', () => loadDataset(''), INVALID, /^path: is an empty path; give a file$/],
  ['loadDataset: neither path nor train', () => loadDataset({}), INVALID, /^data: give exactly one of path or train$/],
  ['loadDataset: a missing file', () => loadDataset(join(out, 'nope.csv')), 'ERR_CF_IO', /^cannot read .*nope\.csv: No such file or directory/],
  ['loadDataset: a folder', () => loadDataset(out), 'ERR_CF_IO', /^cannot read .*: Is a directory/],
  ['splitDataset: not a dataset', () => splitDataset({} as never, { strategy: 'none' }), INVALID, /^dataset: must be a Dataset \(from loadDataset or datasetFromArrays\) \(got an object\)$/],
  ['splitDataset: options a string', () => splitDataset(ds, 'none' as never), INVALID, /^options: must be an object of options/],
  ['splitDataset: no strategy', () => splitDataset(ds, {} as never), INVALID, /strategy/],
  ['splitDataset: random valid 1', () => splitDataset(ds, { strategy: 'random', valid: 1 }), INVALID, /^split\.valid: must be a fraction in \[0, 1\) \(got 1\)$/],
  ['splitDataset: random test NaN', () => splitDataset(ds, { strategy: 'random', test: NaN }), INVALID, /^split\.test: .*\(got NaN\)$/],
  ['splitDataset: random fractions summing to 1.2', () => splitDataset(ds, { strategy: 'random', valid: 0.6, test: 0.6 }), INVALID, /valid \+ test < 1 \(got valid 0\.6, test 0\.6\)$/],
  ['splitDataset: leave-last-out test -1', () => splitDataset(ds, { strategy: 'leave-last-out', test: -1 }), INVALID, /^split\.test: .*\(got -1\)$/],
  ['splitDataset: time without a cutoff', () => splitDataset(timed, { strategy: 'time' } as never), INVALID, /^split\.test_cutoff: is required for strategy time$/],
  ['splitDataset: time cutoff Infinity', () => splitDataset(timed, { strategy: 'time', testCutoff: Infinity }), INVALID, /^split\.test_cutoff: must be a finite time, less than 9e15 in size \(got Infinity\)$/],
  ['splitDataset: time on a dataset without times', () => splitDataset(ds, { strategy: 'time', testCutoff: 1 }), 'ERR_CF_SPLIT', /needs a time column/],
  ['splitDataset: given without pre-split files', () => splitDataset(ds, { strategy: 'given' }), 'ERR_CF_SPLIT', /needs pre-split files/],
  ['splitDataset: seed -1', () => splitDataset(ds, { strategy: 'random', seed: -1 }), INVALID, /^split\.seed: .*\(got -1\)$/],
  // Configs given to the API.
  ['parseConfig: a number as the text', () => parseConfig(5 as never, 'x.yaml'), 'ERR_CF_CONFIG', /^x\.yaml: the config text must be a string \(got a number\)$/],
  ['loadConfig: an empty path', () => loadConfig(''), 'ERR_CF_CONFIG', /^the config path must be a non-empty string \(got an empty string\)$/],
  ['runTrain: an empty object', () => runTrain({} as Config), 'ERR_CF_CONFIG', /^config: missing required key data$/],
  ['runTrain: null', () => runTrain(null as never), 'ERR_CF_CONFIG', /^config: the config must be a mapping of keys \(got null\)$/],
  ['runTrain: a model param out of range', () => runTrain({ data: { path: EMBEDDED_RATINGS }, models: [{ type: 'als', params: { factors: 0 } }] } as never), 'ERR_CF_CONFIG', /^config: models\[0\]\.params\.factors must be an integer in 1\.\.=4096 \(got 0\)$/],
  // Saving.
  ['saveModel: not a model', () => saveModel(join(out, 'x'), {} as never, ids), INVALID, /^saveModel: model must be a fitted model .*\(got an object\)$/],
  ['saveModel: no info', () => saveModel(join(out, 'x'), als, undefined as never), INVALID, /^saveModel: info with userIds and itemIds is required$/],
  ['saveModel: numbers as ids', () => saveModel(join(out, 'x'), als, { userIds: [1, 2, 3] as never, itemIds: ids.itemIds }), INVALID, /^saveModel: userIds\[0\] must be a string \(got a number\)$/],
  ['saveModel: ids that do not match the matrix', () => saveModel(join(out, 'x'), als, { userIds: ['a'], itemIds: ids.itemIds }), INVALID, /^saveModel: 1 user ids and 4 item ids do not match the 3 x 4 training matrix$/],
  ...(process.platform === 'linux' ? [['saveModel: under /proc', () => saveModel('/proc/cf-native-x', als, ids), 'ERR_CF_IO', /^\/proc\/cf-native-x: /] as Case] : []),
];

describe('API calls with bad arguments: a CfError with its code, naming the argument', () => {
  for (const [name, call, code, message] of cases) {
    it(name, async () => {
      const e = await failure(call);
      expect(e.message).toMatch(message);
      expect(e.code, e.message).toBe(code);
      expect(e.message).not.toContain('\n');
    });
  }

  // 2^32 - 1 rows need 32 GiB of row offsets; four billion ids about 400 GB.
  it.skipIf(!refusesBytes(2 ** 35))('matrixFromCoo: 2^32 - 1 rows is more memory than there is (ERR_CF_DATA), not an abort', async () => {
    const e = await failure(() => matrixFromCoo(u32(0), u32(0), 2 ** 32 - 1, 2));
    expect(e).toEqual({ code: 'ERR_CF_DATA', message: 'a matrix of 4294967295 rows needs 32768 MiB for its row offsets, more memory than there is' });
  });

  it.skipIf(!refusesBytes(4e11))('datasetFromArrays: index 2^32 - 1 is more memory than there is, not a hang', async () => {
    const e = await failure(() => datasetFromArrays(u32(0, 0xffffffff, 1), u32(0, 1, 1)));
    expect(e.code).toBe(INVALID);
    expect(e.message).toMatch(/^users: index 4294967295 at position 1 makes 4294967296 ids \(every index up to the largest\), which need about \d+ MiB, more memory than there is; pass dense indices 0\.\.n$/);
  });
});

// ALS parameters and data too large for float32 arithmetic used to fit silently wrong
// (unchanged or NaN factors). The spec bounds alpha, regularization and epsilon, and a fit
// checks the confidence of the largest value before the first iteration.
describe('too large for float32', () => {
  const huge = matrixFromCoo(u32(0, 1, 2), u32(0, 1, 2), 3, 4, Float32Array.of(1, 1e30, 2));
  it.each([
    [{ alpha: 1e30 }, /^alpha: must be a finite number >= 0 and <= 1000000 \(got 1e\+30\)$/],
    [{ regularization: 1e30 }, /^regularization: must be a finite number >= 0 and <= 1000000000 \(got 1e\+30\)$/],
    [{ confidence: 'log' as const, epsilon: 1e-320 }, /^epsilon: must be a finite number >= 0\.000001 and <= 1000000000/],
  ])('ALS.fit with %o is refused by the spec', async (params, re) => {
    const e = await failure(() => ALS.fit(m, params));
    expect(e.code).toBe(INVALID);
    expect(e.message).toMatch(re);
  });
  it.each(['cg', 'cholesky'] as const)('a value whose confidence overflows is ERR_CF_NUMERIC naming it (%s)', async (solver) => {
    const e = await failure(() => ALS.fit(huge, { solver, alpha: 1e6 }));
    expect(e.code).toBe('ERR_CF_NUMERIC');
    expect(e.message).toMatch(/^the largest value, 1e\+?30, has confidence .* too large for float32 arithmetic/);
  });
});

describe('accepted, and documented as such', () => {
  it('a Float64Array of fold-in values is converted', () => {
    expect(als.recommendForItems([0, 1], { values: Float64Array.of(1, 2) as never }).ids.length).toBeGreaterThan(0);
  });

  it('an empty fold-in list is the zero vector (as an empty training row)', () => {
    expect([...als.foldInUser([])]).toEqual([0, 0]);
    expect([...als.foldInItem(new Uint32Array(0))]).toEqual([0, 0]);
  });

  it('k far beyond the items is capped at them, in every ranking', async () => {
    expect(als.similarItems(0, { k: 1e9 }).ids.length).toBe(3);
    expect(als.recommendForItems([0], { k: 2 ** 32 - 1 }).ids.length).toBe(3);
    const r = await als.evaluate(m, m, { k: 1e9, filterSeen: false });
    expect(r.metrics['recall@1000000000']).toBe(1);
  });

  it('an exclude matrix with fewer rows filters nothing past its end (users added since)', () => {
    expect(als.recommend(2, { exclude: matrix(1, 4), k: 4 }).ids.length).toBe(4);
  });
});
