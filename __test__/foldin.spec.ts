// Fold-in and partial fit through the real addon, checked against an independent float64
// solve of one user's least-squares problem written here from the definition.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALS, CfError, loadDataset, loadModel, matrixFromCoo, saveModel, splitDataset, type Matrix } from '../src/index.js';

const ratings = join(import.meta.dirname, '..', 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const PARAMS = { factors: 64, regularization: 0.02, alpha: 20, iterations: 6, solver: 'cholesky', seed: 42 } as const;

/** Gaussian elimination with partial pivoting, float64. */
function gaussSolve(a: Float64Array, b: Float64Array, k: number): Float64Array {
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r * k + col]!) > Math.abs(a[piv * k + col]!)) piv = r;
    for (let j = 0; j < k; j++) [a[col * k + j], a[piv * k + j]] = [a[piv * k + j]!, a[col * k + j]!];
    [b[col], b[piv]] = [b[piv]!, b[col]!];
    for (let r = col + 1; r < k; r++) {
      const f = a[r * k + col]! / a[col * k + col]!;
      for (let j = col; j < k; j++) a[r * k + j]! -= f * a[col * k + j]!;
      b[r]! -= f * b[col]!;
    }
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let j = i + 1; j < k; j++) s -= a[i * k + j]! * x[j]!;
    x[i] = s / a[i * k + i]!;
  }
  return x;
}

/** YᵀY in float64. */
function gram(y: Float32Array, k: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let off = 0; off < y.length; off += k) {
    for (let r = 0; r < k; r++) {
      const yr = y[off + r]!;
      if (yr === 0) continue;
      for (let c = r; c < k; c++) g[r * k + c]! += yr * y[off + c]!;
    }
  }
  for (let r = 0; r < k; r++) for (let c = 0; c < r; c++) g[r * k + c] = g[c * k + r]!;
  return g;
}

/**
 * The exact factor of a row with entries `ids` (values `vals`, confidence 1 + alpha·v) given
 * the other side's factors: (YᵀY + λI + Σ (c − 1) y yᵀ) x = Σ c y. Repeated ids summed.
 */
function denseFoldIn(y: Float32Array, g: Float64Array, k: number, ids: ArrayLike<number>, vals: ArrayLike<number>): Float64Array {
  const merged = new Map<number, number>();
  for (let j = 0; j < ids.length; j++) merged.set(ids[j]!, (merged.get(ids[j]!) ?? 0) + vals[j]!);
  const a = Float64Array.from(g);
  const b = new Float64Array(k);
  for (let d = 0; d < k; d++) a[d * k + d]! += PARAMS.regularization;
  for (const [i, v] of merged) {
    const c = 1 + PARAMS.alpha * Math.fround(v);
    const yi = y.subarray(i * k, i * k + k);
    for (let r = 0; r < k; r++) {
      b[r]! += c * yi[r]!;
      for (let s = 0; s < k; s++) a[r * k + s]! += (c - 1) * yi[r]! * yi[s]!;
    }
  }
  return gaussSolve(a, b, k);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!));
  return m;
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function rowMatrix(items: ArrayLike<number>, nCols: number, values?: ArrayLike<number>): Matrix {
  return matrixFromCoo(
    new Uint32Array(items.length),
    Uint32Array.from(items),
    1,
    nCols,
    values ? Float32Array.from(values) : undefined,
  );
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfError);
    return (e as CfError).code;
  }
  return undefined;
}

