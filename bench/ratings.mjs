// `npm run bench -- ratings [options]`: rating prediction on ml-100k's official u1-u5 folds.
// cf-native's mf with its parameters chosen on a validation slice of each base file (a seeded
// 10 % of uN.base; the model is fitted on the other 90 % with early stopping, the config with
// the lowest validation RMSE is refitted on all of uN.base for its best epoch count, then scored
// on uN.test), beside Surprise's SVD (defaults, and tuned on the same slices) and BaselineOnly
// when scikit-surprise is installed in bench/.venv. cf-native's svd in its rated modes (a mean
// over the rated entries subtracted, missing cells 0, prediction = mean + U Sigma V^T) gets its
// factors and mean chosen the same way (lowest validation RMSE on the same slices, refitted on
// uN.base). Mean RMSE/MAE over the five folds.
// Writes bench/results/ratings-<run id>.json and bench/RESULTS-ratings.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PY = join(BENCH, '.venv', 'bin', 'python');
const log = (m) => process.stderr.write(`[bench ratings] ${m}\n`);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The configs tried on each fold's validation slice (seed and threads added). */
export const GRID = [
  ...[0.1, 0.15].map((regularization) => ({ solver: 'als', factors: 32, regularization, biasRegularization: 0.1, epochs: 40, patience: 5 })),
  ...[0.05, 0.06, 0.08].map((regularization) => ({
    solver: 'sgd',
    factors: 256,
    learningRate: 0.005,
    regularization,
    biasRegularization: 0.05,
    initStd: 0.001,
    epochs: 400,
    patience: 20,
  })),
];

/** svd's rated-mode configs tried on the same slices: the mean x the rank. */
export const SVD_GRID = ['rated_global', 'rated_user', 'rated_item', 'rated_baseline'].flatMap((centering) =>
  [2, 4, 8, 12, 16, 24, 32, 48].map((factors) => ({ centering, factors })),
);

/** Surprise's figures as the issue states them (ml-100k u1-u5, mean RMSE). */
const ISSUE = { svd_default: 0.938, svd_strong_reg: 0.912, baseline: 0.943 };

