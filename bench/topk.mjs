// `npm run bench -- topk [options]`: cf-native's recommend and similarItems beside implicit
// 0.7.3's recommend and similar_items on identical random factors and seen matrices
// (bench/lib/topk_data.mjs), one engine at a time in its own process (bench/node/topk.mjs,
// bench/python/implicit_topk.py). Reports users/s of a batch, ms per single call, similar
// items both ways, the batch's fraction of the machine's measured GEMM peak
// (crates/cf-core/examples/gemm_peak.rs) and how often the two engines' top-k lists agree.
// Writes bench/results/topk-<run id>.json and bench/RESULTS-topk.md. It measures; it asserts nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultAddon, interferenceMeter, machineInfo, pinAddon, waitForIdle } from './lib/machine.mjs';
import { TOPK_WORKLOADS, ensureTopkData } from './lib/topk_data.mjs';
import { renderTopk } from './lib/topk_report.mjs';
import { median } from './lib/timing.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
// Cores' worth of CPU used by other processes above which the machine counts as busy (as run.mjs).
const BUSY = 0.2;
const log = (m) => process.stderr.write(`[bench topk] ${m}\n`);
const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

const USAGE = `usage: npm run bench -- topk [options]
  --workloads a,b     subset of: ${Object.keys(TOPK_WORKLOADS).join(', ')} (default: all)
  --threads N         threads for both engines (default 2)
  --rounds N          run both engines N times per workload, alternating; medians over rounds (default 1)
  --reps N            batch repetitions per engine run, median taken (default 3)
  --singles N         single calls per engine run, median and p90 (default 300; --quick 100)
  --quick             shapes divided by 10; output under bench/.data/quick/
  --no-build          use the addon, dist/ and the gemm_peak example as they are
  --idle-wait S       wait up to S s for other processes to quiet down before each engine run (default 30)
  --retries N         rerun an engine when others used > ${BUSY} cores during it (default 1)
  --seed N            data seed (default 42)`;

function run(cmd, args, { env = {}, capture = false } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

/** Fraction of queries whose id lists are identical, and the mean fraction of shared ids. */
function agreement(a, b, width) {
  const n = Math.min(a?.length ?? 0, b?.length ?? 0);
  if (!n) return null;
  let same = 0;
  let overlap = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i].slice(0, width);
    const y = b[i].slice(0, width);
    if (x.every((v, j) => v === y[j])) same++;
    const s = new Set(x);
    overlap += y.filter((v) => s.has(v)).length / width;
  }
  return { queries: n, identical: same / n, overlap: overlap / n };
}

