import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { CfError, KNN, loadDataset, loadModel, saveModel, splitDataset } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const ds = loadDataset({ path: ratings, positiveThreshold: 4 });
const { train } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfError);
    return `${(e as CfError).code} ${(e as Error).message}`;
  }
  throw new Error('no error');
}

/** Row i of the neighbour CSR as a map item -> similarity. */
function rowOf(nb: ReturnType<KNN['neighbours']>, i: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let p = nb.indptr[i]!; p < nb.indptr[i + 1]!; p++) m.set(nb.indices[p]!, nb.values[p]!);
  return m;
}

describe('KNN', () => {
  const m = KNN.fitSync(train, { k: 50 });
  const nb = m.neighbours();

  it('scores sum neighbour similarities of the user items; fold-in is the same list', async () => {
    const r = m.recommend(3, { k: 10 });
    const row = train.row(3);
    expect([...r.ids].some((i) => row.includes(i))).toBe(false);
    const best = r.ids[0]!;
    let s = 0;
    for (const i of row) s += rowOf(nb, i).get(best) ?? 0;
    expect(r.scores[0]).toBeCloseTo(s, 4);
    const f = m.recommendForItems(row, { k: 10 });
    expect([...f.ids]).toEqual([...r.ids]);
    // Every item keeps at most k neighbours, itself included.
    for (let i = 0; i < m.nItems; i++) expect(nb.indptr[i + 1]! - nb.indptr[i]!).toBeLessThanOrEqual(50);
  });

  it('the same neighbours on 1 and 2 threads, async and sync', async () => {
    const a = await KNN.fit(train, { k: 20, weighting: 'bm25', threads: 1 });
    const b = KNN.fitSync(train, { k: 20, weighting: 'bm25', threads: 2 });
    const [x, y] = [a.neighbours(), b.neighbours()];
    expect(Buffer.from(x.values.buffer).equals(Buffer.from(y.values.buffer))).toBe(true);
    expect([...x.indices]).toEqual([...y.indices]);
  });

  it('similar items are the kept neighbours, best first, without the item', () => {
    const sim = m.similarItems(10, { k: 5 });
    const row = rowOf(nb, 10);
    const others = [...row.entries()].filter(([j]) => j !== 10).sort((p, q) => q[1] - p[1] || p[0] - q[0]);
    expect([...sim.ids]).toEqual(others.slice(0, 5).map((p) => p[0]));
  });

  it('explain lists the contributions of the user items (brute force)', () => {
    const r = m.recommend(3, { k: 3 });
    const item = r.ids[0]!;
    const e = m.explain(3, item, { k: 4 });
    expect(e.score).toBeCloseTo(r.scores[0]!, 4);
    const want = [...train.row(3)]
      .map((i) => [i, rowOf(nb, i).get(item)] as const)
      .filter((p): p is readonly [number, number] => p[1] !== undefined)
      .sort((p, q) => q[1] - p[1] || p[0] - q[0])
      .slice(0, 4);
    expect([...e.items]).toEqual(want.map((p) => p[0]));
    [...e.contributions].forEach((c, j) => expect(c).toBeCloseTo(want[j]![1], 6));
    // Someone by their items, with values.
    const e2 = m.explain({ items: [want[0]![0]], values: [2] }, item, { k: 2 });
    expect(e2.contributions[0]).toBeCloseTo(2 * want[0]![1], 5);
    expect(code(() => m.explain(3, m.nItems))).toMatch(/^ERR_CF_INVALID_ARG item: index \d+ is out of range/);
    expect(code(() => m.explain(3, 0, { k: 0 }))).toMatch(/^ERR_CF_INVALID_ARG k:/);
  });

  it('co-occurrence lists by lift with a minimum support', () => {
    const c = m.cooccurrence(0, { k: 5, measure: 'lift', minSupport: 5 });
    expect(c.ids.length).toBeGreaterThan(0);
    expect([...c.support].every((s) => s >= 5)).toBe(true);
    // Brute force for the first: users with both / (users of each) x users.
    const users = train.nRows;
    const has = (i: number) => new Set([...Array(users).keys()].filter((u) => [...train.row(u)].includes(i)));
    const a = has(0);
    const b = has(c.ids[0]!);
    const both = [...a].filter((u) => b.has(u)).length;
    expect(c.support[0]).toBe(both);
    expect(c.scores[0]).toBeCloseTo((both * users) / (a.size * b.size), 4);
    expect(code(() => m.cooccurrence(0, { measure: 'jaccard' as 'lift' }))).toMatch(/^ERR_CF_INVALID_ARG measure: unknown measure/);
  });

  it('saves and loads back the same lists; bad params are named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-knn-'));
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect(model).toBeInstanceOf(KNN);
    expect([...model.recommend(7).ids]).toEqual([...m.recommend(7).ids]);
    expect([...model.similarItems(4).ids]).toEqual([...m.similarItems(4).ids]);
    expect(code(() => KNN.fitSync(train, { weighting: 'bm25', shrinkage: 3 }))).toMatch(/^ERR_CF_INVALID_ARG shrinkage: applies to weighting cosine only/);
    expect(code(() => KNN.fitSync(train, { weighting: 'jaccard' as 'cosine' }))).toMatch(/^ERR_CF_INVALID_ARG weighting/);
  });

  it('trains from a YAML config beside popularity and beats it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-knn-train-'));
    const cfg = join(dir, 'config.yaml');
    await writeFile(
      cfg,
      `data: { path: ${ratings}, positive_threshold: 4 }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: knn
    params: { k: 100, weighting: cosine }
evaluate: { k: [10] }
output: ${dir}/out
`,
    );
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let exit: number;
    try {
      exit = await runTrainCommand(cfg, { quiet: true });
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    expect(exit).toBe(0);
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'knn', 'metrics.json'), 'utf8'));
    expect(metrics.params.weighting).toBe('cosine');
    expect(metrics.test['ndcg@10']).toBeGreaterThan(metrics.baseline.popularity['ndcg@10']);
  });
});
