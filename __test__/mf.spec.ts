import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { ALS, CfError, loadDataset, loadModel, matrixFromCoo, MF, saveModel, splitDataset, type Matrix, type MfParams } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratingsFile = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const ds = loadDataset({ path: ratingsFile, values: 'rating' });
const { train, valid, test } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const small: MfParams = { factors: 16, epochs: 4, seed: 9 };

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfError);
    return `${(e as CfError).code} ${(e as Error).message}`;
  }
  throw new Error('no error');
}

/** (users, items, ratings) of every entry of a matrix. */
function entries(m: Matrix): { users: Uint32Array; items: Uint32Array; ratings: Float32Array } {
  const indptr = m.indptr();
  const users = new Uint32Array(m.nnz);
  for (let u = 0; u < m.nRows; u++) users.fill(u, indptr[u]!, indptr[u + 1]!);
  return { users, items: m.indices(), ratings: m.values() };
}

describe('mf', () => {
  it('ALS and SGD give bitwise the same model on 1 and 2 threads, fit and fitSync alike', async () => {
    for (const solver of ['als', 'sgd'] as const) {
      const one = await MF.fit(train, { ...small, solver, threads: 1 });
      const two = MF.fitSync(train, { ...small, solver, threads: 2 });
      for (const part of ['userFactors', 'itemFactors', 'userBias', 'itemBias'] as const) {
        expect(bytes(one[part]()).equals(bytes(two[part]())), `${solver} ${part}`).toBe(true);
      }
      expect(one.width).toBe(17);
      expect(one.learningCurve().map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    }
  });

  it('predicts ratings whose RMSE and MAE match a JS computation, in evaluate beside the ranking metrics', async () => {
    const seen: (number | null)[] = [];
    const m = await MF.fit(train, { factors: 16, epochs: 8, regularization: 0.1 }, { valid, onProgress: (p) => seen.push(p.valid ?? null) });
    expect(seen.length).toBe(8);
    expect(seen.every((v) => typeof v === 'number')).toBe(true);
    expect(m.bestEpoch).toBe(seen.indexOf(Math.min(...(seen as number[]))) + 1);
    const t = entries(test!);
    const pred = m.predictRatings(t.users, t.items);
    const [lo, hi] = m.ratingRange;
    expect([lo, hi]).toEqual([0.5, 5]);
    let se = 0;
    let ae = 0;
    let seMean = 0;
    for (let j = 0; j < pred.length; j++) {
      expect(pred[j]).toBeGreaterThanOrEqual(lo);
      expect(pred[j]).toBeLessThanOrEqual(hi);
      const e = pred[j]! - t.ratings[j]!;
      se += e * e;
      ae += Math.abs(e);
      seMean += (m.globalMean - t.ratings[j]!) ** 2;
    }
    const rmse = Math.sqrt(se / pred.length);
    const r = m.ratingMetrics(test!);
    expect(r.count).toBe(test!.nnz);
    expect(r.rmse).toBeCloseTo(rmse, 5);
    expect(r.mae).toBeCloseTo(ae / pred.length, 5);
    // Better than predicting the mean rating for everyone.
    expect(r.rmse).toBeLessThan(Math.sqrt(seMean / pred.length) * 0.95);
    const report = await m.evaluate(train, test!, { k: 10, alsoExclude: valid });
    expect(report.metrics.rmse).toBeCloseTo(r.rmse, 10);
    expect(report.metrics.mae).toBeCloseTo(r.mae, 10);
    expect(report.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
    const raw = m.ratingMetrics(test!, { clip: false });
    expect(raw.rmse).toBeGreaterThanOrEqual(r.rmse);
    // Ranking follows the predicted ratings: the top item of a user has the highest prediction among its list.
    const top = m.recommend(0, { k: 5 });
    const p = m.predictRatings(new Uint32Array(5), top.ids, { clip: false });
    for (let j = 1; j < 5; j++) expect(p[j - 1]!).toBeGreaterThanOrEqual(p[j]! - 1e-4);
    // Fold-in from ratings, and ranking a new user from ratings through recommendForItems.
    const items = [...train.row(1)];
    const values = m.predictRatings(new Uint32Array(items.length).fill(1), items, { clip: false });
    const f = m.foldInUser(items, values);
    expect(f.factors.length).toBe(16);
    expect(m.recommendForItems(items, { k: 10, values }).ids.length).toBe(10);
  });

  it('rejects bad input with coded errors naming the option', () => {
    const binary = loadDataset({ path: ratingsFile, positiveThreshold: 4 });
    const b = splitDataset(binary, { strategy: 'random', valid: 0, test: 0.1, seed: 1 }).train;
    expect(code(() => MF.fitSync(b, small))).toMatch(/^ERR_CF_INVALID_ARG values: every training value is 1: mf predicts explicit ratings/);
    expect(code(() => MF.fitSync(train, { factors: 0 }))).toMatch(/^ERR_CF_INVALID_ARG factors/);
    expect(code(() => MF.fitSync(train, { solver: 'lbfgs' as never }))).toMatch(/^ERR_CF_INVALID_ARG solver: must be one of/);
    expect(code(() => MF.fitSync(train, { lrDecay: 0 }))).toMatch(/^ERR_CF_INVALID_ARG lrDecay/);
    expect(code(() => MF.fitSync(train, { patience: 2 }))).toMatch(/^ERR_CF_INVALID_ARG patience: .*no validation matrix/);
    const other = matrixFromCoo(Uint32Array.of(0), Uint32Array.of(0), 2, 2, Float32Array.of(3));
    expect(code(() => MF.fitSync(train, small, { valid: other }))).toMatch(/^ERR_CF_INVALID_ARG valid: validation matrix is 2 x 2/);
    const m = MF.fitSync(train, { ...small, epochs: 1 });
    expect(code(() => m.predictRatings([0], [train.nCols]))).toMatch(/^ERR_CF_INVALID_ARG items: index/);
    expect(code(() => m.predictRatings([0, 1], [0]))).toMatch(/^ERR_CF_INVALID_ARG items: has 1 entries for 2 users/);
    expect(code(() => m.foldInUser([0], [Number.NaN]))).toMatch(/^ERR_CF_INVALID_ARG values: rating NaN/);
    // A ranking model does not predict ratings.
    const als = ALS.fitSync(b, { factors: 4, iterations: 1 });
    expect(code(() => als.predictRatings([0], [0]))).toMatch(/^ERR_CF_UNSUPPORTED a als model ranks items and does not predict ratings/);
    expect(code(() => als.ratingMetrics(b))).toMatch(/^ERR_CF_UNSUPPORTED/);
  });

  it('NaN ratings are refused by the loader', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-mf-nan-'));
    const f = join(dir, 'r.csv');
    await writeFile(f, 'user,item,rating\n1,1,4\n1,2,nan\n2,1,3\n');
    expect(code(() => loadDataset({ path: f, values: 'rating' }))).toMatch(/^ERR_CF_DATA .*r\.csv:3/);
  });

  it('saves and loads back, and trains from a YAML config with rmse in metrics.json and the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-mf-'));
    const m = MF.fitSync(train, { ...small, solver: 'sgd' });
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect(model).toBeInstanceOf(MF);
    const t = entries(test!);
    expect(bytes(model.predictRatings(t.users, t.items)).equals(bytes(m.predictRatings(t.users, t.items)))).toBe(true);
    expect([...model.recommend(3).ids]).toEqual([...m.recommend(3).ids]);

    const cfg = join(dir, 'config.yaml');
    await writeFile(
      cfg,
      `data: { path: ${ratingsFile}, values: rating }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: mf
    params: { factors: 8, epochs: 30, patience: 2, regularization: 0.02 }
evaluate: { k: [10] }
output: ${dir}/out
`,
    );
    let err = '';
    let stdout = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    let exit: number;
    try {
      exit = await runTrainCommand(cfg, { quiet: true });
    } finally {
      spy.mockRestore();
      out.mockRestore();
    }
    expect(exit, err).toBe(0);
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'mf', 'metrics.json'), 'utf8'));
    expect(metrics.model).toBe('mf');
    expect(metrics.test.rmse).toBeGreaterThan(0.5);
    expect(metrics.test.rmse).toBeLessThan(1.1);
    expect(metrics.test.mae).toBeLessThan(metrics.test.rmse);
    expect(metrics.valid.rmse).toBeGreaterThan(0);
    expect(metrics.test['ndcg@10']).toBeGreaterThanOrEqual(0);
    // The popularity baseline ranks but predicts no rating.
    expect(metrics.baseline.popularity.rmse).toBeUndefined();
    const curve = metrics.curve as { validRmse: number; bestEpoch: number }[];
    // regularization 0.02 overfits ml-latest-small: patience stops before 30 epochs.
    expect(curve.length).toBeLessThan(30);
    const best = curve.at(-1)!.bestEpoch;
    expect(curve.length).toBe(best + 2);
    expect(metrics.valid.rmse).toBeCloseTo(Math.min(...curve.map((e) => e.validRmse)), 5);
    const header = stdout.split('\n').find((l) => l.startsWith('model'))!;
    expect(header).toMatch(/ndcg@10\s+rmse\s+mae$/);
    expect(stdout).toMatch(/\npopularity \(baseline\).*\s-\s+-\n/);
    const loaded = await loadModel(join(dir, 'out', 'mf'));
    expect(loaded.model).toBeInstanceOf(MF);
  });
});
