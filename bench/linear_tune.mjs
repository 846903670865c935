#!/usr/bin/env node
// Validation-tuned test NDCG@10 of EASE and PureSVD beside ALS and popularity on the real
// datasets (the bench's 80/20 random split per user, bench/.data/<name>):
//   node bench/linear_tune.mjs [--datasets ml-100k,ml-latest-small,lastfm-2k] [--threads 2]
// 12.5 % of train is carved out as validation (bench/python/carve_valid.py); every config of
// each model's grid is fitted on the rest and scored on validation by the core's evaluator
// (NDCG@10, fit items filtered); each model's best config is refitted on the whole train
// split and scored on test (train items filtered). Writes bench/results/linear-tune-<id>.json
// and prints a markdown table.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ALS, EASE, Popularity, SVD } from '../dist/index.js';
import { native } from '../dist/native.js';
import { readNpy } from '../dist/artifacts/npy.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const PY = join(BENCH, '.venv', 'bin', 'python');
const { values: o } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
    threads: { type: 'string', default: '2' },
    'svd-factors': { type: 'string', default: '8,16,32,64,128,256' },
    'ease-lambda': { type: 'string', default: '20,50,100,200,500,1000' },
    'als-factors': { type: 'string', default: '64,128' },
    'als-regularization': { type: 'string', default: '10,50,100' },
    'als-alpha': { type: 'string', default: '5,20' },
  },
});
const list = (s) => s.split(',').map(Number);
const threads = Number(o.threads);
const log = (m) => process.stderr.write(`[linear tune] ${m}\n`);
const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
const out = { id, command: `node bench/linear_tune.mjs ${process.argv.slice(2).join(' ')}`.trim(), grid: o, datasets: {} };

async function load(dir) {
  const shape = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8'));
  const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(dir, `${n}.npy`))));
  return native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
}

const FIT = {
  popularity: (m) => Popularity.fit(m),
  als: (m, p) => ALS.fitSync(m, { ...p, iterations: 15, seed: 42, threads }),
  svd: (m, p) => SVD.fitSync(m, { ...p, seed: 42, threads }),
  ease: (m, p) => EASE.fitSync(m, { ...p, threads }),
};

for (const name of o.datasets.split(',')) {
  const data = join(BENCH, '.data', name);
  const dir = join(BENCH, '.data', 'runs', 'linear-tune', name);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(PY, [join(BENCH, 'python', 'carve_valid.py'), '--train', join(data, 'train'), '--out', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const [fit, valid, train, test] = await Promise.all([join(dir, 'fit'), join(dir, 'valid'), join(data, 'train'), join(data, 'test')].map(load));
  const small = Math.min(fit.nRows, fit.nCols);
  const grids = {
    popularity: [{}],
    als: list(o['als-factors']).flatMap((factors) => list(o['als-regularization']).flatMap((regularization) => list(o['als-alpha']).map((alpha) => ({ factors, regularization, alpha })))),
    svd: list(o['svd-factors']).filter((f) => f < small).map((factors) => ({ factors })),
    ease: list(o['ease-lambda']).map((lambda) => ({ lambda })),
  };
  const best = {};
  for (const [type, grid] of Object.entries(grids)) {
    for (const p of grid) {
      const t = performance.now();
      const m = FIT[type](fit, p);
      const seconds = (performance.now() - t) / 1000;
      const v = (await m.evaluate(fit, valid, { k: 10 })).metrics['ndcg@10'];
      log(`${name} ${type} ${JSON.stringify(p)}: valid ${v.toFixed(4)} (${seconds.toFixed(2)} s)`);
      if (!best[type] || v > best[type].valid) best[type] = { params: p, valid: v, fit_seconds: seconds };
    }
    const b = best[type];
    const t = performance.now();
    const m = FIT[type](train, b.params);
    b.train_seconds = (performance.now() - t) / 1000;
    b.test = (await m.evaluate(train, test, { k: 10 })).metrics['ndcg@10'];
    if (type === 'svd') b.explained_variance = m.explainedVarianceRatio().reduce((x, y) => x + y, 0);
  }
  out.datasets[name] = { users: train.nRows, items: train.nCols, best };
  log(`${name}: ${Object.entries(best).map(([k, b]) => `${k} test ${b.test.toFixed(4)}`).join(', ')}`);
}
mkdirSync(join(BENCH, 'results'), { recursive: true });
writeFileSync(join(BENCH, 'results', `linear-tune-${id}.json`), JSON.stringify(out, null, 1));
const lines = ['| dataset | model | best params (validation) | valid NDCG@10 | test NDCG@10 | fit s (train) |', '| --- | --- | --- | --- | --- | --- |'];
for (const [name, d] of Object.entries(out.datasets)) {
  for (const [k, b] of Object.entries(d.best)) {
    const p = Object.entries(b.params).map(([x, y]) => `${x} ${y}`).join(', ') || '—';
    lines.push(`| ${name} | ${k} | ${p} | ${b.valid.toFixed(4)} | ${b.test.toFixed(4)} | ${b.train_seconds.toFixed(2)} |`);
  }
}
process.stdout.write(`Reproduce: \`${out.command}\` (run ${id}, ${threads} threads)\n\n${lines.join('\n')}\n`);
