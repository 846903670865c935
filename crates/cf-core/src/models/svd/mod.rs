//! PureSVD (Cremonesi, Koren & Turrin 2010) and truncated-SVD rating prediction: the rank-k
//! SVD of the user x item matrix (missing entries are zeros), optionally centred.
//!
//! As a factor model: user rows are UΣ (= r_u V for a training user, uncentred), item rows
//! are V, so a score is r_u V Vᵀ, PureSVD's, and the top-K engine ranks it like any factor
//! model; similar items and users are cosines in the latent space. When the matrix was
//! centred over every cell (A_c = A - c wᵀ), one more column carries the mean back: users
//! hold c_u, items w_i, so a score (and `predict`) is the rank-k reconstruction of A itself,
//! c_u w_i included. A user not in the model folds in as r_c V with r_c their centred row,
//! the same vector a training user has (to rounding).
//!
//! Rated modes (`centering: rated_*`) predict ratings the way the seed notebook did: the
//! mean m_ui (μ, the user's, the item's, or μ + b_u + b_i) is subtracted from the rated
//! entries only, the missing cells stay 0 (mean imputation: a missing rating is taken to be
//! the mean), and the prediction is m_ui + (UΣVᵀ)_ui. A mean over every cell, as above,
//! would count missing cells as 0-star ratings: its reconstruction of an unrated cell is
//! near 0, useless as a rating. Here m_ui = c_u + b_i, so user rows are [UΣ, 1, c_u] and
//! item rows [V, b_i, 1]: a score is the predicted rating of every item, and ranking a user's
//! items orders them by it (c_u is the same for all of them). That ranks rarely rated items
//! with high means first and is much weaker top-K than PureSVD; use these modes for ratings.
//! A new user folds in from their ratings: c_u from them as in the fit, then r_res V with
//! r_res their residuals, the row a training user has (to rounding).
//!
//! Empty rows and columns are allowed: an empty user (uncentred) gets a zero row and scores 0
//! for every item, an empty item a zero row (to the solver's tolerance).

mod model;
mod params;
#[cfg(test)]
mod tests;

use std::time::Instant;

pub use model::TYPE;
pub use params::{RatedMean, SvdCentering, SvdParams, SPEC};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::svd::{check_rank, truncated_svd, Centering};
use crate::linalg::AlignedVec;
use crate::models::RatingPredictor;
use crate::params::{Checked, IntoChecked};

/// What a fit measured (not saved: a loaded model has none).
#[derive(Clone, Debug, PartialEq)]
pub struct SvdReport {
    pub seconds: f64,
    pub restarts: usize,
    /// Gram-operator applications, in vectors.
    pub products: usize,
    /// ‖A_c‖²_F, the denominator of the explained variance.
    pub total_squares: f64,
    /// σ in float64 (the model keeps float32 ones, as saved).
    pub singular_values: Vec<f64>,
}

/// The training ratings' scale, kept by a model fitted in a rated mode (saved as
/// `rating_stats`): μ for users it does not know, the range for clipping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatingStats {
    pub mean: f32,
    pub min: f32,
    pub max: f32,
}

pub struct SvdModel {
    pub params: Checked<SvdParams>,
    pub n_users: usize,
    pub n_items: usize,
    /// Row-major n_users x width: UΣ, then c_u when centred over every cell, or 1 and c_u
    /// in a rated mode.
    pub user_factors: AlignedVec,
    /// Row-major n_items x width: V, then w_i when centred over every cell, or b_i and 1 in a
    /// rated mode.
    pub item_factors: AlignedVec,
    /// σ, largest first.
    pub singular_values: Vec<f32>,
    /// σᵢ² / ‖A_c‖²_F per component.
    pub explained_variance_ratio: Vec<f32>,
    /// The mean of every cell, for folding in under global centring.
    pub global_mean: f32,
    /// Some exactly in a rated mode: what makes the model a [`RatingPredictor`].
    pub rating_stats: Option<RatingStats>,
    pub report: Option<SvdReport>,
    /// Σ_i w_i V_i: the centring's share of a fold-in.
    wv: Vec<f32>,
}

/// μ and the range of training values a rated mode can use (every residual of binary or
/// constant data would be 0).
fn rating_stats(train: &Csr, name: &str) -> Result<RatingStats> {
    let (mean, min, max) = crate::models::rating_scale(
        train,
        "centering",
        &format!("centering {name} predicts explicit ratings and needs them (load the data with values: rating; binary data is for ranking, centering none)"),
    )?;
    Ok(RatingStats { mean, min, max })
}

/// The mean m_ui = c_u + b_i of a rated mode, per user (c_u) and per item (b_i), in f64.
fn rated_means(train: &Csr, mean: RatedMean, mu: f64) -> (Vec<f64>, Vec<f64>) {
    let (m, n) = (train.n_rows, train.n_cols);
    let mut b = vec![0f64; n];
    if matches!(mean, RatedMean::Item | RatedMean::Baseline) {
        let mut count = vec![0usize; n];
        for (&j, &v) in train.indices.iter().zip(&train.values) {
            b[j as usize] += v as f64 - mu;
            count[j as usize] += 1;
        }
        for (x, &c) in b.iter_mut().zip(&count) {
            // An item without ratings keeps b_i = 0: it is predicted μ (+ the user's part).
            if c > 0 {
                *x /= c as f64;
            }
        }
    }
    let c = (0..m)
        .map(|u| {
            let (cols, vals) = train.row(u);
            user_offset(mean, mu, cols, vals, |j| b[j as usize])
        })
        .collect();
    (c, b)
}

