#!/usr/bin/env node
// cf-native side of the top-K benchmark: one process, one workload. Loads the factors and the
// seen matrix that bench/python/implicit_topk.py also reads, warms up, times batch and single
// recommend and similarItems, and prints one JSON object on stdout.
//
//   node bench/node/topk.mjs --data SHAPE_DIR --factors-dir DIR --threads 2 [--k 10]
//        [--reps 3] [--singles 300] [--agreement 100]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALS, matrixFromCoo } from '../../dist/index.js';
import { readNpy } from '../../dist/artifacts/npy.js';
import { timeBatch, timeSingles } from '../lib/timing.mjs';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    'factors-dir': { type: 'string' },
    threads: { type: 'string', default: '2' },
    k: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    singles: { type: 'string', default: '300' },
    agreement: { type: 'string', default: '100' },
  },
});
if (!a.data || !a['factors-dir']) {
  console.error('usage: topk.mjs --data SHAPE_DIR --factors-dir DIR --threads N');
  process.exit(2);
}
const k = Number(a.k);
const reps = Number(a.reps);
const threads = Number(a.threads);
const load = (dir, name) => readNpy(join(dir, `${name}.npy`));

const t0 = performance.now();
const [uf, itf] = await Promise.all([load(a['factors-dir'], 'user_factors'), load(a['factors-dir'], 'item_factors')]);
const [indptr, indices, qUsers, qItems] = await Promise.all(
  ['seen_indptr', 'seen_indices', 'query_users', 'query_items'].map((n) => load(a.data, n)),
);
const [nUsers, f] = uf.shape;
const nItems = itf.shape[0];
const model = ALS.fromFactors({ factors: f, threads }, uf.data, itf.data);
// The seen matrix from its CSR arrays, through the public COO constructor: row ids expanded.
const rowOf = new Uint32Array(indices.data.length);
for (let r = 0; r < nUsers; r++) rowOf.fill(r, indptr.data[r], indptr.data[r + 1]);
model.train = matrixFromCoo(rowOf, indices.data, nUsers, nItems);
const users = qUsers.data;
const items = qItems.data;
const loadSeconds = (performance.now() - t0) / 1000;

// Warm-up: the first call packs the item factors (once per model) and faults pages in.
model.recommend(users.subarray(0, Math.min(users.length, 1000)), { k });
model.similarItems(items.subarray(0, Math.min(items.length, 200)), { k, measure: 'cosine' });
for (let i = 0; i < 20; i++) model.recommend(users[i % users.length], { k });

const singles = Math.min(Number(a.singles), users.length, items.length);
let recLists = null;
let simLists = null;
const recommendBatch = timeBatch(reps, () => (recLists = model.recommend(users, { k })));
const recommendSingle = timeSingles(singles, (i) => model.recommend(users[i], { k }));
const similarBatch = timeBatch(reps, () => (simLists = model.similarItems(items, { k, measure: 'cosine' })));
const similarSingle = timeSingles(singles, (i) => model.similarItems(items[i], { k, measure: 'cosine' }));

// The first lists of each, for the agreement check against implicit (bench/topk.mjs).
const head = (lists, n) => Array.from({ length: Math.min(n, lists.rows) }, (_, r) => Array.from(lists.ids.subarray(r * lists.k, (r + 1) * lists.k)));
const n = Number(a.agreement);
const out = {
  engine: 'cf-native',
  threads,
  users: nUsers,
  items: nItems,
  factors: f,
  k,
  seen_nnz: indices.data.length,
  load_seconds: loadSeconds,
  recommend_batch: { queries: users.length, ...recommendBatch, per_second: users.length / recommendBatch.median_seconds },
  recommend_single: { calls: singles, ...recommendSingle },
  similar_batch: { queries: items.length, ...similarBatch, per_second: items.length / similarBatch.median_seconds },
  similar_single: { calls: singles, ...similarSingle },
  recommend_head: head(recLists, n),
  similar_head: head(simLists, n),
  similar_head_queries: Array.from(items.subarray(0, Math.min(n, items.length))),
  addon: process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? null,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