describe('fold-in on the embedded dataset', () => {
  let train: Matrix;
  let model: ALS;
  let items: Float32Array;
  let itemGram: Float64Array;
  const k = PARAMS.factors;

  beforeAll(() => {
    const ds = loadDataset({ path: ratings, positiveThreshold: 4, minUserInteractions: 3 });
    train = splitDataset(ds, { strategy: 'leave-last-out', valid: 1, test: 1 }).train;
    model = ALS.fitSync(train, PARAMS);
    items = model.itemFactors();
    itemGram = gram(items, k);
  });

  it('folds in a user exactly: fold-in, a one-user partial fit and a float64 dense solve agree within 1e-4', () => {
    const users = [0, 7, 300];
    const before = model.userFactors();
    for (const u of users) {
      const row = train.row(u);
      expect(row.length).toBeGreaterThan(0);
      const want = denseFoldIn(items, itemGram, k, row, new Float32Array(row.length).fill(1));
      const folded = model.foldInUser(row);
      expect(maxDiff(folded, want)).toBeLessThan(1e-4);
      // With values: the same problem with per-item confidences.
      const vals = Array.from(row, (_, j) => (j % 3) + 0.5);
      const wantV = denseFoldIn(items, itemGram, k, row, vals);
      expect(maxDiff(model.foldInUser(row, vals), wantV)).toBeLessThan(1e-4);
    }
    // A full refit of one user (its row re-solved with the items fixed) is the same vector.
    const probe = model.recommend(7, { k: 5 });
    const m2 = ALS.fromFactors(PARAMS, before, items);
    m2.partialFitUsersSync([7], rowMatrix(train.row(7), train.nCols));
    const refit = m2.userFactors();
    expect(maxDiff(refit.subarray(7 * k, 8 * k), model.foldInUser(train.row(7)))).toBeLessThan(1e-4);
    // Only user 7 changed; the items and the original model did not.
    expect(bytes(refit.subarray(0, 7 * k)).equals(bytes(before.subarray(0, 7 * k)))).toBe(true);
    expect(bytes(refit.subarray(8 * k)).equals(bytes(before.subarray(8 * k)))).toBe(true);
    expect(bytes(m2.itemFactors()).equals(bytes(items))).toBe(true);
    expect([...model.recommend(7, { k: 5 }).ids]).toEqual([...probe.ids]);
  });

  it('folds in an item exactly, and finds a new copy of an item as its most similar', () => {
    const usersF = model.userFactors();
    const userGram = gram(usersF, k);
    const item = 42;
    const holders: number[] = [];
    for (let u = 0; u < train.nRows; u++) if (train.row(u).includes(item)) holders.push(u);
    expect(holders.length).toBeGreaterThan(2);
    const want = denseFoldIn(usersF, userGram, k, holders, new Float32Array(holders.length).fill(1));
    const folded = model.foldInItem(holders);
    // Item factors are small here (|y| ~ 0.04): hold them to 1e-4 relative, not absolute.
    const tol = 1e-4 * Math.max(...Array.from(want, Math.abs));
    expect(maxDiff(folded, want)).toBeLessThan(tol);
    // The last half-step of the fit solved every item given these users: same vector.
    expect(maxDiff(folded, items.subarray(item * k, item * k + k))).toBeLessThan(tol);
    const sim = model.similarToNewItem(holders, { k: 3 });
    expect(sim.ids[0]).toBe(item);
    expect(sim.scores[0]).toBeGreaterThan(0.9999);
  });

  it('recommends for a new user from items, leaving those items out, ranked by the folded-in vector', () => {
    const liked = [...train.row(5)].slice(0, 20);
    const rec = model.recommendForItems(liked, { k: 50 });
    expect(rec.ids.length).toBe(50);
    expect([...rec.ids].some((i) => liked.includes(i))).toBe(false);
    const x = model.foldInUser(liked);
    const score = (i: number) => {
      let s = 0;
      for (let d = 0; d < k; d++) s += x[d]! * items[i * k + d]!;
      return s;
    };
    const ranked = Array.from({ length: model.nItems }, (_, i) => i)
      .filter((i) => !liked.includes(i))
      .sort((a, b) => score(b) - score(a) || a - b);
    // Float32 sums in another order can swap near-ties; the leaders and scores must agree.
    expect(rec.ids[0]).toBe(ranked[0]);
    for (let j = 0; j < 50; j++) expect(rec.scores[j]).toBeCloseTo(score(rec.ids[j]!), 4);
    // Repeated items are summed, like duplicate rows in training data.
    const a = model.foldInUser([liked[0]!, liked[1]!, liked[0]!]);
    const b = model.foldInUser([liked[0]!, liked[1]!], [2, 1]);
    expect([...a]).toEqual([...b]);
    // Values change the answer.
    const w = model.recommendForItems(liked, { k: 50, values: liked.map((_, j) => (j === 0 ? 10 : 1)) });
    expect([...w.ids]).not.toEqual([...rec.ids]);
  });

  it('rejects bad fold-in input with ERR_CF_INVALID_ARG, never a crash', () => {
    const n = model.nItems;
    expect(codeOf(() => model.foldInUser([n]))).toBe('ERR_CF_INVALID_ARG');
    expect(() => model.foldInUser([1, n])).toThrow(/index \d+ at position 1 is out of range/);
    expect(codeOf(() => model.foldInUser([-1]))).toBe('ERR_CF_INVALID_ARG');
    expect(codeOf(() => model.foldInUser([1.5]))).toBe('ERR_CF_INVALID_ARG');
    expect(() => model.foldInUser([1, 2], [1])).toThrow(/values: has 1 entries for 2 items/);
    expect(() => model.foldInUser([1, 2], [1, -2])).toThrow(/value -2 at position 1 is negative/);
    expect(() => model.foldInUser([1, 2], [NaN, 1])).toThrow(/not finite/);
    expect(codeOf(() => model.foldInUser([1], [Infinity]))).toBe('ERR_CF_INVALID_ARG');
    expect(codeOf(() => model.recommendForItems([]))).toBe('ERR_CF_INVALID_ARG');
    expect(codeOf(() => model.recommendForItems([1], { k: 0 }))).toBe('ERR_CF_INVALID_ARG');
    expect(codeOf(() => model.similarToNewItem([model.nUsers]))).toBe('ERR_CF_INVALID_ARG');
    expect(codeOf(() => model.similarToNewItem([]))).toBe('ERR_CF_INVALID_ARG');
    // An empty list is a user with no data: the zero vector, as in training.
    expect([...model.foldInUser([])]).toEqual(new Array(k).fill(0));
  });
});

