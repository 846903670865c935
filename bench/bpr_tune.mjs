#!/usr/bin/env node
// Validation-tuned quality of cf-native BPR and implicit BPR on the real datasets:
//   node bench/bpr_tune.mjs [--datasets ml-100k,ml-latest-small,lastfm-2k] [--threads 2]
// For each dataset (the bench's 80/20 train/test split, bench/.data/<name>): 12.5 % of train is
// carved out as validation; every config of the same grid (learning rate x regularization x
// epochs; cf-native also x sampler) is fitted on the rest and scored on validation by
// bench/python/evaluate.py; each engine's best config is refitted on the same fit split and
// scored on test by the same evaluator (train and validation items filtered). Writes
// bench/results/bpr-tune-<id>.json and prints a table.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = dirname(fileURLToPath(import.meta.url));
const PY = join(BENCH, '.venv', 'bin', 'python');
const { values: o } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
    threads: { type: 'string', default: '2' },
    lr: { type: 'string', default: '0.01,0.05,0.1' },
    reg: { type: 'string', default: '0.001,0.01,0.05' },
    epochs: { type: 'string', default: '50,100,200' },
    samplers: { type: 'string', default: 'uniform,dns' },
    engines: { type: 'string', default: 'cf-native,implicit' },
  },
});
const list = (s) => s.split(',').map((x) => x.trim());
const env = { ...process.env, OMP_NUM_THREADS: o.threads, CF_NATIVE_NUM_THREADS: o.threads, OPENBLAS_NUM_THREADS: '1' };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const log = (m) => process.stderr.write(`[bpr tune] ${m}\n`);
const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
const out = { id, command: `node bench/bpr_tune.mjs ${process.argv.slice(2).join(' ')}`.trim(), grid: o, datasets: {} };

for (const name of list(o.datasets)) {
  const data = join(BENCH, '.data', name);
  const dir = join(BENCH, '.data', 'runs', 'bpr-tune', name);
  mkdirSync(dir, { recursive: true });
  run(PY, [join(BENCH, 'python', 'carve_valid.py'), '--train', join(data, 'train'), '--out', dir]);
  const fit = join(dir, 'fit');
  const configs = [];
  for (const lr of list(o.lr)) for (const reg of list(o.reg)) for (const ep of list(o.epochs)) {
    if (list(o.engines).includes('implicit')) configs.push({ engine: 'implicit', lr: Number(lr), reg: Number(reg), epochs: Number(ep) });
    if (list(o.engines).includes('cf-native')) for (const s of list(o.samplers)) configs.push({ engine: 'cf-native', sampler: s, lr: Number(lr), reg: Number(reg), epochs: Number(ep) });
  }
  const fitOne = (c, matrix, dest) => {
    if (c.engine === 'implicit') {
      run(PY, [join(BENCH, 'python', 'implicit_bpr.py'), '--matrix', matrix, '--out', dest, '--factors', '64', '--learning-rate', String(c.lr),
        '--regularization', String(c.reg), '--epochs', String(c.epochs), '--threads', o.threads, '--seed', '42']);
    } else {
      run(process.execPath, [join(BENCH, 'node', 'bpr_fit.mjs'), '--matrix', matrix, '--out', dest, '--params',
        JSON.stringify({ factors: 64, learningRate: c.lr, regularization: c.reg, epochs: c.epochs, sampler: c.sampler, seed: 42, threads: Number(o.threads) })]);
    }
  };
  const label = (c) => `${c.engine}${c.sampler ? `-${c.sampler}` : ''}_lr${c.lr}_reg${c.reg}_ep${c.epochs}`;
  const engines = [];
  configs.forEach((c) => {
    fitOne(c, fit, join(dir, label(c)));
    engines.push('--engine', `${label(c)}=${join(dir, label(c))}`);
  });
  const valid = JSON.parse(run(PY, [join(BENCH, 'python', 'evaluate.py'), '--train', fit, '--test', join(dir, 'valid'), ...engines, '--k', '10'])).engines;
  const best = {};
  for (const c of configs) {
    const key = c.engine === 'implicit' ? 'implicit' : `cf-native-${c.sampler}`;
    const v = valid[label(c)]['ndcg@10'];
    if (!best[key] || v > best[key].valid) best[key] = { ...c, valid: v };
  }
  // Test: train (= fit + valid) items filtered, the best configs as fitted on the fit split.
  const testEngines = Object.values(best).flatMap((c) => ['--engine', `${label(c)}=${join(dir, label(c))}`]);
  const test = JSON.parse(run(PY, [join(BENCH, 'python', 'evaluate.py'), '--train', join(data, 'train'), '--test', join(data, 'test'), ...testEngines, '--k', '10'])).engines;
  for (const c of Object.values(best)) c.test = test[label(c)]['ndcg@10'];
  out.datasets[name] = { best, valid_all: valid };
  log(`${name}: ${Object.entries(best).map(([k, c]) => `${k} valid ${c.valid.toFixed(4)} test ${c.test.toFixed(4)} (lr ${c.lr}, reg ${c.reg}, ${c.epochs} ep)`).join('; ')}`);
}
mkdirSync(join(BENCH, 'results'), { recursive: true });
writeFileSync(join(BENCH, 'results', `bpr-tune-${id}.json`), JSON.stringify(out, null, 1));
const lines = ['| dataset | engine | lr | reg | epochs | valid NDCG@10 | test NDCG@10 | test vs implicit |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
for (const [name, d] of Object.entries(out.datasets)) {
  for (const [k, c] of Object.entries(d.best)) {
    const vs = d.best.implicit ? `${(c.test / d.best.implicit.test).toFixed(3)}x` : '—';
    lines.push(`| ${name} | ${k} | ${c.lr} | ${c.reg} | ${c.epochs} | ${c.valid.toFixed(4)} | ${c.test.toFixed(4)} | ${vs} |`);
  }
}
process.stdout.write(`Reproduce: \`${out.command}\` (run ${id})\n\n${lines.join('\n')}\n`);
