import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { runTrain } from '../src/pipeline/train.js';
import { runListCommand } from '../src/cli/recommend.js';
import { ALS, CfError, Hybrid, KNN, loadDataset, loadModel, Popularity, saveModel, splitDataset } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');

function rejection(text: string): string {
  try {
    parseConfig(text, 'config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(CfError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('hybrid', () => {
  const ds = loadDataset({ path: ratings, positiveThreshold: 4 });
  const { train, valid } = splitDataset(ds, { strategy: 'random', valid: 0.2, test: 0, seed: 4 });
  const als = ALS.fitSync(train, { factors: 32, iterations: 8, seed: 1 });
  const knn = KNN.fitSync(train, { k: 100 });
  const pop = Popularity.fit(train);

  it('blends its parts: one weighted part alone ranks as that part', () => {
    const h = Hybrid.build([
      { name: 'als', model: als, weight: 1 },
      { name: 'knn', model: knn, weight: 0 },
    ]);
    for (const u of [0, 5, 17, 300]) {
      expect([...h.recommend(u, { k: 10 }).ids]).toEqual([...als.recommend(u, { k: 10 }).ids]);
    }
    const both = Hybrid.build([
      { name: 'als', model: als, weight: 1 },
      { name: 'knn', model: knn, weight: 1 },
    ]);
    const lists = both.recommend([0, 1, 2], { k: 10 });
    expect(lists.rows).toBe(3);
    // Fold-in goes through the parts' fold-ins (kNN's is exact: its user is the liked list).
    const liked = [...train.row(7)];
    const two = Hybrid.build([
      { name: 'a', model: knn, weight: 1 },
      { name: 'b', model: KNN.fitSync(train, { k: 20 }), weight: 2 },
    ]);
    expect([...two.recommendForItems(liked, { k: 10 }).ids]).toEqual([...two.recommend(7, { k: 10 }).ids]);
    const folded = both.recommendForItems(liked, { k: 10 });
    expect(folded.ids.length).toBe(10);
    expect([...folded.ids].some((i) => liked.includes(i))).toBe(false);
    expect(both.similarItems(3, { k: 5 }).ids.length).toBe(5);
  });

  it('chooses weights on validation that never lose to a part alone there', async () => {
    const h = Hybrid.build([
      { name: 'als', model: als, weight: 1 },
      { name: 'knn', model: knn, weight: 1 },
    ]);
    const t = await h.tuneWeights(train, valid!, { k: 10 });
    expect(t.candidates).toBeGreaterThan(20);
    expect(t.score).toBeGreaterThanOrEqual(t.start);
    expect(t.score).toBeGreaterThanOrEqual(Math.max(...Object.values(t.alone)));
    expect(h.weights()).toEqual(Object.fromEntries(Object.entries(t.weights).map(([n, w]) => [n, Math.fround(w)])));
    // The search's score is the evaluator's for the chosen weights.
    const e = await h.evaluate(train, valid!, { k: 10, auc: false });
    expect(e.metrics['ndcg@10']).toBeCloseTo(t.score, 9);
    expect(h.lastTuning()).toEqual(t);
  });

  it('sends users no weighted part knows to the fallback parts, in order', () => {
    const h = Hybrid.build(
      [
        { name: 'knn', model: knn, weight: 1 },
        { name: 'popularity', model: pop, weight: null },
      ],
      { fallback: ['popularity'] },
    );
    // Nothing the user liked is ranked by kNN (an unknown item list is an error, so a
    // cold-start list with an item kNN has no neighbour for is the case): someone who liked
    // an item no training row holds.
    const counts = new Uint32Array(train.nCols);
    for (let u = 0; u < train.nRows; u++) for (const i of train.row(u)) counts[i]!++;
    const cold = counts.findIndex((c) => c === 0);
    expect(cold).toBeGreaterThanOrEqual(0);
    const got = h.recommendForItems([cold], { k: 10 });
    const want = pop.recommendForItems([cold], { k: 10 });
    expect([...got.ids]).toEqual([...want.ids]);
    expect(h.fallback()).toEqual(['popularity']);
    expect(h.weights()).toEqual({ knn: 1, popularity: null });
  });

  it('refuses bad parts with a coded error naming them', () => {
    expect(() => Hybrid.build([])).toThrow(/parts: must be a non-empty array/);
    expect(() => Hybrid.build([{ name: 'a', model: als, weight: -1 }])).toThrow(/weight -1 must be a finite number >= 0/);
    expect(() => Hybrid.build([{ name: 'a', model: als, weight: 0 }])).toThrow(/at least one part needs a weight above 0/);
    expect(() => Hybrid.build([{ name: '../x', model: als, weight: 1 }])).toThrow(/parts\[0\]\.name/);
    expect(() => Hybrid.build([{ name: 'a', model: {} as ALS, weight: 1 }])).toThrow(/parts\[0\]\.model/);
    expect(() => Hybrid.build([{ name: 'a', model: als, weight: 1 }], { fallback: ['b'] })).toThrow(/fallback\[0\]: "b" is not one of the parts/);
    const small = ALS.fitSync(splitDataset(loadDataset({ path: ratings, positiveThreshold: 4.5 }), { strategy: 'none' }).train, { factors: 4, iterations: 1 });
    expect(() => Hybrid.build([{ name: 'a', model: als, weight: 1 }, { name: 'b', model: small, weight: 1 }])).toThrow(/part "b" has \d+ items/);
    expect(() => Hybrid.build([{ name: 'a', model: als, weight: 1 }], { params: { method: 'mean' } as never })).toThrow(/method/);
  });

  it('saves with its parts and loads back to the same lists', async () => {
    const h = Hybrid.build(
      [
        { name: 'als', model: als, weight: 0.7 },
        { name: 'knn', model: knn, weight: 0.3 },
        { name: 'popularity', model: pop, weight: null },
      ],
      { fallback: ['popularity'], params: { method: 'weighted', normalization: 'zscore' } },
    );
    const dir = await mkdtemp(join(tmpdir(), 'cf-hybrid-'));
    await saveModel(join(dir, 'h'), h, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    expect(existsSync(join(dir, 'h', 'parts', 'knn', 'model.json'))).toBe(true);
    const { model } = await loadModel(join(dir, 'h'));
    expect(model).toBeInstanceOf(Hybrid);
    const back = model as Hybrid;
    expect(back.params.method).toBe('weighted');
    expect(back.weights()).toEqual(h.weights());
    expect(back.fallback()).toEqual(['popularity']);
    const users = [0, 3, 9, 200, 500];
    expect([...back.recommend(users, { k: 10 }).ids]).toEqual([...h.recommend(users, { k: 10 }).ids]);
  });

  it('a config names its parts in blend:, checked with the line of the key', () => {
    const head = 'data: { path: r.csv }\nmodels:\n  - type: als\n';
    expect(rejection(`${head}  - type: hybrid\n`)).toMatch(/^config\.yaml:4: .*models\[1\]\.blend.*a hybrid needs a blend: block/);
    expect(rejection(`${head}  - type: hybrid\n    blend: { parts: [als, knn] }\n`)).toMatch(/models\[1\]\.blend\.parts\[1\] "knn" is not a model listed before this hybrid nor popularity \(models before it: als\)/);
    expect(rejection(`${head}  - type: hybrid\n    blend: { parts: { als: -1 } }\n`)).toMatch(/models\[1\]\.blend\.parts\.als must be a number >= 0/);
    expect(rejection(`${head}  - type: hybrid\n    blend: { parts: { als: 0 } }\n`)).toMatch(/at least one part needs a weight above 0/);
    expect(rejection(`${head}  - type: hybrid\n    blend: { parts: [als], fallback: [popularity, popularity] }\n`)).toMatch(/lists "popularity" twice/);
    expect(rejection(`${head}    blend: { parts: [als] }\n`)).toMatch(/models\[0\]\.blend.*only read by a hybrid model \(this one is als\)/);
    expect(rejection(`${head}  - type: hybrid\n    blend: { parts: [als], weights: [1] }\n`)).toMatch(/weights/);
    expect(rejection(`${head}  - type: hybrid\n    name: h1\n    blend: { parts: [als] }\n  - type: hybrid\n    blend: { parts: [h1] }\n`)).toMatch(/models\[2\]\.blend\.parts\[0\] "h1" is a hybrid itself/);
  });

  it('trains in a config beside its parts, on the leaderboard, and its folder serves alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-hybrid-train-'));
    const config = parseConfig(
      `data: { path: ${ratings}, positive_threshold: 4 }
split: { strategy: random, valid: 0.15, test: 0.15, seed: 2 }
models:
  - type: als
    params: { factors: 32, iterations: 8 }
  - type: knn
    params: { k: 100 }
  - type: hybrid
    name: blend
    blend: { parts: { als: 1, knn: 1 }, fallback: [popularity] }
evaluate: { k: [10] }
output: ${dir}/out
`,
      'config.yaml',
    );
    const lines: string[] = [];
    const r = await runTrain(config, { log: (l) => lines.push(l) });
    // The report shows the weights beside each part alone.
    const html = await readFile(r.reportPath!, 'utf8');
    expect(html).toMatch(/blend <span class="note">\(hybrid; weights chosen on validation ndcg@10 over \d+ candidates/);
    expect(html).toMatch(/<tr><td>knn<\/td><td class="num">[\d.]+<\/td><td class="num">[\d.]+<\/td><\/tr>/);
    expect(lines.join('\n')).toMatch(/blend: weights chosen on validation \(\d+ candidates, \d+ users\): als [\d.]+, knn [\d.]+, popularity 0\.000; ndcg@10 [\d.]+ \(alone: als [\d.]+, knn [\d.]+\)/);
    expect(r.leaderboard!.models.map((x) => x.name)).toContain('blend');
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'blend', 'metrics.json'), 'utf8'));
    expect(metrics.fit.tuning.score).toBeGreaterThanOrEqual(Math.max(...(Object.values(metrics.fit.tuning.alone) as number[])));
    expect(metrics.valid['ndcg@10']).toBeCloseTo(metrics.fit.tuning.score, 9);
    const { model } = await loadModel(join(dir, 'out', 'blend'));
    const fitted = r.models.find((m) => m.name === 'blend')!;
    expect(fitted.test!['ndcg@10']).toBeGreaterThan(0);
    expect(model.recommend(0, { k: 5 }).ids.length).toBe(5);
  });
});

