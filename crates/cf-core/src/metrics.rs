//! Ranking metrics at K, macro-averaged over evaluated users.
//!
//! For a user with held-out set T and ranked list L (length K, known items removed):
//! - precision@K = |L ∩ T| / K
//! - recall@K    = |L ∩ T| / min(K, |T|)   (the Liang/Rendle convention: 1.0 is reachable)
//! - ndcg@K      = DCG / IDCG, binary gains, IDCG over min(K, |T|) hits
//! - map@K       = Σ_{hits at rank r} precision@r / min(K, |T|)
//! - hit_rate@K  = 1 if |L ∩ T| > 0
//! - f1@K        = 2 P R / (P + R) of that user's precision@K and recall@K (0 when both are 0),
//!   i.e. 2 |L ∩ T| / (K + min(K, |T|)); averaged over users like the others
//! - novelty@K   = mean over the user's list of pop(i) / U, pop(i) the training users with
//!   item i and U the users with a training row: the mean popularity of what is recommended
//!   (lower = more novel); a user whose list is empty (every item filtered) is left out
//! - coverage@K  = distinct items in the top K of all evaluated users / n_items (catalogue
//!   coverage; one figure for the whole population, no per-user value)
//! - auc         = per user, the fraction of (positive, negative) pairs the scores order
//!   correctly, ties counting one half; positives are T minus the filtered items, negatives
//!   every other item not filtered (so with filtering on, training items are neither);
//!   non-finite scores rank below every finite one (and tie with each other). Computed
//!   exactly from every item's score, not sampled; users without a positive or a negative
//!   are left out of its mean. Independent of K.
//!
//! A user is evaluated when T is non-empty and the user has at least one training row.

use rayon::prelude::*;

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::Recommender;
use crate::topk::kernel::Packed;
use crate::topk::{dense, recommend_batch, SeenItems};

pub const METRICS: [&str; 5] = ["precision", "recall", "ndcg", "map", "hit_rate"];

/// Per-user metrics at each K beyond [`METRICS`], in the order of the report.
pub const MORE_METRICS: [&str; 2] = ["f1", "novelty"];

#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    pub users_evaluated: usize,
    /// Users with held-out rows but no training row: no model can rank for them.
    pub users_without_train: usize,
    /// (name@K, value): for each K in the order of `ks`, `METRICS`, then f1, coverage and
    /// novelty; then `auc` when asked for.
    pub metrics: Vec<(String, f64)>,
    /// Every evaluated user's values, when asked for (`EvalOptions::per_user`).
    pub per_user: Option<PerUser>,
}

/// Per-user metric values: row r (user `users[r]`) is `values[r * names.len() ..][..names.len()]`.
/// NaN where a metric is undefined for that user (see the module doc); each column's mean
/// over its non-NaN entries is the reported value of that metric.
#[derive(Clone, Debug, PartialEq)]
pub struct PerUser {
    pub users: Vec<u32>,
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

/// What `evaluate_with` computes beyond the top-K metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalOptions {
    /// AUC scores every item for every evaluated user: a second pass over the catalogue, so
    /// callers that only need NDCG (a fit's per-epoch validation) turn it off.
    pub auc: bool,
    /// Keep each user's values (for a bootstrap over users).
    pub per_user: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            auc: true,
            per_user: false,
        }
    }
}

/// [precision, recall, ndcg, map, hit_rate] at `k` for one ranked list.
pub fn user_metrics(ranked: &[u32], truth: &[u32], k: usize) -> [f64; 5] {
    let ideal = k.min(truth.len());
    if ideal == 0 {
        return [0.0; 5];
    }
    let (mut hits, mut dcg, mut ap) = (0usize, 0f64, 0f64);
    for (r, item) in ranked.iter().take(k).enumerate() {
        if truth.contains(item) {
            hits += 1;
            dcg += 1.0 / ((r + 2) as f64).log2();
            ap += hits as f64 / (r + 1) as f64;
        }
    }
    let idcg: f64 = (0..ideal).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    [
        hits as f64 / k as f64,
        hits as f64 / ideal as f64,
        dcg / idcg,
        ap / ideal as f64,
        (hits > 0) as u8 as f64,
    ]
}

