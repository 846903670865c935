#!/usr/bin/env node
// LightFM 1.17's BPR and WARP as further anchors of the BPR bench (issue 13), beside cf-native
// (its default sampler, DNS, and the uniform one) and implicit 0.7.3, on the bench's matrices
// (prepare_data.py splits, as `npm run bench -- bpr`), each engine in its own process at the
// same factors, epochs, learning rate and threads. implicit and cf-native also share the
// regularization; LightFM runs its own defaults otherwise (python/lightfm_bpr.py says why).
// Reports M samples/s (median over epochs; samples = positives visited per epoch for implicit
// and LightFM) and NDCG@10 / Recall@10 at equal epochs by one evaluator (python/evaluate.py).
// Writes bench/results/bpr-anchors-<run id>.json and prints a Markdown table (kept by hand
// in RESULTS-bpr.md, so this does not overwrite the main bench's table).
//
//   node bench/bpr_anchors.mjs [--workloads ml-100k,ml-latest-small,lastfm-2k] [--epochs 100]
//        [--synthetic-epochs 3] [--threads 2]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WORKLOADS, dataSpecFor } from './workloads.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[bench bpr-anchors] ${m}\n`);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${r.status}`);
  return r.stdout;
}

const { values: o } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
    epochs: { type: 'string', default: '100' },
    'synthetic-epochs': { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    factors: { type: 'string', default: '64' },
    'learning-rate': { type: 'string', default: '0.05' },
    regularization: { type: 'string', default: '0.01' },
    seed: { type: 'string', default: '42' },
    'data-dir': { type: 'string', default: resolve(ROOT, '..', 'shared', 'data') },
  },
});
if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: npm run build:ts');
if (!existsSync(PY)) run('bash', [join(BENCH, 'python', 'setup_venv.sh')]);
const threads = Number(o.threads);
const env = { OMP_NUM_THREADS: o.threads, CF_NATIVE_NUM_THREADS: o.threads, OPENBLAS_NUM_THREADS: '1' };
const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const results = { id, git, command: `node bench/bpr_anchors.mjs ${process.argv.slice(2).join(' ')}`.trim(), load_before: readFileSync('/proc/loadavg', 'utf8').trim(), workloads: [] };

for (const name of o.workloads.split(',')) {
  const w = WORKLOADS[name];
  if (!w) throw new Error(`unknown workload ${name}`);
  const epochs = String(w.synthetic ? o['synthetic-epochs'] : o.epochs);
  const dataDir = join(BENCH, '.data', w.data);
  run(PY, [join(BENCH, 'python', 'prepare_data.py'), '--spec', JSON.stringify(dataSpecFor(w.data, o['data-dir'], false)), '--out', dataDir]);
  const [train, test] = [join(dataDir, 'train'), join(dataDir, 'test')];
  const runDir = join(BENCH, '.data', 'runs', 'bpr-anchors', name);
  mkdirSync(runDir, { recursive: true });
  const common = ['--factors', o.factors, '--learning-rate', o['learning-rate'], '--epochs', epochs, '--threads', o.threads, '--seed', o.seed];
  const cf = (sampler) => [process.execPath, [join(BENCH, 'node', 'bpr_fit.mjs'), '--matrix', train, '--out', join(runDir, `cf-native-${sampler}`),
    '--params', JSON.stringify({ factors: Number(o.factors), learningRate: Number(o['learning-rate']), regularization: Number(o.regularization), seed: Number(o.seed), threads, epochs: Number(epochs), sampler })]];
  const engines = {
    'cf-native-dns': cf('dns'),
    'cf-native-uniform': cf('uniform'),
    implicit: [PY, [join(BENCH, 'python', 'implicit_bpr.py'), '--matrix', train, '--out', join(runDir, 'implicit'), ...common, '--regularization', o.regularization]],
    'lightfm-bpr': [PY, [join(BENCH, 'python', 'lightfm_bpr.py'), '--matrix', train, '--out', join(runDir, 'lightfm-bpr'), '--loss', 'bpr', ...common]],
    'lightfm-warp': [PY, [join(BENCH, 'python', 'lightfm_bpr.py'), '--matrix', train, '--out', join(runDir, 'lightfm-warp'), '--loss', 'warp', ...common]],
  };
  const rec = { name, epochs: Number(epochs), engines: {} };
  for (const [e, [cmd, args]] of Object.entries(engines)) {
    run(cmd, args, env);
    rec.engines[e] = JSON.parse(readFileSync(join(runDir, e, 'result.json'), 'utf8'));
    log(`${name} ${e}: ${(rec.engines[e].samples_per_second_median / 1e6).toFixed(2)} M samples/s`);
  }
  const evalArgs = Object.keys(engines).flatMap((e) => ['--engine', `${e}=${join(runDir, e)}`]);
  rec.quality = JSON.parse(run(PY, [join(BENCH, 'python', 'evaluate.py'), '--train', train, '--test', test, ...evalArgs, '--k', '10',
    '--max-users', String(w.evalUsers), '--seed', o.seed])).engines;
  results.workloads.push(rec);
}
results.load_after = readFileSync('/proc/loadavg', 'utf8').trim();
mkdirSync(join(BENCH, 'results'), { recursive: true });
writeFileSync(join(BENCH, 'results', `bpr-anchors-${id}.json`), JSON.stringify(results, null, 1));

const f = (x, d = 2) => x.toFixed(d);
const names = ['cf-native-dns', 'cf-native-uniform', 'implicit', 'lightfm-bpr', 'lightfm-warp'];
const lines = [
  `Run ${id} at ${git} (\`${results.command}\`; load average before ${results.load_before}, after ${results.load_after}). Per engine: NDCG@10 (M samples/s).`,
  '',
  `| workload | epochs | ${names.join(' | ')} |`,
  `| --- | --- | ${names.map(() => '---').join(' | ')} |`,
  ...results.workloads.map((w) => `| ${w.name} | ${w.epochs} | ${names.map((e) => `${f(w.quality[e]['ndcg@10'], 4)} (${f(w.engines[e].samples_per_second_median / 1e6)})`).join(' | ')} |`),
];
process.stdout.write(lines.join('\n') + '\n');
