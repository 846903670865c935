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
});
