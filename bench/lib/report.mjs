// Renders a results object (what bench/run.mjs writes to bench/results/als-*.json) as the
// markdown of bench/RESULTS.md. Pure: JSON in, text out, so a results file can be re-rendered.

const int = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
const fix = (n, d) => (n == null || !Number.isFinite(n) ? '—' : n.toFixed(d));
const sec = (n) => (n == null ? '—' : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n >= 0.1 ? n.toFixed(3) : n.toFixed(4));
const mib = (b) => (b == null ? '—' : `${Math.round(b / 2 ** 20).toLocaleString('en-US')} MiB`);
const pct = (x) => (x == null || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);
const pair = (a, b, d) => `${fix(a, d)} / ${fix(b, d)}`;

function row(w) {
  const cf = w.cf_native ?? {};
  const im = w.implicit ?? {};
  const q = w.quality?.engines ?? {};
  const n = w.quality ? `ndcg@${w.quality.k}` : 'ndcg@10';
  const r = w.quality ? `recall@${w.quality.k}` : 'recall@10';
  return [
    w.name,
    `${int(w.matrix?.rows)} × ${int(w.matrix?.cols)}`,
    int(w.matrix?.nnz),
    w.factors,
    w.solver,
    w.iterations,
    sec(cf.seconds_per_iteration_median),
    sec(im.seconds_per_iteration_median),
    fix(w.ratio_seconds, 2),
    mib(cf.peak_rss_bytes),
    mib(im.peak_rss_bytes),
    `${fix(cf.memory_ratio, 2)} / ${fix(im.memory_ratio, 2)}`,
    pair(q['cf-native']?.[n], q.implicit?.[n], 4),
    pair(q['cf-native']?.[r], q.implicit?.[r], 4),
    pct(w.ndcg_relative_difference),
  ];
}

const HEAD = [
  'workload', 'shape (users × items)', 'train nnz', 'factors', 'solver', 'iters',
  'cf-native s/iter', 'implicit s/iter', 'ratio cf/implicit', 'cf-native peak RSS', 'implicit peak RSS',
  'memory ratio cf / implicit', 'NDCG@10 cf / implicit', 'Recall@10 cf / implicit', 'NDCG rel. diff',
];

