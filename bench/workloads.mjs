// The ALS benchmark's workloads: which matrix, which factors/solver, how many iterations.
// Synthetic shapes are the anchors of shared/research/anchors-performance.md §1.7 (where implicit
// 0.7.3 was measured on a 2-core machine); the real datasets are those of §4.5.
import { resolve } from 'node:path';

/** Power law of §1.7: user weight ~ rank^-0.6, item weight ~ rank^-0.9, value 1 + log1p(count). */
const powerLaw = { kind: 'synthetic', user_exponent: 0.6, item_exponent: 0.9 };

/** Matrices, keyed by the name of their folder in bench/.data/. */
export function dataSpecs(dataDir) {
  return {
    ml20m: { ...powerLaw, users: 136_677, items: 20_108, train_nnz: 9_851_985 },
    lastfm360k: { ...powerLaw, users: 358_868, items: 292_385, train_nnz: 19_179_911 },
    // Positives = rating >= 4, binary values.
    'ml-100k': { kind: 'movielens', path: resolve(dataDir, 'ml-100k/u.data'), delimiter: 'tab', header: false, positive_threshold: 4 },
    'ml-latest-small': { kind: 'movielens', path: resolve(dataDir, 'ml-latest-small/ratings.csv'), delimiter: 'comma', header: true, positive_threshold: 4 },
    // Every (user, artist) play row is a positive, binary values (play counts are not used).
    'lastfm-2k': { kind: 'lastfm', path: resolve(dataDir, 'lastfm-2k/user_artists.dat') },
  };
}

/**
 * `anchor`: implicit's s/iter on the 2-core machine from §1.7, to check that our implicit run
 * lands near it. `evalUsers`: a seeded user sample for quality on the big shapes (random data,
 * so quality there is a sanity check only); 0 = all users.
 */
export const WORKLOADS = {
  'ml20m-64': { data: 'ml20m', factors: 64, solver: 'cg', synthetic: true, anchor: 3.24, evalUsers: 20_000 },
  'ml20m-128': { data: 'ml20m', factors: 128, solver: 'cg', synthetic: true, anchor: 3.97, evalUsers: 20_000 },
  'ml20m-chol': { data: 'ml20m', factors: 64, solver: 'cholesky', synthetic: true, anchor: 11.88, evalUsers: 20_000 },
  'lastfm360k-64': { data: 'lastfm360k', factors: 64, solver: 'cg', synthetic: true, anchor: 7.9, evalUsers: 10_000 },
  'ml-100k': { data: 'ml-100k', factors: 64, solver: 'cg', synthetic: false, anchor: null, evalUsers: 0 },
  'ml-latest-small': { data: 'ml-latest-small', factors: 64, solver: 'cg', synthetic: false, anchor: null, evalUsers: 0 },
  'lastfm-2k': { data: 'lastfm-2k', factors: 64, solver: 'cg', synthetic: false, anchor: null, evalUsers: 0 },
};

/**
 * Shared hyperparameters (both engines, every workload). reg 100 / alpha 20 came out best or
 * near best on a validation split (carved from train) of all three real datasets in a small grid
 * (64 factors; reg 0.05..100 x alpha 5, 20) for implicit with confidence 1 + alpha*r, matching
 * §4.5's finding; they do not change the cost of an iteration.
 */
export const HYPER = { regularization: 100, alpha: 20, cgSteps: 3, seed: 42, testFraction: 0.2 };

/** Iterations: medians of a few for timing the big shapes; a full fit where quality is the point. */
export const ITERATIONS = { synthetic: 5, real: 15, quickSynthetic: 3 };

/** --quick: every synthetic dimension and the nnz divided by this. */
export const QUICK_SCALE = 10;

export function dataSpecFor(name, dataDir, quick) {
  const spec = { ...dataSpecs(dataDir)[name], seed: HYPER.seed, test_fraction: HYPER.testFraction };
  if (quick && spec.kind === 'synthetic') {
    for (const k of ['users', 'items', 'train_nnz']) spec[k] = Math.round(spec[k] / QUICK_SCALE);
  }
  return spec;
}
