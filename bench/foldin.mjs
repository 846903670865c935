// Fold-in latency at ML-20M scale: a model built from random factors shaped like ML-20M
// (136,677 users x 20,108 items x 64 factors), timed through the public API (dist/).
//
//   npm run build:ts && node bench/foldin.mjs [--calls 200] [--warmup 50] [--threads N]
//
// Reports the median and p90 of single calls for lists of 10, 20, 100 and 500 ids, each call with
// a different random list. The Gram matrix (YᵀY, computed on the first fold-in and cached
// until that side changes) is timed separately. Prints a markdown table and writes
// bench/results/foldin.json. Use the release addon for numbers you report
// (`node scripts/build-native.mjs --release`); the file records which profile was loaded.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '50' },
    threads: { type: 'string', default: '0' },
    out: { type: 'string', default: join(root, 'bench', 'results', 'foldin.json') },
  },
});
const CALLS = Number(args.calls);
const WARMUP = Number(args.warmup);
const SHAPE = { users: 136_677, items: 20_108, factors: 64 };
const SIZES = [10, 20, 100, 500];
const K = 10;

const { ALS, matrixFromCoo } = await import(join(root, 'dist', 'index.js'));

// mulberry32: the same factors and lists on every run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function factors(n, k, seed) {
  const r = rng(seed);
  const a = new Float32Array(n * k);
  // Gaussian-ish (sum of uniforms), scale like a fitted model's.
  for (let j = 0; j < a.length; j++) a[j] = (r() + r() + r() - 1.5) * 0.2;
  return a;
}
function lists(count, size, n, seed) {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const s = new Set();
    while (s.size < size) s.add(Math.floor(r() * n));
    return Uint32Array.from(s);
  });
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
function time(fn, inputs) {
  for (let j = 0; j < WARMUP; j++) fn(inputs[j % inputs.length]);
  const t = [];
  for (let j = 0; j < CALLS; j++) {
    const input = inputs[j % inputs.length];
    const t0 = process.hrtime.bigint();
    fn(input);
    t.push(ms(t0));
  }
  t.sort((a, b) => a - b);
  const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
  return { median_ms: q(0.5), p90_ms: q(0.9), min_ms: t[0], calls: CALLS };
}

function addonInfo() {
  const name = readdirSync(root).find((f) => /^cf-native\..*\.node$/.test(f));
  if (!name) return { file: null, profile: 'missing' };
  const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const hash = sha(join(root, name));
  let profile = 'unknown';
  for (const p of ['release', 'ci', 'debug']) {
    const built = join(root, 'target', p, 'libcf_node.so');
    if (existsSync(built) && sha(built) === hash) profile = p;
  }
  return { file: name, profile };
}

const params = { factors: SHAPE.factors, regularization: 0.05, alpha: 20, threads: Number(args.threads) };
const userF = factors(SHAPE.users, SHAPE.factors, 1);
const itemF = factors(SHAPE.items, SHAPE.factors, 2);
const t0 = process.hrtime.bigint();
const model = ALS.fromFactors(params, userF, itemF);
const buildMs = ms(t0); // copying and checking the factor arrays

// One-time costs: the first fold-in on each side computes (and caches) that side's Gram matrix.
let t = process.hrtime.bigint();
model.foldInUser(Uint32Array.of(1, 2, 3));
const firstUserFoldIn = ms(t);
t = process.hrtime.bigint();
model.foldInItem(Uint32Array.of(1, 2, 3));
const firstItemFoldIn = ms(t);

const rows = [];
const row = (op, ids, r) => rows.push({ op, ids, ...r });
for (const n of SIZES) {
  const itemLists = lists(CALLS, n, SHAPE.items, 100 + n);
  row('foldInUser', n, time((l) => model.foldInUser(l), itemLists));
  row(`recommendForItems (k=${K})`, n, time((l) => model.recommendForItems(l, { k: K }), itemLists));
}
for (const n of SIZES) {
  const userLists = lists(CALLS, n, SHAPE.users, 200 + n);
  row('foldInItem', n, time((l) => model.foldInItem(l), userLists));
  row(`similarToNewItem (k=${K})`, n, time((l) => model.similarToNewItem(l, { k: K }), userLists));
}
// The warm fold-in cost the Gram time is net of.
const warm3 = time((l) => model.foldInUser(l), lists(CALLS, 3, SHAPE.items, 7)).median_ms;
const warm3i = time((l) => model.foldInItem(l), lists(CALLS, 3, SHAPE.users, 8)).median_ms;

// Partial fit of many users at once (sync, on the model's pool), to size the sync/async split.
const partial = [];
for (const [count, n] of [[1, 100], [1000, 20], [1000, 100]]) {
  const ids = Uint32Array.from({ length: count }, (_, j) => (j * 97) % SHAPE.users);
  const ls = lists(count, n, SHAPE.items, 300 + count + n);
  const u = new Uint32Array(count * n);
  const it = new Uint32Array(count * n);
  ls.forEach((l, j) => (u.fill(j, j * n, j * n + n), it.set(l, j * n)));
  const m = matrixFromCoo(u, it, count, SHAPE.items);
  const reps = count === 1 ? CALLS : 7;
  const ts = [];
  for (let r = 0; r < reps + 2; r++) {
    const s = process.hrtime.bigint();
    model.partialFitUsersSync(ids, m);
    if (r >= 2) ts.push(ms(s));
  }
  ts.sort((a, b) => a - b);
  partial.push({ op: 'partialFitUsersSync', users: count, items_per_user: n, median_ms: ts[Math.floor(ts.length / 2)], min_ms: ts[0], runs: ts.length });
}

const results = {
  bench: 'foldin',
  date: new Date().toISOString(),
  shape: SHAPE,
  params,
  machine: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    loadavg_1m: os.loadavg()[0],
    node: process.version,
    addon: addonInfo(),
  },
  method: `median/p90 of ${CALLS} single calls after ${WARMUP} warm-up calls, a different random id list each call; Gram matrices cached (timed separately)`,
  one_time: {
    from_factors_ms: buildMs,
    item_gram_ms: firstUserFoldIn - warm3,
    user_gram_ms: firstItemFoldIn - warm3i,
  },
  latency: rows,
  partial_fit: partial,
};
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);

const f = (x) => x.toFixed(3);
const lines = [
  `Fold-in at ML-20M shape (${SHAPE.users} users x ${SHAPE.items} items x ${SHAPE.factors} factors), addon profile: ${results.machine.addon.profile}, ${results.machine.cpu} (${results.machine.cores} cores)`,
  '',
  '| operation | ids | median ms | p90 ms |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.op} | ${r.ids} | ${f(r.median_ms)} | ${f(r.p90_ms)} |`),
  '',
  `One-time Gram matrix (first fold-in on a side, cached until it changes): items ${results.one_time.item_gram_ms.toFixed(1)} ms, users ${results.one_time.user_gram_ms.toFixed(1)} ms`,
  '',
  '| partial fit | users | items per user | median ms |',
  '| --- | ---: | ---: | ---: |',
  ...partial.map((p) => `| ${p.op} | ${p.users} | ${p.items_per_user} | ${f(p.median_ms)} |`),
  '',
  `written: ${args.out}`,
];
console.log(lines.join('\n'));
