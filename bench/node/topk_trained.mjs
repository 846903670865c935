// The top-K engine on trained factors, with and without the norm-ordered scan
// (crates/cf-core/src/topk/norm_order.rs), in one build: the topk bench's random factors have
// norms all alike, where the scan cannot stop early; trained models do not.
//
//   node bench/node/topk_trained.mjs [MODEL_DIR...] [--rounds N] [--against OTHER.node]
//
// MODEL_DIR is an ALS model folder with its training matrix (default: the serving bench's,
// bench/.data/serve/{embedded,ml20m}/als, made by one `npm run bench -- serve`). Each round
// runs one child process per setting, alternating (CF_NATIVE_TOPK_ORDER=index turns the norm
// order off); reported: median users/s of a batch of up to 20,000 users, median us of 2,000
// single calls, 2 threads, k = 10, and whether the two settings' lists are identical.
// --against compares two builds instead, both in norm order: this checkout's addon and another
// .node file (loaded through NAPI_RS_NATIVE_LIBRARY_PATH), e.g. one built from an earlier commit.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: o, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, against: { type: 'string' }, child: { type: 'boolean', default: false } }, allowPositionals: true });

if (o.child) {
  const { ALS, matrixFromCoo } = await import(join(ROOT, 'dist', 'index.js'));
  const { readNpy } = await import(join(ROOT, 'dist', 'artifacts', 'npy.js'));
  const dir = positionals[0];
  const load = (n) => readNpy(join(dir, `${n}.npy`));
  const [uf, itf, ip, ix] = await Promise.all(['user_factors', 'item_factors', 'train_indptr', 'train_indices'].map(load));
  const [nU, f] = uf.shape;
  const nI = itf.shape[0];
  const model = ALS.fromFactors({ factors: f, threads: 2 }, uf.data, itf.data);
  const rowOf = new Uint32Array(ix.data.length);
  for (let r = 0; r < nU; r++) rowOf.fill(r, Number(ip.data[r]), Number(ip.data[r + 1]));
  model.train = matrixFromCoo(rowOf, ix.data, nU, nI);
  // A fixed pseudo-random draw of users (an LCG), the same in every child.
  const nq = Math.min(nU, 20_000);
  const users = new Uint32Array(nq);
  let s = 7;
  for (let i = 0; i < nq; i++) users[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % nU;
  // Warm-up: the first call packs the items (and their norm-ordered copy).
  model.recommend(users.subarray(0, Math.min(nq, 500)), { k: 10 });
  for (let i = 0; i < 50; i++) model.recommend(users[i % nq], { k: 10 });
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const batch = [];
  let lists;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    lists = model.recommend(users, { k: 10 });
    batch.push(performance.now() - t);
  }
  const single = [];
  for (let i = 0; i < 2000; i++) {
    const t = process.hrtime.bigint();
    model.recommend(users[i % nq], { k: 10 });
    single.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  let h = 0;
  for (let i = 0; i < lists.ids.length; i++) h = (Math.imul(h, 31) + lists.ids[i] + Math.fround(lists.scores[i]) * 1e6) >>> 0;
  console.log(JSON.stringify({ items: nI, factors: f, queries: nq, usersPerS: nq / (median(batch) / 1000), singleUs: median(single), hash: h }));
  process.exit(0);
}

const dirs = positionals.length > 0 ? positionals : ['embedded', 'ml20m'].map((m) => join(ROOT, 'bench', '.data', 'serve', m, 'als'));
for (const d of dirs) if (!existsSync(join(d, 'item_factors.npy'))) throw new Error(`${d}: no model there (run \`npm run bench -- serve\` once, or name ALS model folders)`);
const rounds = Number(o.rounds);
const median = (xs) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
// Two settings, A and B: the norm order against the index order, or this build against another.
const against = o.against ? resolve(o.against) : null;
if (against && !existsSync(against)) throw new Error(`--against ${against}: no such file`);
const [nameA, nameB] = against ? ['this build', 'other build'] : ['norm order', 'index order'];
const envFor = (setting) => {
  const env = { ...process.env };
  delete env.CF_NATIVE_TOPK_ORDER;
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (setting === 'B') {
    if (against) env.NAPI_RS_NATIVE_LIBRARY_PATH = against;
    else env.CF_NATIVE_TOPK_ORDER = 'index';
  }
  return env;
};
console.log(`| model | items x factors | users/s, ${nameA} | users/s, ${nameB} | ratio | single call us, ${nameA} / ${nameB} | ratio | lists identical |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const dir of dirs) {
  const runs = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const setting of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const c = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir], { env: envFor(setting), encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`child failed on ${dir}: ${c.stderr}`);
      runs[setting].push(JSON.parse(c.stdout.trim().split('\n').pop()));
    }
  }
  const m = (order, key) => median(runs[order].map((x) => x[key]));
  const x = runs.A[0];
  const same = [...runs.A, ...runs.B].every((y) => y.hash === x.hash);
  const f = (v, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(
    `| ${dir.split('/').slice(-2).join('/')} | ${f(x.items)} x ${x.factors} | ${f(m('A', 'usersPerS'))} | ${f(m('B', 'usersPerS'))} | ${f(m('A', 'usersPerS') / m('B', 'usersPerS'), 2)}x | ${f(m('A', 'singleUs'), 1)} / ${f(m('B', 'singleUs'), 1)} | ${f(m('A', 'singleUs') / m('B', 'singleUs'), 2)}x | ${same ? 'yes' : 'NO'} |`,
  );
}
