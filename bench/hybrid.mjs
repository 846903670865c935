// `npm run bench -- hybrid [--datasets ml-100k,ml-latest-small,lastfm-2k] [--parts als,knn,ease]`
//
// Does a hybrid beat the best single model? On each dataset's 80/20 random split of positives
// (bench/.data/<name>/{train,test}, prepare_data.py), `cf-native train` as a user runs it on
// train only (written as a CSV), with its own inner validation split (`split: { strategy:
// random, valid: 0.2, test: 0 }`): every part model gets a small grid chosen on validation
// (ALS on the regularization ≈ 5 (1 + alpha) ridge, kNN's neighbours, EASE's lambda), then a
// `hybrid` of them whose weights are chosen on validation (its method too: rrf or weighted).
// Every saved model is then scored on test by one evaluator, the core's (NDCG@10, train items
// filtered), on the same matrices; test is read only there. Writes
// bench/results/hybrid-<id>.json and prints the table of bench/RESULTS-hybrid.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCsr, toModelSpace, writeTrainCsv } from './lib/splits.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const log = (m) => process.stderr.write(`[hybrid bench] ${m}\n`);

/** Each part's grid (chosen on validation by `train`). */
const PART_CONFIG = {
  als: '    params: { factors: [64, 128], alpha: [5, 20], regularization: [30, 100], iterations: 15, threads: 2 }\n',
  knn: '    params: { k: [100, 200, 400], threads: 2 }\n',
  ease: '    params: { lambda: [100, 300, 1000], threads: 2 }\n',
  bpr: '    params: { factors: 64, threads: 2 }\n',
};

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
      parts: { type: 'string', default: 'als,knn,ease' },
      methods: { type: 'string', default: 'rrf,weighted' },
    },
  });
  const { loadModel, matrixFromCoo, buildLeaderboard } = await import(join(ROOT, 'dist', 'index.js'));
  const env = { ...process.env, CF_NATIVE_NUM_THREADS: '2' };
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
  const parts = o.parts.split(',');
  for (const p of parts) if (!PART_CONFIG[p]) throw new Error(`--parts: unknown part ${p} (known: ${Object.keys(PART_CONFIG).join(', ')})`);
  const methods = o.methods.split(',');
  const out = { id, command: `npm run bench -- hybrid ${argv.join(' ')}`.trim(), parts, methods, datasets: {} };
  const csr = (dir) => readCsr(ROOT, dir);
  for (const name of o.datasets.split(',')) {
    const data = join(BENCH, '.data', name);
    const dir = join(BENCH, '.data', 'runs', 'hybrid', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const train = await csr(join(data, 'train'));
    const test = await csr(join(data, 'test'));
    await writeTrainCsv(ROOT, join(data, 'train'), join(dir, 'train.csv'));
    const models = parts.map((p) => `  - type: ${p}\n${PART_CONFIG[p]}`).join('');
    const hybrid = `  - type: hybrid\n    params: { method: [${methods.join(', ')}], threads: 2 }\n    blend: { parts: [${parts.join(', ')}], fallback: [popularity] }\n`;
    writeFileSync(join(dir, 'train.yaml'), `data:\n  path: train.csv\n  header: true\nsplit: { strategy: random, valid: 0.2, test: 0 }\nmodels:\n${models}${hybrid}evaluate: { k: 10 }\noutput: out\n`);
    log(`${name}: cf-native train (${parts.join(', ')}, hybrid) ...`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'train', 'train.yaml', '--quiet', '--no-report'], { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`cf-native train on ${name} (exit ${r.status}): ${r.stderr}`);
    const wall = (performance.now() - t0) / 1000;
    const res = { users: train.rows, items: train.cols, wall_seconds: wall, models: {} };
    let trainM = null;
    let testM = null;
    const board = [];
    for (const m of [...parts, 'hybrid']) {
      const folder = join(dir, 'out', m);
      const loaded = await loadModel(folder);
      const metrics = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8'));
      if (!trainM) {
        // One evaluator, in the saved models' index space (a test item no train row holds is
        // in no model's catalogue, dropped for all).
        trainM = toModelSpace(train, loaded, matrixFromCoo);
        testM = toModelSpace(test, loaded, matrixFromCoo);
        res.test_nnz_scored = testM.nnz;
      }
      const e = await loaded.model.evaluate(trainM, testM, { k: 10, auc: false, perUser: true });
      board.push({ name: m, type: loaded.model.type, baseline: false, metrics: e.metrics, perUser: e.perUser });
      res.users_scored = e.usersEvaluated;
      res.models[m] = {
        params: loaded.model.params,
        valid_ndcg10: metrics.valid?.['ndcg@10'] ?? null,
        test_ndcg10: e.metrics['ndcg@10'],
        train_seconds: metrics.train_seconds,
        ...(m === 'hybrid'
          ? {
              weights: metrics.fit?.weights ?? null,
              tuning: metrics.fit?.tuning ?? null,
              // The method grid: each method's validation NDCG@10 (its weights chosen on validation too).
              methods: Object.fromEntries((metrics.tuning?.trials ?? []).map((t) => [t.params.method, t.valid?.['ndcg@10'] ?? null])),
            }
          : {}),
      };
      log(`${name}: ${m} valid ${res.models[m].valid_ndcg10?.toFixed(4)} test ${e.metrics['ndcg@10'].toFixed(4)}`);
    }
    const singles = parts.map((p) => [p, res.models[p].test_ndcg10]);
    const [bestName, bestTest] = singles.reduce((a, b) => (b[1] > a[1] ? b : a));
    res.best_single = { name: bestName, test_ndcg10: bestTest };
    res.ratio = res.models.hybrid.test_ndcg10 / bestTest;
    // Paired bootstrap over test users (the leaderboard's, 1000 resamples): is the gap real?
    const lb = await buildLeaderboard(board, { split: 'test', users: res.users_scored, ks: [10] });
    for (const row of lb.models) {
      const c = row.metrics['ndcg@10'];
      res.models[row.name].test_ci = c.ci;
      res.models[row.name].not_significantly_worse_than_best = c.not_significantly_worse;
    }
    out.datasets[name] = res;
    log(`${name}: hybrid ${res.models.hybrid.test_ndcg10.toFixed(4)} vs best single ${bestName} ${bestTest.toFixed(4)}: ${res.ratio.toFixed(4)}x (${wall.toFixed(1)} s)`);
  }
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  const file = join(BENCH, 'results', `hybrid-${id}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(`${renderTable(out)}\nresults: ${file}\n`);
  return 0;
}

const show = (p) =>
  Object.entries(p)
    .filter(([k]) => ['factors', 'alpha', 'regularization', 'k', 'lambda', 'method'].includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function renderTable(out) {
  const rows = [
    `| dataset | ${out.parts.map((p) => `${p} test (chosen)`).join(' | ')} | hybrid test [95 % CI] | hybrid weights (validation) | validation NDCG@10 by method | hybrid / best single | best single within noise of the best? | wall s |`,
    `| --- | ${out.parts.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const [name, d] of Object.entries(out.datasets)) {
    const h = d.models.hybrid;
    const w = h.weights ? Object.entries(h.weights).map(([n, x]) => `${n} ${x === null ? '—' : Number(x).toFixed(2)}`).join(', ') : '—';
    rows.push(
      `| ${name} | ${out.parts.map((p) => `${d.models[p].test_ndcg10.toFixed(4)} (${show(d.models[p].params)})`).join(' | ')} | **${h.test_ndcg10.toFixed(4)}** [${h.test_ci ? h.test_ci.map((x) => x.toFixed(4)).join(', ') : '—'}] (${h.params.method}) | ${w} | ${Object.entries(h.methods ?? {}).map(([k, v]) => `${k} ${v === null ? '—' : v.toFixed(4)}`).join(', ')} | **${d.ratio.toFixed(3)}x** vs ${d.best_single.name} | ${d.models[d.best_single.name].not_significantly_worse_than_best ? 'yes' : 'no'} | ${d.wall_seconds.toFixed(0)} |`,
    );
  }
  return `Reproduce: \`${out.command}\` (run ${out.id})\n\n${rows.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main(process.argv.slice(2)));
