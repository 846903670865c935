// Timing helpers shared by the top-K bench's Node side: repeated batch calls (median of the
// repetitions) and many single calls (median and p90 of per-call latency).
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export function median(xs) {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Runs `fn` `reps` times; each repetition's seconds and their median. */
export function timeBatch(reps, fn) {
  const seconds = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    seconds.push((performance.now() - t) / 1000);
  }
  return { seconds, median_seconds: median(seconds) };
}

/** Calls `fn(i)` for i < n, one call each; median, p90 and mean latency in ms. */
export function timeSingles(n, fn) {
  const ms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    ms[i] = performance.now() - t;
  }
  const s = ms.slice().sort();
  return { median_ms: median(s), p90_ms: quantile(s, 0.9), mean_ms: s.reduce((x, y) => x + y, 0) / n };
}
