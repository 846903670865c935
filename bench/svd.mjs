// `npm run bench -- svd [options]`: cf-native's truncated SVD (exact block Lanczos, and the
// randomized mode) beside scipy svds (ARPACK, PROPACK) and scikit-learn randomized_svd on the
// same CSR matrix, one engine at a time in its own process: seconds, the relative error of each
// singular value against one converged reference (ARPACK, k + 16 values, tol = 0) and the
// largest principal angle of the right singular subspace. `npm run bench -- ease`: cf-native's
// EASE beside a NumPy implementation (bench/python/ease_bench.py) on the real datasets.
// Writes bench/results/{svd,ease}-<run id>.json and bench/RESULTS-svd.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[bench svd] ${m}\n`);

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${r.status}`);
  return r.stdout;
}

function header(kind, argv, threads) {
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', 'crates', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return { id, git: git + (dirty ? '+dirty' : ''), command: `npm run bench -- ${kind} ${argv.join(' ')}`.trim(), threads, load_before: readFileSync('/proc/loadavg', 'utf8').trim() };
}

const fmt = (x) => (x === 0 ? '0' : x < 1e-3 ? x.toExponential(1) : x.toPrecision(3));

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      matrix: { type: 'string', default: 'ml20m' },
      k: { type: 'string', default: '64' },
      threads: { type: 'string', default: '2' },
      engines: { type: 'string', default: 'arpack,propack,sklearn' },
      'power-iterations': { type: 'string', default: '4' },
    },
  });
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: npm run build:ts');
  const threads = Number(o.threads);
  const env = { CF_NATIVE_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const res = { ...header('svd', argv, threads), matrix: o.matrix, runs: [] };
  const matrix = join(BENCH, '.data', o.matrix, 'train');
  for (const k of o.k.split(',').map(Number)) {
    const dir = join(BENCH, '.data', 'runs', 'svd', `${o.matrix}-k${k}`);
    mkdirSync(dir, { recursive: true });
    const cf = {
      'cf-native lanczos': { factors: k, threads },
      [`cf-native randomized q${o["power-iterations"]}`]: { factors: k, threads, method: 'randomized', oversampling: 10, powerIterations: Number(o['power-iterations']) },
    };
    const args = [];
    for (const [name, params] of Object.entries(cf)) {
      const out = join(dir, name.replace(/[^a-z0-9]+/gi, '-'));
      const s = run(process.execPath, [join(BENCH, 'node', 'svd_fit.mjs'), '--matrix', matrix, '--out', out, '--params', JSON.stringify(params)], env);
      log(`${o.matrix} k=${k} ${name}: ${s.trim()} s`);
      args.push('--cf', `${name}=${out}`);
    }
    const py = JSON.parse(run(PY, [join(BENCH, 'python', 'svd_bench.py'), '--matrix', matrix, '--k', String(k), '--engines', o.engines, '--sklearn-iter', o['power-iterations'], ...args], env));
    res.runs.push(py);
  }
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(join(BENCH, 'results', `svd-${res.id}.json`), JSON.stringify(res, null, 1));
  const lines = [];
  for (const r of res.runs) {
    const arpack = r.engines.arpack?.seconds;
    lines.push(`### ${res.matrix}: ${r.shape[0]} x ${r.shape[1]}, ${r.nnz} nonzeros, k = ${r.k}`, '');
    lines.push('| engine | seconds | vs ARPACK | σ rel. error max / median / σ_k | values within 1e-6 | largest principal angle (V) |', '| --- | --- | --- | --- | --- | --- |');
    for (const [name, e] of Object.entries(r.engines)) {
      lines.push(`| ${name} | ${e.seconds.toFixed(2)} | ${arpack ? `${(e.seconds / arpack).toFixed(2)}x` : '—'} | ${fmt(e.rel_err_max)} / ${fmt(e.rel_err_median)} / ${fmt(e.rel_err_k)} | ${e.within_1e_6 ?? e['within_1e-6']} of ${r.k} | ${fmt(e.max_angle)} |`);
    }
    lines.push('', `Reference: ${r.reference.engine} (${r.reference.seconds.toFixed(1)} s). scipy ${r.scipy}${r.sklearn ? `, scikit-learn ${r.sklearn}` : ''}.`, '');
  }
  const md = `${lines.join('\n')}\nReproduce: \`${res.command}\` (run ${res.id}, git ${res.git}, ${threads} threads, load before: ${res.load_before}).\n`;
  process.stdout.write(md);
  return { md, res };
}

export async function ease(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: { datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' }, lambda: { type: 'string', default: '500' }, threads: { type: 'string', default: '2' } },
  });
  const threads = Number(o.threads);
  const env = { CF_NATIVE_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const res = { ...header('ease', argv, threads), lambda: Number(o.lambda), datasets: {} };
  for (const name of o.datasets.split(',')) {
    const matrix = join(BENCH, '.data', name, 'train');
    const out = join(BENCH, '.data', 'runs', 'ease', name);
    const cf = Number(run(process.execPath, [join(BENCH, 'node', 'ease_fit.mjs'), '--matrix', matrix, '--out', out, '--params', JSON.stringify({ lambda: Number(o.lambda), threads })], env));
    const py = JSON.parse(run(PY, [join(BENCH, 'python', 'ease_bench.py'), '--matrix', matrix, '--lam', o.lambda, '--cf', out], env));
    res.datasets[name] = { cf_native_seconds: cf, ...py };
    log(`${name}: cf-native ${cf.toFixed(2)} s, numpy ${py.numpy_seconds.toFixed(2)} s, max |ΔB| ${py.max_abs_diff.toExponential(1)}`);
  }
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(join(BENCH, 'results', `ease-${res.id}.json`), JSON.stringify(res, null, 1));
  const lines = ['| dataset | items | cf-native s | NumPy s | NumPy / cf-native | max abs diff of B (first rows) | max abs B |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const [name, d] of Object.entries(res.datasets)) {
    lines.push(`| ${name} | ${d.items} | ${d.cf_native_seconds.toFixed(2)} | ${d.numpy_seconds.toFixed(2)} | ${(d.numpy_seconds / d.cf_native_seconds).toFixed(2)}x | ${d.max_abs_diff.toExponential(1)} | ${d.max_abs_b.toFixed(3)} |`);
  }
  const md = `${lines.join('\n')}\n\nReproduce: \`${res.command}\` (run ${res.id}, git ${res.git}, λ = ${o.lambda}, ${threads} threads, load before: ${res.load_before}).\n`;
  process.stdout.write(md);
  return { md, res };
}
