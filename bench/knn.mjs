// `npm run bench -- knn [options]`: cf-native's item-kNN beside implicit 0.7.3's
// CosineRecommender, TFIDFRecommender and BM25Recommender at equal K (neighbours per item, the
// item itself included), one engine at a time in its own process: fit seconds, recommend
// users/s (one batch call each; cf-native on every thread, implicit's batch `recommend`), and
// NDCG@10 of both engines' lists by one evaluator (bench/python/implicit_knn.py). Writes
// bench/results/knn-<run id>.json and prints the markdown of bench/RESULTS-knn.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[bench knn] ${m}\n`);

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${r.status}`);
  return r.stdout;
}

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k,ml20m' },
      weightings: { type: 'string', default: 'cosine,tfidf,bm25' },
      K: { type: 'string', default: '100' },
      threads: { type: 'string', default: '2' },
      // The ML-20M shape: lists (and NDCG, a sanity check on random data) for a stride of users.
      'max-users': { type: 'string', default: '20000' },
      // Fits alternate between the engines, one pair per round: fit seconds are medians and
      // the ratio is the median of the rounds' ratios (this host drifts 20-30 % in minutes).
      rounds: { type: 'string', default: '1' },
    },
  });
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: npm run build:ts');
  const threads = Number(o.threads);
  const K = Number(o.K);
  const rounds = Number(o.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, got ${o.rounds}`);
  const env = { CF_NATIVE_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) };
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const command = `npm run bench -- knn ${argv.join(' ')}`.trim();
  const res = { id, git, command, threads, K, rounds, load_before: readFileSync('/proc/loadavg', 'utf8').trim(), runs: [] };
  for (const name of o.datasets.split(',')) {
    const data = join(BENCH, '.data', name);
    const synthetic = name === 'ml20m';
    for (const weighting of o.weightings.split(',')) {
      const out = join(BENCH, '.data', 'runs', 'knn', `${name}-${weighting}-K${K}`);
      const maxUsers = synthetic ? o['max-users'] : '0';
      const fits = [];
      let cf, py;
      for (let round = 0; round < rounds; round++) {
        cf = JSON.parse(run(process.execPath, [join(BENCH, 'node', 'knn_fit.mjs'), '--matrix', join(data, 'train'), '--test', join(data, 'test'), '--out', out, '--params', JSON.stringify({ k: K, weighting, threads }), '--max-users', maxUsers], env));
        py = JSON.parse(run(PY, [join(BENCH, 'python', 'implicit_knn.py'), '--train', join(data, 'train'), '--test', join(data, 'test'), '--weighting', weighting, '--K', String(K), '--cf', out, '--threads', String(threads)], env));
        fits.push({ cf_native: cf.fit_seconds, implicit: py.implicit_fit_seconds });
        log(`${name} ${weighting} round ${round + 1}/${rounds}: fit cf-native ${cf.fit_seconds.toFixed(2)} s, implicit ${py.implicit_fit_seconds.toFixed(2)} s; NDCG@10 ${py['cf_native_ndcg@10'].toFixed(4)} vs ${py['implicit_ndcg@10'].toFixed(4)}`);
      }
      const ratios = fits.map((f) => f.implicit / f.cf_native);
      const r = {
        dataset: name,
        weighting,
        synthetic,
        fits,
        fit_ratio_median: median(ratios),
        fit_ratio_range: [Math.min(...ratios), Math.max(...ratios)],
        cf_native: { ...cf, fit_seconds: median(fits.map((f) => f.cf_native)) },
        ...py,
        implicit_fit_seconds: median(fits.map((f) => f.implicit)),
      };
      res.runs.push(r);
    }
  }
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(join(BENCH, 'results', `knn-${id}.json`), JSON.stringify(res, null, 1));
  const lines = [
    '| dataset | weighting | fit s cf-native | fit s implicit | implicit / cf-native | recommend users/s cf-native | implicit | NDCG@10 cf-native | implicit | Δ | identical lists |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of res.runs) {
    const c = r.cf_native;
    const [a, b] = [r['cf_native_ndcg@10'], r['implicit_ndcg@10']];
    lines.push(
      `| ${r.dataset}${r.synthetic ? ' (synthetic)' : ''} | ${r.weighting} | ${c.fit_seconds.toFixed(2)} | ${r.implicit_fit_seconds.toFixed(2)} | ${ratio(r)} | ${Math.round(c.users_per_second)} | ${Math.round(r.implicit_users_per_second)} | ${a.toFixed(4)} | ${b.toFixed(4)} | ${(((a - b) / b) * 100).toFixed(2)} % | ${(r.identical_lists * 100).toFixed(1)} % |`,
    );
  }
  const how = rounds > 1 ? `; fit seconds are medians of ${rounds} alternating rounds, the ratio the median of the rounds' ratios (range)` : '';
  const md = `${lines.join('\n')}\n\nReproduce: \`${command}\` (run ${id}, git ${git}, K = ${K}, ${threads} threads, load before: ${res.load_before}${how}).\n`;
  process.stdout.write(md);
  return 0;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The median ratio, with the rounds' range when there was more than one. */
function ratio(r) {
  const [lo, hi] = r.fit_ratio_range;
  const med = `${r.fit_ratio_median.toFixed(1)}x`;
  return r.fits.length > 1 ? `${med} (${lo.toFixed(1)}-${hi.toFixed(1)})` : med;
}
