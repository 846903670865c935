// Renders a top-K results object (bench/results/topk-*.json) as bench/RESULTS-topk.md.
// Pure: JSON in, text out.

const int = (n) => (n == null || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const fix = (n, d) => (n == null || !Number.isFinite(n) ? '—' : n.toFixed(d));
const ms = (n) => (n == null || !Number.isFinite(n) ? '—' : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3));
const pct = (x) => (x == null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(0)} %`);
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

// implicit 0.7.3, 64 factors, 2 threads, measured earlier on another CPU (issue 15).
const ANCHORS = {
  'items20k-64': { users_per_second: 11_700, single_ms: 0.27 },
  'items292k-64': { users_per_second: 1_460, single_ms: 6.9 },
};
// Issue 15's goals at 2 threads, 64 factors: batch ratio at least, single-call ratio at most.
const GOALS = { 'items20k-64': { batch: 6, single: 0.25 }, 'items292k-64': { batch: 4, single: 0.25 } };

function mainRow(w) {
  const s = w.summary;
  const c = s.cf_native;
  const i = s.implicit;
  return [
    w.name,
    `${int(w.shape.items)} × ${w.factors}`,
    int(w.shape.queries),
    int(c.recommend_per_second),
    int(i.recommend_per_second),
    `${fix(s.ratio.recommend_batch, 2)}x`,
    `${ms(c.recommend_single_ms)} (${ms(c.recommend_single_p90_ms)})`,
    `${ms(i.recommend_single_ms)} (${ms(i.recommend_single_p90_ms)})`,
    `${fix(s.ratio.recommend_single, 3)}x`,
    `${pct(c.recommend_peak_fraction)} / ${pct(i.recommend_peak_fraction)}`,
    `${fix(s.agreement.recommend?.identical, 2)} (${fix(s.agreement.recommend?.overlap, 3)})`,
  ];
}

function similarRow(w) {
  const s = w.summary;
  const c = s.cf_native;
  const i = s.implicit;
  return [
    w.name,
    int(w.shape.similar),
    int(c.similar_per_second),
    int(i.similar_per_second),
    `${fix(s.ratio.similar_batch, 2)}x`,
    `${ms(c.similar_single_ms)} (${ms(c.similar_single_p90_ms)})`,
    `${ms(i.similar_single_ms)} (${ms(i.similar_single_p90_ms)})`,
    `${fix(s.ratio.similar_single, 3)}x`,
    `${pct(c.similar_peak_fraction)} / ${pct(i.similar_peak_fraction)}`,
    `${fix(s.agreement.similar?.identical, 2)} (${fix(s.agreement.similar?.overlap, 3)})`,
  ];
}

function singleRow(w) {
  const i = w.summary.implicit;
  const c = w.summary.cf_native;
  return [
    w.name,
    ms(c.recommend_single_ms),
    ms(i.recommend_single_ms),
    ms(i.recommend_single_presliced_ms),
    ms(i.recommend_single_blas_threads_ms),
    ms(i.recommend_single_blas_threads_presliced_ms),
  ];
}

export function renderTopk(res) {
  const m = res.machine;
  const ok = res.workloads.filter((w) => w.summary);
  const peak = res.gemm_peak?.gflops ?? {};
  const L = [];
  L.push('# Top-K benchmark: cf-native vs implicit', '');
  L.push('Reproduce (from the repository root):', '', '```sh', res.command, '```', '');
  const py = ok[0]?.rounds[0]?.implicit;
  L.push(
    `Run \`${res.run_id}\`, ${res.started_at}, ${fix(res.total_seconds / 60, 1)} min in all. ` +
      `Machine: ${m.cpu_model}, ${m.cores} cores (${m.simd.join(', ') || 'no AVX2'}), ${m.memory_gib} GiB; ${m.os}. ` +
      `Node ${m.node}, ${m.rustc}; cf-native addon profile **${m.addon.profile}** ` +
      `(git ${m.git_commit?.slice(0, 10) ?? '?'}${m.git_engine_sources_dirty ? ', engine sources modified vs HEAD' : ''}); ` +
      `implicit ${py?.version ?? '?'} (bench/.venv, OPENBLAS_NUM_THREADS=1).`,
    '',
  );
  if (m.addon.profile !== 'release') L.push('**Warning:** the addon was not the `--release` (fat LTO) build.', '');
  L.push(
    `Both engines: ${res.threads} threads, k = ${res.k}, the same float32 factors (normal(0, 0.1), seed ${res.seed}) and the same ` +
      'seen matrix (35–105 random items per user, mean 70; every user has a row) read from the same .npy files; ' +
      `recommend filters the seen items. Each engine runs in its own process, one at a time${res.rounds > 1 ? `, ${res.rounds} rounds alternating the engines; every figure is the median over rounds` : ''}. ` +
      `GEMM peak (faer f32, n = 2048, best of 5, start and end of the run): ${Object.entries(peak).map(([t, g]) => `${t} thread${t === '1' ? '' : 's'} ${fix(g, 0)} GFLOP/s`).join(', ') || '—'}.`,
    '',
  );
  L.push('## recommend', '');
  L.push(
    table(
      ['workload', 'items × factors', 'query users', 'cf-native users/s', 'implicit users/s', 'ratio', 'cf-native single ms (p90)', 'implicit single ms (p90)', 'single ratio', 'GEMM peak cf / implicit', 'ids identical (overlap)'],
      ok.map(mainRow),
    ),
    '',
  );
  L.push('## similar items (cosine)', '');
  L.push(
    table(
      ['workload', 'query items', 'cf-native items/s', 'implicit items/s', 'ratio', 'cf-native single ms (p90)', 'implicit single ms (p90)', 'single ratio', 'GEMM peak cf / implicit', 'ids identical (overlap)'],
      ok.map(similarRow),
    ),
    '',
  );
  L.push('## implicit single calls, variants (median ms)', '');
  L.push(
    'The table above times implicit as its docs call it, `model.recommend(u, user_items[u], N=10)`, the row slice included and ' +
      "BLAS on one thread. Here also with the row sliced beforehand, and with OPENBLAS_NUM_THREADS = threads (implicit's single " +
      "call is one BLAS product on the calling thread, so only BLAS threads can parallelise it; measured once, in the last round).",
    '',
  );
  L.push(table(['workload', 'cf-native', 'implicit', 'implicit, row pre-sliced', `implicit, BLAS ${res.threads} threads`, `implicit, BLAS ${res.threads} threads, pre-sliced`], ok.map(singleRow)), '');

  const goals = ok.filter((w) => GOALS[w.name] && res.threads === 2);
  if (goals.length) {
    L.push('## Issue 15 goals (2 threads, 64 factors)', '');
    for (const w of goals) {
      const g = GOALS[w.name];
      const a = ANCHORS[w.name];
      L.push(
        `- **${w.name}**: batch ${fix(w.summary.ratio.recommend_batch, 2)}x implicit (goal ≥ ${g.batch}x); single call ` +
          `${fix(w.summary.ratio.recommend_single, 3)}x implicit's latency (goal ≤ ${g.single}x). ` +
          `implicit here ${int(w.summary.implicit.recommend_per_second)} users/s and ${ms(w.summary.implicit.recommend_single_ms)} ms; ` +
          `anchor on another CPU ${int(a.users_per_second)} users/s and ${a.single_ms} ms.`,
      );
    }
    L.push('');
  }

  L.push('Columns:', '');
  L.push(
    `- *users/s*: query users ÷ seconds of one batch call over all of them (cf-native \`model.recommend(users, { k })\`, one sync call; implicit \`model.recommend(userids, user_items[userids], N=10)\`, the rows sliced before timing), median of ${res.reps} calls after a warm-up.`,
    `- *single ms*: one call per user for the first ${res.singles} query users (cf-native \`model.recommend(u, { k })\`), median and p90. *single ratio* = cf-native ÷ implicit, < 1 is cf-native faster.`,
    '- *GEMM peak*: the batch\'s useful flops (2 × factors × items per query) per second ÷ the GEMM peak at the same threads.',
    '- *ids identical (overlap)*: of the first 100 queries, the fraction whose top-10 id lists are identical, and the mean fraction of ids shared. Ties and float summation order can differ; this is reported, not asserted. Similar items: cf-native leaves the query item out and implicit returns it first, so the first 9 ids of each are compared with it removed.',
    '',
  );
  const notes = [];
  for (const w of ok) {
    if (w.rounds.length > 1) notes.push(`- ${w.name}: recommend ratio per round ${w.summary.per_round_recommend_ratio.map((x) => fix(x, 2)).join(', ')}.`);
    const intf = w.rounds.flatMap((r) => Object.values(r).map((e) => e.hygiene?.during?.other_cores)).filter((x) => x != null);
    if (intf.some((x) => x > 0.2)) notes.push(`- ${w.name}: **other processes used up to ${Math.max(...intf)} cores during a timed run**.`);
  }
  for (const w of res.workloads.filter((x) => x.error)) notes.push(`- **${w.name} failed:** ${w.error}`);
  if (notes.length) L.push('Per workload:', '', ...notes, '');
  if (res.warnings?.length) L.push('Warnings:', '', ...res.warnings.map((x) => `- ${x}`), '');
  L.push(`Full record: \`${res.results_file}\`.`, '');
  return L.join('\n');
}