export async function main(argv) {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      workloads: { type: 'string', default: Object.keys(TOPK_WORKLOADS).join(',') },
      threads: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      reps: { type: 'string', default: '3' },
      singles: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'idle-wait': { type: 'string', default: '30' },
      retries: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help || positionals.length) {
    console.error(USAGE);
    return o.help ? 0 : 2;
  }
  const names = o.workloads.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!TOPK_WORKLOADS[n]) throw new Error(`unknown workload '${n}'\n${USAGE}`);
  const threads = Number(o.threads);
  const rounds = Math.max(1, Number(o.rounds) || 1);
  const singles = Number(o.singles ?? (o.quick ? 100 : 300));
  const k = 10;
  const t0 = Date.now();
  const startedAt = new Date();
  const runId = `${startedAt.toISOString().slice(0, 19).replace(/[:]/g, '-')}Z${o.quick ? '-quick' : ''}`;
  const outRoot = o.quick ? join(BENCH, '.data', 'quick') : BENCH;
  const resultsFile = join(outRoot, 'results', `topk-${runId}.json`);
  const mdFile = join(outRoot, 'RESULTS-topk.md');
  const targetDir = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
  const gemmBin = join(targetDir, 'release', 'examples', 'gemm_peak');

  const build = {};
  if (o['no-build']) {
    build.skipped = true;
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing; run `npm run build:ts` or drop --no-build');
  } else {
    // Numbers must come from the fat-LTO release addon, as in the ALS bench.
    let s = Date.now();
    log('building the native addon: node scripts/build-native.mjs --release');
    run(process.execPath, ['scripts/build-native.mjs', '--release']);
    build.native_seconds = (Date.now() - s) / 1000;
    s = Date.now();
    log('compiling TypeScript: npm run build:ts');
    run('npm', ['run', '--silent', 'build:ts']);
    build.ts_seconds = (Date.now() - s) / 1000;
  }
  if (!o['no-build'] || !existsSync(gemmBin)) {
    log('building crates/cf-core/examples/gemm_peak.rs (release)');
    run('cargo', ['build', '--release', '-p', 'cf-core', '--example', 'gemm_peak', '--locked']);
  }
  run('bash', [join(BENCH, 'python', 'setup_venv.sh')]);

  // A private copy of the addon for the whole run (see machine.mjs pinAddon).
  const addonSrc = o['no-build'] ? defaultAddon(ROOT) : join(targetDir, 'release', 'libcf_node.so');
  const addon = pinAddon(ROOT, addonSrc, join(BENCH, '.data', 'addon'));
  log(`cf-native addon: ${relative(ROOT, addon.path)} (profile ${addon.profile})`);
  const machine = machineInfo(ROOT, { ...addon, path: relative(ROOT, addon.path), source: relative(ROOT, addon.source) });
  const warnings = [];
  if (machine.addon.profile !== 'release') warnings.push(`addon profile is '${machine.addon.profile}', not 'release'`);
  if (threads > machine.cores) warnings.push(`--threads ${threads} exceeds the ${machine.cores} cores`);
  const env = {
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    CF_NATIVE_NUM_THREADS: String(threads),
    NAPI_RS_NATIVE_LIBRARY_PATH: addon.path,
  };

  const results = {
    suite: 'topk',
    run_id: runId,
    command: `npm run bench -- topk ${argv.map(shellQuote).join(' ')}`.trim(),
    started_at: startedAt.toISOString(),
    quick: o.quick,
    threads,
    rounds,
    reps: Number(o.reps),
    singles,
    k,
    seed: Number(o.seed),
    machine,
    build,
    gemm_peak: { runs: [] },
    workloads: [],
    warnings,
    results_file: relative(ROOT, resultsFile),
  };
  const save = () => {
    results.finished_at = new Date().toISOString();
    results.total_seconds = (Date.now() - t0) / 1000;
    mkdirSync(dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`);
    writeFileSync(mdFile, renderTopk(results));
  };

  // The GEMM peak, measured at the start and at the end of the run: a peak is a maximum, so the
  // higher of the two stands (the VM's speed drifts; a busy spell only lowers a measurement).
  const measurePeak = async () => {
    const before = await waitForIdle(BUSY, Number(o['idle-wait']), log);
    const r = JSON.parse(run(gemmBin, ['2048', String(threads), '5'], { capture: true }));
    results.gemm_peak.runs.push({ ...r, busy_before: before.cores });
    const best = {};
    for (const x of results.gemm_peak.runs) for (const [t, g] of Object.entries(x.gflops)) best[t] = Math.max(best[t] ?? 0, g);
    results.gemm_peak.gflops = best;
  };
  await measurePeak();

  const { writeNpy } = await import('../dist/artifacts/npy.js');
  const dataRoot = join(BENCH, '.data', 'topk');
  for (const name of names) {
    const w = TOPK_WORKLOADS[name];
    const rec = { name, ...w, rounds: [] };
    results.workloads.push(rec);
    try {
      const d = await ensureTopkData(dataRoot, name, { quick: o.quick, seed: Number(o.seed), writeNpy, log });
      rec.shape = d.shape;
      await runWorkload(rec, d, { o, env, threads, singles, rounds, warnings });
    } catch (err) {
      rec.error = err instanceof Error ? err.message : String(err);
      log(`${name} FAILED: ${rec.error}`);
    }
    save();
  }
  await measurePeak();
  for (const rec of results.workloads) if (!rec.error) addPeakFractions(rec, results.gemm_peak.gflops[threads]);
  save();
  log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min: ${relative(ROOT, resultsFile)}, ${relative(ROOT, mdFile)}`);
  process.stdout.write(readFileSync(mdFile, 'utf8'));
  return results.workloads.some((r) => r.error) ? 1 : 0;
}

