//! Ranking metrics at K, macro-averaged over evaluated users.
//!
//! For a user with held-out set T and ranked list L (length K, known items removed):
//! - precision@K = |L ∩ T| / K
//! - recall@K    = |L ∩ T| / min(K, |T|)   (the Liang/Rendle convention: 1.0 is reachable)
//! - ndcg@K      = DCG / IDCG, binary gains, IDCG over min(K, |T|) hits
//! - map@K       = Σ_{hits at rank r} precision@r / min(K, |T|)
//! - hit_rate@K  = 1 if |L ∩ T| > 0
//! A user is evaluated when T is non-empty and the user has at least one training row.

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::Recommender;
use crate::topk::{recommend_batch, SeenItems};

pub const METRICS: [&str; 5] = ["precision", "recall", "ndcg", "map", "hit_rate"];

#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    pub users_evaluated: usize,
    /// Users with held-out rows but no training row: no model can rank for them.
    pub users_without_train: usize,
    /// (name@K, value) in the order of `ks` then `METRICS`.
    pub metrics: Vec<(String, f64)>,
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

/// Rank for every user with held-out rows and score the lists. `exclude` are the matrices
/// whose items a user already has (train, and validation when scoring test).
pub fn evaluate(
    model: &dyn Recommender,
    train: &Csr,
    exclude: &[&dyn SeenItems],
    truth: &Csr,
    ks: &[usize],
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
    let max_k = *ks.iter().max().unwrap();
    // Lists are at most as long as there are items, whatever K asks for.
    let width = max_k.min(model.n_items());
    let (ids, _) = if users.is_empty() || width == 0 {
        (Vec::new(), Vec::new())
    } else {
        recommend_batch(model, &users, max_k, exclude)?
    };
    let mut sums = vec![[0f64; 5]; ks.len()];
    for (r, &u) in users.iter().enumerate() {
        let ranked = &ids[r * width..(r + 1) * width];
        let truth_u = truth.row(u as usize).0;
        for (s, &k) in sums.iter_mut().zip(ks) {
            let m = user_metrics(ranked, truth_u, k);
            for j in 0..5 {
                s[j] += m[j];
            }
        }
    }
    let n = users.len().max(1) as f64;
    let mut metrics = Vec::new();
    for (s, k) in sums.iter().zip(ks) {
        for (j, name) in METRICS.iter().enumerate() {
            metrics.push((format!("{name}@{k}"), s[j] / n));
        }
    }
    Ok(EvalReport {
        users_evaluated: users.len(),
        users_without_train,
        metrics,
    })
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
}
