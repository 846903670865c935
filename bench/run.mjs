#!/usr/bin/env node
// Benchmark command (never a test): `npm run bench -- als [options]`.
// cf-native's ALS against implicit 0.7.3 on identical matrices, in the same run, one engine at a
// time in its own process; writes bench/results/als-<run id>.json and bench/RESULTS.md.
// See bench/README.md for the options and what each number means.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultAddon, interferenceMeter, machineInfo, pinAddon, waitForIdle } from './lib/machine.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { HYPER, ITERATIONS, QUICK_SCALE, WORKLOADS, dataSpecFor } from './workloads.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
// Cores' worth of CPU used by other processes above which a machine counts as busy.
const BUSY = 0.2;
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const log = (m) => process.stderr.write(`[bench] ${m}\n`);

const USAGE = `usage: npm run bench -- als [options]
       npm run bench -- render RESULTS.json    (re-render bench/RESULTS.md from a results file)
  --workloads a,b,...   subset of: ${Object.keys(WORKLOADS).join(', ')} (default: all)
  --iterations SPEC     N for every workload, and/or NAME=N per workload, e.g. 3 or lastfm360k-64=3
                        (default: ${ITERATIONS.synthetic} synthetic, ${ITERATIONS.real} real; --quick: ${ITERATIONS.quickSynthetic} synthetic)
  --threads N           threads for both engines (default 2)
  --quick               synthetic shapes divided by ${QUICK_SCALE}; output under bench/.data/quick/, not bench/results/
  --no-build            use the addon and dist/ as they are (default: cargo --release build + build:ts first)
  --regularization X --alpha X --cg-steps N --seed N   override the shared hyperparameters
  --idle-wait S         wait up to S seconds for other processes to quiet down before each fit (default 30)
  --rounds N            fit both engines N times, alternating, and report each engine's median of
                        its per-fit medians (default 1; the README's table uses 3 on this noisy VM)
  --retries N           run a fit again (up to N times) when other processes used > ${BUSY} cores during it (default 1)
  --data-dir DIR        real datasets (default ../shared/data)`;

// `npm run bench -- bpr ...` is the BPR benchmark (bench/bpr.mjs), with its own options.
if (process.argv[2] === 'bpr') {
  const { main: bpr } = await import('./bpr.mjs');
  process.exit(await bpr(process.argv.slice(3)));
}
// `npm run bench -- serve ...` is the HTTP serving benchmark (bench/serve.mjs), with its own options.
if (process.argv[2] === 'serve') {
  const { main: serve } = await import('./serve.mjs');
  process.exit(await serve(process.argv.slice(3)));
}
// `npm run bench -- ratings ...` is the rating-prediction benchmark (bench/ratings.mjs).
if (process.argv[2] === 'ratings') {
  const { main: ratings } = await import('./ratings.mjs');
  process.exit(await ratings(process.argv.slice(3)));
}
// `npm run bench -- svd ...` / `ease ...`: truncated SVD and EASE beside scipy / NumPy (bench/svd.mjs).
if (process.argv[2] === 'svd' || process.argv[2] === 'ease') {
  const m = await import('./svd.mjs');
  await (process.argv[2] === 'svd' ? m.main : m.ease)(process.argv.slice(3));
  process.exit(0);
}
// `npm run bench -- knn ...` is the item-kNN benchmark beside implicit (bench/knn.mjs).
if (process.argv[2] === 'knn') {
  const { main: knn } = await import('./knn.mjs');
  process.exit(await knn(process.argv.slice(3)));
}
// `npm run bench -- spark ...`: Spark's ALS (PySpark, local[2]) beside cf-native's (bench/spark.mjs).
if (process.argv[2] === 'spark') {
  const { main: spark } = await import('./spark.mjs');
  process.exit(await spark(process.argv.slice(3)));
}
// `npm run bench -- hybrid ...`: a validation-tuned hybrid against its best part (bench/hybrid.mjs).
if (process.argv[2] === 'hybrid') {
  const { main: hybrid } = await import('./hybrid.mjs');
  process.exit(await hybrid(process.argv.slice(3)));
}