async function runWorkload(rec, d, { o, env, threads, singles, rounds, warnings }) {
  const common = ['--data', d.shapeDir, '--factors-dir', d.factorDir, '--threads', String(threads), '--k', '10',
    '--reps', o.reps, '--singles', String(singles), '--agreement', '100'];
  const engines = {
    cf_native: [process.execPath, [join(BENCH, 'node', 'topk.mjs'), ...common], env],
    implicit: [PY, [join(BENCH, 'python', 'implicit_topk.py'), ...common], env],
    // Side measurement: implicit's single call is one BLAS product on the calling thread, so
    // with OPENBLAS_NUM_THREADS=1 it uses one core; this gives its BLAS the same threads.
    implicit_blas_threads: [PY, [join(BENCH, 'python', 'implicit_topk.py'), ...common, '--singles-only'], { ...env, OPENBLAS_NUM_THREADS: String(threads) }],
  };
  // One engine at a time, each with the machine to itself; rounds alternate the engines so
  // slow spells of a shared VM hit both alike.
  for (let r = 0; r < rounds; r++) {
    const round = {};
    for (const [engine, [cmd, args, engineEnv]] of Object.entries(engines)) {
      if (engine === 'implicit_blas_threads' && (threads === 1 || r < rounds - 1)) continue;
      const attempts = [];
      let out;
      for (;;) {
        const before = await waitForIdle(BUSY, Number(o['idle-wait']), log);
        const meter = interferenceMeter();
        out = JSON.parse(run(cmd, args, { env: engineEnv, capture: true }));
        const during = meter.stop();
        attempts.push({ before: { cores: before.cores, waited_seconds: before.waited_seconds, top: before.top }, during });
        if (!(during?.other_cores > BUSY) || attempts.length > Number(o.retries)) break;
        log(`${rec.name}/${engine}: other processes used ${during.other_cores} cores during the run; running it again`);
      }
      const last = attempts.at(-1);
      if (last.during?.other_cores > BUSY) warnings.push(`${rec.name}/${engine} round ${r + 1}: other processes used ${last.during.other_cores} cores during the run`);
      out.hygiene = { ...last, attempts: attempts.length };
      round[engine] = out;
    }
    rec.rounds.push(round);
    const c = round.cf_native;
    const i = round.implicit;
    log(`${rec.name} round ${r + 1}/${rounds}: recommend ${Math.round(c.recommend_batch.per_second)} vs ${Math.round(i.recommend_batch.per_second)} users/s, ` +
      `single ${c.recommend_single.median_ms.toFixed(3)} vs ${i.recommend_single.median_ms.toFixed(3)} ms`);
  }
  summarize(rec);
}

/** Each engine's medians over rounds, the ratios, and the id agreement of the last round. */
function summarize(rec) {
  const med = (engine, path) => {
    const xs = rec.rounds.map((r) => path.split('.').reduce((x, p) => x?.[p], r[engine])).filter((x) => x != null);
    return xs.length ? median(xs) : null;
  };
  const s = {};
  for (const e of ['cf_native', 'implicit']) {
    s[e] = {
      recommend_per_second: med(e, 'recommend_batch.per_second'),
      recommend_single_ms: med(e, 'recommend_single.median_ms'),
      recommend_single_p90_ms: med(e, 'recommend_single.p90_ms'),
      similar_per_second: med(e, 'similar_batch.per_second'),
      similar_single_ms: med(e, 'similar_single.median_ms'),
      similar_single_p90_ms: med(e, 'similar_single.p90_ms'),
    };
  }
  s.implicit.recommend_single_presliced_ms = med('implicit', 'recommend_single_presliced.median_ms');
  s.implicit.recommend_single_blas_threads_ms = med('implicit_blas_threads', 'recommend_single.median_ms');
  s.implicit.recommend_single_blas_threads_presliced_ms = med('implicit_blas_threads', 'recommend_single_presliced.median_ms');
  s.ratio = {
    recommend_batch: s.cf_native.recommend_per_second / s.implicit.recommend_per_second,
    recommend_single: s.cf_native.recommend_single_ms / s.implicit.recommend_single_ms,
    similar_batch: s.cf_native.similar_per_second / s.implicit.similar_per_second,
    similar_single: s.cf_native.similar_single_ms / s.implicit.similar_single_ms,
  };
  s.per_round_recommend_ratio = rec.rounds.map((r) => r.cf_native.recommend_batch.per_second / r.implicit.recommend_batch.per_second);
  const last = rec.rounds.at(-1);
  s.agreement = {
    recommend: agreement(last.cf_native.recommend_head, last.implicit.recommend_head, 10),
    // cf-native leaves the query item out of its similar items; implicit returns it first
    // (cosine 1). Compared: the first 9 of implicit's list without the query item.
    similar: agreement(
      last.cf_native.similar_head,
      last.implicit.similar_head?.map((ids, q) => ids.filter((x) => x !== last.cf_native.similar_head_queries[q])),
      9,
    ),
  };
  rec.summary = s;
  // The id lists have done their job; keep the results file small.
  for (const r of rec.rounds) {
    for (const e of Object.values(r)) {
      delete e.recommend_head;
      delete e.similar_head;
      delete e.similar_head_queries;
    }
  }
}

/** Batch flops (2 f per item per query) per second, over the measured GEMM peak at these threads. */
function addPeakFractions(rec, peakGflops) {
  const s = rec.summary;
  if (!s || !peakGflops) return;
  const f = rec.factors;
  const items = rec.shape.items;
  for (const e of ['cf_native', 'implicit']) {
    s[e].recommend_gflops = (2 * f * items * s[e].recommend_per_second) / 1e9;
    s[e].recommend_peak_fraction = s[e].recommend_gflops / peakGflops;
    s[e].similar_gflops = (2 * f * items * s[e].similar_per_second) / 1e9;
    s[e].similar_peak_fraction = s[e].similar_gflops / peakGflops;
  }
}
