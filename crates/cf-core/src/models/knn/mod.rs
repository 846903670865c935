//! Item-kNN: item x item similarities from the user x item matrix, the `k` best neighbours
//! of each item kept (the item itself included, as implicit's `all_pairs_knn`), in float64,
//! stored sparse as float32. A user's scores are Σ over their items i of value_ui x
//! sim(i, ·), so any list of liked items is a user (fold-in is free).
//!
//! Weightings, matching implicit 0.7.3's recommenders (N = items, df_u = items of user u):
//! - `none`: plain dot products of the raw item columns;
//! - `cosine`: columns L2-normalised, then dot products (CosineRecommender). With `alpha` ≠
//!   0.5 or `shrinkage` λ > 0 it is the asymmetric/shrunk cosine
//!   dot(i, j) / (‖i‖^(2α) ‖j‖^(2(1-α)) + λ) on the raw columns (Aiolli 2013);
//! - `tfidf`: w_ui = sqrt(x_ui) x (ln N - ln(1 + df_u)), columns L2-normalised
//!   (TFIDFRecommender);
//! - `bm25`: w_ui = x_ui (K1 + 1) / (K1 (1 - B + B len_i / mean len) + x_ui) x
//!   (ln N - ln(1 + df_u)), len_i = Σ_u x_ui, the mean over all items; not normalised
//!   (BM25Recommender).

pub mod model;
pub mod pairs;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub use model::{KnnParams, SPEC, TYPE};
use pairs::{all_pairs, best_first, is_dense, Sparse64};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::params::{Checked, IntoChecked};

/// Integers in a float32 array are exact below 2^24: item ids of a saved model must be.
pub const EXACT: usize = 1 << 24;

pub struct KnnModel {
    pub params: Checked<KnnParams>,
    /// items x items, row i: i's neighbours (itself included) and their similarity, sorted
    /// by index.
    pub neighbours: Csr,
    /// Each user's training row: what their scores are computed from.
    pub users: Csr,
    /// users by item, built on first use (co-occurrence counts).
    by_item: OnceLock<Csr>,
}

/// The measure of [`KnnModel::cooccurrence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Users with both items.
    Count,
    /// count x users / (users of a x users of b).
    Lift,
    /// ln(lift).
    Pmi,
}

impl Measure {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "count" => Ok(Measure::Count),
            "lift" => Ok(Measure::Lift),
            "pmi" => Ok(Measure::Pmi),
            _ => Err(Error::param(
                "measure",
                format!("unknown measure {s:?} (known: count, lift, pmi)"),
            )),
        }
    }
}

/// Refuses values a weighting cannot use: every value must be finite and >= 0.
fn check_values(train: &Csr) -> Result<()> {
    if let Some(p) = train.values.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::param(
            "values",
            format!(
                "value {} at position {p} is {}; knn needs finite interaction strengths >= 0",
                crate::args::show32(train.values[p]),
                if train.values[p].is_finite() {
                    "negative"
                } else {
                    "not finite"
                }
            ),
        ));
    }
    Ok(())
}

/// ln N - ln(1 + df_u) per user, N the number of items (implicit's idf, over users).
fn idf(train: &Csr) -> Vec<f64> {
    let n = (train.n_cols as f64).ln();
    (0..train.n_rows)
        .map(|u| n - (train.row_len(u) as f64).ln_1p())
        .collect()
}

/// The weighted item x user matrix and, for the asymmetric cosine, the squared column norms.
pub fn weighted(params: &KnnParams, train: &Csr) -> (Sparse64, Option<Vec<f64>>) {
    let (items, _, sq) = weighted_both(params, train, false);
    (items, sq)
}

/// The per-entry weight of a weighting, decided once rather than per entry.
#[derive(Clone, Copy)]
enum Scheme {
    Raw,
    Tfidf,
    Bm25,
}

