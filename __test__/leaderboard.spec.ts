import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { callAsync, native } from '../src/native.js';
import type { Leaderboard } from '../src/leaderboard/index.js';

const ratings = join(import.meta.dirname, '..', 'datasets', 'ml-latest-small', 'ratings.csv.gz');

/** Run `cf-native train` on a config; returns the exit code, stdout and the output folder. */
async function train(models: string, evaluate = '{ k: [10, 20] }') {
  const dir = await mkdtemp(join(tmpdir(), 'cf-board-'));
  const cfg = join(dir, 'config.yaml');
  await writeFile(
    cfg,
    `
data:
  path: ${ratings}
  columns: { user: userId, item: movieId, rating: rating, time: timestamp }
  positive_threshold: 4
split: { strategy: leave-last-out, valid: 1, test: 1, seed: 42 }
models: ${models}
evaluate: ${evaluate}
output: ${join(dir, 'out')}
`,
  );
  let out = '';
  let err = '';
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await runTrainCommand(cfg, { quiet: true });
    return { code, out, err, dir: join(dir, 'out') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

const als = '{ factors: 32, iterations: 10, seed: 1 }';

describe('the leaderboard of a train run', () => {
  it('ranks the models beside popularity with intervals, marks, and the new metrics', async () => {
    const { code, out, dir } = await train(`[{ type: als, name: als, params: ${als} }, { type: als, name: als_copy, params: ${als} }]`);
    expect(code).toBe(0);
    const lb = JSON.parse(await readFile(join(dir, 'leaderboard.json'), 'utf8')) as Leaderboard;
    expect(lb.format).toBe(1);
    expect(lb.split).toBe('test');
    expect(lb.users).toBe(608);
    expect(lb.ks).toEqual([10, 20]);
    expect(lb.objective).toBe('ndcg@10');
    expect(lb.bootstrap).toEqual({ resamples: 1000, seed: 42, level: 0.95, paired_over: 'users' });
    for (const m of ['precision', 'recall', 'ndcg', 'map', 'hit_rate', 'f1', 'coverage', 'novelty']) {
      expect(lb.metrics).toContain(`${m}@10`);
      expect(lb.metrics).toContain(`${m}@20`);
    }
    expect(lb.metrics.at(-1)).toBe('auc');
    expect(lb.higher_is_better['novelty@10']).toBe(false);
    expect(lb.higher_is_better['auc']).toBe(true);

    expect(lb.models.map((r) => [r.name, r.rank, r.baseline])).toEqual([
      ['als', 1, false],
      ['als_copy', 2, false],
      ['popularity', 3, true],
    ]);
    const [a, copy, pop] = lb.models as [Leaderboard['models'][0], Leaderboard['models'][0], Leaderboard['models'][0]];
    // The cells carry metrics.json's figures.
    const metrics = JSON.parse(await readFile(join(dir, 'als', 'metrics.json'), 'utf8'));
    for (const m of lb.metrics) expect(a.metrics[m]!.value).toBe(metrics.test[m]);
    expect(metrics.valid).toHaveProperty('auc');
    expect(metrics.valid).toHaveProperty('f1@20');
    for (const m of lb.metrics) {
      const c = a.metrics[m]!;
      if (m.startsWith('coverage@')) {
        // One figure for the population: no interval, no test.
        expect(c.ci).toBeNull();
        expect(c.not_significantly_worse).toBeNull();
        continue;
      }
      expect(c.ci![0]).toBeLessThanOrEqual(c.value!);
      expect(c.ci![1]).toBeGreaterThanOrEqual(c.value!);
      // The same model twice: identical figures, never significantly different.
      expect(copy.metrics[m]!.value).toBe(c.value);
      expect(copy.metrics[m]!.not_significantly_worse).toBe(true);
      expect(pop.metrics[m]!.improvement_over_popularity).toBe(0);
    }
    // ALS clearly beats popularity on ml-latest-small: best, and popularity significantly worse.
    expect(a.metrics['ndcg@10']!.best).toBe(true);
    expect(copy.metrics['ndcg@10']!.best).toBe(false);
    // (Checked where the gap is wide, so the test does not hang on a borderline interval.)
    expect(pop.metrics['recall@20']!.not_significantly_worse).toBe(false);
    expect(pop.metrics['auc']!.not_significantly_worse).toBe(false);
    expect(a.metrics['ndcg@10']!.improvement_over_popularity).toBeGreaterThan(20);
    const p = pop.metrics['ndcg@10']!.value!;
    expect(a.metrics['ndcg@10']!.improvement_over_popularity).toBeCloseTo((100 * (a.metrics['ndcg@10']!.value! - p)) / p, 10);
    // Popularity recommends the most popular items: the least novel list, the lowest coverage.
    expect(pop.metrics['novelty@10']!.value).toBeGreaterThan(a.metrics['novelty@10']!.value!);
    expect(pop.metrics['coverage@10']!.value).toBeLessThan(a.metrics['coverage@10']!.value!);

    const csv = (await readFile(join(dir, 'leaderboard.csv'), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('rank,model,type,baseline,metric,value,ci_lo,ci_hi,improvement_over_popularity_pct,best,not_significantly_worse');
    expect(csv).toHaveLength(1 + 3 * lb.metrics.length);
    expect(csv[1]!.startsWith('1,als,als,false,ndcg@10,')).toBe(true);

    // Printed after the metrics table: the objective, its interval, the marks.
    expect(out).toContain('leaderboard (test, 608 users; 95% intervals from 1000 paired bootstrap resamples');
    const row = out.split('\n').find((l) => l.startsWith('2  als_copy'))!;
    expect(row).toMatch(/0\.\d{4}=\s+\[0\.\d{4}, 0\.\d{4}\]\s+\+\d+\.\d%/);
  });

  it('writes the leaderboard for a single model without printing it, bootstrapped as the config says', async () => {
    const { code, out, dir } = await train(`[{ type: als, params: { factors: 8, iterations: 2 } }]`, '{ k: 5, bootstrap: { resamples: 200, seed: 7, level: 0.9 } }');
    expect(code).toBe(0);
    expect(out).not.toContain('leaderboard');
    const lb = JSON.parse(await readFile(join(dir, 'leaderboard.json'), 'utf8')) as Leaderboard;
    expect(lb.models.map((r) => r.name).sort()).toEqual(['als', 'popularity']);
    expect(lb.bootstrap).toEqual({ resamples: 200, seed: 7, level: 0.9, paired_over: 'users' });
    expect(lb.objective).toBe('ndcg@5');
    expect(existsSync(join(dir, 'leaderboard.csv'))).toBe(true);
  });

  it('rejects a bad bootstrap setting before any work, naming the key', async () => {
    const { code, err, dir } = await train(`[{ type: als }]`, '{ k: 5, bootstrap: { level: 1 } }');
    expect(code).toBe(2);
    expect(err).toMatch(/config\.yaml:\d+: evaluate\.bootstrap\.level must be a number in \(0, 1\) \(got 1\)/);
    expect(existsSync(join(dir, 'leaderboard.json'))).toBe(false);
  });

  it('the native bootstrap names a bad argument', async () => {
    const b = native();
    const run = (v: Float64Array[], cols: number, h: boolean[], o: object = {}) => callAsync(() => b.pairedBootstrap(v, cols, h, o));
    await expect(run([new Float64Array([1, 2, 3])], 2, [true, true])).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG', message: expect.stringMatching(/^values:/) });
    await expect(run([new Float64Array([1])], 1, [true], { resamples: 0 })).rejects.toMatchObject({ message: expect.stringMatching(/^resamples:/) });
    await expect(run([new Float64Array([1])], 1, [true], { sed: 1 })).rejects.toThrow(/seed/);
    const r = await run([new Float64Array([1, 0, 1, 0]), new Float64Array([1, 0, 1, 0])], 1, [true]);
    expect([...r.best]).toEqual([0]);
    expect([r.diffLo[1], r.diffHi[1]]).toEqual([0, 0]);
  });
});
