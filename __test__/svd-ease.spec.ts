import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { CfError, EASE, loadDataset, loadModel, matrixFromCoo, saveModel, splitDataset, SVD, type Matrix } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const ds = loadDataset({ path: ratings, positiveThreshold: 4 });
const { train, valid } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfError);
    return `${(e as CfError).code} ${(e as Error).message}`;
  }
  throw new Error('no error');
}

async function trainConfig(dir: string, models: string): Promise<void> {
  const cfg = join(dir, 'config.yaml');
  await writeFile(
    cfg,
    `data: { path: ${ratings}, positive_threshold: 4 }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
${models}
evaluate: { k: [10] }
output: ${dir}/out
`,
  );
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  let exit: number;
  try {
    exit = await runTrainCommand(cfg, { quiet: true });
  } finally {
    spy.mockRestore();
    out.mockRestore();
  }
  expect(exit, err).toBe(0);
}

describe('SVD', () => {
  it('fit and fitSync give the same bits on 1 and 2 threads; explained variance is reported', async () => {
    const one = await SVD.fit(train, { factors: 16, threads: 1 });
    const two = SVD.fitSync(train, { factors: 16, threads: 2 });
    expect(bytes(one.userFactors()).equals(bytes(two.userFactors()))).toBe(true);
    expect(bytes(one.itemFactors()).equals(bytes(two.itemFactors()))).toBe(true);
    const info = one.info();
    expect(info.singularValues.length).toBe(16);
    expect(info.singularValues[0]).toBeGreaterThan(info.singularValues[15]!);
    const ev = one.explainedVarianceRatio();
    expect(ev.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.05);
    expect(ev.reduce((a, b) => a + b, 0)).toBeLessThan(1);
    expect(info.restarts).toBeGreaterThanOrEqual(0);
    const rnd = SVD.fitSync(train, { factors: 16, method: 'randomized', powerIterations: 6 });
    // The approximate mode is close on the leading value, not bitwise the exact one.
    expect(Math.abs(rnd.singularValues()[0]! - info.singularValues[0]!) / info.singularValues[0]!).toBeLessThan(1e-3);
  });

  it('recommends unseen items, finds similar items and users, folds in, evaluates', async () => {
    const m = SVD.fitSync(train, { factors: 24 });
    const r = m.recommend(0, { k: 10 });
    expect(r.ids.length).toBe(10);
    const row = new Set(train.row(0));
    expect([...r.ids].some((i) => row.has(i))).toBe(false);
    expect(m.similarItems(0, { k: 5 }).ids.length).toBe(5);
    expect(m.similarUsers(0, { k: 5 }).ids.length).toBe(5);
    // Folding in a training user's own row ranks like the user.
    const items = [...train.row(1)];
    expect([...m.recommendForItems(items, { k: 10 }).ids]).toEqual([...m.recommend(1, { k: 10 }).ids]);
    const report = await m.evaluate(train, valid!, { k: 10 });
    expect(report.metrics['ndcg@10']).toBeGreaterThan(0);
  });

  it('rejects bad ranks and options with coded errors naming them', () => {
    expect(code(() => SVD.fitSync(train, { factors: 0 }))).toMatch(/^ERR_CF_INVALID_ARG factors: /);
    expect(code(() => SVD.fitSync(train, { factors: 1001 }))).toMatch(/^ERR_CF_INVALID_ARG factors: /);
    const tiny = matrixFromCoo(Uint32Array.of(0, 1, 2), Uint32Array.of(0, 1, 2), 3, 3);
    expect(code(() => SVD.fitSync(tiny, { factors: 3 }))).toMatch(/^ERR_CF_INVALID_ARG factors: must be below min\(users, items\) = 3 for a 3 x 3 matrix \(got 3\)/);
    expect(code(() => SVD.fitSync(train, { centering: 'users' as never }))).toMatch(/^ERR_CF_INVALID_ARG centering: must be one of/);
    expect(code(() => SVD.fitSync(train, { tolerance: 0 }))).toMatch(/^ERR_CF_INVALID_ARG tolerance/);
  });

  it('saves, loads back, and trains from a YAML config with explained variance in metrics.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-svd-'));
    const m = SVD.fitSync(train, { factors: 8, centering: 'item' });
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect(model).toBeInstanceOf(SVD);
    expect([...model.recommend(3).ids]).toEqual([...m.recommend(3).ids]);
    expect((model as SVD).explainedVarianceRatio()).toEqual(m.explainedVarianceRatio());

    await trainConfig(dir, '  - type: svd\n    params: { factors: 10 }\n  - type: ease\n    params: { lambda: 200 }');
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'svd', 'metrics.json'), 'utf8'));
    expect(metrics.model).toBe('svd');
    expect(metrics.fit.explained_variance_ratio.length).toBe(10);
    expect(metrics.fit.explained_variance).toBeGreaterThan(0);
    expect(metrics.test['ndcg@10']).toBeGreaterThan(metrics.baseline.popularity['ndcg@10']);
    const ease = JSON.parse(await readFile(join(dir, 'out', 'ease', 'metrics.json'), 'utf8'));
    expect(ease.params.lambda).toBe(200);
    expect(ease.test['ndcg@10']).toBeGreaterThan(metrics.baseline.popularity['ndcg@10']);
    const loaded = await loadModel(join(dir, 'out', 'ease'));
    expect(loaded.model).toBeInstanceOf(EASE);
  });
});

