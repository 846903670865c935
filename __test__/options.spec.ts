// Option objects of the API are checked like YAML: unknown keys, wrong types, negative,
// fractional and out-of-range numbers are coded errors naming the option and its value.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALS, Popularity, datasetFromArrays, loadDataset, matrixFromCoo, splitDataset, EMBEDDED_RATINGS, isCfError } from '../src/index.js';

const m = matrixFromCoo(Uint32Array.of(0, 0, 1, 2, 2), Uint32Array.of(0, 1, 1, 2, 3), 3, 4);

/** The error a call throws (sync or async), as [code, message]. */
async function failure(f: () => unknown): Promise<[string, string]> {
  try {
    await f();
  } catch (err) {
    if (!isCfError(err)) throw err;
    return [err.code, err.message];
  }
  throw new Error('did not throw');
}

describe('API options', () => {
  const als = ALS.fitSync(m, { factors: 2, iterations: 2 });
  const pop = Popularity.fit(m);
  const cases: [string, () => unknown, RegExp][] = [
    ['ALS.fit typo', () => ALS.fit(m, { factor: 8 } as never), /^factor: is not a known option \(did you mean factors\?\)$/],
    ['ALS.fitSync camelCase typo', () => ALS.fitSync(m, { cgStep: 2 } as never), /did you mean cgSteps\?/],
    ['negative factors', () => ALS.fit(m, { factors: -1 }), /^factors: must be an integer in 1\.\.=4096 \(got -1\)$/],
    ['fractional iterations', () => ALS.fit(m, { iterations: 2.5 }), /iterations: .*\(got 2\.5\)/],
    ['negative iterations', () => ALS.fitSync(m, { iterations: -5 }), /iterations: .*\(got -5\)/],
    ['NaN regularization', () => ALS.fit(m, { regularization: NaN }), /regularization: .*\(got NaN\)/],
    ['huge threads', () => ALS.fit(m, { threads: 5000 }), /threads: must be an integer in 0\.\.=1024 \(got 5000\)/],
    ['string factors', () => ALS.fit(m, { factors: '8' as never }), /factors: must be an integer .*\(got "8"\)/],
    ['object param', () => ALS.fit(m, { factors: {} as never }), /factors: must be a number, boolean or string \(got an object\)/],
    ['bad choice', () => ALS.fit(m, { solver: 'cgg' as never }), /solver: must be one of "cg", "cholesky" \(got "cgg"; did you mean "cg"\?\)/],
    ['recommend typo', () => als.recommend(0, { kk: 3 } as never), /^kk: is not a known option \(did you mean k\?\)$/],
    ['recommend negative k', () => als.recommend(0, { k: -1 }), /^k: .*\(got -1\)$/],
    ['recommend NaN k', () => pop.recommend(0, { k: NaN }), /k: .*\(got NaN\)/],
    ['recommend fractional k', () => als.recommend(0, { k: 2.5 }), /k: .*\(got 2\.5\)/],
    ['recommend negative user', () => pop.recommend(-1), /user: .*\(got -1\)/],
    ['recommend user past the end', () => als.recommend(3), /user: index 3 is out of range \(model has 3 users\)/],
    ['recommend exclude not a matrix', () => als.recommend(0, { exclude: {} as never }), /exclude: must be a Matrix/],
    ['recommend filterSeen not a boolean', () => als.recommend(0, { filterSeen: 1 as never }), /filterSeen: must be true or false \(got a number\)/],
    ['similarItems typo', () => als.similarItems(0, { n: 3 } as never), /n: is not a known option/],
    ['similarItems item past the end', () => als.similarItems(9), /item: index 9 is out of range/],
    ['evaluate typo', () => als.evaluate(m, m, { k: [5], filterseen: false } as never), /filterseen: is not a known option \(did you mean filterSeen\?\)/],
    ['evaluate k 0', () => als.evaluate(m, m, { k: [5, 0] }), /k: .*\(got 0\)/],
    ['evaluate k -3', () => pop.evaluate(m, m, { k: -3 }), /k: .*\(got -3\)/],
    ['recommendForItems typo', () => als.recommendForItems([1], { value: [1] } as never), /did you mean values\?/],
    ['loadDataset typo', () => loadDataset({ path: EMBEDDED_RATINGS, positiveTreshold: 4 } as never), /positiveTreshold is not a known option \(did you mean positiveThreshold\?\)/],
    ['loadDataset negative k-core', () => loadDataset({ path: EMBEDDED_RATINGS, minUserInteractions: -5 }), /minUserInteractions: .*\(got -5\)/],
    ['loadDataset bad values mode', () => loadDataset({ path: EMBEDDED_RATINGS, values: 'stars' as never }), /stars/],
    ['splitDataset typo', () => splitDataset(datasetFromArrays(Uint32Array.of(0, 1), Uint32Array.of(0, 1)), { strategy: 'none', seeed: 1 } as never), /seeed is not a known option/],
    ['splitDataset bad strategy', () => splitDataset(datasetFromArrays(Uint32Array.of(0, 1), Uint32Array.of(0, 1)), { strategy: 'nope' } as never), /nope/],
    ['matrixFromCoo negative size', () => matrixFromCoo(Uint32Array.of(0), Uint32Array.of(0), -1, 2), /nUsers: .*\(got -1\)/],
  ];
  for (const [name, f, re] of cases) {
    it(name, async () => {
      const [code, message] = await failure(f);
      expect(code).toBe('ERR_CF_INVALID_ARG');
      expect(message).toMatch(re);
    });
  }

  it('similarItems on a model without item similarity is ERR_CF_UNSUPPORTED', async () => {
    expect(await failure(() => pop.similarItems(0))).toEqual(['ERR_CF_UNSUPPORTED', 'popularity has no notion of item similarity; use a factor model such as als']);
  });

  it('caps a huge k at the number of items', () => {
    expect(als.recommend(0, { k: 1e9, filterSeen: false }).ids.length).toBe(4);
    expect(pop.recommend(0, { k: 2 ** 32 - 1 }).ids.length).toBe(2);
  });

  it('rejects async errors with the code too', async () => {
    const bad = matrixFromCoo(Uint32Array.of(0), Uint32Array.of(0), 3, 5);
    await expect(als.evaluate(bad, bad, { k: 1 })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
  });
});

describe('the CLI without the native addon', () => {
  // A copy of the package without any .node file: help, model docs and config-only errors
  // must still work; training must say the addon is missing.
  const dir = mkdtempSync(join(tmpdir(), 'cf-noaddon-'));
  const root = join(import.meta.dirname, '..');
  for (const p of ['dist', 'package.json', 'binding.cjs', 'node_modules']) cpSync(join(root, p), join(dir, p), { recursive: true, verbatimSymlinks: true });
  const run = (...args: string[]) => spawnSync(process.execPath, [join(dir, 'dist/cli/main.js'), ...args], { cwd: dir, encoding: 'utf8' });

  it('prints --help and the model parameters', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('train [config]');
    const models = run('models', 'als');
    expect(models.status).toBe(0);
    expect(models.stdout).toContain('cg_steps (API: cgSteps)');
  });

  it('reports a config error without the addon, and the missing addon when it is needed', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'data:\n  path: x.csv\nmodels:\n  - type: als\n    params: { factor: 3 }\n');
    const bad = run('train', 'bad.yaml');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('cf-native: bad.yaml:5: unknown key models[0].params.factor (did you mean factors?)');
    writeFileSync(join(dir, 'ok.yaml'), 'data:\n  path: x.csv\nmodels:\n  - type: als\n');
    const ok = run('train', 'ok.yaml');
    expect(ok.status).toBe(2);
    // The loader's message: the platform, what it tried, how to get a binary.
    expect(ok.stderr).toMatch(/^cf-native: no native addon for [a-z0-9]+-[a-z0-9]+(-[a-z]+)? \(Node v/);
    expect(ok.stderr).toMatch(/@cf-native\/binding-[a-z0-9-]+@\d+\.\d+\.\d+: not installed/);
    expect(ok.stderr).toContain('build from source');
    expect(ok.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
