//! Paired bootstrap over users: confidence intervals of several models' mean metrics, and
//! whether each model differs from the best one.
//!
//! Input: for each model, the same users' per-user values of the same metrics (rows =
//! users, columns = metrics; NaN where a metric is undefined for a user, e.g. AUC without a
//! negative). Each resample draws n users with replacement; the same draw serves every model,
//! so model-to-model differences are paired (a user who is easy for one model is easy for
//! the others, and that shared variance cancels).
//!
//! For each resample, model and metric the mean over the drawn users (weighted by how often
//! each was drawn, NaN entries left out) is taken; the interval at `level` is the percentile
//! interval of those means (quantiles (1 - level) / 2 and (1 + level) / 2, interpolated
//! linearly between order statistics, as numpy's default). The best model of a metric has
//! the best full-sample mean (highest, or lowest where `higher_is_better` is false; ties go
//! to the first model); each model's difference to it is bootstrapped the same way from the
//! per-user differences (users where both are defined), and a model is "not significantly
//! different" from the best when that interval contains 0.
//!
//! Resample b draws from a generator derived from (seed, b) alone and the sums run in user
//! order, so the result is the same for a seed whatever the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::rng::SplitMix64;

const STREAM_BOOTSTRAP: u64 = 0xB007;

/// At most this many resamples: beyond, the intervals change in digits nobody reads.
pub const MAX_RESAMPLES: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BootstrapParams {
    /// Resamples of the users (1000 is usual for a 95 % interval).
    pub resamples: usize,
    pub seed: u64,
    /// Coverage of the intervals, in (0, 1).
    pub level: f64,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        BootstrapParams {
            resamples: 1000,
            seed: 42,
            level: 0.95,
        }
    }
}

/// Results, each `models x metrics` array row-major by model.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapReport {
    pub n_models: usize,
    pub n_metrics: usize,
    /// Full-sample mean (NaN entries left out; NaN when a column has no value).
    pub mean: Vec<f64>,
    /// The interval of the mean.
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// The best model of each metric.
    pub best: Vec<usize>,
    /// The interval of (model − best) per user, averaged; [0, 0] for the best itself.
    pub diff_lo: Vec<f64>,
    pub diff_hi: Vec<f64>,
}

impl BootstrapReport {
    /// Whether model `m`'s difference to the best on metric `c` is consistent with 0 (true for
    /// the best itself; false when the difference could not be computed).
    pub fn not_significantly_different(&self, m: usize, c: usize) -> bool {
        let at = m * self.n_metrics + c;
        self.diff_lo[at] <= 0.0 && 0.0 <= self.diff_hi[at]
    }
}

fn check(
    values: &[&[f64]],
    n_metrics: usize,
    higher: &[bool],
    p: &BootstrapParams,
) -> Result<usize> {
    if values.is_empty() {
        return Err(Error::param(
            "values",
            "at least one model's values are needed",
        ));
    }
    if n_metrics == 0 {
        return Err(Error::param("metrics", "must be >= 1 (got 0)"));
    }
    if higher.len() != n_metrics {
        return Err(Error::param(
            "higher_is_better",
            format!("has {} entries for {n_metrics} metrics", higher.len()),
        ));
    }
    if !(1..=MAX_RESAMPLES).contains(&p.resamples) {
        return Err(Error::param(
            "resamples",
            format!("must be in 1..={MAX_RESAMPLES} (got {})", p.resamples),
        ));
    }
    if !(p.level > 0.0 && p.level < 1.0) {
        return Err(Error::param(
            "level",
            format!("must be in (0, 1) (got {})", p.level),
        ));
    }
    let len = values[0].len();
    if !len.is_multiple_of(n_metrics) || len == 0 {
        return Err(Error::param(
            "values",
            format!("model 0 has {len} values, not a positive multiple of the {n_metrics} metrics"),
        ));
    }
    for (m, v) in values.iter().enumerate() {
        if v.len() != len {
            return Err(Error::param(
                "values",
                format!(
                    "model {m} has {} values, model 0 {len}: every model needs the same users",
                    v.len()
                ),
            ));
        }
        if let Some(pos) = v.iter().position(|x| x.is_infinite()) {
            return Err(Error::param(
                "values",
                format!("model {m} has {} at position {pos}; values must be finite (NaN: undefined for that user)", v[pos]),
            ));
        }
    }
    Ok(len / n_metrics)
}