/// F1 from a user's precision and recall at K; 0 when both are 0.
pub fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// Mean of `popularity` over the first `k` real entries of `ranked` (padding `u32::MAX` is
/// not an item); NaN for an empty list.
pub fn mean_popularity(ranked: &[u32], popularity: &[f64], k: usize) -> f64 {
    let (mut sum, mut n) = (0f64, 0usize);
    for &i in ranked.iter().take(k) {
        if let Some(p) = popularity.get(i as usize) {
            sum += p;
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Non-finite scores are never recommended (top-K skips them): AUC ranks them last.
#[inline]
fn auc_score(s: f32) -> f32 {
    if s.is_finite() {
        s
    } else {
        f32::NEG_INFINITY
    }
}

/// Up to this many positives, AUC counts with one branch-free pass over the items per
/// positive; above it, with a binary search per item.
const AUC_PASSES: usize = 48;

/// AUC of one user's scores (see the module doc): `excluded[i]` marks filtered items and
/// `positive` lists the held-out items (sorted, in range; a Csr row's columns). NaN when there is no positive or
/// no negative. Exact: the same pair counts either way. With few positives (a held-out set
/// usually is) each positive counts the items below and level with it in one pass that
/// vectorises, and the pairs among positives are taken back out; with many, the positives'
/// scores are sorted once and each negative is placed among them by binary search.
pub fn user_auc(scores: &[f32], positive: &[u32], excluded: &[bool]) -> f64 {
    let mut pos: Vec<f32> = positive
        .iter()
        .filter(|&&i| !excluded[i as usize])
        .map(|&i| auc_score(scores[i as usize]))
        .collect();
    // The per-positive passes count each item once, so they need each positive once.
    if pos.len() <= AUC_PASSES && positive.windows(2).all(|w| w[0] < w[1]) {
        let kept = excluded.iter().filter(|&&e| !e).count() as u64;
        let negatives = kept - pos.len() as u64;
        if pos.is_empty() || negatives == 0 {
            return f64::NAN;
        }
        let (mut correct, mut ties) = (0u64, 0u64);
        for &p in &pos {
            let (mut below, mut level) = (0u32, 0u32);
            for (&s, &e) in scores.iter().zip(excluded) {
                let s = auc_score(s);
                below += (s < p && !e) as u32;
                level += (s == p && !e) as u32;
            }
            // The kept positives were counted as if they were negatives (p itself among them).
            let (pb, pl) = pos.iter().fold((0u32, 0u32), |(b, l), &q| {
                (b + (q < p) as u32, l + (q == p) as u32)
            });
            correct += (below - pb) as u64;
            ties += (level - pl) as u64;
        }
        return (correct as f64 + 0.5 * ties as f64) / (pos.len() as f64 * negatives as f64);
    }
    pos.sort_by(f32::total_cmp);
    let (mut correct, mut ties, mut negatives) = (0u64, 0u64, 0u64);
    let mut next_positive = positive.iter().peekable();
    for (i, &s) in scores.iter().enumerate() {
        // `positive` is sorted, so membership is a moving cursor rather than a search.
        while next_positive.next_if(|&&p| (p as usize) < i).is_some() {}
        if excluded[i] || next_positive.peek().is_some_and(|&&p| p as usize == i) {
            continue;
        }
        negatives += 1;
        let s = auc_score(s);
        let below = pos.partition_point(|&p| p < s);
        let at_most = pos.partition_point(|&p| p <= s);
        correct += (pos.len() - at_most) as u64;
        ties += (at_most - below) as u64;
    }
    if pos.is_empty() || negatives == 0 {
        return f64::NAN;
    }
    (correct as f64 + 0.5 * ties as f64) / (pos.len() as f64 * negatives as f64)
}

/// Rank for every user with held-out rows and score the lists. `exclude` are the matrices
/// whose items a user already has (train, and validation when scoring test).
pub fn evaluate(
    model: &dyn Recommender,
    train: &Csr,
    exclude: &[&dyn SeenItems],
    truth: &Csr,
    ks: &[usize],
) -> Result<EvalReport> {
    evaluate_with(model, train, exclude, truth, ks, &EvalOptions::default())
}

/// [`evaluate`] with a choice of the costlier parts (AUC, per-user values).
pub fn evaluate_with(
    model: &dyn Recommender,
    train: &Csr,
    exclude: &[&dyn SeenItems],
    truth: &Csr,
    ks: &[usize],
    opts: &EvalOptions,
) -> Result<EvalReport> {
    if ks.is_empty() {
        return Err(Error::param("k", "at least one K is needed"));
    }
    if let Some(&k) = ks.iter().find(|&&k| k == 0) {
        return Err(Error::param("k", format!("must be >= 1 (got {k})")));
    }
    for (name, m) in [("train", train), ("truth", truth)] {
        if m.n_cols != model.n_items() {
            return Err(Error::param(
                name,
                format!(
                    "matrix is {} x {}, but the model has {} items",
                    m.n_rows,
                    m.n_cols,
                    model.n_items()
                ),
            ));
        }
    }
    // Truth rows past the training matrix are users without training data (counted, not
    // ranked); training rows past the model's users are a matrix of some other model.
    if train.n_rows > model.n_users() {
        return Err(Error::param(
            "train",
            format!(
                "matrix is {} x {}, but the model has {} users",
                train.n_rows,
                train.n_cols,
                model.n_users()
            ),
        ));
    }
    let mut users = Vec::new();
    let mut users_without_train = 0;
    for u in 0..truth.n_rows {
        if truth.row_len(u) == 0 {
            continue;
        }
        if u >= train.n_rows || train.row_len(u) == 0 {
            users_without_train += 1;
        } else {
            users.push(u as u32);
        }
    }
    let n_items = model.n_items();
    let max_k = *ks.iter().max().unwrap();
    // Lists are at most as long as there are items, whatever K asks for.
    let width = max_k.min(n_items);
    let (ids, _) = if users.is_empty() || width == 0 {
        (Vec::new(), Vec::new())
    } else {
        recommend_batch(model, &users, max_k, exclude)?
    };
    // Popularity as the fraction of training users with the item: comparable across data
    // sets, and the popularity baseline's own ranking order.
    let train_users = train.nonempty_rows().max(1) as f64;
    let popularity: Vec<f64> = train
        .col_counts()
        .iter()
        .map(|&c| c as f64 / train_users)
        .collect();
    let aucs = if opts.auc && !users.is_empty() {
        Some(auc_per_user(model, exclude, truth, &users))
    } else {
        None
    };

    // Per-user columns: for each K the METRICS then MORE_METRICS; auc last.
    let per_k = METRICS.len() + MORE_METRICS.len();
    let n_cols = ks.len() * per_k + aucs.is_some() as usize;
    let mut sums = vec![[0f64; 5]; ks.len()];
    // f1 and novelty sums, and how many users have a novelty (non-empty lists).
    let mut more = vec![(0f64, 0f64, 0usize); ks.len()];
    let mut seen_items = vec![vec![false; n_items]; ks.len()];
    let mut rows = if opts.per_user {
        Vec::with_capacity(users.len() * n_cols)
    } else {
        Vec::new()
    };
    for (r, &u) in users.iter().enumerate() {
        let ranked = &ids[r * width..(r + 1) * width];
        let truth_u = truth.row(u as usize).0;
        for (j, &k) in ks.iter().enumerate() {
            let m = user_metrics(ranked, truth_u, k);
            for (s, v) in sums[j].iter_mut().zip(m) {
                *s += v;
            }
            let f = f1(m[0], m[1]);
            let nov = mean_popularity(ranked, &popularity, k);
            more[j].0 += f;
            if !nov.is_nan() {
                more[j].1 += nov;
                more[j].2 += 1;
            }
            for &i in ranked.iter().take(k) {
                if let Some(seen) = seen_items[j].get_mut(i as usize) {
                    *seen = true;
                }
            }
            if opts.per_user {
                rows.extend_from_slice(&m);
                rows.extend_from_slice(&[f, nov]);
            }
        }
        if let (Some(a), true) = (&aucs, opts.per_user) {
            rows.push(a[r]);
        }
    }
    let n = users.len().max(1) as f64;
    let mut metrics = Vec::new();
    for (j, k) in ks.iter().enumerate() {
        for (name, s) in METRICS.iter().zip(sums[j]) {
            metrics.push((format!("{name}@{k}"), s / n));
        }
        let covered = seen_items[j].iter().filter(|&&s| s).count();
        metrics.push((format!("f1@{k}"), more[j].0 / n));
        metrics.push((
            format!("coverage@{k}"),
            covered as f64 / n_items.max(1) as f64,
        ));
        metrics.push((format!("novelty@{k}"), mean_or_nan(more[j].1, more[j].2)));
    }
    if let Some(a) = &aucs {
        let (sum, count) = a
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0f64, 0usize), |(s, c), v| (s + v, c + 1));
        metrics.push(("auc".to_string(), mean_or_nan(sum, count)));
    }
    let per_user = opts.per_user.then(|| {
        let mut names = Vec::with_capacity(n_cols);
        for k in ks {
            for name in METRICS.iter().chain(MORE_METRICS.iter()) {
                names.push(format!("{name}@{k}"));
            }
        }
        if aucs.is_some() {
            names.push("auc".to_string());
        }
        PerUser {
            users: users.clone(),
            names,
            values: rows,
        }
    });
    Ok(EvalReport {
        users_evaluated: users.len(),
        users_without_train,
        metrics,
        per_user,
    })
}

/// The mean of `count` values summing to `sum`; NaN when there are none (nothing to average
/// is not a score of 0).
fn mean_or_nan(sum: f64, count: usize) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Each user's AUC, in the order of `users`, scored in parallel; every value depends on its
/// user alone, so the result is the same whatever the thread count.
fn auc_per_user(
    model: &dyn Recommender,
    exclude: &[&dyn SeenItems],
    truth: &Csr,
    users: &[u32],
) -> Vec<f64> {
    let n_items = model.n_items();
    // A factor model's score_user packs the item factors on every call (a copy of all of
    // them per user, most of AUC's time); packed once here, the scores are the same ones.
    let factors = model.factor_view();
    let packed = factors.as_ref().map(|v| Packed::new(v.items, v.f));
    users
        .par_iter()
        .map_init(
            || (vec![0f32; n_items], vec![false; n_items]),
            |(scores, excluded), &u| {
                let u = u as usize;
                match (&factors, &packed) {
                    (Some(v), Some(p)) => {
                        dense::scores(p, &v.users[u * v.f..(u + 1) * v.f], scores)
                    }
                    _ => model.score_user(u, scores),
                }
                for m in exclude {
                    for &i in m.seen(u) {
                        if let Some(e) = excluded.get_mut(i as usize) {
                            *e = true;
                        }
                    }
                }
                let auc = user_auc(scores, truth.row(u).0, excluded);
                // Clear only what was set: the buffer is reused for the next user.
                for m in exclude {
                    for &i in m.seen(u) {
                        if let Some(e) = excluded.get_mut(i as usize) {
                            *e = false;
                        }
                    }
                }
                auc
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn hand_computed_single_user() {
        // Ranked [5, 1, 7, 2], truth {1, 2, 9}, K = 4: hits at ranks 2 and 4.
        let m = user_metrics(&[5, 1, 7, 2], &[1, 2, 9], 4);
        assert_abs_diff_eq!(m[0], 0.5);
        assert_abs_diff_eq!(m[1], 2.0 / 3.0);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert_abs_diff_eq!(m[2], dcg / idcg, epsilon = 1e-12);
        assert_abs_diff_eq!(m[3], (0.5 + 0.5) / 3.0, epsilon = 1e-12);
        assert_abs_diff_eq!(m[4], 1.0);
        // K = 1: no hit at rank 1.
        assert_eq!(user_metrics(&[5, 1, 7, 2], &[1, 2, 9], 1), [0.0; 5]);
        // A perfect list scores 1 on recall, ndcg, map.
        let p = user_metrics(&[2, 1], &[1, 2], 2);
        assert_eq!([p[1], p[2], p[3]], [1.0, 1.0, 1.0]);
    }

    #[test]
    fn evaluate_filters_seen_and_counts_users_without_train() {
        use crate::models::popularity::Popularity;
        // Item popularity: 0 (3 users) > 1 (2) > 2 (1) > 3 (0).
        let train =
            Csr::from_coo(4, 4, &[0, 1, 2, 0, 1, 0], &[0, 0, 0, 1, 1, 2], &[1.0; 6]).unwrap();
        let truth = Csr::from_coo(4, 4, &[1, 2, 3], &[2, 1, 0], &[1.0; 3]).unwrap();
        let pop = Popularity::fit(&train);
        let r = evaluate(&pop, &train, &[&train], &truth, &[1, 2]).unwrap();
        assert_eq!(r.users_evaluated, 2);
        assert_eq!(r.users_without_train, 1);
        // user 1 ranks [2, 3] (0, 1 seen): hit at 1. user 2 ranks [1, 2]: hit at 1.
        let get = |n: &str| r.metrics.iter().find(|(k, _)| k == n).unwrap().1;
        assert_abs_diff_eq!(get("hit_rate@1"), 1.0);
        assert_abs_diff_eq!(get("precision@2"), 0.5);
        assert!(evaluate(&pop, &train, &[&train], &truth, &[0]).is_err());
        // K far beyond the items: lists hold every item, precision still divides by K.
        let big = evaluate(&pop, &train, &[&train], &truth, &[1_000_000_000]).unwrap();
        let get = |n: &str| big.metrics.iter().find(|(k, _)| k == n).unwrap().1;
        assert_abs_diff_eq!(get("hit_rate@1000000000"), 1.0);
        assert_abs_diff_eq!(get("recall@1000000000"), 1.0);
    }

    #[test]
    fn evaluate_names_the_matrix_of_the_wrong_shape() {
        use crate::models::popularity::Popularity;
        let train = Csr::from_coo(3, 4, &[0, 1, 2], &[0, 1, 2], &[1.0; 3]).unwrap();
        let pop = Popularity::fit(&train);
        let narrow = Csr::empty(3, 2);
        let e = |t: &Csr, u: &Csr| evaluate(&pop, t, &[], u, &[1]).unwrap_err().to_string();
        assert_eq!(
            e(&narrow, &train),
            "train: matrix is 3 x 2, but the model has 4 items"
        );
        assert_eq!(
            e(&train, &narrow),
            "truth: matrix is 3 x 2, but the model has 4 items"
        );
        let tall = Csr::from_coo(5, 4, &[4], &[0], &[1.0]).unwrap();
        assert_eq!(
            e(&tall, &tall),
            "train: matrix is 5 x 4, but the model has 3 users"
        );
        // Truth rows beyond training are users without training rows.
        let r = evaluate(&pop, &train, &[], &tall, &[1]).unwrap();
        assert_eq!((r.users_evaluated, r.users_without_train), (0, 1));
    }

    /// Train (3 users x 5 items): u0 {0, 1}, u1 {0, 2}, u2 {0}; popularity scores 3, 1, 1, 0, 0.
    /// Truth: u0 {2, 4}, u1 {1}, u2 {3}.
    fn small() -> (Csr, Csr) {
        let train = Csr::from_coo(3, 5, &[0, 0, 1, 1, 2], &[0, 1, 0, 2, 0], &[1.0; 5]).unwrap();
        let truth = Csr::from_coo(3, 5, &[0, 0, 1, 2], &[2, 4, 1, 3], &[1.0; 4]).unwrap();
        (train, truth)
    }

    fn get(r: &EvalReport, n: &str) -> f64 {
        r.metrics.iter().find(|(k, _)| k == n).unwrap().1
    }

    #[test]
    fn f1_novelty_coverage_auc_by_hand() {
        use crate::models::popularity::Popularity;
        let (train, truth) = small();
        let pop = Popularity::fit(&train);
        let r = evaluate(&pop, &train, &[&train], &truth, &[1, 2]).unwrap();
        // Lists (seen removed, ties to the lower index): u0 [2, 3, 4], u1 [1, 3, 4], u2 [1, 2, 3, 4].
        // K = 2: u0 [2, 3] 1 hit of 2 (P .5, R .5, F1 .5); u1 [1, 3] (P .5, R 1, F1 2/3); u2 none.
        assert_abs_diff_eq!(get(&r, "f1@2"), (0.5 + 2.0 / 3.0) / 3.0, epsilon = 1e-12);
        // K = 1: u0 [2] hit (P 1, R 1 / min(1, 2) = 1); u1 [1] hit; u2 [1] miss.
        assert_abs_diff_eq!(get(&r, "f1@1"), 2.0 / 3.0, epsilon = 1e-12);
        // Popularity / 3 training users: [1, 1/3, 1/3, 0, 0]. K = 2: u0 (1/3 + 0) / 2,
        // u1 (1/3 + 0) / 2, u2 (1/3 + 1/3) / 2.
        assert_abs_diff_eq!(
            get(&r, "novelty@2"),
            (1.0 / 6.0 + 1.0 / 6.0 + 1.0 / 3.0) / 3.0,
            epsilon = 1e-12
        );
        assert_abs_diff_eq!(get(&r, "novelty@1"), 1.0 / 3.0, epsilon = 1e-12);
        // Items listed: K = 1 {2, 1}, K = 2 {2, 3, 1}, of 5.
        assert_abs_diff_eq!(get(&r, "coverage@1"), 0.4);
        assert_abs_diff_eq!(get(&r, "coverage@2"), 0.6);
        // AUC, seen items neither positive nor negative:
        // u0: positives 2 (1), 4 (0) vs negative 3 (0): 1 + 1/2 of 2 pairs = 0.75;
        // u1: positive 1 (1) vs 3, 4 (0): 1; u2: positive 3 (0) vs 1, 2 (1), 4 (0): 0.5 / 3.
        assert_abs_diff_eq!(
            get(&r, "auc"),
            (0.75 + 1.0 + 1.0 / 6.0) / 3.0,
            epsilon = 1e-12
        );
        // The existing metrics come first, in their old order, for each K; auc last.
        let names: Vec<&str> = r.metrics.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            &names[..8],
            &[
                "precision@1",
                "recall@1",
                "ndcg@1",
                "map@1",
                "hit_rate@1",
                "f1@1",
                "coverage@1",
                "novelty@1"
            ]
        );
        assert_eq!(names.last(), Some(&"auc"));
        assert!(r.per_user.is_none());
        // Without filtering, u0's seen items are negatives: positives 2 (1), 4 (0) vs 0 (3),
        // 1 (1), 3 (0): 2 gets 1 + 1/2, 4 gets 1/2; of 6 pairs.
        let scores = [3.0, 1.0, 1.0, 0.0, 0.0];
        assert_abs_diff_eq!(user_auc(&scores, &[2, 4], &[false; 5]), 2.0 / 6.0);
        let nofilter = evaluate(&pop, &train, &[], &truth, &[2]).unwrap();
        let u1 = 1.0 / 4.0 * 2.0 + 0.5 / 4.0; // 1 (1) vs 0 (3), 2 (1), 3, 4 (0)
        let u2 = 0.5 / 4.0; // 3 (0) vs 0 (3), 1 (1), 2 (1), 4 (0)
        assert_abs_diff_eq!(
            get(&nofilter, "auc"),
            (1.0 / 3.0 + u1 + u2) / 3.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn auc_edge_cases() {
        // A non-finite score ranks below every finite one and ties with another non-finite.
        let s = [f32::NAN, 1.0, f32::NEG_INFINITY];
        assert_abs_diff_eq!(user_auc(&s, &[0], &[false; 3]), 0.25);
        // No negative, or no positive once the filter has removed it: undefined.
        assert!(user_auc(&[1.0, 2.0], &[0, 1], &[false; 2]).is_nan());
        assert!(user_auc(&[1.0, 2.0], &[0], &[true, false]).is_nan());
        // A held-out item that is also filtered is not a positive.
        assert_abs_diff_eq!(
            user_auc(&[1.0, 2.0, 0.0], &[0, 1], &[false, true, false]),
            1.0
        );
    }

    #[test]
    fn a_factor_models_auc_comes_from_each_users_own_score_row() {
        use crate::models::als::{AlsModel, AlsParams};
        use crate::params::{Params, Value};
        // Small integer factors: integer scores, so many exact ties between items.
        let (nu, ni, f) = (40usize, 300usize, 8usize);
        let mut g = crate::rng::SplitMix64::new(3);
        let mut draw = |n: usize| (0..n).map(|_| g.below(5) as f32 - 2.0).collect::<Vec<_>>();
        let (uf, itf) = (draw(nu * f), draw(ni * f));
        let p = AlsParams::from_raw([("factors", Value::Num(f as f64))]).unwrap();
        let m = AlsModel::from_factors(p, uf, itf).unwrap();
        let mut coo = |every: u64| {
            let (mut r, mut c) = (Vec::new(), Vec::new());
            for u in 0..nu as u32 {
                for i in 0..ni as u32 {
                    if g.below(every) == 0 {
                        r.push(u);
                        c.push(i);
                    }
                }
            }
            (r, c)
        };
        let (tr, tc) = coo(10);
        let train = Csr::from_coo(nu, ni, &tr, &tc, &vec![1.0; tr.len()]).unwrap();
        let (vr, vc) = coo(15);
        let truth = Csr::from_coo(nu, ni, &vr, &vc, &vec![1.0; vr.len()]).unwrap();
        let opts = EvalOptions {
            auc: true,
            per_user: true,
        };
        let r = evaluate_with(&m, &train, &[&train], &truth, &[10], &opts).unwrap();
        let pu = r.per_user.unwrap();
        let col = pu.names.iter().position(|n| n == "auc").unwrap();
        assert!(pu.users.len() > nu / 2);
        for (row, &u) in pu.users.iter().enumerate() {
            let mut s = vec![0f32; ni];
            m.score_user(u as usize, &mut s);
            let mut excluded = vec![false; ni];
            for &i in train.row(u as usize).0 {
                excluded[i as usize] = true;
            }
            let want = user_auc(&s, truth.row(u as usize).0, &excluded);
            let got = pu.values[row * pu.names.len() + col];
            assert_eq!(got.to_bits(), want.to_bits(), "user {u}");
        }
    }

    #[test]
    fn auc_matches_counting_every_pair() {
        // Scores with many ties (8 levels, and non-finite ones ranked last); several users'
        // worth of draws: few positives (one pass per positive) and many (binary searches).
        let mut g = crate::rng::SplitMix64::new(9);
        for (n_items, every) in [(60u32, 6u64), (60, 2), (300, 2)] {
            for _ in 0..50 {
                let scores: Vec<f32> = (0..n_items)
                    .map(|_| match g.below(10) {
                        8 => f32::NAN,
                        9 => f32::NEG_INFINITY,
                        v => v as f32,
                    })
                    .collect();
                let excluded: Vec<bool> = (0..n_items).map(|_| g.below(4) == 0).collect();
                let positive: Vec<u32> = (0..n_items).filter(|_| g.below(every) == 0).collect();
                let rank = |s: f32| if s.is_finite() { s } else { f32::NEG_INFINITY };
                let (mut num, mut pairs) = (0f64, 0f64);
                for &p in positive.iter().filter(|&&p| !excluded[p as usize]) {
                    for n in
                        (0..n_items).filter(|n| !excluded[*n as usize] && !positive.contains(n))
                    {
                        let (sp, sn) = (rank(scores[p as usize]), rank(scores[n as usize]));
                        num += if sp > sn {
                            1.0
                        } else if sp == sn {
                            0.5
                        } else {
                            0.0
                        };
                        pairs += 1.0;
                    }
                }
                let auc = user_auc(&scores, &positive, &excluded);
                if pairs == 0.0 {
                    assert!(auc.is_nan());
                } else {
                    assert_abs_diff_eq!(auc, num / pairs, epsilon = 1e-12);
                }
            }
        }
    }

    #[test]
    fn a_repeated_positive_is_counted_as_the_pair_search_counts_it() {
        // Not a Csr row (those are unique), but a public function: both copies of item 1 rank
        // above item 0 and below item 2.
        assert_eq!(user_auc(&[1.0, 2.0, 3.0], &[1, 1], &[false; 3]), 0.5);
    }

    #[test]
    fn per_user_values_average_to_the_report_at_any_thread_count() {
        use crate::models::popularity::Popularity;
        let (train, truth) = small();
        let pop = Popularity::fit(&train);
        let opts = EvalOptions {
            auc: true,
            per_user: true,
        };
        let run = |threads: usize| {
            crate::pool::pool(threads)
                .unwrap()
                .install(|| evaluate_with(&pop, &train, &[&train], &truth, &[1, 2], &opts))
                .unwrap()
        };
        let r = run(1);
        assert_eq!(run(3), r);
        let pu = r.per_user.as_ref().unwrap();
        assert_eq!(pu.users, vec![0, 1, 2]);
        assert_eq!(pu.names.len(), 2 * 7 + 1);
        assert_eq!(pu.names[5..8], ["f1@1", "novelty@1", "precision@2"]);
        let cols = pu.names.len();
        for (c, name) in pu.names.iter().enumerate() {
            let col: Vec<f64> = pu.values.iter().skip(c).step_by(cols).copied().collect();
            assert_eq!(col.len(), 3);
            assert_abs_diff_eq!(
                col.iter().sum::<f64>() / 3.0,
                get(&r, name),
                epsilon = 1e-12
            );
        }
        // Without per-user values and AUC, the other metrics are the same.
        let plain = EvalOptions {
            auc: false,
            per_user: false,
        };
        let q = evaluate_with(&pop, &train, &[&train], &truth, &[1, 2], &plain).unwrap();
        assert_eq!(q.metrics[..], r.metrics[..r.metrics.len() - 1]);
    }
}
