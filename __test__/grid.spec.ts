// A config may list several values for a model's parameter: the run fits each combination,
// keeps the best on validation (NDCG@K, or RMSE for rating models) and reports every trial,
// as the seed notebook's n_factors curve (with SVD's explained variance per value).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_RATINGS, loadModel, parseConfig, runTrain } from '../src/index.js';

const yaml = (params: string, split = '{ strategy: leave-last-out, valid: 1, test: 1, seed: 42 }') => `data:
  path: ${EMBEDDED_RATINGS}
  positive_threshold: 4
  min_user_interactions: 3
split: ${split}
models:
  - type: svd
    params: ${params}
evaluate: { k: [10] }
output: OUT
`;

describe('lists of parameter values', () => {
  it('are checked value by value, in place', () => {
    const c = parseConfig(yaml('{ factors: [4, 8], centering: [none, item] }'), 'grid.yaml');
    expect(c.models[0]!.grid).toEqual({ factors: [4, 8], centering: ['none', 'item'] });
    expect(c.models[0]!.params.factors).toBe(4);
    expect(parseConfig(yaml('{ factors: 8 }'), 'grid.yaml').models[0]!.grid).toBeUndefined();
    expect(() => parseConfig(yaml('{ factors: [] }'), 'g.yaml')).toThrow(/g\.yaml:\d+: models\[0\]\.params\.factors lists no value/);
    expect(() => parseConfig(yaml('{ factors: [4, 0] }'), 'g.yaml')).toThrow(/models\[0\]\.params\.factors\[1\] must be/);
    expect(() => parseConfig(yaml('{ factors: [4, 8], centering: [nonee] }'), 'g.yaml')).toThrow(/params\.centering\[0\] .*did you mean none/);
    const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`;
    expect(() => parseConfig(yaml(`{ factors: ${list(40)}, seed: ${list(30)} }`), 'g.yaml')).toThrow(/make 1200 combinations of values; at most 1000/);
  });

  it('fit every combination, keep the best on validation, and report each trial', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cf-grid-'));
    const c = parseConfig(yaml('{ factors: [2, 8, 32] }').replace('OUT', out), 'grid.yaml');
    const lines: string[] = [];
    const report = await runTrain(c, { log: (l) => lines.push(l) });
    const metrics = JSON.parse(await readFile(join(out, 'svd', 'metrics.json'), 'utf8'));
    const t = metrics.tuning;
    expect(t.by).toBe('ndcg@10');
    expect(t.grid).toEqual({ factors: [2, 8, 32] });
    expect(t.trials.map((x: { params: { factors: number } }) => x.params.factors)).toEqual([2, 8, 32]);
    for (const x of t.trials) {
      expect(x.valid['ndcg@10']).toBeGreaterThan(0);
      expect(x.fit.explained_variance_ratio).toHaveLength(x.params.factors);
    }
    // Explained variance grows with the rank; the kept model is the best on validation.
    const ev = t.trials.map((x: { fit: { explained_variance_ratio: number[] } }) => x.fit.explained_variance_ratio.reduce((a, b) => a + b, 0));
    expect(ev[0]).toBeLessThan(ev[1]);
    expect(ev[1]).toBeLessThan(ev[2]);
    const bestAt = t.trials.reduce((b: number, x: { valid: Record<string, number> }, i: number) => (x.valid['ndcg@10']! > t.trials[b].valid['ndcg@10'] ? i : b), 0);
    expect(metrics.params.factors).toBe([2, 8, 32][bestAt]);
    expect(metrics.valid).toEqual(t.trials[bestAt].valid);
    expect(report.models[0]!.params.factors).toBe([2, 8, 32][bestAt]);
    expect((await loadModel(join(out, 'svd'))).model.params.factors).toBe([2, 8, 32][bestAt]);
    expect(lines.filter((l) => /^svd factors=\d+: valid ndcg@10 0\.\d{4}$/.test(l))).toHaveLength(3);
  });

  it('choose svd\'s rated modes by validation RMSE', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cf-grid-'));
    const rated = yaml('{ factors: [2, 8], centering: [rated_user, rated_item] }', '{ strategy: random, valid: 0.1, test: 0.1, seed: 3 }')
      .replace('  positive_threshold: 4\n  min_user_interactions: 3\n', '  values: rating\n')
      .replace('OUT', out);
    await runTrain(parseConfig(rated, 'grid.yaml'), { log: () => {} });
    const metrics = JSON.parse(await readFile(join(out, 'svd', 'metrics.json'), 'utf8'));
    const t = metrics.tuning;
    expect(t.by).toBe('rmse');
    expect(t.trials).toHaveLength(4);
    for (const x of t.trials) expect(x.valid.rmse).toBeGreaterThan(0.5);
    const bestAt = t.trials.reduce((b: number, x: { valid: Record<string, number> }, i: number) => (x.valid.rmse! < t.trials[b].valid.rmse ? i : b), 0);
    expect(metrics.params).toMatchObject(t.trials[bestAt].params);
    expect(metrics.test.rmse).toBeGreaterThan(0.5);
    expect(metrics.test.rmse).toBeLessThan(1.1);
  });

  it('need a validation split to choose by', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cf-grid-'));
    const c = parseConfig(yaml('{ factors: [2, 4] }', '{ strategy: none }').replace('OUT', out), 'grid.yaml');
    await expect(runTrain(c)).rejects.toMatchObject({ code: 'ERR_CF_CONFIG', message: expect.stringMatching(/models\[0\]\.params lists several values for factors, which needs a validation split/) });
  });
});