/// Per column, the mean of its defined (non-NaN) values, user u weighted by `w[u]`.
fn weighted_means(v: &[f64], n_metrics: usize, w: &[u32], out: &mut [f64]) {
    let mut sum = vec![0f64; n_metrics];
    let mut count = vec![0f64; n_metrics];
    for (row, &wu) in v.chunks_exact(n_metrics).zip(w) {
        if wu == 0 {
            continue;
        }
        let wu = wu as f64;
        for c in 0..n_metrics {
            if !row[c].is_nan() {
                sum[c] += wu * row[c];
                count[c] += wu;
            }
        }
    }
    for c in 0..n_metrics {
        out[c] = if count[c] > 0.0 {
            sum[c] / count[c]
        } else {
            f64::NAN
        };
    }
}

/// Weighted mean of `a − b` per column over users where both are defined.
fn weighted_diffs(a: &[f64], b: &[f64], n_metrics: usize, w: &[u32], out: &mut [f64]) {
    let mut sum = vec![0f64; n_metrics];
    let mut count = vec![0f64; n_metrics];
    for ((ra, rb), &wu) in a
        .chunks_exact(n_metrics)
        .zip(b.chunks_exact(n_metrics))
        .zip(w)
    {
        if wu == 0 {
            continue;
        }
        let wu = wu as f64;
        for c in 0..n_metrics {
            let d = ra[c] - rb[c];
            if !d.is_nan() {
                sum[c] += wu * d;
                count[c] += wu;
            }
        }
    }
    for c in 0..n_metrics {
        out[c] = if count[c] > 0.0 {
            sum[c] / count[c]
        } else {
            f64::NAN
        };
    }
}

/// The q-quantile of the non-NaN `xs` (sorted here), linear between order statistics; NaN
/// when there are none.
fn quantile(xs: &mut Vec<f64>, q: f64) -> f64 {
    xs.retain(|x| !x.is_nan());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let h = (xs.len() - 1) as f64 * q;
    let (i, frac) = (h.floor() as usize, h - h.floor());
    let j = (i + 1).min(xs.len() - 1);
    xs[i] + frac * (xs[j] - xs[i])
}

