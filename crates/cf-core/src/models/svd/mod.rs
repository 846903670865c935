//! PureSVD (Cremonesi, Koren & Turrin 2010) and truncated-SVD rating prediction: the rank-k
//! SVD of the user x item matrix (missing entries are zeros), optionally centred.
//!
//! As a factor model: user rows are UΣ (= r_u V for a training user, uncentred), item rows
//! are V, so a score is r_u V Vᵀ, PureSVD's, and the top-K engine ranks it like any factor
//! model; similar items and users are cosines in the latent space. When the matrix was
//! centred (A_c = A - c wᵀ), one more column carries the mean back: users hold c_u, items
//! w_i, so a score (and `predict`) is the rank-k reconstruction of A itself, c_u w_i
//! included. A user not in the model folds in as r_c V with r_c their centred row, the same
//! vector a training user has (to rounding).
//!
//! Empty rows and columns are allowed: an empty user (uncentred) gets a zero row and scores 0
//! for every item, an empty item a zero row (to the solver's tolerance).

mod model;
mod params;
#[cfg(test)]
mod tests;

use std::time::Instant;

pub use model::TYPE;
pub use params::{SvdParams, SPEC};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::svd::{check_rank, truncated_svd, Centering};
use crate::linalg::AlignedVec;
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

pub struct SvdModel {
    pub params: Checked<SvdParams>,
    pub n_users: usize,
    pub n_items: usize,
    /// Row-major n_users x width: UΣ, then c_u when centred.
    pub user_factors: AlignedVec,
    /// Row-major n_items x width: V, then w_i when centred.
    pub item_factors: AlignedVec,
    /// σ, largest first.
    pub singular_values: Vec<f32>,
    /// σᵢ² / ‖A_c‖²_F per component.
    pub explained_variance_ratio: Vec<f32>,
    /// The mean of every cell, for folding in under global centring.
    pub global_mean: f32,
    pub report: Option<SvdReport>,
    /// Σ_i w_i V_i: the centring's share of a fold-in.
    wv: Vec<f32>,
}

impl SvdModel {
    pub fn fit(params: impl IntoChecked<SvdParams>, train: &Csr) -> Result<Self> {
        let params = params.into_checked()?;
        check_rank("factors", params.factors, train.n_rows, train.n_cols)?;
        let started = Instant::now();
        let s = truncated_svd(train, &params.options())?;
        let (m, n, k, d) = (train.n_rows, train.n_cols, params.factors, params.width());
        let centred = params.centering != Centering::None;
        let mut users = AlignedVec::zeros(m * d);
        for (i, row) in users.chunks_exact_mut(d).enumerate() {
            for ((x, &u), &sv) in row.iter_mut().zip(&s.u[i * k..i * k + k]).zip(&s.values) {
                *x = (u * sv) as f32;
            }
            if centred {
                row[k] = s.row_offsets[i] as f32;
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
        }
        let global_mean = if params.centering == Centering::Global {
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

    /// A model from its saved arrays (shapes checked by the caller or here).
    pub fn from_parts(
        params: impl IntoChecked<SvdParams>,
        user_factors: Vec<f32>,
        item_factors: Vec<f32>,
        singular_values: Vec<f32>,
        explained_variance_ratio: Vec<f32>,
        global_mean: f32,
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
        let mut wv = vec![0f32; k];
        if params.centering != Centering::None {
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
            report: None,
            wv,
        })
    }

    pub fn width(&self) -> usize {
        self.params.width()
    }

    /// The factor row of someone not in the model: r_c V (and their offset when centred),
    /// from item ids and values checked by the caller (`topk::check_items`).
    pub fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        crate::topk::check_items(items, values, self.n_items)?;
        let (d, k) = (self.width(), self.params.factors);
        let mut x = vec![0f64; k];
        for (&i, &v) in items.iter().zip(values) {
            let row = &self.item_factors[i as usize * d..i as usize * d + k];
            for t in 0..k {
                x[t] += v as f64 * row[t] as f64;
            }
        }
        let offset = match self.params.centering {
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
        let d = self.width();
        let u = &self.user_factors[user * d..user * d + d];
        let v = &self.item_factors[item * d..item * d + d];
        Ok(u.iter()
            .zip(v)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum::<f64>() as f32)
    }
}
