#!/usr/bin/env node
// What explicit dislikes do to BPR: on the shared MovieLens datasets (ratings >= 4 are
// positives, ratings <= 2 dislikes; Last.fm has play counts and no dislike), an 80/20 random
// split of the positives (10 % of the rest for validation), every sampler at the model's
// defaults and 64 factors, then the mixed variants with hard_fraction chosen on validation.
// Test NDCG@10 by the native evaluator (train and validation items filtered), median of
// three seeds. Writes bench/results/bpr-dislikes-<time>.json and prints a Markdown table.
//
//   node bench/bpr_dislikes.mjs [--epochs 100] [--seeds 1,2,3]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BPR, loadDataset, splitDataset } from '../dist/index.js';

const { values: o } = parseArgs({ options: { epochs: { type: 'string', default: '100' }, seeds: { type: 'string', default: '1,2,3' } } });
const root = resolve(import.meta.dirname, '..');
const data = resolve(root, '../shared/data');
const DATASETS = {
  'ml-100k': { path: join(data, 'ml-100k/u.data'), delimiter: '\t', header: false },
  'ml-latest-small': { path: join(data, 'ml-latest-small/ratings.csv'), delimiter: ',', header: true },
};
const seeds = o.seeds.split(',').map(Number);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = { factors: 64, epochs: Number(o.epochs), threads: 2 };

// name -> [params, uses dislikes]
const VARIANTS = {
  uniform: [{ sampler: 'uniform' }, false],
  dns: [{ sampler: 'dns' }, false],
  'mixed (popular)': [{ sampler: 'mixed' }, false],
  'mixed (popular + dislikes)': [{ sampler: 'mixed' }, true],
  'mixed (dislikes only)': [{ sampler: 'mixed', hardTopN: 0 }, true],
};
const FRACTIONS = [0.1, 0.3, 0.5];

const results = { started_at: new Date().toISOString(), epochs: base.epochs, seeds, datasets: {} };
for (const [name, src] of Object.entries(DATASETS)) {
  const ds = loadDataset({ ...src, positiveThreshold: 4, negativeThreshold: 2 });
  const negatives = ds.negatives();
  const rec = { users: ds.stats.users, items: ds.stats.items, positives: ds.stats.rows, dislikes: ds.stats.negatives, variants: {} };
  results.datasets[name] = rec;
  for (const seed of seeds) {
    const { train, valid, test } = splitDataset(ds, { strategy: 'random', valid: 0.1, test: 0.2, seed });
    const score = async (params, useNeg, truth, also) => {
      const m = await BPR.fit(train, { ...base, ...params, seed }, useNeg ? { negatives } : {});
      const ev = await m.evaluate(train, truth, { k: [10], alsoExclude: also });
      const c = m.learningCurve();
      return { ndcg: ev.metrics['ndcg@10'], disliked: c.reduce((s, e) => s + e.negatives.disliked, 0), hard: c.reduce((s, e) => s + e.negatives.hard, 0) };
    };
    for (const [v, [params, useNeg]] of Object.entries(VARIANTS)) {
      const r = (rec.variants[v] ??= { default: [], tuned: [], chosen: [], disliked_share: [] });
      const d = await score(params, useNeg, test, valid);
      r.default.push(d.ndcg);
      r.disliked_share.push(d.hard ? d.disliked / d.hard : 0);
      if (params.sampler === 'mixed') {
        // hard_fraction chosen on validation, then scored once on test.
        let best = null;
        for (const f of FRACTIONS) {
          const s = await score({ ...params, hardFraction: f }, useNeg, valid, null);
          if (!best || s.ndcg > best.ndcg) best = { f, ndcg: s.ndcg };
        }
        r.chosen.push(best.f);
        r.tuned.push((await score({ ...params, hardFraction: best.f }, useNeg, test, valid)).ndcg);
      }
      process.stderr.write(`${name} seed ${seed} ${v}: ${d.ndcg.toFixed(4)}\n`);
    }
  }
}
results.finished_at = new Date().toISOString();
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `bpr-dislikes-${results.started_at.replace(/[:.]/g, '-').slice(0, 19)}Z.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

const names = Object.keys(DATASETS);
console.log(`| sampler (64 factors, ${base.epochs} epochs, defaults otherwise) | ${names.map((n) => `${n} defaults | ${n} hard_fraction tuned`).join(' | ')} |`);
console.log(`| --- | ${names.map(() => '--- | ---').join(' | ')} |`);
for (const v of Object.keys(VARIANTS)) {
  const cells = names.map((n) => {
    const r = results.datasets[n].variants[v];
    const share = median(r.disliked_share);
    const d = `${median(r.default).toFixed(4)}${share ? ` (${(100 * share).toFixed(0)} % of hard from dislikes)` : ''}`;
    const t = r.tuned.length ? `${median(r.tuned).toFixed(4)} (fraction ${r.chosen.join('/')})` : '';
    return `${d} | ${t}`;
  });
  console.log(`| ${v} | ${cells.join(' | ')} |`);
}
console.log(`\n${names.map((n) => `${n}: ${results.datasets[n].positives} positives, ${results.datasets[n].dislikes} dislikes`).join('; ')}. Raw: ${file.slice(root.length + 1)}`);