/** mulberry32: a small seeded generator, so the slices are the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lines = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');

export async function main(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      folds: { type: 'string', default: 'u1,u2,u3,u4,u5' },
      threads: { type: 'string', default: '2' },
      seed: { type: 'string', default: '42' },
      'split-seed': { type: 'string', default: '1' },
      'valid-share': { type: 'string', default: '0.1' },
      'no-surprise': { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: resolve(ROOT, '..', 'shared', 'data') },
    },
  });
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: npm run build:ts');
  const { MF, SVD, matrixFromCoo } = await import(join(ROOT, 'dist', 'index.js'));
  const threads = Number(o.threads);
  const seed = Number(o.seed);
  const share = Number(o['valid-share']);
  const src = join(o['data-dir'], 'ml-100k');
  const work = join(BENCH, '.data', 'ratings');
  mkdirSync(work, { recursive: true });
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', 'crates', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  const results = {
    id,
    git: git + (dirty ? '+dirty' : ''),
    command: `npm run bench -- ratings ${argv.join(' ')}`.trim(),
    threads,
    seed,
    valid_share: share,
    grid: GRID,
    svd_grid: SVD_GRID,
    load_before: readFileSync('/proc/loadavg', 'utf8').trim(),
    folds: {},
  };
  const folds = o.folds.split(',');
  for (const [n, f] of folds.entries()) {
    const base = lines(join(src, `${f}.base`));
    const test = lines(join(src, `${f}.test`));
    // The validation slice: a seeded share of the base file's lines.
    const order = base.map((_, j) => j);
    const r = rng(Number(o['split-seed']) * 1000 + n);
    for (let j = order.length - 1; j > 0; j--) {
      const k = Math.floor(r() * (j + 1));
      [order[j], order[k]] = [order[k], order[j]];
    }
    const nVal = Math.round(base.length * share);
    const val = order.slice(0, nVal).sort((a, b) => a - b).map((j) => base[j]);
    const fit = order.slice(nVal).sort((a, b) => a - b).map((j) => base[j]);
    for (const [name, rows] of [['base', base], ['test', test], ['fit', fit], ['val', val]]) writeFileSync(join(work, `${f}.${name}`), rows.join('\n') + '\n');
    // One id map over base and test: a test user or item without base ratings still gets a row.
    const users = new Map();
    const items = new Map();
    const parsed = (rows) => rows.map((l) => l.split('\t')).map(([u, i, v]) => {
      if (!users.has(u)) users.set(u, users.size);
      if (!items.has(i)) items.set(i, items.size);
      return [users.get(u), items.get(i), Number(v)];
    });
    const sets = { base: parsed(base), test: parsed(test), fit: parsed(fit), val: parsed(val) };
    const m = {};
    for (const [name, rows] of Object.entries(sets)) {
      m[name] = matrixFromCoo(Uint32Array.from(rows, (x) => x[0]), Uint32Array.from(rows, (x) => x[1]), users.size, items.size, Float32Array.from(rows, (x) => x[2]));
    }
    const rec = { ratings: { fit: fit.length, val: val.length, base: base.length, test: test.length }, tried: [] };
    for (const cfg of GRID) {
      const t = performance.now();
      const model = await MF.fit(m.fit, { ...cfg, seed, threads }, { valid: m.val });
      const curve = model.learningCurve();
      const best = model.bestEpoch;
      rec.tried.push({ params: cfg, valid_rmse: curve[best - 1].validRmse, best_epoch: best, epochs_run: curve.length, seconds: (performance.now() - t) / 1000 });
      log(`${f} ${JSON.stringify(cfg)}: valid RMSE ${curve[best - 1].validRmse.toFixed(4)} at epoch ${best}`);
    }
    const chosen = rec.tried.reduce((a, b) => (b.valid_rmse < a.valid_rmse ? b : a));
    // Refitted on the whole base file for the chosen config's best epoch count.
    const params = { ...chosen.params, epochs: chosen.best_epoch, patience: 0, seed, threads };
    let t = performance.now();
    const final = await MF.fit(m.base, params);
    const fitSeconds = (performance.now() - t) / 1000;
    rec.mf_tuned = { ...final.ratingMetrics(m.test), params, fit_seconds: fitSeconds };
    t = performance.now();
    const defaults = await MF.fit(m.base, { seed, threads });
    rec.mf_defaults = { ...defaults.ratingMetrics(m.test), fit_seconds: (performance.now() - t) / 1000 };
    log(`${f}: test RMSE ${rec.mf_tuned.rmse.toFixed(4)} (chosen ${JSON.stringify(chosen.params)} x ${chosen.best_epoch} epochs); defaults ${rec.mf_defaults.rmse.toFixed(4)}`);
    // svd: one exact solve per config, so each is scored on the validation slice directly.
    rec.svd_tried = [];
    for (const cfg of SVD_GRID) {
      const t0 = performance.now();
      const model = await SVD.fit(m.fit, { ...cfg, seed, threads });
      rec.svd_tried.push({ params: cfg, valid_rmse: model.ratingMetrics(m.val).rmse, seconds: (performance.now() - t0) / 1000 });
    }
    const svdChosen = rec.svd_tried.reduce((a, b) => (b.valid_rmse < a.valid_rmse ? b : a));
    t = performance.now();
    const svdFinal = await SVD.fit(m.base, { ...svdChosen.params, seed, threads });
    rec.svd_tuned = { ...svdFinal.ratingMetrics(m.test), params: svdChosen.params, valid_rmse: svdChosen.valid_rmse, fit_seconds: (performance.now() - t) / 1000 };
    log(`${f}: svd test RMSE ${rec.svd_tuned.rmse.toFixed(4)} (chosen ${JSON.stringify(svdChosen.params)}, valid ${svdChosen.valid_rmse.toFixed(4)})`);
    results.folds[f] = rec;
  }
  if (!o['no-surprise']) {
    const probe = spawnSync(PY, ['-c', 'import surprise'], { encoding: 'utf8' });
    if (probe.status === 0) {
      log('Surprise: SVD (defaults, tuned on the same slices) and BaselineOnly');
      const r = spawnSync(PY, [join(BENCH, 'python', 'surprise_ratings.py'), '--dir', work, '--folds', o.folds], {
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
        maxBuffer: 1 << 26,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`surprise_ratings.py exited ${r.status}`);
      results.surprise = JSON.parse(r.stdout);
    } else {
      log('scikit-surprise is not installed in bench/.venv: comparing against the issue\'s figures only');
    }
  }
  const summary = (pick) => {
    const rows = folds.map((f) => pick(f)).filter((x) => x);
    return rows.length === folds.length ? { rmse: mean(rows.map((x) => x.rmse)), mae: mean(rows.map((x) => x.mae)), per_fold: rows.map((x) => x.rmse) } : null;
  };
  results.summary = {
    mf_tuned: summary((f) => results.folds[f].mf_tuned),
    mf_defaults: summary((f) => results.folds[f].mf_defaults),
    svd_tuned: summary((f) => results.folds[f].svd_tuned),
    surprise_svd_default: results.surprise ? summary((f) => results.surprise.folds[f].svd_default) : null,
    surprise_svd_tuned: results.surprise ? summary((f) => results.surprise.folds[f].svd_tuned) : null,
    surprise_baseline: results.surprise ? summary((f) => results.surprise.folds[f].baseline) : null,
  };
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(join(BENCH, 'results', `ratings-${id}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(BENCH, 'RESULTS-ratings.md'), render(results, folds));
  log(`mean test RMSE: mf ${results.summary.mf_tuned.rmse.toFixed(4)}, svd ${results.summary.svd_tuned.rmse.toFixed(4)}; written bench/RESULTS-ratings.md`);
  return 0;
}

function render(res, folds) {
  const s = res.summary;
  const fmt = (x) => (x === null || x === undefined ? '-' : x.toFixed(4));
  const row = (name, v, note = '') => `| ${name} | ${folds.map((_, j) => fmt(v?.per_fold[j])).join(' | ')} | **${fmt(v?.rmse)}** | ${fmt(v?.mae)} | ${note} |`;
  const chosen = folds.map((f) => {
    const p = res.folds[f].mf_tuned.params;
    return `| ${f} | ${p.solver} | ${p.factors} | ${p.regularization} | ${p.biasRegularization} | ${p.learningRate ?? '-'} | ${p.epochs} | ${fmt(res.folds[f].tried.find((t) => t.params.solver === p.solver && t.params.regularization === p.regularization).valid_rmse)} | ${res.folds[f].mf_tuned.fit_seconds.toFixed(2)} |`;
  });
  const tuned = res.surprise ? folds.map((f) => `${f}: reg_all ${res.surprise.folds[f].svd_tuned.params.reg_all}, ${res.surprise.folds[f].svd_tuned.params.n_epochs} epochs`).join('; ') : '';
  return `# Rating prediction on ml-100k u1-u5 (\`npm run bench -- ratings\`)

Run ${res.id}, commit ${res.git}, ${res.threads} threads, load before: ${res.load_before}.
Command: \`${res.command}\` (raw numbers: \`bench/results/ratings-${res.id}.json\`).

Protocol: for each official fold uN, a seeded ${Math.round(res.valid_share * 100)} % of uN.base is the validation
slice; every config of the grid below is fitted on the other ${Math.round((1 - res.valid_share) * 100)} % with early stopping
on validation RMSE; the config with the lowest validation RMSE is refitted on all of uN.base for its
best epoch count (no early stopping, uN.test never seen before) and scored on uN.test. RMSE and MAE
over every test rating, predictions clipped to the training rating range (1-5). Surprise runs on
the same files${res.surprise ? '' : ' (not installed here: its row shows the issue\'s figures)'}.

| model | ${folds.join(' | ')} | mean RMSE | mean MAE | |
|---|${folds.map(() => '---').join('|')}|---|---|---|
${row('cf-native mf, tuned on the validation slices', s.mf_tuned, 'target <= 0.905')}
${row('cf-native mf, defaults', s.mf_defaults)}
${row('cf-native svd (rated mode), factors and mean tuned on the validation slices', s.svd_tuned, 'truncated SVD of mean-centred ratings')}
${res.surprise ? row('Surprise SVD, defaults', s.surprise_svd_default, `issue: ${ISSUE.svd_default}`) : `| Surprise SVD, defaults (issue's figure) | ${folds.map(() => '-').join(' | ')} | ${ISSUE.svd_default} | - | |`}
${res.surprise ? row('Surprise SVD, tuned on the same slices', s.surprise_svd_tuned, tuned) : `| Surprise SVD, stronger regularisation (issue's figure) | ${folds.map(() => '-').join(' | ')} | ${ISSUE.svd_strong_reg} | - | |`}
${res.surprise ? row('Surprise BaselineOnly', s.surprise_baseline, `issue: ${ISSUE.baseline}`) : `| biases alone (issue's figure) | ${folds.map(() => '-').join(' | ')} | ${ISSUE.baseline} | - | |`}

The issue's figures for the same folds: Surprise SVD defaults ${ISSUE.svd_default}, with stronger
regularisation ${ISSUE.svd_strong_reg}, biases alone ${ISSUE.baseline}.

## What the validation slices chose

| fold | solver | factors | regularization | bias_regularization | learning_rate | epochs | valid RMSE | refit s |
|---|---|---|---|---|---|---|---|---|
${chosen.join('\n')}

Grid (seed ${res.seed}): ${res.grid.map((g) => '`' + JSON.stringify(g) + '`').join(', ')}.

svd (rated modes): every \`centering\` of ${[...new Set(res.svd_grid.map((g) => g.centering))].join(', ')} x \`factors\` ${[...new Set(res.svd_grid.map((g) => g.factors))].join(', ')}
fitted on the 90 % and scored on the validation slice; the lowest validation RMSE is refitted on uN.base.

| fold | centering | factors | valid RMSE | test RMSE | refit s |
|---|---|---|---|---|---|
${folds.map((f) => { const v = res.folds[f].svd_tuned; return `| ${f} | ${v.params.centering} | ${v.params.factors} | ${fmt(v.valid_rmse)} | ${fmt(v.rmse)} | ${v.fit_seconds.toFixed(2)} |`; }).join('\n')}

Validation RMSE by mean and factors, averaged over the folds:

| centering | ${[...new Set(res.svd_grid.map((g) => g.factors))].join(' | ')} |
|---|${[...new Set(res.svd_grid.map((g) => g.factors))].map(() => '---').join('|')}|
${[...new Set(res.svd_grid.map((g) => g.centering))].map((c) => `| ${c} | ${[...new Set(res.svd_grid.map((g) => g.factors))].map((k) => fmt(mean(folds.map((f) => res.folds[f].svd_tried.find((t) => t.params.centering === c && t.params.factors === k).valid_rmse)))).join(' | ')} |`).join('\n')}
`;
}
