#!/usr/bin/env node
// cf-native side of the SVD benchmark: a truncated SVD of a CSR matrix from .npy files (the
// files bench/python/svd_bench.py reads), timed around the fit alone; writes the float64
// singular values, V (items x k, float32 as the model holds it) and result.json.
//
//   node bench/node/svd_fit.mjs --matrix DIR --out OUTDIR --params '{"factors":64,...}'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SVD } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { readNpy, writeNpy } from '../../dist/artifacts/npy.js';

const { values: a } = parseArgs({ options: { matrix: { type: 'string' }, out: { type: 'string' }, params: { type: 'string', default: '{}' } } });
if (!a.matrix || !a.out) {
  console.error('usage: svd_fit.mjs --matrix DIR --out OUTDIR --params JSON');
  process.exit(2);
}
const shape = JSON.parse(readFileSync(join(a.matrix, 'shape.json'), 'utf8'));
const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(a.matrix, `${n}.npy`))));
const train = native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
const params = JSON.parse(a.params);
const t0 = performance.now();
const m = SVD.fitSync(train, params);
const wall = (performance.now() - t0) / 1000;
const info = m.info();
mkdirSync(a.out, { recursive: true });
const k = info.factors;
const items = m.itemFactors();
const v = new Float32Array(m.nItems * k);
for (let j = 0; j < m.nItems; j++) v.set(items.subarray(j * info.width, j * info.width + k), j * k);
await writeNpy(join(a.out, 'v.npy'), v, [m.nItems, k]);
writeFileSync(
  join(a.out, 'result.json'),
  JSON.stringify({ engine: 'cf-native', params: m.params, wall_seconds: wall, solver_seconds: info.seconds, restarts: info.restarts, products: info.products, singular_values: info.singularValues }, null, 1),
);
process.stdout.write(`${wall.toFixed(3)}\n`);