/// [`weighted`] and, when `users` is set, the same weights user by user (its transpose),
/// computed entry by entry from `train` with the same operations: a second scatter
/// transpose of the weighted matrix cost a serial tenth of the ML-20M fit.
pub fn weighted_both(
    params: &KnnParams,
    train: &Csr,
    users: bool,
) -> (Sparse64, Option<Sparse64>, Option<Vec<f64>>) {
    let Csr {
        n_rows,
        n_cols,
        indptr,
        indices,
        values: raw,
    } = train.transpose();
    // Only a train matrix with sorted rows is the transpose's layout (which the kernels'
    // order of summation and of first contact follow).
    let sorted = train.rows_sorted();
    let mut by_user = (users && sorted).then(|| Sparse64::from_csr(train));
    // Per entry (user, item, raw value) -> weight before normalising; then each item's
    // norm when its column is normalised.
    let (k1, b) = (params.bm25_k1, params.bm25_b);
    let scheme = match params.weighting.as_str() {
        "tfidf" => Scheme::Tfidf,
        "bm25" => Scheme::Bm25,
        _ => Scheme::Raw,
    };
    let idf = match scheme {
        Scheme::Tfidf | Scheme::Bm25 => idf(train),
        Scheme::Raw => Vec::new(),
    };
    let raw_row = |i: usize| &raw[indptr[i]..indptr[i + 1]];
    let len: Vec<f64> = match scheme {
        Scheme::Bm25 => (0..n_rows)
            .into_par_iter()
            .map(|i| raw_row(i).iter().map(|&v| v as f64).sum())
            .collect(),
        _ => Vec::new(),
    };
    let mean = len.iter().sum::<f64>() / len.len().max(1) as f64;
    let weight = |u: usize, i: usize, v: f64| -> f64 {
        match scheme {
            Scheme::Tfidf => v.sqrt() * idf[u],
            Scheme::Bm25 => {
                let norm = (1.0 - b) + b * len[i] / mean;
                v * (k1 + 1.0) / (k1 * norm + v) * idf[u]
            }
            Scheme::Raw => v,
        }
    };
    let normalise = match params.weighting.as_str() {
        "cosine" => params.plain_cosine(),
        "tfidf" => true,
        _ => false,
    };
    // Weights and the norm's division in one pass over each item's row, from the float32
    // values (a pass each cost a sixth of the step before the kernel on the ML-20M shape).
    // The operations and their order are those of `Sparse64::normalize_rows`.
    let norm_bits: Vec<AtomicU64> = (0..n_rows).map(|_| AtomicU64::new(0)).collect();
    let mut items = Sparse64 {
        n_rows,
        n_cols,
        indptr: indptr.clone(),
        indices,
        values: vec![0f64; raw.len()],
    };
    items.for_each_row_mut(|i, us, vals| {
        for ((&u, v), &x) in us.iter().zip(vals.iter_mut()).zip(raw_row(i)) {
            *v = weight(u as usize, i, x as f64);
        }
        if normalise {
            let n = vals.iter().map(|v| v * v).sum::<f64>().sqrt();
            norm_bits[i].store(n.to_bits(), Ordering::Relaxed);
            if n > 0.0 {
                for v in vals {
                    *v /= n;
                }
            }
        }
    });
    let norms: Vec<f64> = norm_bits
        .into_iter()
        .map(|n| f64::from_bits(n.into_inner()))
        .collect();
    if let Some(m) = by_user.as_mut() {
        m.for_each_row_mut(|u, is, vals| {
            for (&i, v) in is.iter().zip(vals) {
                let i = i as usize;
                let w = weight(u, i, *v);
                // normalize_rows' own test and division, so both sides have the same bits.
                *v = if norms[i] > 0.0 { w / norms[i] } else { w };
            }
        });
    }
    let sq = (params.weighting == "cosine" && !params.plain_cosine()).then(|| {
        (0..items.n_rows)
            .into_par_iter()
            .map(|i| items.row(i).1.iter().map(|v| v * v).sum())
            .collect()
    });
    (items, by_user, sq)
}

impl KnnModel {
    pub fn fit(params: impl IntoChecked<KnnParams>, train: &Csr) -> Result<Self> {
        let params = params.into_checked()?;
        check_size(train)?;
        check_values(train)?;
        let pool = crate::pool::pool(params.threads)?;
        let neighbours = pool.install(|| similarities(&params, train));
        Ok(KnnModel {
            params,
            neighbours,
            users: train.clone(),
            by_item: OnceLock::new(),
        })
    }

    pub fn from_parts(
        params: impl IntoChecked<KnnParams>,
        neighbours: Csr,
        users: Csr,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        users.validate()?;
        neighbours
            .validate()
            .map_err(|e| Error::Data(format!("neighbours: {e}")))?;
        if neighbours.n_rows != users.n_cols || neighbours.n_cols != users.n_cols {
            return Err(Error::Data(format!(
                "neighbours: {} x {} for {} items",
                neighbours.n_rows, neighbours.n_cols, users.n_cols
            )));
        }
        Ok(KnnModel {
            params,
            neighbours,
            users,
            by_item: OnceLock::new(),
        })
    }

    pub fn n_items(&self) -> usize {
        self.neighbours.n_rows
    }

    /// out = Σ values_t sim(items_t, ·)
    pub fn scores_of(&self, items: &[u32], values: &[f32], out: &mut [f32]) {
        score_rows(&self.neighbours, items, values, out)
    }

    /// Why `item` scores what it does for someone with `items` (and `values`): the total
    /// score and the `k` items with the largest contributions value x sim(i, item), largest
    /// first (ties: lower index), items that do not have `item` as a neighbour left out.
    pub fn explain(
        &self,
        items: &[u32],
        values: &[f32],
        item: u32,
        k: usize,
    ) -> Result<(f32, Vec<(u32, f32)>)> {
        check_item(item, self.n_items())?;
        if k == 0 {
            return Err(Error::param("k", "must be >= 1 (got 0)"));
        }
        let (total, parts) =
            crate::models::explain::checked_by_neighbours(&self.neighbours, items, values, item)?;
        Ok((total, crate::models::explain::top(parts, k)))
    }