/// c_u of one user from their ratings and the items' b_i: shared by the fit and the fold-in
/// so that a training user's ratings give back their own row.
fn user_offset(
    mean: RatedMean,
    mu: f64,
    items: &[u32],
    ratings: &[f32],
    b: impl Fn(u32) -> f64,
) -> f64 {
    let user_term = matches!(mean, RatedMean::User | RatedMean::Baseline);
    if !user_term || items.is_empty() {
        return mu;
    }
    let s: f64 = items
        .iter()
        .zip(ratings)
        .map(|(&j, &r)| r as f64 - mu - b(j))
        .sum();
    mu + s / items.len() as f64
}

impl SvdModel {
    pub fn fit(params: impl IntoChecked<SvdParams>, train: &Csr) -> Result<Self> {
        let params = params.into_checked()?;
        check_rank("factors", params.factors, train.n_rows, train.n_cols)?;
        let started = Instant::now();
        // A rated mode solves the residuals on the rated entries (missing stay 0), so the
        // solver sees an uncentred sparse matrix of the same pattern.
        let rated = match params.centering.rated() {
            None => None,
            Some(mean) => {
                let stats = rating_stats(train, params.centering.name())?;
                let (c, b) = rated_means(train, mean, stats.mean as f64);
                let mut resid = train.clone();
                for (u, &cu) in c.iter().enumerate() {
                    let (lo, hi) = (resid.indptr[u], resid.indptr[u + 1]);
                    for (v, &j) in resid.values[lo..hi].iter_mut().zip(&train.indices[lo..hi]) {
                        *v = (*v as f64 - cu - b[j as usize]) as f32;
                    }
                }
                Some((stats, c, b, resid))
            }
        };
        let solved = rated.as_ref().map_or(train, |r| &r.3);
        let s = truncated_svd(solved, &params.options())?;
        let (m, n, k, d) = (train.n_rows, train.n_cols, params.factors, params.width());
        let centred = params.centering.operator() != Centering::None;
        let mut users = AlignedVec::zeros(m * d);
        for (i, row) in users.chunks_exact_mut(d).enumerate() {
            for ((x, &u), &sv) in row.iter_mut().zip(&s.u[i * k..i * k + k]).zip(&s.values) {
                *x = (u * sv) as f32;
            }
            if centred {
                row[k] = s.row_offsets[i] as f32;
            }
            if let Some((_, c, _, _)) = &rated {
                row[k] = 1.0;
                row[k + 1] = c[i] as f32;
            }
        }
        let mut items = AlignedVec::zeros(n * d);
        for (j, row) in items.chunks_exact_mut(d).enumerate() {
            for (x, &v) in row.iter_mut().zip(&s.v[j * k..j * k + k]) {
                *x = v as f32;
            }
            if centred {
                row[k] = s.col_weights[j] as f32;
            }
            if let Some((_, _, b, _)) = &rated {
                row[k] = b[j] as f32;
                row[k + 1] = 1.0;
            }
        }
        let global_mean = if params.centering == SvdCentering::Cells(Centering::Global) {
            s.row_offsets[0] as f32
        } else {
            0.0
        };
        let mut model = SvdModel::from_parts(
            params,
            users.to_vec(),
            items.to_vec(),
            s.values.iter().map(|&v| v as f32).collect(),
            s.explained_variance_ratio
                .iter()
                .map(|&v| v as f32)
                .collect(),
            global_mean,
            rated.map(|r| r.0),
        )?;
        model.report = Some(SvdReport {
            seconds: started.elapsed().as_secs_f64(),
            restarts: s.restarts,
            products: s.products,
            total_squares: s.total_squares,
            singular_values: s.values.clone(),
        });
        Ok(model)
    }

