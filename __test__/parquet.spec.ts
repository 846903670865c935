import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_RATINGS, isCfError, loadDataset, parseConfig, splitDataset, type Dataset } from '../src/index.js';
import { loadOptionsFromConfig, splitOptionsFromConfig } from '../src/data.js';
import type { Matrix } from '../src/models/types.js';

// ml-latest-small's ratings as pyarrow writes them by default (scripts/make-parquet-fixtures.py).
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const PARQUET = fixture('ml-latest-small-ratings.parquet');

function config(path: string) {
  return parseConfig(
    `data:
  path: ${JSON.stringify(path)}
  columns: { user: userId, item: movieId, rating: rating, time: timestamp }
  positive_threshold: 3.5
  values: rating
  min_user_interactions: 3
split:
  strategy: leave-last-out
models:
  - type: als
`,
    'parquet.yaml',
  );
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameMatrix(a: Matrix | null, b: Matrix | null) {
  expect(a).not.toBeNull();
  expect([a!.nRows, a!.nCols, a!.nnz]).toEqual([b!.nRows, b!.nCols, b!.nnz]);
  expect(bytes(a!.indptr()).equals(bytes(b!.indptr()))).toBe(true);
  expect(bytes(a!.indices()).equals(bytes(b!.indices()))).toBe(true);
  expect(bytes(a!.values()).equals(bytes(b!.values()))).toBe(true);
}

function expectSameDataset(a: Dataset, b: Dataset) {
  expect(a.stats).toEqual(b.stats);
  expect(a.userIds()).toEqual(b.userIds());
  expect(a.itemIds()).toEqual(b.itemIds());
}

describe('Parquet input', () => {
  it('a config on the Parquet copy of the embedded dataset gives the CSV dataset, ids, matrices and values', () => {
    const [fromCsv, fromParquet] = [EMBEDDED_RATINGS, PARQUET].map((p) => {
      const c = config(p);
      const ds = loadDataset(loadOptionsFromConfig(c.data));
      return { ds, splits: splitDataset(ds, splitOptionsFromConfig(c.split, false)) };
    });
    expectSameDataset(fromParquet!.ds, fromCsv!.ds);
    expect(fromParquet!.ds.stats.rowsRead).toBe(100836);
    // leave-last-out orders by time, so equal splits also mean equal timestamps.
    for (const part of ['train', 'valid', 'test'] as const) expectSameMatrix(fromParquet!.splits[part], fromCsv!.splits[part]);
  });

  it('defaults (columns 0-3, no options) read the same as for the CSV', () => {
    expectSameDataset(loadDataset(PARQUET), loadDataset(EMBEDDED_RATINGS));
  });

  it('errors are coded and name the file and the columns there are', () => {
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(isCfError(err, 'ERR_CF_DATA')).toBe(true);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(message(() => loadDataset({ path: PARQUET, user: 'user', item: 'movieId' }))).toBe(
      `${PARQUET}: no column named "user" for the user (the file has: userId, movieId, rating, timestamp)`,
    );
    expect(message(() => loadDataset(fixture('ratings-head-zstd.parquet')))).toContain('is compressed with ZSTD');
  });
});
