// evaluate() on a fitted ALS, this checkout's addon against another .node file, in alternating
// child processes (the other one loaded through NAPI_RS_NATIVE_LIBRARY_PATH):
//
//   node bench/node/evaluate_speed.mjs OTHER.node [--rounds 3] [--auc] [--only ml-latest-small,lastfm-2k]
//
// Datasets: the bench's prepared splits (bench/.data/<name>/{train,test}: ml-latest-small and
// lastfm-2k from `npm run bench -- tune`, ml20m from `npm run bench -- als --workloads ml20m-64`);
// those missing are skipped. Each child fits ALS (alpha 10, regularization 50, 15 iterations,
// 2 threads) on train and times 5 calls of evaluate(train, test, { k: 10, auc }) (auc false unless
// --auc); the
// median is reported, then the median over rounds, and whether NDCG@10 is the same everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DATA = join(ROOT, 'bench', '.data');
const { values: o, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, auc: { type: 'boolean', default: false }, only: { type: 'string' }, child: { type: 'boolean', default: false } }, allowPositionals: true });

if (o.child) {
  const api = await import(join(ROOT, 'dist', 'index.js'));
  const { readCsr } = await import(join(ROOT, 'bench', 'lib', 'splits.mjs'));
  const [name, factors] = positionals;
  const matrix = async (part) => {
    const c = await readCsr(ROOT, join(DATA, name, part));
    const rows = new Uint32Array(c.indices.length);
    for (let u = 0; u < c.rows; u++) rows.fill(u, Number(c.indptr[u]), Number(c.indptr[u + 1]));
    return api.matrixFromCoo(rows, Uint32Array.from(c.indices, Number), c.rows, c.cols);
  };
  const [train, test] = [await matrix('train'), await matrix('test')];
  const m = await api.ALS.fit(train, { factors: Number(factors), alpha: 10, regularization: 50, iterations: 15, seed: 1, threads: 2 });
  const ms = [];
  let v;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    v = await m.evaluate(train, test, { k: [10], auc: o.auc });
    ms.push(performance.now() - t);
  }
  console.log(JSON.stringify({ ms: ms.sort((a, b) => a - b)[2], ndcg: v.metrics['ndcg@10'], auc: v.metrics.auc ?? null, users: v.usersEvaluated }));
  process.exit(0);
}

const other = positionals[0] && resolve(positionals[0]);
if (!other || !existsSync(other)) throw new Error('usage: node bench/node/evaluate_speed.mjs OTHER.node [--rounds N] [--auc]');
const median = (xs) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
console.log(`| data | factors | users | evaluate${o.auc ? ' with AUC' : ''} ms, this build | other build | ratio | NDCG@10${o.auc ? ' and AUC' : ''} identical |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [name, f] of [['ml-latest-small', 64], ['lastfm-2k', 64], ['lastfm-2k', 128], ['ml20m', 64]]) {
  if (!existsSync(join(DATA, name, 'test', 'indptr.npy')) || (o.only && !o.only.split(',').includes(name))) continue;
  const runs = { A: [], B: [] };
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const s of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const env = { ...process.env };
      delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
      if (s === 'B') env.NAPI_RS_NATIVE_LIBRARY_PATH = other;
      const c = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, String(f), ...(o.auc ? ['--auc'] : [])], { env, encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`child failed on ${name}: ${c.stderr}`);
      runs[s].push(JSON.parse(c.stdout.trim().split('\n').pop()));
    }
  }
  const [a, b] = [median(runs.A.map((x) => x.ms)), median(runs.B.map((x) => x.ms))];
  const same = [...runs.A, ...runs.B].every((x) => x.ndcg === runs.A[0].ndcg && x.auc === runs.A[0].auc);
  console.log(`| ${name} | ${f} | ${runs.A[0].users.toLocaleString('en-US')} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}x | ${same ? 'yes' : 'NO'} |`);
}
