import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { BPR, CfError, loadDataset, loadModel, matrixFromCoo, parseConfig, runTrain, saveModel, splitDataset, type BprParams } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const ds = loadDataset({ path: ratings, positiveThreshold: 4 });
const { train, valid } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const small: BprParams = { factors: 16, epochs: 3, seed: 9 };

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CfError);
    return `${(e as CfError).code} ${(e as Error).message}`;
  }
  throw new Error('no error');
}

describe('BPR', () => {
  it('fit and fitSync give bitwise the same factors on 1 and 2 threads, a new seed does not', async () => {
    const one = await BPR.fit(train, { ...small, threads: 1 });
    const two = BPR.fitSync(train, { ...small, threads: 2 });
    expect(bytes(one.userFactors()).equals(bytes(two.userFactors()))).toBe(true);
    expect(bytes(one.itemFactors()).equals(bytes(two.itemFactors()))).toBe(true);
    const dns = [1, 2].map((threads) => BPR.fitSync(train, { ...small, sampler: 'mixed', optimizer: 'adamw', learningRate: 0.005, threads }));
    expect(bytes(dns[0]!.itemFactors()).equals(bytes(dns[1]!.itemFactors()))).toBe(true);
    const other = BPR.fitSync(train, { ...small, seed: 10, threads: 2 });
    expect(bytes(other.userFactors()).equals(bytes(two.userFactors()))).toBe(false);
    expect(one.width).toBe(17);
    expect(one.learningCurve().map((e) => e.epoch)).toEqual([1, 2, 3]);
  });

  it('reports progress per epoch, validates, recommends, finds similar items and folds in', async () => {
    const seen: number[] = [];
    const m = await BPR.fit(train, { factors: 32, epochs: 6, patience: 2 }, { valid, onProgress: (p) => seen.push(p.valid ?? -1) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((v) => v >= 0)).toBe(true);
    const curve = m.learningCurve();
    expect(curve[0]!.negatives.dnsCandidates).toBeGreaterThan(0); // dns is the default sampler
    expect(curve.at(-1)!.auc).toBeGreaterThan(0.5); // against dns (hard) negatives
    expect(m.bestEpoch).not.toBeNull();
    const r = m.recommend(0, { k: 10 });
    expect(r.ids.length).toBe(10);
    const row = new Set(train.row(0));
    expect([...r.ids].some((i) => row.has(i))).toBe(false);
    expect(m.similarItems(0, { k: 5 }).ids.length).toBe(5);
    const items = [...train.row(1)];
    const a = m.foldInUser(items);
    expect(bytes(a).equals(bytes(m.foldInUser(items)))).toBe(true);
    expect(m.recommendForItems(items, { k: 10 }).ids.length).toBe(10);
    const report = await m.evaluate(train, valid!, { k: 10 });
    expect(report.metrics['ndcg@10']).toBeGreaterThan(0);
  });

  it('AbortSignal stops a fit', async () => {
    const ac = new AbortController();
    const p = BPR.fit(train, { ...small, epochs: 50 }, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toThrow();
  });

  it('rejects bad input with coded errors naming the option', () => {
    expect(code(() => BPR.fitSync(train, { learningRate: 0 }))).toMatch(/^ERR_CF_INVALID_ARG learningRate: must be a finite number > 0/);
    expect(code(() => BPR.fitSync(train, { learningRate: -1 }))).toMatch(/learningRate/);
    expect(code(() => BPR.fitSync(train, { learningRate: Number.NaN }))).toMatch(/learningRate: .*got NaN/);
    expect(code(() => BPR.fitSync(train, { hardFraction: 1.5 }))).toMatch(/^ERR_CF_INVALID_ARG hardFraction/);
    expect(code(() => BPR.fitSync(train, { hardFraction: -0.1 }))).toMatch(/hardFraction/);
    expect(code(() => BPR.fitSync(train, { dnsCandidates: 0 }))).toMatch(/^ERR_CF_INVALID_ARG dnsCandidates/);
    expect(code(() => BPR.fitSync(train, { patience: 3 }))).toMatch(/^ERR_CF_INVALID_ARG patience: .*no validation matrix/);
    const other = matrixFromCoo(Uint32Array.of(0), Uint32Array.of(0), 2, 2);
    expect(code(() => BPR.fitSync(train, { patience: 3 }, { valid: other }))).toMatch(/^ERR_CF_INVALID_ARG valid: validation matrix is 2 x 2/);
    expect(code(() => BPR.fitSync(train, { sampler: 'hard' as never }))).toMatch(/sampler: must be one of/);
  });

  it('a user with every item is skipped and counted, not looped on', () => {
    const m = matrixFromCoo(Uint32Array.of(0, 0, 0, 1), Uint32Array.of(0, 1, 2, 1), 2, 3);
    const b = BPR.fitSync(m, { factors: 4, epochs: 2 });
    expect(b.learningCurve().map((e) => e.skippedUsers)).toEqual([1, 1]);
  });

  it('saves and loads back, and trains from a YAML config with early stopping', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-bpr-'));
    const m = BPR.fitSync(train, small);
    await saveModel(join(dir, 'm'), m, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    const { model } = await loadModel(join(dir, 'm'));
    expect(model).toBeInstanceOf(BPR);
    expect([...model.recommend(3).ids]).toEqual([...m.recommend(3).ids]);

    const cfg = join(dir, 'config.yaml');
    await writeFile(
      cfg,
      `data: { path: ${ratings}, positive_threshold: 4 }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: bpr
    params: { factors: 16, epochs: 8, patience: 2, eval_every: 2, sampler: dns }
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
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'bpr', 'metrics.json'), 'utf8'));
    expect(metrics.model).toBe('bpr');
    expect(metrics.params.sampler).toBe('dns');
    expect(metrics.test['ndcg@10']).toBeGreaterThan(metrics.baseline.popularity['ndcg@10'] * 0.5);
    expect(metrics.curve.filter((e: { valid: number | null }) => e.valid !== null && e.valid !== undefined).length).toBeGreaterThan(0);
    const loaded = await loadModel(join(dir, 'out', 'bpr'));
    expect(loaded.model).toBeInstanceOf(BPR);
  });

  describe('explicit dislikes (data negative_threshold, the mixed sampler)', () => {
    const disliking = loadDataset({ path: ratings, positiveThreshold: 4, negativeThreshold: 2 });
    const negatives = disliking.negatives()!;
    const split = splitDataset(disliking, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
    const mixed: BprParams = { ...small, sampler: 'mixed', hardFraction: 0.5 };

    it('the loader keeps ratings at or below the threshold apart, never as positives', () => {
      const st = disliking.stats;
      expect(st.negatives).toBeGreaterThan(1000);
      expect(negatives.nnz).toBe(st.negatives);
      expect([negatives.nRows, negatives.nCols]).toEqual([st.users, st.items]);
      // The same positives as without the option; nothing disliked is a positive.
      expect(disliking.stats.rows).toBe(ds.stats.rows);
      expect(loadDataset({ path: ratings, positiveThreshold: 4 }).negatives()).toBeNull();
      for (let u = 0; u < 50; u++) {
        const pos = new Set(split.train.row(u));
        for (const i of negatives.row(u)) expect(pos.has(i)).toBe(false);
      }
    });

    it('a mixed fit draws them into its hard pool, counted per epoch, the same on 1 and 2 threads', async () => {
      const one = await BPR.fit(split.train, { ...mixed, threads: 1 }, { negatives });
      const two = BPR.fitSync(split.train, { ...mixed, threads: 2 }, { negatives });
      expect(bytes(one.itemFactors()).equals(bytes(two.itemFactors()))).toBe(true);
      const n = one.learningCurve()[0]!.negatives;
      expect(n.disliked).toBeGreaterThan(0);
      expect(n.disliked).toBeLessThan(n.hard);
      const plain = BPR.fitSync(split.train, mixed);
      expect(plain.learningCurve()[0]!.negatives.disliked).toBe(0);
      expect(bytes(plain.itemFactors()).equals(bytes(one.itemFactors()))).toBe(false);
    });

    it('are refused where they would be ignored, or do not fit the data', () => {
      expect(code(() => BPR.fitSync(split.train, { ...small, sampler: 'dns' }, { negatives }))).toMatch(/^ERR_CF_INVALID_ARG negatives: were given but sampler is dns/);
      const other = matrixFromCoo(new Uint32Array([0]), new Uint32Array([0]), 2, 2);
      expect(code(() => BPR.fitSync(split.train, mixed, { negatives: other }))).toMatch(/^ERR_CF_INVALID_ARG negatives: matrix is 2 x 2/);
      expect(code(() => BPR.fitSync(split.train, mixed, { negatives: 'x' as never }))).toMatch(/^ERR_CF_INVALID_ARG negatives:/);
      expect(code(() => loadDataset({ path: ratings, negativeThreshold: 2 }))).toMatch(/negative_threshold: needs positive_threshold/);
      expect(code(() => loadDataset({ path: ratings, positiveThreshold: 3, negativeThreshold: 3 }))).toMatch(/negative_threshold: 3 must be below positive_threshold 3/);
    });

    it('flow from a YAML data section to the bpr models that draw from them, and the run says which do not', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cf-bpr-neg-'));
      const yaml = `data: { path: ${ratings}, positive_threshold: 4, negative_threshold: 2 }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - { type: bpr, name: mixed, params: { factors: 8, epochs: 2, sampler: mixed } }
  - { type: bpr, name: dns, params: { factors: 8, epochs: 2, sampler: dns } }
evaluate: { k: [10] }
output: ${dir}/out
`;
      const lines: string[] = [];
      await runTrain(parseConfig(yaml, 'neg.yaml'), { log: (l) => lines.push(l) });
      expect(lines.join('\n')).toMatch(/negatives: \d+ rows at or below negative_threshold kept as dislikes/);
      expect(lines.join('\n')).toContain('negatives: not used by dns (only bpr with sampler mixed draws from them)');
      const m = JSON.parse(await readFile(join(dir, 'out', 'mixed', 'metrics.json'), 'utf8'));
      expect(m.curve[0].negatives.disliked).toBeGreaterThan(0);
      const d = JSON.parse(await readFile(join(dir, 'out', 'dns', 'metrics.json'), 'utf8'));
      expect(d.curve[0].negatives.disliked).toBe(0);
      expect(() => parseConfig(yaml.replace('negative_threshold: 2', 'negative_threshold: 4'), 'neg.yaml')).toThrow(
        /neg\.yaml:1: data\.negative_threshold 4 must be below positive_threshold 4/,
      );
      expect(() => parseConfig(yaml.replace('positive_threshold: 4, ', ''), 'neg.yaml')).toThrow(/data\.negative_threshold needs positive_threshold/);
    });
  });
});
