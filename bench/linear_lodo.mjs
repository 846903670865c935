#!/usr/bin/env node
// Leave-one-dataset-out check of the svd and ease defaults: for each held-out dataset, the
// value with the best mean validation NDCG@10 on the other two (each normalised by that
// dataset's best) is compared, on the held-out dataset's test split, with the value tuned on
// its own validation. Uses the splits `node bench/linear_tune.mjs` carved
// (bench/.data/runs/linear-tune/<name>/{fit,valid}, bench/.data/<name>/{train,test}); run it first.
//   node bench/linear_lodo.mjs [--svd-factors 8,16,32,64] [--ease-lambda 50,200,500,1000] [--skip-ease-on lastfm-2k]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EASE, SVD } from '../dist/index.js';
import { native } from '../dist/native.js';
import { readNpy } from '../dist/artifacts/npy.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    'svd-factors': { type: 'string', default: '8,16,32,64' },
    'ease-lambda': { type: 'string', default: '50,200,500,1000' },
    // EASE on lastfm-2k (17,632 items) takes about 2 min a fit on one thread: fit only the
    // value the other two choose there, and the value its own validation chose (linear_tune).
    'ease-own-best': { type: 'string', default: 'lastfm-2k=50' },
    threads: { type: 'string', default: '2' },
  },
});
const DATASETS = ['ml-100k', 'ml-latest-small', 'lastfm-2k'];
const threads = Number(o.threads);
const log = (m) => process.stderr.write(`[lodo] ${m}\n`);
const list = (s) => s.split(',').map(Number);
const ownBest = Object.fromEntries(o['ease-own-best'].split(',').filter(Boolean).map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]));

async function load(dir) {
  const shape = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8'));
  const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(dir, `${n}.npy`))));
  return native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
}
const splits = {};
for (const d of DATASETS) {
  const [fit, valid, train, test] = await Promise.all([
    join(BENCH, '.data', 'runs', 'linear-tune', d, 'fit'),
    join(BENCH, '.data', 'runs', 'linear-tune', d, 'valid'),
    join(BENCH, '.data', d, 'train'),
    join(BENCH, '.data', d, 'test'),
  ].map(load));
  splits[d] = { fit, valid, train, test };
}
const ndcg = async (m, a, b) => (await m.evaluate(a, b, { k: 10 })).metrics['ndcg@10'];
const MODELS = {
  svd: { key: 'factors', values: list(o['svd-factors']), fit: (m, v) => SVD.fitSync(m, { factors: v, seed: 42, threads }) },
  ease: { key: 'lambda', values: list(o['ease-lambda']), fit: (m, v) => EASE.fitSync(m, { lambda: v, threads }) },
};
const out = { command: `node bench/linear_lodo.mjs ${process.argv.slice(2).join(' ')}`.trim(), models: {} };
for (const [type, spec] of Object.entries(MODELS)) {
  const valid = {};
  const test = {};
  const heavy = (d) => type === 'ease' && ownBest[d] !== undefined;
  for (const d of DATASETS) {
    if (heavy(d)) continue;
    valid[d] = {};
    for (const v of spec.values) {
      valid[d][v] = await ndcg(spec.fit(splits[d].fit, v), splits[d].fit, splits[d].valid);
      log(`${type} ${d} ${spec.key}=${v}: valid ${valid[d][v].toFixed(4)}`);
    }
  }
  const rows = [];
  for (const held of DATASETS) {
    const others = DATASETS.filter((d) => d !== held && valid[d]);
    // Mean of each dataset's validation NDCG relative to its best, so no dataset dominates.
    const rel = (d, v) => valid[d][v] / Math.max(...Object.values(valid[d]));
    const chosen = spec.values.reduce((b, v) => (others.reduce((s, d) => s + rel(d, v), 0) > others.reduce((s, d) => s + rel(d, b), 0) ? v : b));
    const own = heavy(held) ? ownBest[held] : spec.values.reduce((b, v) => (valid[held][v] > valid[held][b] ? v : b));
    test[held] ??= {};
    for (const v of new Set([chosen, own])) {
      test[held][v] = await ndcg(spec.fit(splits[held].train, v), splits[held].train, splits[held].test);
      log(`${type} ${held} ${spec.key}=${v}: test ${test[held][v].toFixed(4)}`);
    }
    rows.push({ held_out: held, chosen_on_others: chosen, own_validation_best: own, test_chosen: test[held][chosen], test_own: test[held][own], ratio: test[held][chosen] / test[held][own] });
  }
  out.models[type] = { key: spec.key, valid, rows };
}
const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
mkdirSync(join(BENCH, 'results'), { recursive: true });
writeFileSync(join(BENCH, 'results', `linear-lodo-${id}.json`), JSON.stringify(out, null, 1));
const lines = ['| model | held-out dataset | value chosen on the other two | its own validation best | test NDCG@10 (chosen / own) | ratio |', '| --- | --- | --- | --- | --- | --- |'];
for (const [type, m] of Object.entries(out.models)) {
  for (const r of m.rows) lines.push(`| ${type} | ${r.held_out} | ${m.key} ${r.chosen_on_others} | ${m.key} ${r.own_validation_best} | ${r.test_chosen.toFixed(4)} / ${r.test_own.toFixed(4)} | ${r.ratio.toFixed(3)} |`);
}
process.stdout.write(`Reproduce: \`${out.command}\` (run ${id})\n\n${lines.join('\n')}\n`);
