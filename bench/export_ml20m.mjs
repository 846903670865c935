#!/usr/bin/env node
// A check, not a test: `cf-native recommend MODEL --k 100 --out recs.parquet` on the ML-20M
// shape (every user's top-100, 13.7 M rows) in bounded memory, read back with pyarrow.
// Builds a model folder from the bench's ML-20M-shaped training matrix (bench/.data/ml20m,
// made by `npm run bench -- als`) and random 64-factor ALS factors with string ids, runs the
// real CLI under /usr/bin/time -v, then reads the file with pyarrow (PY, default
// /tmp/pa/bin/python: `python3 -m venv /tmp/pa && /tmp/pa/bin/pip install pyarrow`).
//   node bench/export_ml20m.mjs [--keep]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALS, saveModel } from '../dist/index.js';
import { native } from '../dist/native.js';
import { readNpy } from '../dist/artifacts/npy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = join(ROOT, 'bench', '.data', 'ml20m', 'train');
const PY = process.env.PY ?? '/tmp/pa/bin/python';
const log = (m) => process.stderr.write(`[export] ${m}\n`);

const shape = JSON.parse(readFileSync(join(DATA, 'shape.json'), 'utf8'));
const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(DATA, `${n}.npy`))));
const [nUsers, nItems] = [shape.rows, shape.cols];
const train = native().Matrix.fromCsr(indptr.data, indices.data, data.data, nUsers, nItems);
const f = 64;
// xorshift32 in 32-bit integer arithmetic (a float LCG loses bits past 2^53 and repeats).
let s = 12345;
const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 4294967296);
const rnd = (n) => Float32Array.from({ length: n }, () => (next() - 0.5) * 0.2);
const model = ALS.fromFactors({ factors: f, threads: 2 }, rnd(nUsers * f), rnd(nItems * f));
model.train = train;
const dir = mkdtempSync(join(tmpdir(), 'cf-export-ml20m-'));
const userIds = Array.from({ length: nUsers }, (_, u) => `user-${u}`);
const itemIds = Array.from({ length: nItems }, (_, i) => `item-${i}`);
await saveModel(join(dir, 'model'), model, { userIds, itemIds });
log(`model: ${nUsers} users x ${nItems} items, ${train.nnz} seen entries, in ${dir}/model`);

const out = join(dir, 'recs.parquet');
const t = spawnSync('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'dist', 'cli', 'main.js'), 'recommend', join(dir, 'model'), '--k', '100', '--out', out], {
  encoding: 'utf8',
});
const field = (name) => new RegExp(`${name}: (.*)`).exec(t.stderr)?.[1]?.trim();
log(`exit ${t.status}; wall ${field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)')}; max RSS ${(Number(field('Maximum resident set size \\(kbytes\\)')) / 1024).toFixed(0)} MB; file ${(statSync(out).size / 1e6).toFixed(0)} MB`);
// The model alone: load it and write one user's list, to separate loading from exporting.
const one = join(dir, 'one.txt');
spawnSync('sh', ['-c', `echo user-0 > ${one}`]);
const t1 = spawnSync('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'dist', 'cli', 'main.js'), 'recommend', join(dir, 'model'), '--users', one, '--k', '100', '--out', join(dir, 'one.parquet')], { encoding: 'utf8' });
const rss1 = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t1.stderr)?.[1]) / 1024;
log(`same model, one user: max RSS ${rss1.toFixed(0)} MB (loading the model and Node)`);

const py = spawnSync(
  PY,
  [
    '-c',
    `
import sys, pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
t = pq.read_table(sys.argv[1])
print("pyarrow", pa.__version__, "rows", t.num_rows, "schema", [(f.name, str(f.type)) for f in t.schema])
users = pc.unique(t["user"])
print("distinct users", len(users), "first rows", t.slice(0, 3).to_pylist())
r = pc.min_max(t["rank"]).as_py(); print("rank range", r)
assert all(u.startswith("user-") for u in users.to_pylist()[:1000])
`,
    out,
  ],
  { encoding: 'utf8' },
);
process.stdout.write(py.stdout);
if (py.status !== 0) process.stderr.write(py.stderr);
if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
