import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { parseConfig } from '../src/config/index.js';
import { CfError, Content, loadDataset, loadModel, saveModel, splitDataset } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const movies = join(root, 'datasets', 'ml-latest-small', 'movies.csv.gz');

function rejection(text: string): string {
  try {
    parseConfig(text, 'config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(CfError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('content', () => {
  const plain = loadDataset({ path: ratings, positiveThreshold: 4 });
  const ds = loadDataset({ path: ratings, positiveThreshold: 4, items: { path: movies, id: 'movieId' } });
  const { train } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
  const ids = ds.itemIds();
  const m = Content.fitSync(train, { k: 50 }, { items: { path: movies, id: 'movieId', text: ['title', 'genres'], ids } });

  it('side-file items join the item map after the rated ones', () => {
    const before = plain.itemIds();
    expect(ids.length).toBeGreaterThan(before.length);
    expect(ids.slice(0, before.length)).toEqual(before);
    expect(train.nCols).toBe(ids.length);
  });

  it('items without a single rating in train get similar lists and are recommended', () => {
    const counts = new Uint32Array(train.nCols);
    for (let u = 0; u < train.nRows; u++) for (const i of train.row(u)) counts[i]!++;
    const cold = [...counts.keys()].filter((i) => counts[i] === 0);
    expect(cold.length).toBeGreaterThan(100);
    let shown = 0;
    for (const j of cold.slice(0, 200)) {
      const sim = m.similarItems(j, { k: 5 });
      if (sim.ids.length === 0) continue;
      expect(sim.ids.includes(j)).toBe(false);
      // Someone who liked the nearest item: the cold item is among the recommendations when
      // that item keeps it as a neighbour.
      const near = sim.ids[0]!;
      const back = m.similarItems(near, { k: 49 });
      if (![...back.ids].includes(j)) continue;
      expect([...m.recommendForItems([near], { k: 49 }).ids]).toContain(j);
      shown++;
    }
    expect(shown).toBeGreaterThan(10);
    // Toy Story 2 (3114) is most like Toy Story (1) by its title and genres, rated or not.
    const toy2 = ids.indexOf('3114');
    expect(ids[m.similarItems(toy2, { k: 1 }).ids[0]!]).toBe('1');
  });

  it('needs the side file, and saves and loads back without it', async () => {
    expect(() => Content.fitSync(train, {})).toThrow(/items: content needs the item side file/);
    const dir = await mkdtemp(join(tmpdir(), 'cf-content-'));
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ids });
    const { model } = await loadModel(join(dir, 'm'));
    expect(model).toBeInstanceOf(Content);
    expect([...model.similarItems(3).ids]).toEqual([...m.similarItems(3).ids]);
  });

  it('data.items in a config: validated with the line of the key, and used by train', async () => {
    expect(rejection(`data:\n  path: r.csv\n  items: { path: movies.csv, id: movieId, text: [] }\nmodels: [{ type: content }]\n`)).toMatch(
      /^config\.yaml:3: data\.items\.text must be a column name or a non-empty list of column names/,
    );
    expect(rejection(`data:\n  path: r.csv\n  items: { path: movies.csv, text: title }\nmodels: [{ type: content }]\n`)).toMatch(/^config\.yaml(:\d+)?: missing required key data\.items\.id/);
    const dir = await mkdtemp(join(tmpdir(), 'cf-content-train-'));
    const cfg = join(dir, 'config.yaml');
    await writeFile(
      cfg,
      `data:
  path: ${ratings}
  positive_threshold: 4
  items: { path: ${movies}, id: movieId, text: [title, genres] }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: content
    params: { k: 100 }
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
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'content', 'metrics.json'), 'utf8'));
    expect(metrics.test['ndcg@10']).toBeGreaterThan(0);
    // A side file that names a missing column fails naming the file and the column.
    await writeFile(cfg, (await readFile(cfg, 'utf8')).replace('text: [title, genres]', 'text: [title, genre]'));
    let said = '';
    const e2 = vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((said += String(t)), true));
    try {
      expect(await runTrainCommand(cfg, { quiet: true })).not.toBe(0);
    } finally {
      e2.mockRestore();
    }
    expect(said).toMatch(/movies\.csv\.gz: no column "genre"/);
  });
});
