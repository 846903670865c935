// `npm run bench -- tune [--datasets ml-100k,ml-latest-small,lastfm-2k] [--models als] [--threads 2]`
//
// cf-native tune with its defaults against implicit 0.7.3's hand-tuned ALS grid, on the bench's
// 80/20 random split of positives (bench/.data/<name>/{train,test}, prepare_data.py):
//  - implicit: factors {32,64,128} x regularization {1,3,10,30,100} x alpha {1,2,5,10,20} (75
//    configurations, 15 iterations), each fitted on an inner split of train (carve_valid.py, 20 %
//    per user as validation), chosen by implicit's own validation NDCG@10, refitted on train.
//    Wall time: the one Python process that runs the grid and the refit (implicit_als_grid.py).
//  - cf-native: `cf-native tune config.yaml` as a user runs it, on train only (written as a CSV):
//    `split: { strategy: random, valid: 0.2, test: 0 }` is its own inner validation split, the
//    models are listed by type with no space and no budget, so the built-in spaces and budget
//    (src/tune/defaults.ts) and the default refit (train + valid = train) apply. Wall time: the
//    CLI process, start to end.
// Both refitted models are scored on test by one evaluator, the core's (NDCG@10, train items
// filtered), on the same matrices. Test is read only there. Writes bench/results/tune-<id>.json
// and prints the markdown table of bench/RESULTS-tune.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCsr, toModelSpace, writeTrainCsv } from './lib/splits.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[tune bench] ${m}\n`);

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
      models: { type: 'string', default: 'als' },
      threads: { type: 'string', default: '2' },
      'skip-implicit': { type: 'boolean', default: false },
    },
  });
  const { ALS, loadModel, matrixFromCoo } = await import(join(ROOT, 'dist', 'index.js'));
  const { readNpy } = await import(join(ROOT, 'dist', 'artifacts', 'npy.js'));
  const threads = Number(o.threads);
  const env = { ...process.env, OMP_NUM_THREADS: o.threads, CF_NATIVE_NUM_THREADS: o.threads, OPENBLAS_NUM_THREADS: '1' };
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
  const out = { id, command: `npm run bench -- tune ${argv.join(' ')}`.trim(), threads, models: o.models.split(','), datasets: {} };
  const timed = (cmd, args, cwd = ROOT) => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd, maxBuffer: 1 << 28 });
    const seconds = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (exit ${r.status}): ${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr, seconds };
  };
  const csr = (dir) => readCsr(ROOT, dir);

  for (const name of o.datasets.split(',')) {
    const data = join(BENCH, '.data', name);
    const dir = join(BENCH, '.data', 'runs', 'tune', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const train = await csr(join(data, 'train'));
    const test = await csr(join(data, 'test'));
    const res = { users: train.rows, items: train.cols, train_nnz: train.indices.length, test_nnz: test.indices.length };

    // implicit: inner split (data preparation, not timed), then the grid in one process.
    let imp = null;
    if (!o['skip-implicit']) {
      timed(PY, [join(BENCH, 'python', 'carve_valid.py'), '--train', join(data, 'train'), '--out', dir, '--fraction', '0.2']);
      log(`${name}: implicit ALS grid ...`);
      const r = timed(PY, [join(BENCH, 'python', 'implicit_als_grid.py'), '--fit', join(dir, 'fit'), '--valid', join(dir, 'valid'), '--train', join(data, 'train'), '--out', join(dir, 'implicit'), '--threads', o.threads]);
      imp = { ...JSON.parse(r.stdout), wall_seconds: r.seconds };
      log(`${name}: implicit best ${JSON.stringify(imp.best)} in ${r.seconds.toFixed(1)} s`);
    }

    // cf-native: train as a CSV of (user, item) = (row, column) ids, a config of data, split and model types.
    await writeTrainCsv(ROOT, join(data, 'train'), join(dir, 'train.csv'));
    const config = join(dir, 'tune.yaml');
    const models = o.models.split(',').map((t) => `  - type: ${t}\n    params: { threads: ${threads} }\n`).join('');
    writeFileSync(config, `data:\n  path: train.csv\n  header: true\nsplit: { strategy: random, valid: 0.2, test: 0 }\nmodels:\n${models}evaluate: { k: 10 }\noutput: out\n`);
    log(`${name}: cf-native tune ...`);
    const r = timed(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'tune', 'tune.yaml', '--quiet', '--no-report', '--fresh'], dir);
    const tuning = JSON.parse(readFileSync(join(dir, 'out', 'tuning.json'), 'utf8'));
    const cf = {
      wall_seconds: r.seconds,
      trials: tuning.trials.length,
      trial_seconds: tuning.trials.reduce((s, t) => s + t.seconds, 0),
      budget: tuning.budget,
      space: tuning.space,
      default_space: tuning.default_space,
      by_model: Object.fromEntries(o.models.split(',').map((m) => [m, tuning.trials.filter((t) => t.model === m).length])),
      best: { model: tuning.best.model, params: tuning.best.params, valid: tuning.trials[tuning.best.number].score },
    };
    log(`${name}: cf-native best ${cf.best.model} ${JSON.stringify(tuning.trials[tuning.best.number].params)} in ${r.seconds.toFixed(1)} s`);

    // One evaluator: the core's, on train and test in the saved model's index space (its ids
    // are the bench's row and column numbers; a test item no train row holds is in neither
    // model's catalogue and is dropped for both).
    const loaded = await loadModel(join(dir, 'out', tuning.best.model));
    const trainM = toModelSpace(train, loaded, matrixFromCoo);
    const testM = toModelSpace(test, loaded, matrixFromCoo);
    res.test_nnz_scored = testM.nnz;
    const score = async (model) => (await model.evaluate(trainM, testM, { k: 10 })).metrics['ndcg@10'];
    cf.test_ndcg10 = await score(loaded.model);
    if (imp) {
      const [uf, itf] = await Promise.all(['user', 'item'].map((s) => readNpy(join(dir, 'implicit', `${s}_factors.npy`))));
      const f = uf.shape[1];
      const users = new Float32Array(loaded.userIds.length * f);
      loaded.userIds.forEach((u, i) => users.set(uf.data.subarray(Number(u) * f, (Number(u) + 1) * f), i * f));
      const items = new Float32Array(loaded.itemIds.length * f);
      loaded.itemIds.forEach((x, i) => items.set(itf.data.subarray(Number(x) * f, (Number(x) + 1) * f), i * f));
      imp.test_ndcg10 = await score(ALS.fromFactors({ factors: f }, users, items));
      delete imp.trials;
    }
    res.implicit = imp;
    res.cf_native = cf;
    if (imp) res.ratio = cf.test_ndcg10 / imp.test_ndcg10;
    out.datasets[name] = res;
    log(`${name}: test NDCG@10 cf-native ${cf.test_ndcg10.toFixed(4)} (${cf.wall_seconds.toFixed(1)} s)${imp ? `, implicit ${imp.test_ndcg10.toFixed(4)} (${imp.wall_seconds.toFixed(1)} s), ratio ${res.ratio.toFixed(3)}` : ''}`);
  }
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  const file = join(BENCH, 'results', `tune-${id}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(`${renderTable(out)}\nresults: ${file}\n`);
  return 0;
}

const params = (p, keys) => keys.filter((k) => k in p).map((k) => `${k} ${typeof p[k] === 'number' ? Number(p[k].toPrecision(3)) : p[k]}`).join(', ');

export function renderTable(out) {
  const rows = [
    '| dataset | implicit grid best (valid) | implicit test NDCG@10 | implicit wall s | cf-native tune winner | cf-native test NDCG@10 | cf-native wall s (trials) | NDCG ratio | time ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, d] of Object.entries(out.datasets)) {
    const i = d.implicit;
    const c = d.cf_native;
    const win = `${c.best.model}: ${params(c.best.params, ['factors', 'alpha', 'regularization', 'lambda', 'learning_rate'])}`;
    rows.push(
      `| ${name} | ${i ? params(i.best, ['factors', 'regularization', 'alpha']) : '—'} | ${i ? i.test_ndcg10.toFixed(4) : '—'} | ${i ? i.wall_seconds.toFixed(1) : '—'} | ${win} | ${c.test_ndcg10.toFixed(4)} | ${c.wall_seconds.toFixed(1)} (${c.trials}: ${Object.entries(c.by_model).map(([m, n]) => `${n} ${m}`).join(', ')}) | ${i ? `${d.ratio.toFixed(3)}x` : '—'} | ${i ? `${(c.wall_seconds / i.wall_seconds).toFixed(2)}x` : '—'} |`,
    );
  }
  return `Reproduce: \`${out.command}\` (run ${out.id}, ${out.threads} threads)\n\n${rows.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main(process.argv.slice(2)));