describe('explanations', () => {
  const ds = loadDataset({ path: ratings, positiveThreshold: 4 });
  const { train } = splitDataset(ds, { strategy: 'none' });
  const als = ALS.fitSync(train, { factors: 16, iterations: 6, seed: 3 });
  const knn = KNN.fitSync(train, { k: 50 });

  it('ALS splits its fold-in score by liked item, as a brute-force recomputation', () => {
    for (const u of [2, 40]) {
      const liked = [...train.row(u)];
      const top = als.recommendForItems(liked, { k: 3 });
      for (let n = 0; n < 3; n++) {
        const e = als.explain(u, top.ids[n]!, { k: liked.length });
        expect(e.items.length).toBe(liked.length);
        const sum = e.contributions.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(e.score, 4);
        // The fold-in score of the same item: what the contributions sum to.
        expect(e.score).toBeCloseTo(top.scores[n]!, 4);
        // Largest first, and every liked item once.
        for (let j = 1; j < e.contributions.length; j++) expect(e.contributions[j - 1]!).toBeGreaterThanOrEqual(e.contributions[j]!);
        expect([...e.items].sort((a, b) => a - b)).toEqual(liked.sort((a, b) => a - b));
      }
    }
  });

  it('kNN and a hybrid of both explain; a hybrid apportions each part to its items', () => {
    const u = 11;
    const item = knn.recommend(u, { k: 1 }).ids[0]!;
    const k = knn.explain(u, item, { k: 3 });
    expect(k.items.length).toBeLessThanOrEqual(3);
    const h = Hybrid.build(
      [
        { name: 'als', model: als, weight: 1 },
        { name: 'knn', model: knn, weight: 1 },
      ],
      { params: { method: 'weighted' } },
    );
    const e = h.explain(u, item, { k: 100_000 });
    expect(e.score).toBeCloseTo(h.recommend(u, { k: train.nCols, filterSeen: false }).scores[[...h.recommend(u, { k: train.nCols, filterSeen: false }).ids].indexOf(item)]!, 5);
    const parts = e.parts.reduce((s, p) => s + p.contribution, 0);
    expect(parts).toBeCloseTo(e.score, 5);
    expect(e.parts.map((p) => p.name)).toEqual(['als', 'knn']);
    expect(e.parts[1]!.explanation!.items[0]).toBe(k.items[0]);
    expect(e.fallback).toBeNull();
    // ALS's split sums to its fold-in score, not its trained row's, so the shares sum to the
    // score up to that difference in ALS's part only.
    const shares = e.contributions.reduce((a, b) => a + b, 0);
    expect(Math.abs(shares - e.score)).toBeLessThan(0.05 * Math.abs(e.score) + 1e-3);
  });

  it('models whose scores do not split say so with a coded error; bad arguments are named', () => {
    const pop = Popularity.fit(train);
    expect(() => pop.explain(0, 1)).toThrow(/explain: a popularity model's scores do not split by liked item/);
    expect(() => als.explain(0, train.nCols)).toThrow(/item/);
    expect(() => als.explain(train.nRows, 0)).toThrow(/user/);
    expect(() => als.explain(0, 0, { k: 0 })).toThrow(/k/);
    expect(() => als.explain({ items: [-1] }, 0)).toThrow(/items: -1 at position 0/);
  });

  it('cf-native recommend --explain writes a because column (CSV) or array (JSONL)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-explain-'));
    await saveModel(join(dir, 'knn'), knn, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    await writeFile(join(dir, 'users.txt'), `${ds.userIds()[5]}\n${ds.userIds()[9]}\n`);
    const run = (out: string, explain: unknown) =>
      runListCommand('recommend', join(dir, 'knn'), { queries: join(dir, 'users.txt'), k: 3, explain, out: join(dir, out), quiet: true });
    expect(await run('r.csv', 2)).toBe(0);
    const lines = (await readFile(join(dir, 'r.csv'), 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('user,rank,item,score,because');
    expect(lines.length).toBe(7);
    const [user, rank, item, , because] = lines[1]!.split(',');
    expect(user).toBe(ds.userIds()[5]);
    expect(rank).toBe('1');
    const e = knn.explain(5, ds.itemIds().indexOf(item!), { k: 2 });
    expect(because).toBe([...e.items].map((i, n) => `${ds.itemIds()[i]}:${e.contributions[n]}`).join('|'));
    expect(await run('r.jsonl', 1)).toBe(0);
    const first = JSON.parse((await readFile(join(dir, 'r.jsonl'), 'utf8')).split('\n')[0]!);
    expect(first.because).toHaveLength(1);
    expect(first.because[0].item).toBe(ds.itemIds()[e.items[0]!]);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await run('r.parquet', 1)).toBe(2);
      expect(await run('r.csv', 0)).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});
