#!/usr/bin/env node
// cf-native side of the ALS benchmark: fit on a CSR matrix from .npy files (the same files
// bench/python/implicit_als.py reads), time each iteration, save the factors and result.json.
// Runs in its own process (spawned by bench/run.mjs) so its peak RSS is cf-native's alone.
//
//   node --expose-gc bench/node/als_fit.mjs --matrix DIR --factors 64 --regularization 0.05 \
//     --alpha 20 --iterations 5 --solver cg --cg-steps 3 --threads 2 --seed 42 --out OUTDIR \
//     [--self-eval TESTDIR]
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALS } from '../../dist/index.js';
import { native } from '../../dist/native.js';
import { readNpy, writeNpy } from '../../dist/artifacts/npy.js';

const { values: a } = parseArgs({
  options: {
    matrix: { type: 'string' },
    factors: { type: 'string', default: '64' },
    regularization: { type: 'string', default: '0.05' },
    alpha: { type: 'string', default: '20' },
    iterations: { type: 'string', default: '5' },
    solver: { type: 'string', default: 'cg' },
    'cg-steps': { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string' },
    'self-eval': { type: 'string' },
  },
});
if (!a.matrix || !a.out) {
  console.error('usage: als_fit.mjs --matrix DIR --out OUTDIR [options]');
  process.exit(2);
}
const log = (m) => process.stderr.write(`[als_fit] ${m}\n`);
const rss = () => process.memoryUsage.rss();
// The .node files actually mapped into this process: proof of which build was measured.
const loadedAddons = () => {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    return [...new Set(maps.split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((p) => p.endsWith('.node')))];
  } catch {
    return null;
  }
};
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// What the runtime (Node + addon + dist/) costs before any data: subtracted in the memory ratio,
// the same way implicit_als.py subtracts Python + numpy + implicit.
const rssRuntime = rss();

async function loadCsr(dir) {
  const shape = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8'));
  const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(dir, `${n}.npy`))));
  if (indptr.dtype !== '<u4' || indices.dtype !== '<u4' || data.dtype !== '<f4') {
    throw new Error(`${dir}: want uint32 indptr/indices and float32 data, got ${indptr.dtype}/${indices.dtype}/${data.dtype}`);
  }
  // fromCsr copies into Rust; the JS arrays become garbage when this returns.
  return native().Matrix.fromCsr(indptr.data, indices.data, data.data, shape.rows, shape.cols);
}

let t0 = performance.now();
const train = await loadCsr(a.matrix);
const loadSeconds = (performance.now() - t0) / 1000;
globalThis.gc?.(); // drop the JS copies of the file bytes before the fit baseline (needs --expose-gc)
const rssPreFit = rss();
log(`loaded ${train.nRows}x${train.nCols}, nnz=${train.nnz} in ${loadSeconds.toFixed(2)}s`);

const params = {
  factors: Number(a.factors),
  regularization: Number(a.regularization),
  alpha: Number(a.alpha),
  confidence: 'linear', // c = 1 + alpha*r; implicit is given data' = 1 + alpha*r with alpha = 1
  scaleRegularization: false,
  iterations: Number(a.iterations),
  solver: a.solver,
  cgSteps: Number(a['cg-steps']),
  // The default: CG reads a float16 copy of the other side's factors (stored factors and all
  // arithmetic stay f32).
  cgPrecision: 'mixed',
  seed: Number(a.seed),
  threads: Number(a.threads),
  computeLoss: false,
};

// Sample RSS while iterations run off the JS thread: the peak of the fit itself, comparable with
// implicit_als.py's /proc/self/statm sampler (maxRSS alone also counts the load phase).
let rssFitPeak = rss();
const sampler = setInterval(() => {
  rssFitPeak = Math.max(rssFitPeak, rss());
}, 10);
const perIter = [];
t0 = performance.now();
const als = await ALS.fit(train, params, { onProgress: (p) => perIter.push(p.seconds) });
const fitSeconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
rssFitPeak = Math.max(rssFitPeak, rss());
const peakRss = process.resourceUsage().maxRSS * 1024; // KiB on Linux

mkdirSync(a.out, { recursive: true });
await writeNpy(join(a.out, 'user_factors.npy'), als.userFactors(), [train.nRows, params.factors]);
await writeNpy(join(a.out, 'item_factors.npy'), als.itemFactors(), [train.nCols, params.factors]);

// Optional cross-check of bench/python/evaluate.py against cf-native's own metrics (same
// definitions per README "Metrics"); only cheap on small matrices, so run.mjs asks for it there.
let selfEval = null;
if (a['self-eval']) {
  const test = await loadCsr(a['self-eval']);
  const r = await als.evaluate(train, test, { k: [10], filterSeen: true, threads: params.threads });
  selfEval = { 'ndcg@10': r.metrics['ndcg@10'], 'recall@10': r.metrics['recall@10'], users: r.usersEvaluated };
}

const result = {
  library: 'cf-native',
  version: JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
  seconds_per_iteration_median: median(perIter),
  seconds_per_iteration: perIter, // measured in Rust around each iteration (users + items half-steps)
  fit_seconds: fitSeconds, // wall time of ALS.fit, incl. factor init and the transpose build
  load_seconds: loadSeconds,
  peak_rss_bytes: peakRss,
  rss_runtime_bytes: rssRuntime,
  rss_pre_fit_bytes: rssPreFit,
  rss_fit_peak_bytes: rssFitPeak,
  gc_exposed: typeof globalThis.gc === 'function',
  params,
  confidence: '1+alpha*r',
  threads: params.threads,
  matrix: { rows: train.nRows, cols: train.nCols, nnz: train.nnz },
  self_eval: selfEval,
  addon_loaded: loadedAddons(),
  env: { node: process.version, CF_NATIVE_NUM_THREADS: process.env.CF_NATIVE_NUM_THREADS ?? null },
};
writeFileSync(join(a.out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
log(`median ${result.seconds_per_iteration_median.toFixed(4)} s/iter, fit ${fitSeconds.toFixed(2)} s, ` +
  `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB -> ${a.out}`);
