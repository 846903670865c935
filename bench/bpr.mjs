// `npm run bench -- bpr [options]`: cf-native's BPR beside implicit 0.7.3's on identical
// matrices (bench/python/prepare_data.py, the ALS bench's splits), one engine at a time in its
// own process, same factors, epochs, learning rate, regularization and threads. Reports
// samples/s and s/epoch (medians over epochs; with --rounds N, engines alternate N times and
// each reports the median of its rounds), NDCG@10 / Recall@10 at equal epochs by one evaluator
// (bench/python/evaluate.py), and on the real datasets one cf-native fit per sampler.
// Writes bench/results/bpr-<run id>.json and bench/RESULTS-bpr.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WORKLOADS, dataSpecFor } from './workloads.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[bench bpr] ${m}\n`);
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const DEFAULT_WORKLOADS = ['ml-100k', 'ml-latest-small', 'lastfm-2k', 'ml20m-64', 'lastfm360k-64'];
const SAMPLERS = ['uniform', 'popularity', 'dns', 'mixed'];
const KEEP = '<!-- kept across bench runs: everything below this line -->';

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${r.status}`);
  return r.stdout;
}

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      workloads: { type: 'string', default: DEFAULT_WORKLOADS.join(',') },
      epochs: { type: 'string', default: '100' },
      'synthetic-epochs': { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      factors: { type: 'string', default: '64' },
      'learning-rate': { type: 'string', default: '0.05' },
      regularization: { type: 'string', default: '0.01' },
      seed: { type: 'string', default: '42' },
      // The sampler of the head-to-head speed and quality columns: popularity by default, the
      // kind of negative implicit draws (a random matrix entry), so both engines solve the same
      // problem; every sampler is still run for the sampler table.
      sampler: { type: 'string', default: 'popularity' },
      samplers: { type: 'string', default: SAMPLERS.join(',') },
      quick: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: resolve(ROOT, '..', 'shared', 'data') },
    },
  });
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: npm run build:ts');
  if (!existsSync(PY)) run('bash', [join(BENCH, 'python', 'setup_venv.sh')]);
  if (!SAMPLERS.includes(o.sampler)) throw new Error(`--sampler must be one of ${SAMPLERS.join(', ')}`);
  const head = o.sampler;
  const threads = Number(o.threads);
  const env = { OMP_NUM_THREADS: String(threads), CF_NATIVE_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: '1' };
  const shared = { factors: Number(o.factors), learningRate: Number(o['learning-rate']), regularization: Number(o.regularization), seed: Number(o.seed), threads };
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z' + (o.quick ? '-quick' : '');
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', 'crates', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  const results = { id, git: git + (dirty ? '+dirty' : ''), command: `npm run bench -- bpr ${argv.join(' ')}`.trim(), sampler: head, shared, threads, load_before: readFileSync('/proc/loadavg', 'utf8').trim(), workloads: [] };
  for (const name of o.workloads.split(',')) {
    const w = WORKLOADS[name];
    if (!w) throw new Error(`unknown workload ${name}`);
    const epochs = Number(w.synthetic ? o['synthetic-epochs'] : o.epochs);
    const rec = { name, epochs };
    results.workloads.push(rec);
    const dataDir = join(BENCH, '.data', o.quick ? `${w.data}-quick` : w.data);
    const spec = dataSpecFor(w.data, o['data-dir'], o.quick);
    rec.data_info = JSON.parse(run(PY, [join(BENCH, 'python', 'prepare_data.py'), '--spec', JSON.stringify(spec), '--out', dataDir]));
    const train = join(dataDir, 'train');
    const test = join(dataDir, 'test');
    const runDir = join(BENCH, '.data', 'runs', 'bpr', o.quick ? 'quick' : 'full', name);
    mkdirSync(runDir, { recursive: true });
    const seed0 = Number(o.seed);
    const cf = (sampler, seed = seed0, dir = `cf-native-${sampler}`) => [process.execPath, [join(BENCH, 'node', 'bpr_fit.mjs'), '--matrix', train, '--out', join(runDir, dir),
      '--params', JSON.stringify({ ...shared, seed, epochs, sampler })]];
    const imp = (seed, dir) => [PY, [join(BENCH, 'python', 'implicit_bpr.py'), '--matrix', train, '--out', join(runDir, dir), '--factors', o.factors,
      '--learning-rate', o['learning-rate'], '--regularization', o.regularization, '--epochs', String(epochs), '--threads', o.threads, '--seed', String(seed)]];
    const evaluate = (engines) => JSON.parse(run(PY, [join(BENCH, 'python', 'evaluate.py'), '--train', train, '--test', test, ...engines, '--k', '10',
      '--max-users', String(w.evalUsers), '--seed', o.seed])).engines;
    // Round r fits both engines with seed + r and scores both: at a few epochs one fit's
    // NDCG@10 moves with its seed (cf-native) or its thread timing (implicit) by more than
    // the engines differ, so quality is the median over rounds, as speed is.
    rec.rounds = [];
    for (let r = 0; r < Math.max(1, Number(o.rounds)); r++) {
      const round = { seed: seed0 + r };
      const dirs = { cf_native: r === 0 ? `cf-native-${head}` : `cf-native-${head}-r${r}`, implicit: r === 0 ? 'implicit' : `implicit-r${r}` };
      for (const [engine, [cmd, args]] of [['cf_native', cf(head, seed0 + r, dirs.cf_native)], ['implicit', imp(seed0 + r, dirs.implicit)]]) {
        run(cmd, args, env);
        round[engine] = JSON.parse(readFileSync(join(runDir, dirs[engine], 'result.json'), 'utf8'));
      }
      round.loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
      const q = evaluate(['--engine', `cf_native=${join(runDir, dirs.cf_native)}`, '--engine', `implicit=${join(runDir, dirs.implicit)}`]);
      round.quality = { cf_native: q.cf_native, implicit: q.implicit };
      rec.rounds.push(round);
      log(`${name} round ${r + 1}: cf-native ${(round.cf_native.samples_per_second_median / 1e6).toFixed(2)} M/s, implicit ${(round.implicit.samples_per_second_median / 1e6).toFixed(2)} M/s (load ${round.loadavg}); NDCG@10 ${q.cf_native['ndcg@10'].toFixed(4)} vs ${q.implicit['ndcg@10'].toFixed(4)}`);
    }
    const sps = (e) => median(rec.rounds.map((r) => r[e].samples_per_second_median));
    const spe = (e) => median(rec.rounds.map((r) => r[e].seconds_per_epoch_median));
    rec.speed = {
      cf_native: { samples_per_second: sps('cf_native'), seconds_per_epoch: spe('cf_native') },
      implicit: { samples_per_second: sps('implicit'), seconds_per_epoch: spe('implicit') },
      per_round_ratio: rec.rounds.map((r) => r.cf_native.samples_per_second_median / r.implicit.samples_per_second_median),
    };
    rec.speed.ratio = rec.speed.cf_native.samples_per_second / rec.speed.implicit.samples_per_second;
    const engines = [];
    // Every sampler on every workload: the synthetic shapes show what each costs at scale, and
    // what it does to quality where popularity is the whole signal.
    {
      rec.samplers = {};
      for (const s of o.samplers.split(',').filter((s) => s !== head)) {
        const [cmd, args] = cf(s);
        run(cmd, args, env);
        rec.samplers[s] = JSON.parse(readFileSync(join(runDir, `cf-native-${s}`, 'result.json'), 'utf8')).samples_per_second_median;
        engines.push('--engine', `cf-native-${s}=${join(runDir, `cf-native-${s}`)}`);
      }
    }
    rec.quality = engines.length ? evaluate(engines) : {};
    const mq = (e, m) => median(rec.rounds.map((r) => r.quality[e][m]));
    for (const [e, key] of [['cf_native', `cf-native-${head}`], ['implicit', 'implicit']]) {
      rec.quality[key] = { 'ndcg@10': mq(e, 'ndcg@10'), 'recall@10': mq(e, 'recall@10'), per_round_ndcg: rec.rounds.map((r) => r.quality[e]['ndcg@10']) };
    }
    const q = rec.quality;
    log(`${name}: speed ratio ${rec.speed.ratio.toFixed(2)}x; NDCG@10 cf-native ${q[`cf-native-${head}`]['ndcg@10'].toFixed(4)} vs implicit ${q.implicit['ndcg@10'].toFixed(4)}`);
  }
  results.load_after = readFileSync('/proc/loadavg', 'utf8').trim();
  const out = o.quick ? join(BENCH, '.data', 'quick') : join(BENCH, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `bpr-${id}.json`), JSON.stringify(results, null, 1));
  // Sections maintained by hand (tuning runs, notes) sit below KEEP in RESULTS-bpr.md and
  // survive a rerun of this bench.
  const mdPath = join(o.quick ? out : BENCH, 'RESULTS-bpr.md');
  const previous = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
  const kept = previous.includes(KEEP) ? previous.slice(previous.indexOf(KEEP)) : '';
  const md = render(results) + (kept ? `\n${kept}` : '');
  writeFileSync(mdPath, md);
  process.stdout.write(md);
  return 0;
}

function render(res) {
  const f = (x, d = 2) => (x == null ? '—' : x.toFixed(d));
  // Runs before --sampler existed compared the uniform sampler.
  const head = res.sampler ?? 'uniform';
  const lines = [
    `# BPR: cf-native vs implicit 0.7.3`,
    '',
    `Reproduce: \`${res.command}\` (run ${res.id} at ${res.git ?? '?'}; ${res.threads} threads; factors ${res.shared.factors}, learning rate ${res.shared.learningRate}, regularization ${res.shared.regularization}, seed ${res.shared.seed}; load average before ${res.load_before}, after ${res.load_after}).`,
    '',
    `Speed: median over epochs of samples/s (samples = triples used for an update; implicit: nnz per epoch), median over rounds. cf-native here uses the ${head} sampler; implicit its own (a random matrix entry: popularity-weighted), both verified against the user's row. Quality: bench/python/evaluate.py on the 20 % held-out split, after the same number of epochs, same hyperparameters (not tuned per engine); round r fits both engines with seed + r, and NDCG@10 and Recall@10 are medians over rounds (each round's NDCG@10 in the last column and the JSON). The sampler table's other samplers are one fit each at the base seed.`,
    '',
    '| workload | epochs | cf-native M samples/s | implicit M samples/s | ratio | per-round ratios | cf-native s/epoch | implicit s/epoch | NDCG@10 cf-native | NDCG@10 implicit | Recall@10 cf-native | Recall@10 implicit | NDCG@10 per round (cf-native / implicit) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const w of res.workloads) {
    const q = w.quality;
    lines.push(`| ${w.name} | ${w.epochs} | ${f(w.speed.cf_native.samples_per_second / 1e6)} | ${f(w.speed.implicit.samples_per_second / 1e6)} | ${f(w.speed.ratio)}x | ${w.speed.per_round_ratio.map((r) => f(r)).join(', ')} | ${f(w.speed.cf_native.seconds_per_epoch, 3)} | ${f(w.speed.implicit.seconds_per_epoch, 3)} | ${f(q[`cf-native-${head}`]['ndcg@10'], 4)} | ${f(q.implicit['ndcg@10'], 4)} | ${f(q[`cf-native-${head}`]['recall@10'], 4)} | ${f(q.implicit['recall@10'], 4)} | ${(w.rounds ?? []).map((r) => (r.quality ? `${f(r.quality.cf_native['ndcg@10'], 4)} / ${f(r.quality.implicit['ndcg@10'], 4)}` : '—')).join(', ')} |`);
  }
  const real = res.workloads.filter((w) => w.samplers);
  if (real.length) {
    lines.push('', '## Samplers (cf-native, same epochs and hyperparameters; NDCG@10 on the held-out split, then M samples/s and the ratio to implicit\'s samples/s, one run each)', '');
    const names = [head, ...Object.keys(real[0].samplers)];
    lines.push(`| workload | ${names.join(' | ')} | implicit |`, `| --- | ${names.map(() => '---').join(' | ')} | --- |`);
    for (const w of real) {
      const speed = (s) => (s === head ? w.speed.cf_native.samples_per_second : w.samplers[s]);
      const cell = (s) => `${f(w.quality[`cf-native-${s}`]['ndcg@10'], 4)} (${f(speed(s) / 1e6)} M/s, ${f(speed(s) / w.speed.implicit.samples_per_second, 1)}x)`;
      lines.push(`| ${w.name} | ${names.map(cell).join(' | ')} | ${f(w.quality.implicit['ndcg@10'], 4)} (${f(w.speed.implicit.samples_per_second / 1e6)} M/s) |`);
    }
  }
  return lines.join('\n') + '\n';
}
