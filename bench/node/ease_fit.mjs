#!/usr/bin/env node
// cf-native side of the EASE benchmark: fit on a CSR matrix from .npy files, timed around the
// fit alone; writes the first `--rows` rows of B (float32) and result.json.
//
//   node bench/node/ease_fit.mjs --matrix DIR --out OUTDIR --params '{"lambda":500}' [--rows 64]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EASE } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { readNpy, writeNpy } from '../../dist/artifacts/npy.js';

const { values: a } = parseArgs({
  options: { matrix: { type: 'string' }, out: { type: 'string' }, params: { type: 'string', default: '{}' }, rows: { type: 'string', default: '64' } },
});
const shape = JSON.parse(readFileSync(join(a.matrix, 'shape.json'), 'utf8'));
const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(a.matrix, `${n}.npy`))));
const train = native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
const t0 = performance.now();
const m = EASE.fitSync(train, JSON.parse(a.params));
const wall = (performance.now() - t0) / 1000;
const n = m.nItems;
const rows = Math.min(Number(a.rows), n);
mkdirSync(a.out, { recursive: true });
await writeNpy(join(a.out, 'b_rows.npy'), m.weights().slice(0, rows * n), [rows, n]);
writeFileSync(join(a.out, 'result.json'), JSON.stringify({ engine: 'cf-native', params: m.params, wall_seconds: wall }, null, 1));
process.stdout.write(`${wall.toFixed(3)}\n`);
