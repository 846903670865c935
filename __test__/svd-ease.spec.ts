import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { CfError, EASE, loadDataset, loadModel, matrixFromCoo, saveModel, splitDataset, SVD } from '../src/index.js';

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
