// Leave-one-dataset-out choice of cf-native tune's built-in ALS space and strategy:
//   node bench/tune_lodo.mjs [--datasets ml-100k,ml-latest-small,lastfm-2k] [--threads 2]
// Each variant (a space and a strategy, the default budget of trials) runs `runTune` on each
// dataset's bench train split only (its own random 20 % validation part, as bench/tune.mjs's
// config); its score on a dataset is the best validation NDCG@10 it found divided by the best
// any variant found there. For each rotation the variant with the best mean score on two
// datasets is chosen and its score on the third reported. Test is never read.
// Writes bench/results/tune-lodo-<id>.json and prints the tables.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTrainCsv } from './lib/splits.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const { values: o } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'ml-100k,ml-latest-small,lastfm-2k' },
    threads: { type: 'string', default: '2' },
    variants: { type: 'string' },
    // Read the finished studies of an earlier run (runs/tune-lodo/<dataset>/<variant>/tuning.json)
    // instead of running any; rotations then choose among the variants finished on every dataset.
    'reuse-only': { type: 'boolean', default: false },
  },
});
const { parseConfig, runTune, defaultTrials } = await import(join(ROOT, 'dist', 'index.js'));
const log = (m) => process.stderr.write(`[tune lodo] ${m}\n`);
const r = (min, max) => `{ min: ${min}, max: ${max}, log: true }`;
const VARIANTS = {
  'wide-tpe': { strategy: 'tpe', space: { factors: r(32, 128), alpha: r(1, 100), regularization: r(1, 3000) } },
  'wide-tpe20': { strategy: 'tpe', startup: 20, space: { factors: r(32, 128), alpha: r(1, 100), regularization: r(1, 3000) } },
  'wide-random': { strategy: 'random', space: { factors: r(32, 128), alpha: r(1, 100), regularization: r(1, 3000) } },
  'mid-tpe': { strategy: 'tpe', space: { factors: r(32, 128), alpha: r(1, 50), regularization: r(3, 1000) } },
  'mid-random': { strategy: 'random', space: { factors: r(32, 128), alpha: r(1, 50), regularization: r(3, 1000) } },
  // Twice the built-in budget (trials got ~7x cheaper once they stopped computing AUC), and a
  // factor range up to 256: more trials can only raise the best validation figure of the same
  // study, so these rows are read for what the extra trials buy, against their time.
  'wide-tpe-80': { strategy: 'tpe', trials: 80, space: { factors: r(32, 128), alpha: r(1, 100), regularization: r(1, 3000) } },
  'wide-random-80': { strategy: 'random', trials: 80, space: { factors: r(32, 128), alpha: r(1, 100), regularization: r(1, 3000) } },
  'wider-tpe-80': { strategy: 'tpe', trials: 80, space: { factors: r(32, 256), alpha: r(1, 100), regularization: r(1, 3000) } },
};
const names = o.variants ? o.variants.split(',') : Object.keys(VARIANTS);
const datasets = o.datasets.split(',');
const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z';
const out = { id, command: `node bench/tune_lodo.mjs ${process.argv.slice(2).join(' ')}`.trim(), trials: defaultTrials(['als']), variants: {}, runs: {} };
for (const d of datasets) {
  const dir = join(BENCH, '.data', 'runs', 'tune-lodo', d);
  out.runs[d] = {};
  if (!o['reuse-only']) {
    // Each variant's study starts over (fresh) in its own folder; the others' stay for --reuse-only.
    mkdirSync(dir, { recursive: true });
    await writeTrainCsv(ROOT, join(BENCH, '.data', d, 'train'), join(dir, 'train.csv'));
  }
  for (const v of names) {
    if (o['reuse-only']) {
      const f = join(dir, v, 'tuning.json');
      const t = existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
      if (!t?.best) continue;
      const ok = t.trials.filter((x) => x.status === 'ok');
      const best = ok.reduce((a, b) => (b.score > a.score ? b : a));
      out.variants[v] = VARIANTS[v];
      out.runs[d][v] = { best_valid: best.score, params: best.params, trial_seconds: ok.reduce((s, x) => s + x.seconds, 0), wall_seconds: null };
      continue;
    }
    const { strategy, space, startup, trials } = VARIANTS[v];
    out.variants[v] = VARIANTS[v];
    const yaml = `data:\n  path: ${join(dir, 'train.csv')}\n  header: true\nsplit: { strategy: random, valid: 0.2, test: 0 }\nmodels:\n  - type: als\n    params: { threads: ${o.threads} }\nevaluate: { k: 10 }\noutput: ${join(dir, v)}\ntune:\n  strategy: ${strategy}\n${startup ? `  startup_trials: ${startup}\n` : ''}${trials ? `  trials: ${trials}\n` : ''}  space:\n    als:\n${Object.entries(space).map(([k, x]) => `      ${k}: ${x}\n`).join('')}`;
    const t = performance.now();
    const res = await runTune(parseConfig(yaml, `${v}.yaml`), { fresh: true, report: false });
    const ok = res.trials.filter((x) => x.status === 'ok');
    const best = ok.reduce((a, b) => (b.score > a.score ? b : a));
    out.runs[d][v] = { best_valid: best.score, params: best.params, trial_seconds: ok.reduce((s, x) => s + x.seconds, 0), wall_seconds: (performance.now() - t) / 1000 };
    log(`${d} ${v}: valid ${best.score.toFixed(4)} ${JSON.stringify(best.params)} (${out.runs[d][v].wall_seconds.toFixed(1)} s)`);
  }
}
const score = (d, v) => out.runs[d][v].best_valid / Math.max(...Object.values(out.runs[d]).map((x) => x.best_valid));
const everywhere = names.filter((v) => datasets.every((d) => out.runs[d][v]));
out.rotations = datasets.map((held) => {
  const on = datasets.filter((x) => x !== held);
  const mean = (v) => on.reduce((s, d) => s + score(d, v), 0) / on.length;
  const chosen = everywhere.reduce((a, b) => (mean(b) > mean(a) ? b : a));
  return { held_out: held, chosen_on: on, chosen, score_on_chosen: mean(chosen), score_on_held_out: score(held, chosen) };
});
mkdirSync(join(BENCH, 'results'), { recursive: true });
writeFileSync(join(BENCH, 'results', `tune-lodo-${id}.json`), `${JSON.stringify(out, null, 1)}\n`);
const lines = [`| variant | ${datasets.map((d) => `${d} valid NDCG@10 (share of best, s)`).join(' | ')} |`, `| --- |${datasets.map(() => ' --- |').join('')}`];
const cell = (d, v) => {
  const x = out.runs[d][v];
  if (!x) return 'not run';
  return `${x.best_valid.toFixed(4)} (${score(d, v).toFixed(3)}, ${(x.wall_seconds ?? x.trial_seconds).toFixed(0)} s${x.wall_seconds === null ? ' of trials' : ''})`;
};
for (const v of names) lines.push(`| ${v} | ${datasets.map((d) => cell(d, v)).join(' | ')} |`);
lines.push('', '| held out | chosen on | chosen | mean share on the two | share on the held-out one |', '| --- | --- | --- | --- | --- |');
for (const r of out.rotations) lines.push(`| ${r.held_out} | ${r.chosen_on.join(', ')} | ${r.chosen} | ${r.score_on_chosen.toFixed(3)} | ${r.score_on_held_out.toFixed(3)} |`);
process.stdout.write(`Reproduce: \`${out.command}\` (run ${id})\n\n${lines.join('\n')}\n`);