    /// [`KnnModel::explain`] for a known user, from their training row.
    pub fn explain_user(&self, user: u32, item: u32, k: usize) -> Result<(f32, Vec<(u32, f32)>)> {
        if user as usize >= self.users.n_rows {
            return Err(Error::param(
                "user",
                format!(
                    "index {user} is out of range (model has {} users)",
                    self.users.n_rows
                ),
            ));
        }
        let (items, values) = self.users.row(user as usize);
        self.explain(items, values, item, k)
    }

    /// The training rows by item.
    fn by_item(&self) -> &Csr {
        self.by_item.get_or_init(|| self.users.transpose())
    }

    /// "Often bought together": the `k` items most often in the same users' training rows as
    /// `item` by `measure`, among those shared by at least `min_support` users, best first
    /// (ties: lower index), the item itself left out. Returns (item, measure, support).
    pub fn cooccurrence(
        &self,
        item: u32,
        k: usize,
        measure: Measure,
        min_support: usize,
    ) -> Result<Vec<(u32, f32, u32)>> {
        let n = self.n_items();
        check_item(item, n)?;
        if k == 0 {
            return Err(Error::param("k", "must be >= 1 (got 0)"));
        }
        if min_support == 0 {
            return Err(Error::param("min_support", "must be >= 1 (got 0)"));
        }
        let by_item = self.by_item();
        let mut counts = vec![0u32; n];
        for &u in by_item.row(item as usize).0 {
            for &j in self.users.row(u as usize).0 {
                counts[j as usize] += 1;
            }
        }
        let users = self.users.n_rows as f64;
        let own = by_item.row_len(item as usize) as f64;
        let mut out: Vec<(f64, u32)> = counts
            .iter()
            .enumerate()
            .filter(|&(j, &c)| j != item as usize && c as usize >= min_support)
            .map(|(j, &c)| {
                let lift = || c as f64 * users / (own * by_item.row_len(j) as f64);
                let m = match measure {
                    Measure::Count => c as f64,
                    Measure::Lift => lift(),
                    Measure::Pmi => lift().ln(),
                };
                (m, j as u32)
            })
            .collect();
        if out.len() > k {
            out.select_nth_unstable_by(k - 1, best_first);
            out.truncate(k);
        }
        out.sort_by(best_first);
        Ok(out
            .into_iter()
            .map(|(m, j)| (j, m as f32, counts[j as usize]))
            .collect())
    }
}

/// out = Σ values_t row items_t of the neighbour matrix `nb`.
pub fn score_rows(nb: &Csr, items: &[u32], values: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for (&i, &v) in items.iter().zip(values) {
        let (js, sims) = nb.row(i as usize);
        for (&j, &s) in js.iter().zip(sims) {
            out[j as usize] += s * v;
        }
    }
}

/// The kept neighbours of `item` in `nb`, best first (ties: lower index), itself left out.
pub fn similar_in(nb: &Csr, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
    let n = nb.n_rows;
    check_item(item, n)?;
    let k = crate::topk::check_k(k, n)?;
    let (js, sims) = nb.row(item as usize);
    let mut l: Vec<(f64, u32)> = js
        .iter()
        .zip(sims)
        .filter(|(&j, s)| j != item && s.is_finite())
        .map(|(&j, &s)| (s as f64, j))
        .collect();
    l.sort_by(best_first);
    l.truncate(k);
    Ok(l.into_iter().map(|(s, j)| (j, s as f32)).collect())
}

pub(crate) fn check_item(item: u32, n: usize) -> Result<()> {
    if item as usize >= n {
        return Err(Error::param(
            "item",
            format!("index {item} is out of range (model has {n} items)"),
        ));
    }
    Ok(())
}

/// Item ids must stay exact in a saved model's float32 arrays.
pub fn check_size(train: &Csr) -> Result<()> {
    if train.n_cols >= EXACT {
        return Err(Error::param(
            "items",
            format!(
                "knn keeps item ids in float32 arrays, exact below {EXACT}; {} items are too many",
                train.n_cols
            ),
        ));
    }
    Ok(())
}

/// The neighbour matrix of `train` (run on the current pool).
pub fn similarities(params: &KnnParams, train: &Csr) -> Csr {
    // The symmetric kernel builds its own transpose; the row-by-row one takes the weights
    // user by user from here (cheaper than transposing the weighted matrix).
    let dense = is_dense(train.n_cols, (0..train.n_rows).map(|u| train.row_len(u)));
    let (items, users, sq) = weighted_both(params, train, !dense);
    let users = users.as_ref();
    match sq {
        None => all_pairs(&items, users, params.k, None),
        Some(sq) => {
            let (a, lambda) = (params.alpha, params.shrinkage);
            // Both powers once per item rather than once per pair (the same bits).
            let left: Vec<f64> = sq.iter().map(|s| s.powf(a)).collect();
            let right: Vec<f64> = sq.iter().map(|s| s.powf(1.0 - a)).collect();
            let rescale = move |i: usize, j: usize, dot: f64| {
                let d = left[i] * right[j] + lambda;
                if d > 0.0 {
                    dot / d
                } else {
                    0.0
                }
            };
            all_pairs(&items, users, params.k, Some(&rescale))
        }
    }
}
