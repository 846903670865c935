import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALS, loadDataset, splitDataset, type AlsParams } from '../src/index.js';

// Same seed and data must give bitwise-identical factors whatever the thread count: the
// row solves are independent and every reduction has a fixed order. Checked on real data
// (the embedded ratings) so that rows are long enough to be split across workers.
const ratings = join(import.meta.dirname, '..', 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const { train } = splitDataset(loadDataset({ path: ratings, positiveThreshold: 3.5 }), { strategy: 'random', valid: 0, test: 0.2, seed: 7 });

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('determinism across thread counts', () => {
  for (const solver of ['cg', 'cholesky'] as const) {
    it(`${solver}: 1 and 2 threads give the same factors, and a new seed does not`, async () => {
      const params: AlsParams = { factors: 24, iterations: 3, solver, seed: 11 };
      const one = await ALS.fit(train, { ...params, threads: 1 });
      const two = await ALS.fit(train, { ...params, threads: 2 });
      expect(bytes(one.userFactors()).equals(bytes(two.userFactors()))).toBe(true);
      expect(bytes(one.itemFactors()).equals(bytes(two.itemFactors()))).toBe(true);
      const other = await ALS.fit(train, { ...params, threads: 2, seed: 12 });
      expect(bytes(other.userFactors()).equals(bytes(two.userFactors()))).toBe(false);
    });
  }

  it('cgPrecision: float16 reads (default) and float32 reads are each reproducible and rank alike', async () => {
    const params: AlsParams = { factors: 24, iterations: 3, seed: 11 };
    const mixed = await ALS.fit(train, { ...params, threads: 2 });
    const single = await ALS.fit(train, { ...params, cgPrecision: 'single', threads: 1 });
    const single2 = await ALS.fit(train, { ...params, cgPrecision: 'single', threads: 2 });
    expect(bytes(single.itemFactors()).equals(bytes(single2.itemFactors()))).toBe(true);
    // The rounding changes the factors, not what they rank.
    expect(bytes(single.itemFactors()).equals(bytes(mixed.itemFactors()))).toBe(false);
    let same = 0;
    const users = 100;
    for (let u = 0; u < users; u++) {
      const a = new Set(mixed.recommend(u, { k: 10 }).ids);
      same += [...single.recommend(u, { k: 10 }).ids].filter((i) => a.has(i)).length;
    }
    expect(same / (10 * users)).toBeGreaterThan(0.95);
    expect(() => ALS.fitSync(train, { ...params, cgPrecision: 'half' as never })).toThrow(/cgPrecision: must be one of "mixed", "single" \(got "half"\)/);
  });
});
