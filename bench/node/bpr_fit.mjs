#!/usr/bin/env node
// cf-native side of the BPR benchmark: fit on a CSR matrix from .npy files (the same files
// bench/python/implicit_bpr.py reads), time each epoch, save the factors and result.json.
//
//   node bench/node/bpr_fit.mjs --matrix DIR --out OUTDIR --params '{"factors":64,...}'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BPR } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { readNpy, writeNpy } from '../../dist/artifacts/npy.js';

const { values: a } = parseArgs({ options: { matrix: { type: 'string' }, out: { type: 'string' }, params: { type: 'string', default: '{}' } } });
if (!a.matrix || !a.out) {
  console.error('usage: bpr_fit.mjs --matrix DIR --out OUTDIR --params JSON');
  process.exit(2);
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const shape = JSON.parse(readFileSync(join(a.matrix, 'shape.json'), 'utf8'));
const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(a.matrix, `${n}.npy`))));
const train = native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
const params = JSON.parse(a.params);
const t0 = performance.now();
const m = BPR.fitSync(train, params);
const wall = (performance.now() - t0) / 1000;
const curve = m.learningCurve();
mkdirSync(a.out, { recursive: true });
const d = m.width;
await writeNpy(join(a.out, 'user_factors.npy'), m.userFactors(), [m.nUsers, d]);
await writeNpy(join(a.out, 'item_factors.npy'), m.itemFactors(), [m.nItems, d]);
const samples = curve.reduce((s, e) => s + e.samples, 0);
const seconds = curve.reduce((s, e) => s + e.seconds, 0);
const result = {
  engine: 'cf-native',
  params: m.params,
  wall_seconds: wall,
  epochs: curve.length,
  seconds_per_epoch_median: median(curve.map((e) => e.seconds)),
  samples_per_second: samples / seconds,
  samples_per_second_median: median(curve.map((e) => e.samples / e.seconds)),
  curve: curve.map((e) => ({ epoch: e.epoch, seconds: e.seconds, samples: e.samples, loss: e.loss, auc: e.auc, negatives: e.negatives, skipped_users: e.skippedUsers })),
};
writeFileSync(join(a.out, 'result.json'), JSON.stringify(result, null, 1));
process.stderr.write(`[bpr_fit] ${curve.length} epochs, ${(result.samples_per_second_median / 1e6).toFixed(2)} M samples/s (median epoch ${result.seconds_per_epoch_median.toFixed(3)} s)\n`);
