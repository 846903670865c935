#!/usr/bin/env node
// cf-native side of the kNN benchmark: fit item-kNN on a CSR matrix from .npy files (timed
// around the fit alone), then top-k lists for the evaluated users (timed, one batch call on
// every thread). Writes users.npy (the users, shared with the implicit side), lists.npy
// (int32 users x k, -1 where a list is short) and result.json; prints the result on stdout.
//
//   node bench/node/knn_fit.mjs --matrix DIR --test DIR --out OUTDIR --params '{"k":100}'
//        [--max-users N] [--topk 10]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KNN } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { readNpy, writeNpy } from '../../dist/artifacts/npy.js';

const { values: a } = parseArgs({
  options: {
    matrix: { type: 'string' },
    test: { type: 'string' },
    out: { type: 'string' },
    params: { type: 'string', default: '{}' },
    'max-users': { type: 'string', default: '0' },
    topk: { type: 'string', default: '10' },
  },
});

async function csr(dir) {
  const shape = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8'));
  const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(dir, `${n}.npy`))));
  return { shape, indptr: indptr.data, indices: indices.data, data: data.data };
}

const tr = await csr(a.matrix);
const te = await csr(a.test);
const train = native().Matrix.fromCsr(tr.indptr, tr.indices, tr.data, tr.shape.rows, tr.shape.cols);
// Users with a train and a test item; an even stride through them when capped.
const eligible = [];
for (let u = 0; u < tr.shape.rows; u++) {
  if (tr.indptr[u + 1] > tr.indptr[u] && u + 1 < te.indptr.length && te.indptr[u + 1] > te.indptr[u]) eligible.push(u);
}
const max = Number(a['max-users']);
const users = max > 0 && eligible.length > max ? Uint32Array.from({ length: max }, (_, j) => eligible[Math.floor((j * eligible.length) / max)]) : Uint32Array.from(eligible);

const t0 = performance.now();
const m = KNN.fitSync(train, JSON.parse(a.params));
const fit = (performance.now() - t0) / 1000;
const k = Number(a.topk);
const t1 = performance.now();
const lists = await m.recommendAsync(users, { k });
const rec = (performance.now() - t1) / 1000;
const ids = new Int32Array(users.length * k).fill(-1);
for (let j = 0; j < lists.ids.length; j++) if (lists.ids[j] !== 0xffffffff) ids[j] = lists.ids[j];
mkdirSync(a.out, { recursive: true });
await writeNpy(join(a.out, 'users.npy'), new Int32Array(users), [users.length]);
await writeNpy(join(a.out, 'lists.npy'), ids, [users.length, k]);
const nnz = m.neighbours().indices.length;
const result = { engine: 'cf-native', params: m.params, fit_seconds: fit, recommend_seconds: rec, users: users.length, users_per_second: users.length / rec, neighbour_entries: nnz };
writeFileSync(join(a.out, 'result.json'), JSON.stringify(result, null, 1));
process.stdout.write(`${JSON.stringify(result)}\n`);