    /// A model from its saved arrays (shapes checked by the caller or here). `rating_stats`
    /// is required in a rated mode and ignored otherwise (models saved before the rated
    /// modes existed have none and load as ranking models).
    pub fn from_parts(
        params: impl IntoChecked<SvdParams>,
        user_factors: Vec<f32>,
        item_factors: Vec<f32>,
        singular_values: Vec<f32>,
        explained_variance_ratio: Vec<f32>,
        global_mean: f32,
        rating_stats: Option<RatingStats>,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let (d, k) = (params.width(), params.factors);
        let (n_users, n_items) =
            crate::models::factor::check_factor_arrays(&user_factors, &item_factors, d)?;
        if singular_values.len() != k || explained_variance_ratio.len() != k {
            return Err(Error::param(
                "singular_values",
                format!(
                    "has {} values (explained variance {}) for {k} factors",
                    singular_values.len(),
                    explained_variance_ratio.len()
                ),
            ));
        }
        let rating_stats = match (params.centering.rated(), rating_stats) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(Error::Data(format!(
                    "rating_stats: a model with centering {} needs its rating_stats array",
                    params.centering.name()
                )))
            }
            (Some(_), Some(s)) => {
                // What the fit guarantees: finite, and a range (the data were not constant).
                if !(s.mean.is_finite() && s.min.is_finite() && s.max.is_finite() && s.min < s.max)
                {
                    return Err(Error::Data(format!(
                        "rating_stats: [{}, {}, {}] is not [mean, smallest, largest] of a rating scale",
                        s.mean, s.min, s.max
                    )));
                }
                Some(s)
            }
        };
        let mut wv = vec![0f32; k];
        if params.centering.operator() != Centering::None {
            // Summed in f64: a fold-in subtracts it from r V, where cancellation is large.
            let mut acc = vec![0f64; k];
            for row in item_factors.chunks_exact(d) {
                for t in 0..k {
                    acc[t] += row[k] as f64 * row[t] as f64;
                }
            }
            wv = acc.into_iter().map(|x| x as f32).collect();
        }
        Ok(SvdModel {
            params,
            n_users,
            n_items,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            singular_values,
            explained_variance_ratio,
            global_mean,
            rating_stats,
            report: None,
            wv,
        })
    }

    pub fn width(&self) -> usize {
        self.params.width()
    }

    /// The factor row of someone not in the model: r_c V (and their offset when centred),
    /// from item ids and values checked by the caller (`topk::check_items`). In a rated mode
    /// the values are the user's ratings: [r_res V, 1, c_u], with c_u and the residuals
    /// r - c_u - b_i computed as the fit computes a training user's.
    pub fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        crate::topk::check_items(items, values, self.n_items)?;
        let (d, k) = (self.width(), self.params.factors);
        if let (Some(mean), Some(stats)) = (self.params.centering.rated(), self.rating_stats) {
            let b = |j: u32| self.item_factors[j as usize * d + k] as f64;
            let c = user_offset(mean, stats.mean as f64, items, values, b);
            let mut x = vec![0f64; k];
            for (&i, &v) in items.iter().zip(values) {
                let row = &self.item_factors[i as usize * d..i as usize * d + k];
                let r = v as f64 - c - b(i);
                for t in 0..k {
                    x[t] += r * row[t] as f64;
                }
            }
            let mut out: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            out.extend([1.0, c as f32]);
            return Ok(out);
        }
        let mut x = vec![0f64; k];
        for (&i, &v) in items.iter().zip(values) {
            let row = &self.item_factors[i as usize * d..i as usize * d + k];
            for t in 0..k {
                x[t] += v as f64 * row[t] as f64;
            }
        }
        let offset = match self.params.centering.operator() {
            Centering::None => None,
            Centering::Global => Some(self.global_mean as f64),
            Centering::Rows => {
                Some(values.iter().map(|&v| v as f64).sum::<f64>() / self.n_items as f64)
            }
            Centering::Columns => Some(1.0),
        };
        let mut out: Vec<f32> = match offset {
            None => x.iter().map(|&v| v as f32).collect(),
            Some(c) => x
                .iter()
                .zip(&self.wv)
                .map(|(&v, &w)| (v - c * w as f64) as f32)
                .collect(),
        };
        if let Some(c) = offset {
            out.push(c as f32);
        }
        Ok(out)
    }

    /// The rank-k reconstruction of the (uncentred) matrix at (user, item): the rating a
    /// truncated SVD predicts, the mean added back when centred.
    pub fn predict(&self, user: usize, item: usize) -> Result<f32> {
        if user >= self.n_users {
            return Err(Error::param(
                "user",
                format!(
                    "index {user} is out of range (model has {} users)",
                    self.n_users
                ),
            ));
        }
        if item >= self.n_items {
            return Err(Error::param(
                "item",
                format!(
                    "index {item} is out of range (model has {} items)",
                    self.n_items
                ),
            ));
        }
        Ok(self.reconstruct(user, item))
    }

    /// The dot product of a user and an item row, in f64 (checked indices).
    fn reconstruct(&self, user: usize, item: usize) -> f32 {
        let d = self.width();
        let u = &self.user_factors[user * d..user * d + d];
        let v = &self.item_factors[item * d..item * d + d];
        u.iter()
            .zip(v)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum::<f64>() as f32
    }
}

/// A model fitted in a rated mode (the only ones `Model::ratings` hands out).
impl RatingPredictor for SvdModel {
    /// m_ui + (UΣVᵀ)_ui, unclipped; a user past the model's users is μ + b_i (no user term,
    /// no latent part: nothing is known of them).
    fn predict(&self, user: usize, item: usize) -> f32 {
        if user < self.n_users {
            return self.reconstruct(user, item);
        }
        let (d, k) = (self.width(), self.params.factors);
        match self.rating_stats {
            // Rated mode: item rows are [V, b_i, 1].
            Some(s) => s.mean + self.item_factors[item * d + k],
            None => 0.0,
        }
    }

    fn rating_range(&self) -> (f32, f32) {
        self.rating_stats.map_or((0.0, 0.0), |s| (s.min, s.max))
    }
}