const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function renderMarkdown(res) {
  const m = res.machine;
  const py = res.python_env ?? {};
  const h = res.hyperparameters;
  const L = [];
  L.push('# ALS benchmark: cf-native vs implicit', '');
  L.push('Reproduce (from the repository root):', '', '```sh', res.command, '```', '');
  L.push(
    `Run \`${res.run_id}\`, ${res.started_at}, ${fix(res.total_seconds / 60, 1)} min in all. ` +
      `Machine: ${m.cpu_model}, ${m.cores} cores (${m.simd.join(', ') || 'no AVX2'}), ${m.memory_gib} GiB; ${m.os}. ` +
      `Node ${m.node}, ${m.rustc}; cf-native addon profile **${m.addon.profile}** ` +
      `(git ${m.git_commit?.slice(0, 10) ?? '?'}${m.git_engine_sources_dirty ? ', engine sources modified vs HEAD' : ''}); ` +
      `implicit ${py.implicit ?? '?'} (${py.build ?? '?'}), numpy ${py.numpy ?? '?'}, scipy ${py.scipy ?? '?'}, Python ${py.python ?? '?'}.`,
    '',
  );
  if (m.addon.profile !== 'release') L.push(`**Warning:** the addon was not the \`--release\` (fat LTO) build; numbers may be pessimistic.`, '');
  L.push(
    `Both engines: ${res.threads} threads, f32 factors and arithmetic (cf-native's CG reads a float16 copy of the other ` +
      `side's factors, its default \`cgPrecision: 'mixed'\`), regularization ${h.regularization} (not scaled by row counts), ` +
      `alpha ${h.alpha}, CG ${h.cgSteps} steps (CG rows), seed ${h.seed}, fitted one after the other in separate processes ` +
      `on the same train matrix files. **Confidence:** cf-native uses c = 1 + alpha·r (\`confidence: 'linear'\`); implicit ` +
      `uses c = alpha·r on whatever it is given, so it is given r' = 1 + alpha·r with alpha = 1 (computed before the timed fit) ` +
      `— the identical c for both.`,
    '',
  );
  L.push(table(HEAD, res.workloads.filter((w) => !w.error).map(row)), '');
  const failed = res.workloads.filter((w) => w.error);
  for (const w of failed) L.push(`- **${w.name} failed:** ${w.error}`);
  if (failed.length) L.push('');

  L.push('Columns:', '');
  L.push(
    `- *s/iter*: median over the iterations of one fit${res.rounds > 1 ? `, then the median over ${res.rounds} rounds in which the two engines alternate` : ''} (users half-step + items half-step), as each engine reports it ` +
      '(cf-native: measured in Rust around each iteration; implicit: its fit callback). *ratio* < 1 means cf-native is faster.',
    '- *peak RSS*: the engine process\'s maxRSS (runtime, loading and fit).',
    '- *memory ratio*: (peak RSS sampled during the fit − RSS of the bare runtime before loading data) ÷ (matrix + factors), ' +
      'where matrix = CSR + its transpose (both engines build one) with 4-byte indices and f32 values, factors = (users + items) × factors × 4 B.',
    '- *NDCG@10 / Recall@10*: one evaluator (`bench/python/evaluate.py`) on both engines\' factor files: held-out = a seeded ' +
      `per-user random ${h.testFraction * 100} % of each user's rows (never a user's last row); train items filtered from the ranking; ` +
      'Recall = hits / min(10, |T|); binary-gain NDCG normalised by the ideal of min(10, |T|) hits; macro-average over users with ' +
      '≥ 1 test and ≥ 1 train item. *NDCG rel. diff* = cf-native ÷ implicit − 1 (target: within ±2 % on the real datasets).',
    '',
  );

  L.push('Per workload:', '');
  for (const w of res.workloads.filter((x) => !x.error)) {
    const bits = [];
    if (w.anchor != null) bits.push(`implicit anchor (research §1.7) ${w.anchor} s/iter, measured here ${sec(w.implicit?.seconds_per_iteration_median)}`);
    if (w.quality) {
      bits.push(`quality on ${int(w.quality.users_evaluated)} of ${int(w.quality.users_eligible)} eligible users${w.quality.sampled ? ' (seeded sample)' : ''}`);
      bits.push(`popularity NDCG@10 ${fix(w.quality.popularity?.['ndcg@10'], 4)}`);
    }
    if (w.rounds?.length > 1) {
      const per = (e) => w.rounds.map((r) => sec(r[e])).join(', ');
      bits.push(`${w.rounds.length} alternating rounds, s/iter per round: cf-native ${per('cf_native')}; implicit ${per('implicit')}`);
    }
    if (w.memory_model && w.matrix && w.anchor != null) {
      // The issue's literal wording: peak growth ÷ (the CSR alone + factors), no transpose.
      const csr = (w.matrix.rows + 1) * 4 + w.matrix.nnz * 8;
      const lit = (e) => (e.rss_fit_peak_bytes - e.rss_runtime_bytes) / (csr + w.memory_model.factor_bytes);
      bits.push(`memory ÷ (CSR without transpose + factors) ${fix(lit(w.cf_native), 2)} / ${fix(lit(w.implicit), 2)}`);
    }
    if (w.cf_native?.self_eval) bits.push(`cf-native's own evaluate() NDCG@10 ${fix(w.cf_native.self_eval['ndcg@10'], 4)} (evaluator cross-check)`);
    if (w.data_info?.generation?.draws) bits.push(`${int(w.data_info.generation.draws)} draws → ${int(w.data_info.generation.distinct_pairs)} distinct pairs`);
    const intf = ['cf_native', 'implicit'].map((e) => w.hygiene?.[e]?.during?.other_cores).filter((x) => x != null);
    if (intf.some((x) => x > 0.2)) bits.push(`**other processes used up to ${Math.max(...intf)} cores during the timing**`);
    L.push(`- **${w.name}**: ${bits.join('; ')}.`);
  }
  L.push('');
  if (res.warnings?.length) {
    L.push('Warnings:', '', ...res.warnings.map((x) => `- ${x}`), '');
  }
  L.push(`Full record: \`${res.results_file}\`.`, '');
  L.push('Spark MLlib ALS beside cf-native (parity NDCG@10, seconds per iteration and end to end, memory): [`RESULTS-spark.md`](RESULTS-spark.md), `npm run bench -- spark`.', '');
  L.push('A validation-tuned hybrid of ALS, kNN and EASE beside its best part (test NDCG@10, paired bootstrap): [`RESULTS-hybrid.md`](RESULTS-hybrid.md), `npm run bench -- hybrid`.', '');
  return L.join('\n');
}