/// Run the bootstrap (in the caller's rayon pool). `values[m]` is model m's `users x
/// n_metrics` array, row-major; every model has the same users in the same order.
pub fn paired_bootstrap(
    values: &[&[f64]],
    n_metrics: usize,
    higher_is_better: &[bool],
    p: &BootstrapParams,
) -> Result<BootstrapReport> {
    let n_users = check(values, n_metrics, higher_is_better, p)?;
    let n_models = values.len();
    let cells = n_models * n_metrics;

    let ones = vec![1u32; n_users];
    let mut mean = vec![0f64; cells];
    for (m, v) in values.iter().enumerate() {
        weighted_means(
            v,
            n_metrics,
            &ones,
            &mut mean[m * n_metrics..(m + 1) * n_metrics],
        );
    }
    let best: Vec<usize> = (0..n_metrics)
        .map(|c| {
            let mut b = 0;
            for m in 1..n_models {
                let (x, y) = (mean[m * n_metrics + c], mean[b * n_metrics + c]);
                let better = if higher_is_better[c] { x > y } else { x < y };
                // A NaN best (no values) gives way to any model with one.
                if better || (y.is_nan() && !x.is_nan()) {
                    b = m;
                }
            }
            b
        })
        .collect();

    // One row per resample: the models' means, then their differences to the best.
    let draws: Vec<Vec<f64>> = (0..p.resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = SplitMix64::derive(p.seed, STREAM_BOOTSTRAP, b as u64);
            let mut w = vec![0u32; n_users];
            for _ in 0..n_users {
                w[rng.below(n_users as u64) as usize] += 1;
            }
            let mut out = vec![0f64; 2 * cells];
            let (means, diffs) = out.split_at_mut(cells);
            for (m, v) in values.iter().enumerate() {
                weighted_means(
                    v,
                    n_metrics,
                    &w,
                    &mut means[m * n_metrics..(m + 1) * n_metrics],
                );
            }
            // Differences per best model: one pass over the users per (model, best) pair.
            let mut bests = best.clone();
            bests.sort_unstable();
            bests.dedup();
            let mut tmp = vec![0f64; n_metrics];
            for &bm in &bests {
                for (m, v) in values.iter().enumerate() {
                    weighted_diffs(v, values[bm], n_metrics, &w, &mut tmp);
                    for c in (0..n_metrics).filter(|&c| best[c] == bm) {
                        diffs[m * n_metrics + c] = tmp[c];
                    }
                }
            }
            out
        })
        .collect();

    let (qlo, qhi) = ((1.0 - p.level) / 2.0, (1.0 + p.level) / 2.0);
    let interval = |at: usize| {
        let mut xs: Vec<f64> = draws.iter().map(|d| d[at]).collect();
        let lo = quantile(&mut xs, qlo);
        (lo, quantile(&mut xs, qhi))
    };
    let (mut lo, mut hi) = (vec![0f64; cells], vec![0f64; cells]);
    let (mut diff_lo, mut diff_hi) = (vec![0f64; cells], vec![0f64; cells]);
    for at in 0..cells {
        (lo[at], hi[at]) = interval(at);
        (diff_lo[at], diff_hi[at]) = interval(cells + at);
    }
    Ok(BootstrapReport {
        n_models,
        n_metrics,
        mean,
        lo,
        hi,
        best,
        diff_lo,
        diff_hi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// Per-user values of one metric: a model scoring `base[u] + shift` (clamped to [0, 1]).
    fn model(base: &[f64], shift: f64) -> Vec<f64> {
        base.iter().map(|b| (b + shift).clamp(0.0, 1.0)).collect()
    }

    fn noisy(n: usize, seed: u64) -> Vec<f64> {
        let mut g = SplitMix64::new(seed);
        (0..n)
            .map(|_| g.next_u64() as f64 / u64::MAX as f64)
            .collect()
    }

    fn run(values: &[&[f64]], cols: usize, threads: usize, seed: u64) -> BootstrapReport {
        let p = BootstrapParams {
            seed,
            ..Default::default()
        };
        crate::pool::pool(threads)
            .unwrap()
            .install(|| paired_bootstrap(values, cols, &vec![true; cols], &p))
            .unwrap()
    }

    #[test]
    fn identical_models_never_differ_and_a_better_one_does() {
        let base = noisy(400, 1);
        let a = model(&base, 0.0);
        let same = a.clone();
        // Better on every user by 0.1 where there is room: clearly the best.
        let better = model(&base, 0.1);
        let r = run(&[&a, &same, &better], 1, 2, 7);
        assert_eq!(r.best, vec![2]);
        assert!(r.not_significantly_different(2, 0));
        assert!(!r.not_significantly_different(0, 0));
        assert!(!r.not_significantly_different(1, 0));
        // a and its copy: the interval of their difference is exactly [0, 0].
        let r = run(&[&a, &same], 1, 2, 7);
        assert_eq!(r.best, vec![0], "ties go to the first model");
        assert_eq!((r.diff_lo[1], r.diff_hi[1]), (0.0, 0.0));
        assert!(r.not_significantly_different(1, 0));
        // The mean is inside its interval, and the interval is about ±1.96 standard errors.
        let mean = base.iter().sum::<f64>() / 400.0;
        assert_abs_diff_eq!(r.mean[0], mean, epsilon = 1e-12);
        assert!(r.lo[0] < mean && mean < r.hi[0]);
        let sd = (base.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 400.0).sqrt();
        let half = (r.hi[0] - r.lo[0]) / 2.0;
        assert!((half / (1.96 * sd / 20.0) - 1.0).abs() < 0.15, "{half}");
    }

    #[test]
    fn pairing_detects_a_small_consistent_gain_that_unpaired_intervals_overlap() {
        let base = noisy(300, 3);
        let a = model(&base, 0.0);
        let b: Vec<f64> = base.iter().map(|x| x * 0.98).collect();
        let r = run(&[&a, &b], 1, 1, 11);
        // The two intervals overlap, yet b is below a on every user: the paired test sees it.
        assert!(r.lo[0] < r.hi[1]);
        assert_eq!(r.best, vec![0]);
        assert!(!r.not_significantly_different(1, 0));
    }

    #[test]
    fn same_seed_same_result_at_any_thread_count_and_seeds_differ() {
        let base = noisy(200, 5);
        let a = model(&base, 0.0);
        // b is clearly the worst on both columns (values in [0, 0.5)).
        let mut b: Vec<f64> = noisy(400, 6).iter().map(|x| x / 2.0).collect();
        b[3] = f64::NAN; // undefined for one user on one metric
        let c = model(&base, -0.05);
        let cols = 2;
        let a2: Vec<f64> = a.iter().flat_map(|&x| [x, 1.0 - x]).collect();
        let c2: Vec<f64> = c.iter().flat_map(|&x| [x, 1.0 - x]).collect();
        let one = run(&[&a2, &b, &c2], cols, 1, 42);
        for t in [2, 3, 8] {
            assert_eq!(run(&[&a2, &b, &c2], cols, t, 42), one);
        }
        assert_ne!(run(&[&a2, &b, &c2], cols, 2, 43), one);
        // Second column 1 - x: c (shifted down) is best when higher is better, b when lower.
        assert_eq!(one.best, vec![0, 2]);
        let p = BootstrapParams::default();
        let low = paired_bootstrap(&[&a2, &b, &c2], 2, &[true, false], &p).unwrap();
        assert_eq!(low.best, vec![0, 1]);
    }

    #[test]
    fn nan_values_are_left_out_of_the_means() {
        let a = [1.0, f64::NAN, 0.0, f64::NAN];
        let r = run(&[&a], 1, 1, 1);
        assert_eq!(r.mean[0], 0.5);
        assert!(r.lo[0] >= 0.0 && r.hi[0] <= 1.0);
        let (all_nan, half) = ([f64::NAN; 3], [0.5; 3]);
        let r = run(&[&all_nan[..], &half[..]], 1, 1, 1);
        assert_eq!(r.best, vec![1]);
        assert!(r.mean[0].is_nan() && r.lo[0].is_nan());
        assert!(!r.not_significantly_different(0, 0));
    }

    #[test]
    fn bad_input_names_the_argument() {
        let p = BootstrapParams::default();
        let e = |v: &[&[f64]], cols: usize, h: &[bool], p: &BootstrapParams| {
            paired_bootstrap(v, cols, h, p).unwrap_err().to_string()
        };
        assert!(e(&[], 1, &[true], &p).starts_with("values:"));
        assert!(e(&[&[1.0]], 0, &[], &p).starts_with("metrics:"));
        assert!(e(&[&[1.0]], 1, &[], &p).starts_with("higher_is_better:"));
        assert!(e(&[&[1.0, 2.0, 3.0]], 2, &[true, true], &p).starts_with("values:"));
        assert!(e(&[&[1.0], &[1.0, 2.0]], 1, &[true], &p).contains("model 1 has 2 values"));
        assert!(e(&[&[f64::INFINITY]], 1, &[true], &p).contains("must be finite"));
        let zero = BootstrapParams { resamples: 0, ..p };
        assert!(e(&[&[1.0]], 1, &[true], &zero).starts_with("resamples:"));
        let level = BootstrapParams { level: 1.0, ..p };
        assert!(e(&[&[1.0]], 1, &[true], &level).starts_with("level:"));
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let mut xs = vec![4.0, 1.0, 3.0, 2.0, f64::NAN];
        assert_abs_diff_eq!(quantile(&mut xs, 0.025), 1.075);
        assert_abs_diff_eq!(quantile(&mut xs, 0.5), 2.5);
        assert_abs_diff_eq!(quantile(&mut xs, 1.0), 4.0);
    }
}