describe('SVD rating prediction (centering rated_*)', () => {
  const rds = loadDataset({ path: ratings, values: 'rating' });
  const r = splitDataset(rds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
  const entries = (m: Matrix) => {
    const indptr = m.indptr();
    const users = new Uint32Array(m.nnz);
    for (let u = 0; u < m.nRows; u++) users.fill(u, indptr[u]!, indptr[u + 1]!);
    return { users, items: m.indices(), ratings: m.values() };
  };

  it('predicts ratings whose RMSE matches a JS computation, in evaluate too; folds in from ratings; saves the scale', async () => {
    const m = await SVD.fit(r.train, { factors: 8, centering: 'rated_item' });
    expect(m.info().width).toBe(10);
    const t = entries(r.test!);
    const pred = m.predictRatings(t.users, t.items);
    let se = 0;
    let seMean = 0;
    const values = r.train.values();
    const mu = values.reduce((a, b) => a + b, 0) / values.length;
    for (let j = 0; j < pred.length; j++) {
      expect(pred[j]).toBeGreaterThanOrEqual(0.5);
      expect(pred[j]).toBeLessThanOrEqual(5);
      se += (pred[j]! - t.ratings[j]!) ** 2;
      seMean += (mu - t.ratings[j]!) ** 2;
    }
    const rm = m.ratingMetrics(r.test!);
    expect(rm.count).toBe(r.test!.nnz);
    expect(rm.rmse).toBeCloseTo(Math.sqrt(se / pred.length), 5);
    // Better than predicting the mean rating for everyone.
    expect(rm.rmse).toBeLessThan(Math.sqrt(seMean / pred.length) * 0.97);
    const report = await m.evaluate(r.train, r.test!, { k: 10, alsoExclude: r.valid });
    expect(report.metrics.rmse).toBeCloseTo(rm.rmse, 10);
    expect(report.metrics.mae).toBeCloseTo(rm.mae, 10);
    // Scores are the predicted ratings, so a new user folded in from a training user's
    // ratings ranks like that user.
    const items = [...r.train.row(1)];
    const vals = [...r.train.rowValues(1)];
    expect([...m.recommendForItems(items, { k: 10, values: vals }).ids]).toEqual([...m.recommend(1, { k: 10 }).ids]);
    const top = m.recommend(1, { k: 5 });
    const p = m.predictRatings(new Uint32Array(5).fill(1), top.ids, { clip: false });
    for (let j = 0; j < 5; j++) expect(p[j]).toBeCloseTo(top.scores[j]!, 3);

    const dir = await mkdtemp(join(tmpdir(), 'cf-svd-rated-'));
    await saveModel(join(dir, 'm'), m, { userIds: rds.userIds(), itemIds: rds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect(bytes(model.predictRatings(t.users, t.items, { clip: false })).equals(bytes(m.predictRatings(t.users, t.items, { clip: false })))).toBe(true);
    expect(model.ratingMetrics(r.test!)).toEqual(rm);
  });

  it('refuses binary data naming the option; ranking modes predict no ratings', () => {
    const b = splitDataset(ds, { strategy: 'random', valid: 0, test: 0.1, seed: 1 }).train;
    expect(code(() => SVD.fitSync(b, { factors: 4, centering: 'rated_user' }))).toMatch(
      /^ERR_CF_INVALID_ARG centering: every training value is 1: centering rated_user predicts explicit ratings/,
    );
    const pure = SVD.fitSync(r.train, { factors: 4 });
    expect(code(() => pure.ratingMetrics(r.test!))).toMatch(/^ERR_CF_UNSUPPORTED a svd model ranks items and does not predict ratings .*svd with centering rated_global/);
  });

  it('trains from a YAML config with rmse and mae in metrics.json and the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-svd-rated-'));
    const cfg = join(dir, 'config.yaml');
    await writeFile(
      cfg,
      `data: { path: ${ratings}, values: rating }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: svd
    params: { factors: 8, centering: rated_baseline }
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
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'svd', 'metrics.json'), 'utf8'));
    expect(metrics.params.centering).toBe('rated_baseline');
    expect(metrics.test.rmse).toBeGreaterThan(0.5);
    expect(metrics.test.rmse).toBeLessThan(1.1);
    expect(metrics.test.mae).toBeLessThan(metrics.test.rmse);
    expect(metrics.valid.rmse).toBeGreaterThan(0);
    expect(metrics.baseline.popularity.rmse).toBeUndefined();
    const header = stdout.split('\n').find((l) => l.startsWith('model'))!;
    expect(header).toMatch(/ndcg@10\s+rmse\s+mae$/);
    const loaded = await loadModel(join(dir, 'out', 'svd'));
    expect(loaded.model).toBeInstanceOf(SVD);
    expect(loaded.model.ratingMetrics(r.test!).rmse).toBeGreaterThan(0);
  });
});

describe('EASE', () => {
  it('recommends unseen items, similar items are B columns, a saved model loads back', async () => {
    const m = await EASE.fit(train, { lambda: 100 });
    const n = train.nCols;
    const b = m.weights();
    expect(b.length).toBe(n * n);
    const r = m.recommend(0, { k: 10 });
    const row = new Set(train.row(0));
    expect([...r.ids].some((i) => row.has(i))).toBe(false);
    // x_u B by hand for user 0's best item.
    const best = r.ids[0]!;
    let s = 0;
    for (const i of train.row(0)) s += b[i * n + best]!;
    expect(r.scores[0]).toBeCloseTo(s, 4);
    const sim = m.similarItems(5, { k: 3 });
    expect(sim.scores[0]).toBeCloseTo(Math.max(...[...Array(n).keys()].filter((i) => i !== 5).map((i) => b[i * n + 5]!)), 6);
    const dir = await mkdtemp(join(tmpdir(), 'cf-ease-'));
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect([...model.recommend(7).ids]).toEqual([...m.recommend(7).ids]);
  });

  it('refuses more items than max_items, naming the memory', () => {
    expect(code(() => EASE.fitSync(train, { maxItems: 100 }))).toMatch(/^ERR_CF_INVALID_ARG max_items: ease needs dense item x item matrices: \d+ items take about [\d.]+ GiB/);
    expect(code(() => EASE.fitSync(train, { lambda: -1 }))).toMatch(/^ERR_CF_INVALID_ARG lambda/);
  });
});