describe('partial fit', () => {
  let train: Matrix;
  let fitted: ALS;
  const k = 16;
  const P = { ...PARAMS, factors: k, iterations: 4 };

  beforeAll(() => {
    const ds = loadDataset({ path: ratings, positiveThreshold: 4, minUserInteractions: 3 });
    train = splitDataset(ds, { strategy: 'leave-last-out', valid: 1, test: 1 }).train;
    fitted = ALS.fitSync(train, P);
  });

  function copy(): ALS {
    const m = ALS.fromFactors(P, fitted.userFactors(), fitted.itemFactors());
    m.train = train;
    return m;
  }

  it('adds a new user off the JS thread, then filters that user’s row and saves the grown model', async () => {
    const m = copy();
    const n = m.nUsers;
    const row = [...train.row(3)];
    await m.partialFitUsers([n], rowMatrix(row, m.nItems));
    expect(m.nUsers).toBe(n + 1);
    expect(maxDiff(m.userFactors().subarray(n * k), m.foldInUser(row))).toBe(0);
    const rec = m.recommend(n, { k: 10 });
    expect(rec.ids.length).toBe(10);
    expect([...rec.ids].some((i) => row.includes(i))).toBe(false);
    // Same ranking as a fold-in recommendation from the same items.
    expect([...rec.ids]).toEqual([...m.recommendForItems(row, { k: 10 }).ids]);
    expect([...m.recommend(n, { k: 3, filterSeen: false }).ids].some((i) => row.includes(i))).toBe(true);
    // The training matrix the model reports has the new row, so it saves and loads.
    expect(m.train!.nRows).toBe(n + 1);
    expect([...m.train!.row(n)]).toEqual(row);
    const dir = await mkdtemp(join(tmpdir(), 'cf-foldin-'));
    const ids = (c: number) => Array.from({ length: c }, (_, j) => `id${j}`);
    await saveModel(dir, m, { userIds: ids(n + 1), itemIds: ids(m.nItems) });
    const back = (await loadModel(dir)).model as ALS;
    expect([...back.recommend(n, { k: 10 }).ids]).toEqual([...rec.ids]);
  });

  it('replaces an existing user, filtering the new row instead of the training row', () => {
    const m = copy();
    const u = 11;
    const newRow = [...train.row(u)].slice(0, 3).concat([...train.row(200)].slice(0, 5));
    const unique = [...new Set(newRow)].sort((a, b) => a - b);
    m.partialFitUsersSync(Uint32Array.of(u), rowMatrix(unique, m.nItems));
    expect(m.nUsers).toBe(fitted.nUsers);
    expect(maxDiff(m.userFactors().subarray(u * k, u * k + k), fitted.foldInUser(unique))).toBe(0);
    const rec = m.recommend(u, { k: 20 });
    expect([...rec.ids].some((i) => unique.includes(i))).toBe(false);
    // Items of the old training row that are not in the new one may come back.
    const all = m.recommend(u, { k: m.nItems });
    expect(all.ids.length).toBe(m.nItems - unique.length);
    // An explicit exclude matrix still wins.
    const only = m.recommend(u, { k: 5, exclude: train });
    expect([...only.ids].some((i) => train.row(u).includes(i))).toBe(false);
  });

  it('adds a new item that recommendations can return, without breaking the seen filter', async () => {
    const m = copy();
    const nI = m.nItems;
    const item = 42;
    const holders: number[] = [];
    for (let u = 0; u < train.nRows; u++) if (train.row(u).includes(item)) holders.push(u);
    await m.partialFitItems([nI], rowMatrix(holders, m.nUsers));
    expect(m.nItems).toBe(nI + 1);
    expect(maxDiff(m.itemFactors().subarray(nI * k), m.itemFactors().subarray(item * k, item * k + k))).toBeLessThan(1e-4);
    // recommend still filters with the (narrower) training matrix.
    const rec = m.recommend(holders[0]!, { k: 10 });
    expect(rec.ids.length).toBe(10);
    expect(m.train!.nCols).toBe(nI + 1);
    const liked = [item];
    expect([...m.recommendForItems(liked, { k: 3 }).ids]).toContain(nI);
  });

  it('rejects gaps, repeats and mis-shaped rows with ERR_CF_INVALID_ARG and leaves the model unchanged', async () => {
    const m = copy();
    const n = m.nUsers;
    const before = m.userFactors();
    const one = rowMatrix([1, 2], m.nItems);
    expect(() => m.partialFitUsersSync([n + 1], one)).toThrow(/skips index/);
    expect(codeOf(() => m.partialFitUsersSync([n + 1], one))).toBe('ERR_CF_INVALID_ARG');
    const two = matrixFromCoo(Uint32Array.of(0, 1), Uint32Array.of(1, 1), 2, m.nItems);
    expect(() => m.partialFitUsersSync([4, 4], two)).toThrow(/given more than once/);
    expect(() => m.partialFitUsersSync([4, 5], one)).toThrow(/has 1 rows for 2 users/);
    expect(() => m.partialFitUsersSync([4], rowMatrix([1], m.nItems + 1))).toThrow(/columns but the model has/);
    expect(() => m.partialFitUsersSync([4], rowMatrix([1], m.nItems, [-1]))).toThrow(/not a finite number >= 0/);
    expect(codeOf(() => m.partialFitUsersSync([-3], one))).toBe('ERR_CF_INVALID_ARG');
    await expect(m.partialFitUsers([n + 5], one)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    await expect(m.partialFitItems([0], rowMatrix([1], m.nUsers + 2))).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
    expect(m.nUsers).toBe(n);
    expect(bytes(m.userFactors()).equals(bytes(before))).toBe(true);
    expect([m.train!.nRows, m.train!.nCols]).toEqual([train.nRows, train.nCols]);
    expect(m.train!.indices()).toEqual(train.indices());
  });

  it('gives bitwise-identical factors for any thread count', () => {
    const ids = Uint32Array.from({ length: 100 }, (_, j) => j * 5);
    const u: number[] = [];
    const it: number[] = [];
    ids.forEach((user, j) => train.row(user).forEach((i) => (u.push(j), it.push(i))));
    const rows = matrixFromCoo(Uint32Array.from(u), Uint32Array.from(it), ids.length, train.nCols);
    const run = (threads: number) => {
      const m = ALS.fromFactors({ ...P, threads }, fitted.userFactors(), fitted.itemFactors());
      m.partialFitUsersSync(ids, rows);
      return bytes(m.userFactors());
    };
    expect(run(1).equals(run(3))).toBe(true);
  });
});