// `npm run bench -- tune ...`: cf-native tune's defaults against implicit's hand-tuned ALS grid (bench/tune.mjs).
if (process.argv[2] === 'tune') {
  const { main: tune } = await import('./tune.mjs');
  process.exit(await tune(process.argv.slice(3)));
}
// `npm run bench -- topk ...` is the top-K benchmark (bench/topk.mjs), with its own options.
if (process.argv[2] === 'topk') {
  const { main: topk } = await import('./topk.mjs');
  process.exit(await topk(process.argv.slice(3)));
}

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workloads: { type: 'string' },
    iterations: { type: 'string' },
    threads: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    regularization: { type: 'string' },
    alpha: { type: 'string' },
    'cg-steps': { type: 'string' },
    seed: { type: 'string' },
    'idle-wait': { type: 'string', default: '30' },
    retries: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    'data-dir': { type: 'string', default: resolve(ROOT, '..', 'shared', 'data') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (positionals[0] === 'render' && positionals.length === 2) {
  // E.g. after a run disturbed by other work, to publish an earlier, cleaner run's table.
  const res = JSON.parse(readFileSync(positionals[1], 'utf8'));
  writeFileSync(join(BENCH, res.quick ? join('.data', 'quick') : '', 'RESULTS.md'), renderMarkdown(res));
  process.exit(0);
}
if (opt.help || positionals[0] !== 'als' || positionals.length > 1) {
  console.error(USAGE);
  process.exit(opt.help ? 0 : 2);
}

const names = opt.workloads ? opt.workloads.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(WORKLOADS);
for (const n of names) if (!WORKLOADS[n]) fail(`unknown workload '${n}'\n${USAGE}`);
const threads = Number(opt.threads);
const hyper = {
  ...HYPER,
  ...(opt.regularization && { regularization: Number(opt.regularization) }),
  ...(opt.alpha && { alpha: Number(opt.alpha) }),
  ...(opt['cg-steps'] && { cgSteps: Number(opt['cg-steps']) }),
  ...(opt.seed && { seed: Number(opt.seed) }),
};
const iterationsFor = parseIterations(opt.iterations);

function fail(msg) {
  log(msg);
  process.exit(2);
}

function parseIterations(spec) {
  let all = null;
  const per = {};
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:([\w.-]+)=)?(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1) fail(`bad --iterations part '${part}' (want N or NAME=N)`);
    if (m[1] && !WORKLOADS[m[1]]) fail(`--iterations: unknown workload '${m[1]}'`);
    if (m[1]) per[m[1]] = Number(m[2]);
    else all = Number(m[2]);
  }
  return (name) =>
    per[name] ?? all ?? (WORKLOADS[name].synthetic ? (opt.quick ? ITERATIONS.quickSynthetic : ITERATIONS.synthetic) : ITERATIONS.real);
}

