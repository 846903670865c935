import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALS, CfError, Popularity, datasetFromArrays, loadDataset, loadModel, matrixFromCoo, saveModel, splitDataset } from '../src/index.js';

// Two taste groups: users 0-9 like items 0-4, users 10-19 like items 5-9, one item held out each.
function groups() {
  const u: number[] = [];
  const i: number[] = [];
  for (let user = 0; user < 20; user++) {
    const base = user < 10 ? 0 : 5;
    for (let j = 0; j < 5; j++) if (j !== user % 5) (u.push(user), i.push(base + j));
  }
  return matrixFromCoo(Uint32Array.from(u), Uint32Array.from(i), 20, 10);
}

describe('ALS through the real binding', () => {
  it('fits asynchronously and recommends within the taste group, seen items filtered', async () => {
    const m = groups();
    const progress: number[] = [];
    const model = await ALS.fit(m, { factors: 4, iterations: 8, regularization: 0.1 }, { onProgress: (p) => progress.push(p.iteration) });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Seen items are filtered by default, with the matrix the model was fitted on.
    const rec = model.recommend(0, { k: 1 });
    expect(rec.ids[0]).toBe(0); // user 0 lacks item 0, in its own group
    const rec2 = model.recommend(12, { k: 1 });
    expect(rec2.ids[0]).toBe(7);
    // Unfiltered, the user's own training items come back among the top 5.
    const all = model.recommend(0, { k: 5, filterSeen: false });
    expect([...all.ids].sort()).toEqual([0, 1, 2, 3, 4]);
    const pop = Popularity.fit(m);
    expect([...pop.recommend(0, { k: 5 }).ids].every((id) => id >= 5 || id === 0)).toBe(true);
  });

  it('fit and fitSync give bitwise-identical factors for the same seed', async () => {
    const m = groups();
    const a = await ALS.fit(m, { factors: 4, iterations: 3, threads: 1 });
    const b = ALS.fitSync(m, { factors: 4, iterations: 3, threads: 2 });
    expect(Buffer.from(a.userFactors().buffer).equals(Buffer.from(b.userFactors().buffer))).toBe(true);
  });

  it('folds in a new user from liked items', async () => {
    const model = await ALS.fit(groups(), { factors: 4, iterations: 8, regularization: 0.1 });
    const rec = model.recommendForItems([5, 6, 7], { k: 2 });
    expect([...rec.ids].every((id) => id >= 5 && ![5, 6, 7].includes(id))).toBe(true);
    expect(model.similarItems(1, { k: 3 }).ids.every((id) => id < 5)).toBe(true);
  });

  it('aborts between iterations', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(ALS.fit(groups(), { iterations: 5 }, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects negative values for ALS on every fit of the same matrix, sync and async', async () => {
    const m = matrixFromCoo(Uint32Array.of(0, 1, 2), Uint32Array.of(0, 1, 2), 3, 3, Float32Array.of(1, -2, 3));
    const want = /value -2 at row 1, column 1 is not a finite number >= 0/;
    // The check's result is kept with the matrix: the second fit must fail the same way.
    for (let round = 0; round < 2; round++) {
      await expect(ALS.fit(m, { factors: 2, iterations: 2 })).rejects.toThrow(want);
      expect(() => ALS.fitSync(m, { factors: 2, iterations: 2 })).toThrow(want);
    }
  });

  it('rejects bad parameters and arguments with coded errors', async () => {
    const m = groups();
    expect(() => ALS.fitSync(m, { factors: 0 })).toThrow(CfError);
    expect(() => ALS.fitSync(m, { factors: 0 })).toThrow(/factors/);
    try {
      ALS.fitSync(m, { iterations: 0 });
    } catch (e) {
      expect((e as CfError).code).toBe('ERR_CF_INVALID_ARG');
    }
    const model = ALS.fitSync(m, { factors: 2, iterations: 1 });
    expect(() => model.recommend(0, { k: 0 })).toThrow(/k: must be an integer in 1\.\.=4294967295 \(got 0\)/);
    expect(() => model.recommend(99)).toThrow(/out of range/);
    expect(() => model.recommend(-1)).toThrow(/user: must be an integer in 0\.\.=4294967295 \(got -1\)/);
    expect(() => model.recommendForItems([42])).toThrow(/out of range/);
    expect(() => matrixFromCoo(Uint32Array.of(0), Uint32Array.of(0), 1, 1, Float32Array.of(NaN))).toThrow(/not finite/);
    expect(() => datasetFromArrays(Uint32Array.of(0, 0), Uint32Array.of(0, 1))).toThrow(/1 user/);
  });

  it('saves and loads a model that recommends the same', async () => {
    const m = groups();
    const model = await ALS.fit(m, { factors: 4, iterations: 4 });
    const dir = await mkdtemp(join(tmpdir(), 'cf-api-'));
    const ids = (n: number) => Array.from({ length: n }, (_, j) => `id${j}`);
    await saveModel(dir, model, { userIds: ids(20), itemIds: ids(10) });
    const back = await loadModel(dir);
    expect(back.userIds[3]).toBe('id3');
    const a = model.recommend(3, { k: 3 });
    const b = (back.model as ALS).recommend(3, { k: 3 });
    expect([...a.ids].some((id) => m.row(3).includes(id))).toBe(false);
    expect([...b.ids]).toEqual([...a.ids]);
    const meta = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(meta.shapes.user_factors).toEqual([20, 4]);
    await writeFile(join(dir, 'user_factors.npy'), 'garbage');
    await expect(loadModel(dir)).rejects.toThrow(/user_factors\.npy/);
  });

  it('popularity ranks by count', () => {
    const m = matrixFromCoo(Uint32Array.of(0, 1, 2, 0), Uint32Array.of(2, 2, 2, 1), 3, 3);
    const p = Popularity.fit(m);
    expect([...p.recommend(1, { k: 2, filterSeen: false }).ids]).toEqual([2, 1]);
    expect([...p.recommend(1, { k: 2 }).ids]).toEqual([1, 0]); // user 1 has item 2
    const other = matrixFromCoo(Uint32Array.of(1), Uint32Array.of(1), 3, 3);
    expect([...p.recommend(1, { k: 2, exclude: other }).ids]).toEqual([2, 0]);
  });
});

describe('data API on the embedded dataset', () => {
  const ratings = join(import.meta.dirname, '..', 'datasets', 'ml-latest-small', 'ratings.csv.gz');

  it('loads a file by path with detected layout, splits it and trains a model', async () => {
    const all = loadDataset(ratings);
    expect(all.stats).toMatchObject({ rowsRead: 100836, rows: 100836, users: 610, items: 9724 });

    const ds = loadDataset({ path: ratings, positiveThreshold: 4, minUserInteractions: 3 });
    expect(ds.stats.users).toBe(608);
    const { train, valid, test } = splitDataset(ds, { strategy: 'leave-last-out', valid: 1, test: 1 });
    expect(valid!.nnz).toBe(608);
    expect(test!.nnz).toBe(608);
    expect(train.nnz + valid!.nnz + test!.nnz).toBe(ds.stats.rows);

    const model = await ALS.fit(train, { factors: 16, iterations: 5 });
    const users = ds.userIds();
    const items = ds.itemIds();
    const u = users.indexOf('1');
    const rec = model.recommend(u, { k: 5 });
    expect(rec.ids.length).toBe(5);
    expect([...rec.ids].some((i) => train.row(u).includes(i))).toBe(false);
    expect(items[rec.ids[0]!]).toMatch(/^\d+$/);
    const ev = await model.evaluate(train, test!, { k: [10], alsoExclude: valid });
    expect(ev.usersEvaluated).toBe(608);
    expect(ev.metrics['recall@10']).toBeGreaterThan(0);
  });

  it('rejects a split option it does not know, naming it', () => {
    const ds = loadDataset({ path: ratings, positiveThreshold: 4, minUserInteractions: 3 });
    expect(() => splitDataset(ds, { strategy: 'nope' } as never)).toThrow(/nope/);
  });
});