/** Runs a child to completion; its stderr streams through, its stdout is returned. */
function run(cmd, args, { env = {}, capture = false } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

// Same thread budget for both, and no BLAS threads under either (implicit_als.py also forces
// OPENBLAS_NUM_THREADS=1 itself, before numpy loads).
const engineEnv = {
  OMP_NUM_THREADS: String(threads),
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  CF_NATIVE_NUM_THREADS: String(threads),
};

async function main() {
  const t0 = Date.now();
  const startedAt = new Date();
  const runId = `${startedAt.toISOString().slice(0, 19).replace(/[:]/g, '-')}Z${opt.quick ? '-quick' : ''}`;
  const outRoot = opt.quick ? join(BENCH, '.data', 'quick') : BENCH;
  const resultsFile = join(outRoot, 'results', `als-${runId}.json`);
  const mdFile = join(outRoot, 'RESULTS.md');
  const warnings = [];

  const build = {};
  if (opt['no-build']) {
    build.skipped = true;
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) fail('dist/ is missing; run `npm run build:ts` or drop --no-build');
  } else {
    // Final numbers must come from the fat-LTO release addon, not the quick-to-compile ci profile.
    let s = Date.now();
    log('building the native addon: node scripts/build-native.mjs --release');
    run(process.execPath, ['scripts/build-native.mjs', '--release']);
    build.native_seconds = (Date.now() - s) / 1000;
    s = Date.now();
    log('compiling TypeScript: npm run build:ts');
    run('npm', ['run', '--silent', 'build:ts']);
    build.ts_seconds = (Date.now() - s) / 1000;
  }
  let s = Date.now();
  run('bash', [join(BENCH, 'python', 'setup_venv.sh')]);
  build.venv_seconds = (Date.now() - s) / 1000;

  // Pin the addon now: the release build just made (target/release), or with --no-build the one
  // binding.cjs would load; later rebuilds of the root addon by others cannot leak into the run.
  const addonSrc = opt['no-build'] ? defaultAddon(ROOT) : join(ROOT, 'target', 'release', 'libcf_node.so');
  const addon = pinAddon(ROOT, addonSrc, join(BENCH, '.data', 'addon'));
  engineEnv.NAPI_RS_NATIVE_LIBRARY_PATH = addon.path;
  log(`cf-native addon: ${relative(ROOT, addon.path)} (profile ${addon.profile})`);
  const machine = machineInfo(ROOT, { ...addon, path: relative(ROOT, addon.path), source: relative(ROOT, addon.source) });
  if (machine.addon.profile !== 'release') warnings.push(`addon profile is '${machine.addon.profile}', not 'release'`);
  if (threads > machine.cores) warnings.push(`--threads ${threads} exceeds the ${machine.cores} cores`);

  const results = {
    suite: 'als',
    run_id: runId,
    command: `npm run bench -- ${process.argv.slice(2).map(shellQuote).join(' ')}`,
    started_at: startedAt.toISOString(),
    quick: opt.quick,
    threads,
    rounds: Number(opt.rounds),
    hyperparameters: hyper,
    confidence: {
      'cf-native': "confidence 'linear': c = 1 + alpha*r",
      implicit: "c = alpha'*r' with r' = 1 + alpha*r and alpha' = 1 (implicit_als.py --confidence linear)",
    },
    machine,
    python_env: null,
    build,
    workloads: [],
    warnings,
    results_file: relative(ROOT, resultsFile),
  };
  const save = () => {
    results.finished_at = new Date().toISOString();
    results.total_seconds = (Date.now() - t0) / 1000;
    mkdirSync(dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(mdFile, renderMarkdown(results));
  };

  for (const name of names) {
    const w = WORKLOADS[name];
    const rec = { name, data: w.data, factors: w.factors, solver: w.solver, iterations: iterationsFor(name), anchor: opt.quick ? null : w.anchor };
    results.workloads.push(rec);
    try {
      await runWorkload(name, w, rec, results);
    } catch (err) {
      rec.error = err instanceof Error ? err.message : String(err);
      log(`${name} FAILED: ${rec.error}`);
    }
    save();
  }
  save();
  log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min: ${relative(ROOT, resultsFile)}, ${relative(ROOT, mdFile)}`);
  process.stdout.write(readFileSync(mdFile, 'utf8'));
  if (results.workloads.some((r) => r.error)) process.exit(1);
}

async function runWorkload(name, w, rec, results) {
  log(`=== ${name}: ${w.data}, ${w.factors} factors, ${w.solver}, ${rec.iterations} iterations`);
  const dataDir = join(BENCH, '.data', opt.quick ? `${w.data}-quick` : w.data);
  const spec = dataSpecFor(w.data, opt['data-dir'], opt.quick);
  if (spec.path && !existsSync(spec.path)) throw new Error(`dataset file not found: ${spec.path} (see --data-dir)`);
  rec.data_info = JSON.parse(run(PY, [join(BENCH, 'python', 'prepare_data.py'), '--spec', JSON.stringify(spec), '--out', dataDir], { capture: true }));
  const train = join(dataDir, 'train');
  const test = join(dataDir, 'test');
  const t = rec.data_info.train;
  rec.matrix = { rows: t.rows, cols: t.cols, nnz: t.nnz, test_nnz: rec.data_info.test.nnz };

  const runDir = join(BENCH, '.data', 'runs', opt.quick ? 'quick' : 'full', name);
  const common = [
    '--matrix', train, '--factors', String(w.factors), '--regularization', String(hyper.regularization),
    '--alpha', String(hyper.alpha), '--iterations', String(rec.iterations), '--solver', w.solver,
    '--cg-steps', String(hyper.cgSteps), '--threads', String(threads), '--seed', String(hyper.seed),
  ];
  const engines = {
    cf_native: [process.execPath, ['--expose-gc', join(BENCH, 'node', 'als_fit.mjs'), ...common, '--out', join(runDir, 'cf-native'),
      // cf-native's own evaluate() as a cross-check of evaluate.py, where scoring everything is cheap.
      ...(w.synthetic ? [] : ['--self-eval', test])]],
    implicit: [PY, [join(BENCH, 'python', 'implicit_als.py'), ...common, '--confidence', 'linear', '--out', join(runDir, 'implicit')]],
  };
  rec.hygiene = {};
  rec.rounds = [];
  // Sequential, never concurrent: each engine gets the whole machine. With --rounds N the pair
  // runs N times, cf-native and implicit alternating, so slow spells of a shared machine hit
  // both engines alike; each engine's s/iter is then the median of its rounds' medians.
  // A fit that other processes disturbed (> BUSY cores of their CPU during it) is run again,
  // up to --retries times; the last attempt is kept and every attempt's probes are recorded.
  const rounds = Math.max(1, Number(opt.rounds) || 1);
  for (let round = 0; round < rounds; round++) {
    const seconds = {};
    for (const [engine, [cmd, args]] of Object.entries(engines)) {
      const attempts = [];
      for (;;) {
        const before = await waitForIdle(BUSY, Number(opt['idle-wait']), log);
        const meter = interferenceMeter();
        run(cmd, args, { env: engineEnv });
        const during = meter.stop();
        attempts.push({ before, during });
        if (!(during?.other_cores > BUSY) || attempts.length > Number(opt.retries)) break;
        log(`${name}/${engine}: other processes used ${during.other_cores} cores during the fit; running it again`);
      }
      const { before, during } = attempts.at(-1);
      if (before.cores > BUSY) results.warnings.push(`${name}/${engine}: started with ${before.cores} cores busy elsewhere (${before.top.map((p) => p.comm).join(', ')})`);
      if (during?.other_cores > BUSY) results.warnings.push(`${name}/${engine}: other processes used ${during.other_cores} cores during the fit`);
      rec.hygiene[engine] = { before, during, attempts: attempts.length, earlier: attempts.slice(0, -1) };
      rec[engine] = readJson(join(runDir, engine === 'cf_native' ? 'cf-native' : 'implicit', 'result.json'));
      seconds[engine] = rec[engine].seconds_per_iteration_median;
    }
    rec.rounds.push(seconds);
    if (rounds > 1) log(`${name} round ${round + 1}/${rounds}: cf-native ${seconds.cf_native.toFixed(3)}, implicit ${seconds.implicit.toFixed(3)} s/iter`);
  }
  if (rounds > 1) {
    // The last round's record stands for the rest (factors and memory do not change between
    // rounds: same seed, same data); only the timing summary spans all rounds.
    for (const e of ['cf_native', 'implicit']) {
      rec[e].seconds_per_iteration_median_last_round = rec[e].seconds_per_iteration_median;
      rec[e].seconds_per_iteration_median = median(rec.rounds.map((r) => r[e]));
    }
  }
  results.python_env ??= { ...rec.implicit.env, implicit: rec.implicit.version, build: rec.implicit.build };

  // Peak-memory check of issue 3: fit working set vs the bytes the model fundamentally needs.
  const matrixBytes = (t.rows + 1 + t.cols + 1) * 4 + 2 * t.nnz * (4 + 4);
  const factorBytes = (t.rows + t.cols) * w.factors * 4;
  rec.memory_model = { matrix_bytes_csr_and_transpose: matrixBytes, factor_bytes: factorBytes };
  for (const e of ['cf_native', 'implicit']) {
    rec[e].memory_ratio = (rec[e].rss_fit_peak_bytes - rec[e].rss_runtime_bytes) / (matrixBytes + factorBytes);
  }
  rec.ratio_seconds = rec.cf_native.seconds_per_iteration_median / rec.implicit.seconds_per_iteration_median;

  rec.quality = JSON.parse(
    run(PY, [join(BENCH, 'python', 'evaluate.py'), '--train', train, '--test', test,
      '--engine', `cf-native=${join(runDir, 'cf-native')}`, '--engine', `implicit=${join(runDir, 'implicit')}`,
      '--k', '10', '--max-users', String(w.evalUsers), '--seed', String(hyper.seed)], { capture: true }),
  );
  const q = rec.quality.engines;
  rec.ndcg_relative_difference = q['cf-native']['ndcg@10'] / q.implicit['ndcg@10'] - 1;
  log(`${name}: cf-native ${rec.cf_native.seconds_per_iteration_median.toFixed(3)} s/iter, implicit ` +
    `${rec.implicit.seconds_per_iteration_median.toFixed(3)} s/iter (ratio ${rec.ratio_seconds.toFixed(2)}); NDCG@10 ` +
    `${q['cf-native']['ndcg@10'].toFixed(4)} vs ${q.implicit['ndcg@10'].toFixed(4)}`);
}

await main();
